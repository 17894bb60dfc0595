/**
 * decideDeletion alone: the record goes with the resource; a retained bucket keeps only what is
 * not this resource's (its mappings go); without a reachable onboarding a Warning says what is left;
 * a bucket is deleted only when it is proven this resource's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideDeletion } from '../../../src/access/bucket-deletion.js';
import { bucketMarker, type BucketFacts } from '../../../src/access/bucket-facts.js';
import { EMPTY_RECORD, type RecordedBucket } from '../../../src/api/access-records.js';
import { checkBucketSpec } from '../../../src/api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket } from '../../../src/api/access-types.js';
import type { BucketInfo } from '../../../src/influx/types.js';
import { DRIFT, NOW, WAITING, connection, granted, refOf } from '../../support/access-facts.js';

const UID = 'bucket-uid';
const FORGET = { kind: 'forgetBucket', uid: UID };

function deleting(
  spec: Record<string, unknown>,
  extra: Partial<BucketFacts> = {},
  entry?: RecordedBucket,
): ReturnType<typeof decideDeletion> {
  const resource: InfluxBucket = {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: {
      name: 'metrics',
      namespace: 'app-a',
      uid: UID,
      generation: 1,
      finalizers: [BUCKET_FINALIZER],
      deletionTimestamp: NOW,
    },
    spec: { onboardingRef: refOf, ...spec },
  };
  return decideDeletion({
    resource,
    checked: checkBucketSpec(resource),
    access: granted(),
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    record: { ...EMPTY_RECORD, buckets: entry ? { [UID]: entry } : {} },
    ...extra,
  });
}

const DELETE = { deletionPolicy: 'Delete' };
const MARKER = bucketMarker({ metadata: { name: 'metrics', namespace: 'app-a', uid: UID } });
const byID = (value: BucketInfo | null): Pick<BucketFacts, 'recorded'> => ({
  recorded: { id: 'b1', found: { ok: true, value } },
});
const bucket = (description: string): BucketInfo => ({
  id: 'b1',
  name: 'app-a.metrics',
  retentionSeconds: 0,
  description,
});

test('Retain: the finalizer goes with the record entry, nothing is asked of InfluxDB without mappings to drop', () => {
  assert.equal(deleting({}, {}, { name: 'app-a.metrics', id: 'b1' }), { kind: 'removeFinalizer', forget: FORGET });
  assert.equal(deleting({}), { kind: 'removeFinalizer' }, 'no record entry, nothing to forget');
  const mapped = deleting({}, {}, { name: 'app-a.metrics', id: 'b1', influxql: true });
  assert.equal(
    mapped,
    { kind: 'listMappings', connection, of: 'bucket', bucketID: 'b1' },
    "the resource's mappings go",
  );
});

test('Delete without a reachable onboarding: gone and not permitted let go with a Warning, not ready waits', () => {
  const entry = { name: 'app-a.metrics', id: 'b1' };
  const gone = deleting(
    DELETE,
    {
      access: {
        kind: 'waiting',
        reason: 'OnboardingNotFound',
        message: 'InfluxOnboarding monitoring/influxdb is gone',
        gone: true,
      },
    },
    entry,
  );
  assert.ok(gone.kind === 'removeFinalizer' && gone.event?.reason === 'OnboardingGone');
  const refused = deleting(DELETE, { access: { kind: 'not-permitted', message: 'no grant' } }, entry);
  assert.ok(
    refused.kind === 'removeFinalizer' && refused.event?.message === 'no grant: bucket app-a.metrics left in InfluxDB',
  );
  const never = deleting(DELETE, { access: { kind: 'not-permitted', message: 'no grant' } });
  assert.equal(never, { kind: 'removeFinalizer' }, 'nothing was ever made: nothing to warn of');
  const waiting = deleting(DELETE, { access: WAITING }, entry);
  assert.ok(waiting.kind === 'finish' && waiting.requeue.kind === 'after' && /deletion waits$/.test(waiting.message));
});

test('Delete: only a bucket proven this resource’s is deleted; anything else is left with a Warning', () => {
  const entry = { name: 'app-a.metrics', id: 'b1' };
  assert.equal(deleting(DELETE, {}, entry), { kind: 'readBucket', connection, bucketID: 'b1' });
  assert.equal(deleting(DELETE, byID(bucket(MARKER)), entry), { kind: 'deleteBucket', connection, bucketID: 'b1' });
  const copied = deleting(DELETE, byID(bucket('[managed by InfluxBucket app-a/other uid=u2]')), entry);
  assert.ok(copied.kind === 'removeFinalizer' && copied.event?.reason === 'BucketLeft');
  assert.equal(deleting(DELETE, byID(null), entry), { kind: 'removeFinalizer', forget: FORGET }, 'already gone');
  assert.equal(
    deleting({ ...DELETE, name: 'app-a.chosen' }),
    { kind: 'removeFinalizer' },
    'unrecorded under a chosen name',
  );
  assert.equal(
    deleting(DELETE),
    { kind: 'findBucket', connection, name: 'app-a-metrics' },
    'before records: the old default',
  );
  const deleted = deleting(DELETE, { deleted: true }, entry);
  assert.ok(deleted.kind === 'removeFinalizer' && deleted.event?.reason === 'BucketDeleted');
});

test.run();
