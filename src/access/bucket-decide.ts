import {
  EMPTY_RECORD,
  type AccessRecord,
  type RecordChange,
  type RecordedBucket,
  type RecordRefusal,
} from '../api/access-records.js';
import {
  bucketNamePrefix,
  legacyDefaultBucketName,
  limitsOf,
  mayClaimBucketName,
  mayClaimDatabase,
  retentionBeyondLimits,
  type Checked,
  type EffectiveBucketSpec,
  type GrantTerms,
} from '../api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket, type InfluxBucketStatus } from '../api/access-types.js';
import { READY } from '../api/types.js';
import type { BucketInfo, InfluxFailure, Outcome } from '../influx/index.js';
import { after, NONE, type ResourceEvent } from '../runtime/index.js';
import {
  accessFinish,
  failureVerdict,
  refusalMessage,
  type OnboardingAccess,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
} from './access.js';
import {
  decideMapping,
  dropMappings,
  type MappingAction,
  type MappingFacts,
  type MappingStep,
} from './bucket-influxql.js';

/** Everything one reconcile of an InfluxBucket has learnt so far; the shell adds one observation per step. */
export interface BucketFacts {
  resource: InfluxBucket;
  checked: Checked<EffectiveBucketSpec>;
  access: OnboardingAccess;
  now: string;
  driftCheckIntervalMs: number;
  /** What the operator recorded for this namespace under the onboarding (read with a valid spec). */
  record?: AccessRecord;
  /** A record change refused: the namespace is at a limit of its grant. */
  refused?: RecordRefusal;
  /** The recorded bucket as InfluxDB shows it by ID; null when InfluxDB has none of that ID. */
  recorded?: { id: string; found: Outcome<BucketInfo | null> };
  /** Buckets of the onboarding's org looked up by name; null when none has that name. */
  named?: Readonly<Record<string, Outcome<BucketInfo | null>>>;
  /** The DBRP mappings listed (spec.influxql); emptied after each change to them. */
  mappings?: MappingFacts;
  /** Other InfluxBuckets declaring `default: true` for spec.influxql.database (see MappingInput). */
  defaultClaimants?: readonly string[];
  /** A change InfluxDB refused: what was tried and its answer. */
  failure?: { doing: string; failure: InfluxFailure };
  /** What this reconcile changed in InfluxDB, for the event and the status. */
  changes?: string[];
  deleted?: boolean;
}

type BucketFinish = AccessFinish<InfluxBucketStatus>;

export type BucketStep =
  | FinalizerStep
  | { kind: 'record'; change: RecordChange }
  | { kind: 'findBucket'; connection: Connection; name: string }
  | { kind: 'readBucket'; connection: Connection; bucketID: string }
  /** change: what a success did, in words, for the event and facts.changes. */
  | {
      kind: 'createBucket';
      connection: Connection;
      name: string;
      retentionSeconds: number;
      description: string;
      change: string;
    }
  | { kind: 'renameBucket'; connection: Connection; bucketID: string; name: string; change: string }
  | { kind: 'setRetention'; connection: Connection; bucketID: string; retentionSeconds: number; change: string }
  | { kind: 'describeBucket'; connection: Connection; bucketID: string; description: string; change: string }
  | { kind: 'deleteBucket'; connection: Connection; bucketID: string }
  | MappingStep
  | BucketFinish;

/** Who a bucket's marker names: the InfluxBucket's namespace, name and (since markers carry it) UID. */
export interface Manager {
  namespace: string;
  name: string;
  /** Absent in markers written before UIDs were (`[managed by InfluxBucket <namespace>/<name>]`). */
  uid?: string;
}

const MARKER = /\[managed by InfluxBucket ([^/\]\s]+)\/([^\]\s]+)(?: uid=([^\]\s]+))?\]$/;

/**
 * The tag that claims a bucket for this resource, read back from InfluxDB itself. A claim only: an
 * application's write token can edit a bucket's description, so ownership needs the ID the
 * operator recorded as well (see decideBucket).
 */
export function bucketMarker(resource: Pick<InfluxBucket, 'metadata'>): string {
  const { namespace, name, uid } = resource.metadata;
  return `[managed by InfluxBucket ${namespace}/${name} uid=${uid}]`;
}

function bucketDescription(spec: EffectiveBucketSpec, resource: Pick<InfluxBucket, 'metadata'>): string {
  const marker = bucketMarker(resource);
  return spec.description === '' ? marker : `${spec.description} ${marker}`;
}

/** The InfluxBucket a bucket's description names as its manager; undefined: none. */
export function managerOf(description: string): Manager | undefined {
  const match = MARKER.exec(description);
  if (!match) return undefined;
  const [, namespace = '', name = '', uid] = match;
  return uid === undefined ? { namespace, name } : { namespace, name, uid };
}

/** A marker the operator wrote for this resource before markers carried UIDs: taken over once on upgrade. */
function isLegacyMarkerOf(manager: Manager | undefined, resource: InfluxBucket): boolean {
  const { namespace, name } = resource.metadata;
  return manager !== undefined && manager.uid === undefined && manager.namespace === namespace && manager.name === name;
}

function hasFinalizer(resource: InfluxBucket): boolean {
  return resource.metadata.finalizers?.includes(BUCKET_FINALIZER) ?? false;
}

function finish(facts: BucketFacts, outcome: Parameters<typeof accessFinish<InfluxBucketStatus>>[2]): BucketFinish {
  return accessFinish(facts.resource, facts.now, outcome);
}

/** The mapping phase's decision as a step or finish of the bucket's reconcile. */
function mappingStep(facts: BucketFacts, decision: MappingAction, fields?: Partial<InfluxBucketStatus>): BucketStep {
  switch (decision.kind) {
    case 'step':
      return decision.step;
    case 'failed':
      return finish(facts, { ...failureVerdict(decision.doing, decision.failure), ...(fields && { fields }) });
    case 'refused':
      return finish(facts, {
        reason: decision.reason,
        message: decision.message,
        requeue: after(facts.driftCheckIntervalMs),
        // The status shows the mapping as it is now: none when the database is another's.
        ...(fields && { fields: { ...fields, influxql: decision.status } }),
      });
  }
}

function describeRetention(seconds: number): string {
  return seconds === 0 ? 'infinite retention' : `retention ${seconds}s`;
}

/** The bucket of this ID among those this reconcile has seen (by ID or by name); undefined: not seen. */
function seenWithID(facts: BucketFacts, id: string): BucketInfo | null | undefined {
  if (facts.recorded?.id === id && facts.recorded.found.ok) return facts.recorded.found.value;
  for (const outcome of Object.values(facts.named ?? {}))
    if (outcome.ok && outcome.value?.id === id) return outcome.value;
  return undefined;
}

/** The next lookup by name, or the looked-up buckets, or a finish on failure. */
function lookUp(
  facts: BucketFacts,
  connection: Connection,
  names: readonly string[],
): BucketStep | Array<BucketInfo | null> {
  const found: Array<BucketInfo | null> = [];
  for (const name of names) {
    const outcome = facts.named?.[name];
    if (outcome === undefined) return { kind: 'findBucket', connection, name };
    if (!outcome.ok) return finish(facts, failureVerdict(`looking up bucket ${name}`, outcome.failure));
    found.push(outcome.value);
  }
  return found;
}

/** Reads the recorded bucket by ID: the bucket itself, null when gone, or the step to learn it. */
function recordedBucket(facts: BucketFacts, connection: Connection, id: string): BucketInfo | null | BucketStep {
  const seen = seenWithID(facts, id);
  if (seen !== undefined) return seen;
  if (facts.recorded?.id !== id) return { kind: 'readBucket', connection, bucketID: id };
  const { found } = facts.recorded;
  return found.ok ? found.value : finish(facts, failureVerdict(`reading bucket ${id}`, found.failure));
}

function isBucketStep(value: BucketInfo | null | BucketStep | Array<BucketInfo | null>): value is BucketStep {
  return value !== null && !Array.isArray(value) && 'kind' in value;
}

/**
 * Who a bucket's marker names, for a BucketExists message: an InfluxBucket of this namespace by
 * name, anything else without a name (another namespace's resources are not this one's business).
 */
function managedBy(manager: Manager, namespace: string): string {
  return manager.namespace === namespace
    ? `is managed by InfluxBucket ${manager.name}`
    : 'is managed by another resource';
}

function decideDeletion(facts: BucketFacts): BucketStep {
  const { resource, checked, access } = facts;
  if (!hasFinalizer(resource)) return finish(facts, { reason: 'Deleting', message: 'being deleted', requeue: NONE });
  if (!checked.ok) return { kind: 'removeFinalizer' };
  const uid = resource.metadata.uid;
  const entry = (facts.record ?? EMPTY_RECORD).buckets[uid];
  // The record goes with the resource (the bucket, when retained, stays with its marker).
  const letGo = (event?: ResourceEvent): BucketStep => ({
    kind: 'removeFinalizer',
    ...(event && { event }),
    ...(entry !== undefined && { forget: { kind: 'forgetBucket', uid } }),
  });
  if (facts.deleted) return letGo({ type: 'Normal', reason: 'BucketDeleted', message: 'bucket deleted from InfluxDB' });
  const spec = checked.spec;
  if (spec.deletionPolicy === 'Retain') {
    // The bucket stays, the mappings this resource made go with it (InfluxDB drops them only with the bucket).
    if (access.kind === 'ready' && entry?.influxql === true && entry.id !== undefined) {
      if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
      const drop = dropMappings(
        { bucketID: entry.id, connection: access.connection, mappings: facts.mappings ?? {} },
        'the InfluxBucket was deleted; the bucket is retained',
      );
      if (drop !== undefined) return mappingStep(facts, drop);
    }
    return letGo();
  }
  if (access.kind === 'waiting' && access.gone) {
    return letGo({
      type: 'Warning',
      reason: 'OnboardingGone',
      message: `${access.message}: bucket ${spec.bucketName} left in InfluxDB (deletionPolicy Delete could not be carried out)`,
    });
  }
  if (access.kind === 'not-permitted') {
    return letGo(
      entry?.id === undefined
        ? undefined
        : {
            type: 'Warning',
            reason: 'NotPermitted',
            message: `${access.message}: bucket ${entry.name} left in InfluxDB`,
          },
    );
  }
  if (access.kind === 'waiting')
    // Waiting for the onboarding: its change wakes this resource, the drift interval is the poll.
    return finish(facts, {
      reason: access.reason,
      message: `${access.message}; deletion waits`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const { connection } = access;
  // Only a bucket proven this resource's is deleted: the recorded ID (or, during its create, the
  // recorded name) and this resource's marker; before records, a marker naming exactly this resource.
  let candidate: BucketInfo | null;
  if (entry?.id !== undefined) {
    const found = recordedBucket(facts, connection, entry.id);
    if (isBucketStep(found)) return found;
    candidate = found;
  } else {
    // Unrecorded under a chosen name: nothing can prove the bucket of that name is this resource's.
    if (entry === undefined && spec.chosenName) return letGo();
    const name = entry?.name ?? legacyDefaultBucketName(resource.metadata.namespace, resource.metadata.name);
    const found = lookUp(facts, connection, [name]);
    if (!Array.isArray(found)) return found;
    candidate = found[0] ?? null;
  }
  const manager = candidate === null ? undefined : managerOf(candidate.description);
  const legacyName = legacyDefaultBucketName(resource.metadata.namespace, resource.metadata.name);
  const proven =
    candidate !== null &&
    (entry === undefined ? isLegacyMarkerOf(manager, resource) && candidate.name === legacyName : manager?.uid === uid);
  if (candidate !== null && proven) return { kind: 'deleteBucket', connection, bucketID: candidate.id };
  return letGo(
    candidate === null
      ? undefined
      : {
          type: 'Warning',
          reason: 'BucketLeft',
          message: `bucket ${candidate.name} left in InfluxDB: its marker does not name this resource (changed outside the operator)`,
        },
  );
}

/** The checks of the grant's terms that come before anything in InfluxDB: the name (point of consent) and the retention limits. */
function outsideTerms(
  facts: BucketFacts,
  spec: EffectiveBucketSpec,
  terms: GrantTerms,
  onboarding: string,
): BucketStep | undefined {
  const namespace = facts.resource.metadata.namespace;
  if (spec.chosenName && !mayClaimBucketName(spec.bucketName, namespace, terms)) {
    return finish(facts, {
      reason: 'NotPermitted',
      message: `spec.name ${spec.bucketName} is outside this namespace's own bucket names (${bucketNamePrefix(namespace)}*); InfluxOnboarding ${onboarding} must list it for namespace ${namespace} in spec.accessFrom.grants[].bucketNames. Nothing was created`,
      requeue: NONE,
    });
  }
  const beyond = terms.home ? undefined : retentionBeyondLimits(spec.retentionPeriodSeconds, terms.limits);
  if (beyond !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `spec.retentionPeriodSeconds ${spec.retentionPeriodSeconds} is ${beyond} that InfluxOnboarding ${onboarding} allows namespace ${namespace} (spec.accessFrom limits). Nothing was changed`,
      requeue: NONE,
    });
  }
  if (facts.refused !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `${refusalMessage(facts.refused, 'InfluxBuckets', onboarding, namespace)}. Nothing was created`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  }
  return undefined;
}

/**
 * A database the namespace may not map (outside its prefix, not in its grant's databases):
 * NotPermitted before any request; one mapped under a grant since withdrawn loses its mapping
 * first, as a withdrawn grant's tokens are revoked.
 */
function unclaimableDatabase(
  facts: BucketFacts,
  spec: EffectiveBucketSpec,
  terms: GrantTerms,
  connection: Connection,
): BucketStep | undefined {
  const { namespace, uid } = facts.resource.metadata;
  const database = spec.influxql?.database;
  if (database === undefined || mayClaimDatabase(database, namespace, terms)) return undefined;
  const why = `InfluxOnboarding ${connection.onboarding} does not let namespace ${namespace} map database ${database}`;
  const entry = facts.record?.buckets[uid];
  if (entry?.influxql === true && entry.id !== undefined) {
    const drop = dropMappings({ bucketID: entry.id, connection, mappings: facts.mappings ?? {} }, why);
    if (drop !== undefined) return mappingStep(facts, drop);
  }
  return finish(facts, {
    reason: 'NotPermitted',
    fields: { influxql: undefined },
    message: `spec.influxql.database ${database} is outside this namespace's own database names (${bucketNamePrefix(namespace)}*); InfluxOnboarding ${connection.onboarding} must list it for namespace ${namespace} in spec.accessFrom.grants[].databases. Nothing is mapped`,
    requeue: NONE,
  });
}

/** The recorded bucket, found by its ID: what was changed outside the operator is put back, then Ready. */
function keep(facts: BucketFacts, connection: Connection, found: BucketInfo, entry: RecordedBucket): BucketStep {
  const { resource } = facts;
  const spec = facts.checked.ok ? facts.checked.spec : undefined;
  if (spec === undefined) throw new Error('keep() needs a valid spec');
  const recordedName = entry.name;
  if (found.name !== recordedName) {
    return {
      kind: 'renameBucket',
      connection,
      bucketID: found.id,
      name: recordedName,
      change: `renamed the bucket back to ${recordedName} (it had been renamed to ${found.name} outside the operator)`,
    };
  }
  if (found.retentionSeconds !== spec.retentionPeriodSeconds) {
    const change = `set ${describeRetention(spec.retentionPeriodSeconds)} (was ${describeRetention(found.retentionSeconds)})`;
    return {
      kind: 'setRetention',
      connection,
      bucketID: found.id,
      retentionSeconds: spec.retentionPeriodSeconds,
      change,
    };
  }
  const description = bucketDescription(spec, resource);
  if (found.description !== description) {
    const change =
      managerOf(found.description)?.uid === resource.metadata.uid
        ? 'set the description'
        : 'marked the bucket as managed again';
    return { kind: 'describeBucket', connection, bucketID: found.id, description, change };
  }
  return mappedAndReady(facts, connection, found, entry);
}

/** The bucket in sync: its mapping (spec.influxql) next, then BucketReady. */
function mappedAndReady(
  facts: BucketFacts,
  connection: Connection,
  found: BucketInfo,
  entry: RecordedBucket,
): BucketStep {
  const { resource } = facts;
  const want = facts.checked.ok ? facts.checked.spec.influxql : undefined;
  const mapping = decideMapping({
    ...(want && { want }),
    uid: resource.metadata.uid,
    entry,
    bucketID: found.id,
    connection,
    mappings: facts.mappings ?? {},
    defaultClaimants: facts.defaultClaimants ?? [],
    namespace: resource.metadata.namespace,
  });
  const fields = {
    bucketName: found.name,
    bucketID: found.id,
    onboarding: connection.onboarding,
    adopted: entry.adopted === true,
  };
  // The bucket is there whatever its mapping's trouble: the status says which it is.
  if (mapping.kind !== 'done') return mappingStep(facts, mapping, fields);
  const changes = facts.changes ?? [];
  const wasReady = resource.status?.conditions?.some((c) => c.type === READY && c.status === 'True') === true;
  const mapped =
    mapping.status &&
    `, InfluxQL database ${mapping.status.database} retention policy ${mapping.status.retentionPolicy}${mapping.status.default ? ' (its default)' : ''}`;
  return finish(facts, {
    reason: 'BucketReady',
    message: `bucket ${found.name} (${describeRetention(found.retentionSeconds)}) in org ${connection.org} of InfluxOnboarding ${connection.onboarding}${mapped ?? ''}`,
    requeue: after(facts.driftCheckIntervalMs),
    fields: {
      ...fields,
      // Set even when undefined: a mapping removed with its field leaves the status too.
      influxql: mapping.status,
    },
    ...(changes.length > 0 && wasReady
      ? { event: { type: 'Normal' as const, reason: 'BucketRepaired', message: changes.join('; ') } }
      : {}),
  });
}

/**
 * A bucket is this resource's only when its ID is the one the operator recorded for this
 * resource's UID (in a record no tenant can write) and its marker names this UID. The marker alone
 * proves nothing (an application's write token can copy it onto another bucket it may write), a
 * status proves nothing (a tenant may write it). An existing bucket is adopted only with
 * spec.adopt and the onboarding's consent for this namespace; otherwise it is BucketExists and left
 * exactly as it is.
 */
export function decideBucket(facts: BucketFacts): BucketStep {
  const { resource, checked, access } = facts;
  if (resource.metadata.deletionTimestamp !== undefined) return decideDeletion(facts);
  if (!checked.ok) return finish(facts, { reason: 'InvalidSpec', message: checked.problems.join('; '), requeue: NONE });
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  const spec = checked.spec;
  if (access.kind === 'not-permitted')
    return finish(facts, { reason: 'NotPermitted', message: access.message, requeue: NONE });
  if (access.kind === 'waiting')
    return finish(facts, {
      reason: access.reason,
      message: access.message,
      requeue: after(facts.driftCheckIntervalMs),
    });
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const { connection, terms } = access;
  const refused =
    outsideTerms(facts, spec, terms, connection.onboarding) ?? unclaimableDatabase(facts, spec, terms, connection);
  if (refused !== undefined) return refused;

  const { namespace, name, uid } = resource.metadata;
  const limits = limitsOf(terms);
  const record = facts.record ?? EMPTY_RECORD;
  const entry = record.buckets[uid];
  if (entry?.id !== undefined) {
    const found = recordedBucket(facts, connection, entry.id);
    if (isBucketStep(found)) return found;
    if (found !== null) return keep(facts, connection, found, entry);
  }
  const target = entry?.name ?? spec.bucketName;
  // Before records, the default name was <namespace>-<name>: such a bucket the operator made for this resource is kept.
  const legacy = !spec.chosenName && entry === undefined ? legacyDefaultBucketName(namespace, name) : undefined;
  const found = lookUp(facts, connection, legacy === undefined ? [target] : [target, legacy]);
  if (!Array.isArray(found)) return found;
  const [atTarget = null, atLegacy = null] = found;
  // A marker from before records is a claim anyone with write on the bucket could have written: it
  // is taken as proof only under the old default name (renaming a bucket to it needs read and write,
  // which is all access already), at home, or with the onboarding's consent to adopt that name.
  const upgradable = (bucket: BucketInfo | null): bucket is BucketInfo =>
    bucket !== null &&
    isLegacyMarkerOf(managerOf(bucket.description), resource) &&
    (bucket.name === legacyDefaultBucketName(namespace, name) ||
      terms.home ||
      terms.adoptBuckets.includes(bucket.name));
  const upgraded = [atTarget, atLegacy].find(upgradable);
  if (entry === undefined && upgraded !== undefined)
    return { kind: 'record', change: { kind: 'bucket', uid, bucket: { name: upgraded.name, id: upgraded.id } } };

  if (atTarget === null) {
    // The record holds the intent before the create, so a bucket found with this resource's marker after a lost answer is provably the one created.
    if (entry === undefined || entry.id !== undefined) {
      return {
        kind: 'record',
        change: { kind: 'bucket', uid, bucket: { name: target }, ...(limits && { limits }) },
      };
    }
    return {
      kind: 'createBucket',
      connection,
      name: target,
      retentionSeconds: spec.retentionPeriodSeconds,
      description: bucketDescription(spec, resource),
      change:
        facts.recorded?.found.ok && facts.recorded.found.value === null
          ? `created bucket ${target} again (the recorded one, ID ${facts.recorded.id}, was deleted outside the operator)`
          : `created bucket ${target}`,
    };
  }

  // What it waits for is in InfluxDB, which nothing watches (the bucket deleted or renamed there),
  // or in a record another replica may have written: looked at again every drift interval.
  const exists = (why: string): BucketStep =>
    finish(facts, {
      reason: 'BucketExists',
      message: `bucket ${target} exists in org ${connection.org} and ${why}`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  const manager = managerOf(atTarget.description);
  if (manager?.uid === uid) {
    if (entry !== undefined && entry.id === undefined)
      return { kind: 'record', change: { kind: 'bucket', uid, bucket: { name: target, id: atTarget.id } } };
    return exists(
      entry === undefined
        ? "carries this resource's marker, but the operator never recorded creating or adopting it (a copied marker proves nothing)"
        : `carries this resource's marker, but is not the bucket the operator recorded (ID ${entry.id ?? ''}, deleted outside the operator)`,
    );
  }
  if (isLegacyMarkerOf(manager, resource)) {
    return exists(
      `carries this resource's marker from before the operator kept records, which proves nothing under a chosen name; to take it over, ask that InfluxOnboarding ${connection.onboarding} lists it for namespace ${namespace} in spec.accessFrom.grants[].adoptBuckets`,
    );
  }
  if (manager !== undefined) return exists(managedBy(manager, namespace));
  if (atTarget.name === connection.onboardingBucket || atTarget.id === connection.onboardingBucketID)
    return exists(`is the onboarding's own bucket, which is never adopted`);
  const consent = `InfluxOnboarding ${connection.onboarding} lists it for namespace ${namespace} in spec.accessFrom.grants[].adoptBuckets`;
  if (!spec.adopt)
    return exists(
      `is not managed by this resource; to adopt it, set spec.adopt: true${terms.home ? '' : ` (and ask that ${consent})`}`,
    );
  if (!terms.home && !terms.adoptBuckets.includes(target))
    return exists(`may be adopted only when ${consent}; its retention and description were left as they are`);
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
