// An InfluxBucket being deleted, as phases run in order: the finalizer, a retained bucket (its
// mappings go), an onboarding that cannot be reached through (the record goes, a Warning says what
// is left), then the bucket deleted only when it is proven this resource's.
import { EMPTY_RECORD, type RecordedBucket } from '../api/access-records.js';
import { legacyDefaultBucketName, type EffectiveBucketSpec } from '../api/access-spec.js';
import type { BucketInfo } from '../influx/index.js';
import { after, NONE, type ResourceEvent } from '../runtime/index.js';
import { failureVerdict, type Connection } from './access.js';
import { dropMappings } from './bucket-influxql.js';
import {
  finish,
  hasFinalizer,
  isBucketStep,
  isLegacyMarkerOf,
  lookUp,
  managerOf,
  mappingStep,
  recordedBucket,
  type BucketFacts,
  type BucketStep,
} from './bucket-facts.js';

/** An InfluxBucket being deleted with a valid spec: what its deletion phases read. */
interface Deleting {
  facts: BucketFacts;
  spec: EffectiveBucketSpec;
  /** Its record entry, if any. */
  entry: RecordedBucket | undefined;
  /** The finalizer removed, the record entry with it (the bucket, when retained, stays with its marker). */
  letGo: (event?: ResourceEvent) => BucketStep;
}

export function decideDeletion(facts: BucketFacts): BucketStep {
  const { resource, checked } = facts;
  if (!hasFinalizer(resource)) return finish(facts, { reason: 'Deleting', message: 'being deleted', requeue: NONE });
  if (!checked.ok) return { kind: 'removeFinalizer' };
  const uid = resource.metadata.uid;
  const entry = (facts.record ?? EMPTY_RECORD).buckets[uid];
  const letGo = (event?: ResourceEvent): BucketStep => ({
    kind: 'removeFinalizer',
    ...(event && { event }),
    ...(entry !== undefined && { forget: { kind: 'forgetBucket', uid } }),
  });
  if (facts.deleted) return letGo({ type: 'Normal', reason: 'BucketDeleted', message: 'bucket deleted from InfluxDB' });
  const d: Deleting = { facts, spec: checked.spec, entry, letGo };
  if (d.spec.deletionPolicy === 'Retain') return retain(d);
  const connection = reachable(d);
  return isBucketStep(connection) ? connection : deleteProven(d, connection);
}

/** The bucket stays, the mappings this resource made go with it (InfluxDB drops them only with the bucket). */
function retain({ facts, entry, letGo }: Deleting): BucketStep {
  const { access } = facts;
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

/**
 * The connection the bucket is deleted through. An onboarding gone, or not granting the namespace:
 * the resource goes, its bucket stays and a Warning says so; one not ready: the deletion waits.
 */
function reachable({ facts, spec, entry, letGo }: Deleting): Connection | BucketStep {
  const { access } = facts;
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
  return access.connection;
}

/**
 * Only a bucket proven this resource's is deleted: the recorded ID (or, during its create, the
 * recorded name) and this resource's marker; before records, a marker naming exactly this resource.
 */
function deleteProven(d: Deleting, connection: Connection): BucketStep {
  const { facts, entry, letGo } = d;
  const { resource } = facts;
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const candidate = deletionCandidate(d, connection);
  if (isBucketStep(candidate)) return candidate;
  if (candidate === undefined) return letGo();
  const manager = candidate === null ? undefined : managerOf(candidate.description);
  const legacyName = legacyDefaultBucketName(resource.metadata.namespace, resource.metadata.name);
  const proven =
    candidate !== null &&
    (entry === undefined
      ? isLegacyMarkerOf(manager, resource) && candidate.name === legacyName
      : manager?.uid === resource.metadata.uid);
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

/**
 * The bucket that may be this resource's: the recorded one by ID, else the one of the recorded (or,
 * before records, the legacy default) name; null when InfluxDB has none, undefined when nothing
 * can prove a bucket this resource's (unrecorded under a chosen name).
 */
function deletionCandidate(
  { facts, spec, entry }: Deleting,
  connection: Connection,
): BucketInfo | null | undefined | BucketStep {
  if (entry?.id !== undefined) return recordedBucket(facts, connection, entry.id);
  if (entry === undefined && spec.chosenName) return undefined;
  const { namespace, name } = facts.resource.metadata;
  const found = lookUp(facts, connection, [entry?.name ?? legacyDefaultBucketName(namespace, name)]);
  return Array.isArray(found) ? (found[0] ?? null) : found;
}
