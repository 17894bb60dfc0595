import type { EffectiveBucketSpec, Checked } from '../api/access-spec.js';
import {
  BUCKET_FINALIZER,
  type AccessReason,
  type InfluxBucket,
  type InfluxBucketStatus,
} from '../api/access-types.js';
import type { Verdict } from '../api/reconcile.js';
import { READY } from '../api/types.js';
import type { BucketInfo, InfluxFailure, Outcome } from '../influx/index.js';
import { after, NONE } from '../runtime/index.js';
import {
  accessFinish,
  failureVerdict,
  type OnboardingAccess,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
} from './access.js';

/** Everything one reconcile of an InfluxBucket has learnt so far; the shell adds one observation per step. */
export interface BucketFacts {
  resource: InfluxBucket;
  checked: Checked<EffectiveBucketSpec>;
  access: OnboardingAccess;
  now: string;
  driftCheckIntervalMs: number;
  /** The bucket of the wanted name in the onboarding's org (null: none). */
  bucket?: Outcome<BucketInfo | null>;
  /** A change InfluxDB refused: what was tried and its answer. */
  failure?: { doing: string; failure: InfluxFailure };
  /** What this reconcile changed in InfluxDB, for the event. */
  changes?: string[];
  deleted?: boolean;
}

type BucketFinish = AccessFinish<InfluxBucketStatus>;

export type BucketStep =
  | FinalizerStep
  | { kind: 'findBucket'; connection: Connection; name: string }
  /** change: what a success did, in words, for the event and facts.changes. */
  | {
      kind: 'createBucket';
      connection: Connection;
      name: string;
      retentionSeconds: number;
      description: string;
      change: string;
    }
  | { kind: 'setRetention'; connection: Connection; bucketID: string; retentionSeconds: number; change: string }
  | { kind: 'describeBucket'; connection: Connection; bucketID: string; description: string; change: string }
  | { kind: 'deleteBucket'; connection: Connection; bucketID: string }
  | BucketFinish;

const CREATED = 'created bucket';
const ADOPTED = 'adopted bucket';
const MARKER = /\[managed by InfluxBucket ([^/\]\s]+)\/([^\]\s]+)\]$/;

/** The tag that marks a bucket as this resource's: who manages it is read back from InfluxDB itself. */
export function bucketMarker(namespace: string, name: string): string {
  return `[managed by InfluxBucket ${namespace}/${name}]`;
}

function bucketDescription(spec: EffectiveBucketSpec, namespace: string, name: string): string {
  const marker = bucketMarker(namespace, name);
  return spec.description === '' ? marker : `${spec.description} ${marker}`;
}

/** The InfluxBucket (namespace/name) that manages a bucket, from its description; undefined: none. */
export function managerOf(description: string): string | undefined {
  const match = MARKER.exec(description);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

function hasFinalizer(resource: InfluxBucket): boolean {
  return resource.metadata.finalizers?.includes(BUCKET_FINALIZER) ?? false;
}

function finish(facts: BucketFacts, outcome: Parameters<typeof accessFinish<InfluxBucketStatus>>[2]): BucketFinish {
  return accessFinish(facts.resource, facts.now, outcome);
}

function describeRetention(seconds: number): string {
  return seconds === 0 ? 'infinite retention' : `retention ${seconds}s`;
}

function decideDeletion(facts: BucketFacts): BucketStep {
  const { resource, checked, access } = facts;
  const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
  if (!hasFinalizer(resource)) return finish(facts, { reason: 'Deleting', message: 'being deleted', requeue: NONE });
  if (facts.deleted)
    return {
      kind: 'removeFinalizer',
      event: { type: 'Normal', reason: 'BucketDeleted', message: `bucket deleted from InfluxDB` },
    };
  if (!checked.ok || checked.spec.deletionPolicy === 'Retain') return { kind: 'removeFinalizer' };
  if (access.kind === 'waiting' && access.gone) {
    return {
      kind: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'OnboardingGone',
        message: `${access.message}: bucket ${checked.spec.bucketName} left in InfluxDB (deletionPolicy Delete could not be carried out)`,
      },
    };
  }
  if (access.kind === 'not-permitted') {
    return {
      kind: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'NotPermitted',
        message: `${access.message}: bucket ${checked.spec.bucketName} left in InfluxDB`,
      },
    };
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
  if (facts.bucket === undefined) return { kind: 'findBucket', connection, name: checked.spec.bucketName };
  if (!facts.bucket.ok)
    return finish(facts, failureVerdict(`looking up bucket ${checked.spec.bucketName}`, facts.bucket.failure));
  const found = facts.bucket.value;
  // Only the bucket this resource manages is deleted: one re-created by someone else under the same name stays.
  if (found === null || managerOf(found.description) !== key) return { kind: 'removeFinalizer' };
  return { kind: 'deleteBucket', connection, bucketID: found.id };
}

// The reasons a bucket's decision ends with, and their messages.
const verdicts = {
  invalidSpec: (problems: readonly string[]): BucketVerdict => ({
    reason: 'InvalidSpec',
    message: problems.join('; '),
    requeue: NONE,
  }),
  notPermitted: (message: string): BucketVerdict => ({ reason: 'NotPermitted', message, requeue: NONE }),
  // Waiting for the onboarding: its change wakes the bucket, the drift interval is the poll.
  waiting: (facts: BucketFacts, reason: AccessReason, message: string): BucketVerdict => ({
    reason,
    message,
    requeue: after(facts.driftCheckIntervalMs),
  }),
  exists: (spec: EffectiveBucketSpec, connection: Connection, why: string): BucketVerdict => ({
    reason: 'BucketExists',
    message: `bucket ${spec.bucketName} exists in org ${connection.org} and ${why}`,
    requeue: NONE,
  }),
  ready: (facts: BucketFacts, spec: EffectiveBucketSpec, connection: Connection, found: BucketInfo): BucketVerdict => {
    const { resource } = facts;
    const changes = facts.changes ?? [];
    const adopted =
      changes.some((change) => change.startsWith(ADOPTED)) ||
      (!changes.some((change) => change.startsWith(CREATED)) && resource.status?.adopted === true);
    const wasReady = resource.status?.conditions?.some((c) => c.type === READY && c.status === 'True') === true;
    return {
      reason: 'BucketReady',
      message: `bucket ${spec.bucketName} (${describeRetention(found.retentionSeconds)}) in org ${connection.org} of InfluxOnboarding ${connection.onboarding}`,
      requeue: after(facts.driftCheckIntervalMs),
      fields: { bucketName: spec.bucketName, bucketID: found.id, onboarding: connection.onboarding, adopted },
      ...(changes.length > 0 &&
        wasReady && { event: { type: 'Normal' as const, reason: 'BucketRepaired', message: changes.join('; ') } }),
    };
  },
};
const whyNotOurs = {
  managed: (manager: string) => `is managed by InfluxBucket ${manager}`,
  onboardings: `is the onboarding's own bucket, which is never adopted`,
  notAdopted: 'is not managed by this resource; set spec.adopt: true to adopt it',
};
type BucketVerdict = Verdict<AccessReason, InfluxBucketStatus>;

/** What an InfluxBucket needs next: its finalizer, access through its onboarding, then the bucket as declared. */
export function decideBucket(facts: BucketFacts): BucketStep {
  const { resource, checked, access } = facts;
  if (resource.metadata.deletionTimestamp !== undefined) return decideDeletion(facts);
  if (!checked.ok) return finish(facts, verdicts.invalidSpec(checked.problems));
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  const spec = checked.spec;
  if (access.kind === 'not-permitted') return finish(facts, verdicts.notPermitted(access.message));
  if (access.kind === 'waiting') return finish(facts, verdicts.waiting(facts, access.reason, access.message));
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const { connection } = access;
  if (facts.bucket === undefined) return { kind: 'findBucket', connection, name: spec.bucketName };
  if (!facts.bucket.ok)
    return finish(facts, failureVerdict(`looking up bucket ${spec.bucketName}`, facts.bucket.failure));
  const found = facts.bucket.value;
  const { namespace, name } = resource.metadata;
  const description = bucketDescription(spec, namespace, name);
  if (found === null) {
    const change = `${CREATED} ${spec.bucketName}`;
    const retentionSeconds = spec.retentionPeriodSeconds;
    return { kind: 'createBucket', connection, name: spec.bucketName, retentionSeconds, description, change };
  }
  return claim(facts, spec, connection, found, description) ?? converge(facts, spec, connection, found, description);
}

/** A bucket of the wanted name that is not marked as this resource's: taken when it may be, else BucketExists. */
function claim(
  facts: BucketFacts,
  spec: EffectiveBucketSpec,
  connection: Connection,
  found: BucketInfo,
  description: string,
): BucketStep | undefined {
  const { resource } = facts;
  const manager = managerOf(found.description);
  if (manager === `${resource.metadata.namespace}/${resource.metadata.name}`) return undefined;
  const exists = (why: string) => finish(facts, verdicts.exists(spec, connection, why));
  if (manager !== undefined) return exists(whyNotOurs.managed(manager));
  if (found.name === connection.onboardingBucket || found.id === connection.onboardingBucketID)
    return exists(whyNotOurs.onboardings);
  // A bucket this resource created or adopted before (its status says so) whose marker someone removed is taken back.
  const before = found.id === resource.status?.bucketID;
  if (!spec.adopt && !before) return exists(whyNotOurs.notAdopted);
  const change = before ? 'marked the bucket as managed again' : `${ADOPTED} ${spec.bucketName}`;
  return { kind: 'describeBucket', connection, bucketID: found.id, description, change };
}

/** This resource's bucket gets the declared retention and description; then it is Ready. */
function converge(
  facts: BucketFacts,
  spec: EffectiveBucketSpec,
  connection: Connection,
  found: BucketInfo,
  description: string,
): BucketStep {
  const retentionSeconds = spec.retentionPeriodSeconds;
  if (found.retentionSeconds !== retentionSeconds) {
    const change = `set ${describeRetention(retentionSeconds)} (was ${describeRetention(found.retentionSeconds)})`;
    return { kind: 'setRetention', connection, bucketID: found.id, retentionSeconds, change };
  }
  if (found.description !== description)
    return { kind: 'describeBucket', connection, bucketID: found.id, description, change: 'set the description' };
  return finish(facts, verdicts.ready(facts, spec, connection, found));
}
