// The recorded bucket, found by its ID, kept as declared: what was changed outside the operator
// is put back one change at a time, then its DBRP mapping (bucket-influxql.ts), then BucketReady.
import type { RecordedBucket } from '../api/access-records.js';
import { READY } from '../api/types.js';
import type { BucketInfo } from '../influx/index.js';
import { after } from '../runtime/index.js';
import { decideMapping } from './bucket-influxql.js';
import { bucketDescription, finish, managerOf, mappingStep, type BucketStep, type Granted } from './bucket-facts.js';

export function describeRetention(seconds: number): string {
  return seconds === 0 ? 'infinite retention' : `retention ${seconds}s`;
}

/** The next change that puts the bucket back as declared (its recorded name, the retention, the description with the marker), or Ready. */
export function keepBucket(g: Granted, found: BucketInfo, entry: RecordedBucket): BucketStep {
  const { facts, spec, connection } = g;
  const { resource } = facts;
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
  return mappedAndReady(g, found, entry);
}

/** The bucket in sync: its mapping (spec.influxql) next, then BucketReady. */
function mappedAndReady(g: Granted, found: BucketInfo, entry: RecordedBucket): BucketStep {
  const { facts, spec, connection } = g;
  const { resource } = facts;
  const mapping = decideMapping({
    ...(spec.influxql && { want: spec.influxql }),
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
