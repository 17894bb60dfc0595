// What the InfluxBucket decision reads (BucketFacts) and the steps it answers with, and what its
// phases share: the bucket's marker, the buckets this reconcile has seen by ID or by name, and
// the finish of a reconcile.
import type { AccessRecord, RecordChange, RecordRefusal } from '../api/access-records.js';
import type { Checked, EffectiveBucketSpec } from '../api/access-spec.js';
import type { GrantTerms } from '../api/access-from.js';
import { BUCKET_FINALIZER, type InfluxBucket, type InfluxBucketStatus } from '../api/access-types.js';
import type { BucketInfo, InfluxFailure, Outcome } from '../influx/index.js';
import { after } from '../runtime/index.js';
import {
  accessFinish,
  failureVerdict,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
  type OnboardingAccess,
} from './access.js';
import type { MappingAction, MappingFacts, MappingStep } from './bucket-influxql.js';

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

export type BucketFinish = AccessFinish<InfluxBucketStatus>;

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

/** An InfluxBucket whose preconditions hold: a valid spec, access through its onboarding, within its grant's terms. */
export interface Granted {
  facts: BucketFacts;
  spec: EffectiveBucketSpec;
  connection: Connection;
  terms: GrantTerms;
}

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

export function bucketDescription(spec: EffectiveBucketSpec, resource: Pick<InfluxBucket, 'metadata'>): string {
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
export function isLegacyMarkerOf(manager: Manager | undefined, resource: InfluxBucket): boolean {
  const { namespace, name } = resource.metadata;
  return manager !== undefined && manager.uid === undefined && manager.namespace === namespace && manager.name === name;
}

export function hasFinalizer(resource: InfluxBucket): boolean {
  return resource.metadata.finalizers?.includes(BUCKET_FINALIZER) ?? false;
}

export function finish(
  facts: BucketFacts,
  outcome: Parameters<typeof accessFinish<InfluxBucketStatus>>[2],
): BucketFinish {
  return accessFinish(facts.resource, facts.now, outcome);
}

/** The mapping phase's decision as a step or finish of the bucket's reconcile. */
export function mappingStep(
  facts: BucketFacts,
  decision: MappingAction,
  fields?: Partial<InfluxBucketStatus>,
): BucketStep {
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

/** The bucket of this ID among those this reconcile has seen (by ID or by name); undefined: not seen. */
function seenWithID(facts: BucketFacts, id: string): BucketInfo | null | undefined {
  if (facts.recorded?.id === id && facts.recorded.found.ok) return facts.recorded.found.value;
  for (const outcome of Object.values(facts.named ?? {}))
    if (outcome.ok && outcome.value?.id === id) return outcome.value;
  return undefined;
}

/** The next lookup by name, or the looked-up buckets, or a finish on failure. */
export function lookUp(
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
export function recordedBucket(facts: BucketFacts, connection: Connection, id: string): BucketInfo | null | BucketStep {
  const seen = seenWithID(facts, id);
  if (seen !== undefined) return seen;
  if (facts.recorded?.id !== id) return { kind: 'readBucket', connection, bucketID: id };
  const { found } = facts.recorded;
  return found.ok ? found.value : finish(facts, failureVerdict(`reading bucket ${id}`, found.failure));
}

/** Whether a phase answered with a step (rather than what it found). */
export function isBucketStep<T>(value: T | BucketStep): value is BucketStep {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'kind' in value;
}
