// Claiming an InfluxBucket's bucket once its preconditions hold, as phases run in order: the
// recorded bucket found by its ID is kept (bucket-keep.ts); otherwise the buckets of its name are
// looked up, a bucket of this resource from before records is taken over, a missing one created
// (its name recorded first), and an existing one adopted only with spec.adopt and consent, or else
// left exactly as it is (BucketExists).
import type { RecordedBucket } from '../api/access-records.js';
import { legacyDefaultBucketName } from '../api/access-spec.js';
import { limitsOf } from '../api/access-from.js';
import type { BucketInfo } from '../influx/index.js';
import { NONE } from '../runtime/index.js';
import {
  bucketDescription,
  finish,
  isBucketStep,
  isLegacyMarkerOf,
  lookUp,
  managerOf,
  recordedBucket,
  type BucketStep,
  type Granted,
  type Manager,
} from './bucket-facts.js';
import { keepBucket } from './bucket-keep.js';

/** What the lookups by name found. */
interface Named {
  /** The name the bucket is claimed under: the recorded one, else the spec's. */
  target: string;
  atTarget: BucketInfo | null;
  /** The bucket under the default name from before records, looked up only where it may be this resource's. */
  atLegacy: BucketInfo | null;
}

/**
 * A bucket is this resource's only when its ID is the one the operator recorded for this
 * resource's UID (in a record no tenant can write) and its marker names this UID. The marker alone
 * proves nothing (an application's write token can copy it onto another bucket it may write), a
 * status proves nothing (a tenant may write it).
 */
export function claimBucket(g: Granted): BucketStep {
  const entry = g.facts.record?.buckets[g.facts.resource.metadata.uid];
  const kept = keepRecorded(g, entry);
  if (kept !== undefined) return kept;
  const named = lookUpByName(g, entry);
  if (isBucketStep(named)) return named;
  const takenOver = entry === undefined ? takeOverLegacy(g, named) : undefined;
  if (takenOver !== undefined) return takenOver;
  if (named.atTarget === null) return createMissing(g, named.target, entry);
  return claimExisting(g, named.target, named.atTarget, entry);
}

/** The recorded bucket, read by its ID and kept; undefined when none is recorded or InfluxDB has none of that ID. */
function keepRecorded(g: Granted, entry: RecordedBucket | undefined): BucketStep | undefined {
  if (entry?.id === undefined) return undefined;
  const found = recordedBucket(g.facts, g.connection, entry.id);
  if (isBucketStep(found)) return found;
  return found === null ? undefined : keepBucket(g, found, entry);
}

function lookUpByName(g: Granted, entry: RecordedBucket | undefined): Named | BucketStep {
  const { namespace, name } = g.facts.resource.metadata;
  const target = entry?.name ?? g.spec.bucketName;
  // Before records, the default name was <namespace>-<name>: such a bucket the operator made for this resource is kept.
  const legacy = !g.spec.chosenName && entry === undefined ? legacyDefaultBucketName(namespace, name) : undefined;
  const found = lookUp(g.facts, g.connection, legacy === undefined ? [target] : [target, legacy]);
  if (!Array.isArray(found)) return found;
  const [atTarget = null, atLegacy = null] = found;
  return { target, atTarget, atLegacy };
}

/**
 * A marker from before records is a claim anyone with write on the bucket could have written: it
 * is taken as proof only under the old default name (renaming a bucket to it needs read and write,
 * which is all access already), at home, or with the onboarding's consent to adopt that name.
 */
function takeOverLegacy(g: Granted, named: Named): BucketStep | undefined {
  const { resource } = g.facts;
  const { namespace, name, uid } = resource.metadata;
  const upgradable = (bucket: BucketInfo | null): bucket is BucketInfo =>
    bucket !== null &&
    isLegacyMarkerOf(managerOf(bucket.description), resource) &&
    (bucket.name === legacyDefaultBucketName(namespace, name) ||
      g.terms.home ||
      g.terms.adoptBuckets.includes(bucket.name));
  const upgraded = [named.atTarget, named.atLegacy].find(upgradable);
  if (upgraded === undefined) return undefined;
  return { kind: 'record', change: { kind: 'bucket', uid, bucket: { name: upgraded.name, id: upgraded.id } } };
}

/**
 * No bucket of the name: the record holds the intent before the create, so a bucket found with
 * this resource's marker after a lost answer is provably the one created.
 */
function createMissing(g: Granted, target: string, entry: RecordedBucket | undefined): BucketStep {
  const { facts, spec, connection, terms } = g;
  if (entry === undefined || entry.id !== undefined) {
    const limits = limitsOf(terms);
    const uid = facts.resource.metadata.uid;
    return { kind: 'record', change: { kind: 'bucket', uid, bucket: { name: target }, ...(limits && { limits }) } };
  }
  return {
    kind: 'createBucket',
    connection,
    name: target,
    retentionSeconds: spec.retentionPeriodSeconds,
    description: bucketDescription(spec, facts.resource),
    change:
      facts.recorded?.found.ok && facts.recorded.found.value === null
        ? `created bucket ${target} again (the recorded one, ID ${facts.recorded.id}, was deleted outside the operator)`
        : `created bucket ${target}`,
  };
}

/** A bucket of the name exists: recorded once its create is proven, adopted with spec.adopt and consent, else BucketExists. */
function claimExisting(
  g: Granted,
  target: string,
  atTarget: BucketInfo,
  entry: RecordedBucket | undefined,
): BucketStep {
  const { facts, connection } = g;
  const uid = facts.resource.metadata.uid;
  const manager = managerOf(atTarget.description);
  if (manager?.uid === uid && entry !== undefined && entry.id === undefined)
    return { kind: 'record', change: { kind: 'bucket', uid, bucket: { name: target, id: atTarget.id } } };
  const why = notOurs(g, manager, entry) ?? notAdoptable(g, target, atTarget);
  if (why !== undefined) {
    return finish(facts, {
      reason: 'BucketExists',
      message: `bucket ${target} exists in org ${connection.org} and ${why}`,
      requeue: NONE,
    });
  }
  const limits = limitsOf(g.terms);
  return {
    kind: 'record',
    change: {
      kind: 'bucket',
      uid,
      bucket: { name: target, id: atTarget.id, adopted: true },
      ...(limits && { limits }),
    },
  };
}

/** Why a bucket whose marker names a manager is not this resource's to take (undefined: it names none). */
function notOurs(g: Granted, manager: Manager | undefined, entry: RecordedBucket | undefined): string | undefined {
  const { resource } = g.facts;
  const namespace = resource.metadata.namespace;
  if (manager === undefined) return undefined;
  if (manager.uid === resource.metadata.uid) {
    return entry === undefined
      ? "carries this resource's marker, but the operator never recorded creating or adopting it (a copied marker proves nothing)"
      : `carries this resource's marker, but is not the bucket the operator recorded (ID ${entry.id ?? ''}, deleted outside the operator)`;
  }
  if (isLegacyMarkerOf(manager, resource))
    return `carries this resource's marker from before the operator kept records, which proves nothing under a chosen name; to take it over, ask that InfluxOnboarding ${g.connection.onboarding} lists it for namespace ${namespace} in spec.accessFrom.grants[].adoptBuckets`;
  // Another namespace's resources are not this one's business: only a manager of this namespace is named.
  return manager.namespace === namespace
    ? `is managed by InfluxBucket ${manager.name}`
    : 'is managed by another resource';
}

/** Why an unmarked bucket is not adopted (undefined: it is): never the onboarding's own, only with spec.adopt and the grant's consent. */
function notAdoptable(g: Granted, target: string, atTarget: BucketInfo): string | undefined {
  const { spec, connection, terms } = g;
  const namespace = g.facts.resource.metadata.namespace;
  if (atTarget.name === connection.onboardingBucket || atTarget.id === connection.onboardingBucketID)
    return `is the onboarding's own bucket, which is never adopted`;
  const consent = `InfluxOnboarding ${connection.onboarding} lists it for namespace ${namespace} in spec.accessFrom.grants[].adoptBuckets`;
  if (!spec.adopt)
    return `is not managed by this resource; to adopt it, set spec.adopt: true${terms.home ? '' : ` (and ask that ${consent})`}`;
  if (!terms.home && !terms.adoptBuckets.includes(target))
    return `may be adopted only when ${consent}; its retention and description were left as they are`;
  return undefined;
}
