/**
 * keepBucket alone: the recorded bucket, found by its ID, is put back one change at a time (its
 * name first, then retention, then the description with the marker), then Ready; a repair is
 * told as BucketRepaired only to a resource that was Ready before.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bucketMarker, type Granted } from '../../../src/access/bucket-facts.js';
import { describeRetention, keepBucket } from '../../../src/access/bucket-keep.js';
import type { RecordedBucket } from '../../../src/api/access-records.js';
import { checkBucketSpec } from '../../../src/api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket } from '../../../src/api/access-types.js';
import type { BucketInfo } from '../../../src/influx/types.js';
import { DRIFT, GRANTED, NOW, connection, granted, refOf } from '../../support/access-facts.js';

const UID = 'bucket-uid';
const ENTRY: RecordedBucket = { name: 'app-a.metrics', id: 'b1' };

function resource(ready = false): InfluxBucket {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: { name: 'metrics', namespace: 'app-a', uid: UID, generation: 1, finalizers: [BUCKET_FINALIZER] },
    spec: { onboardingRef: refOf, retentionPeriodSeconds: 3600, description: 'app data' },
    ...(ready
      ? {
          status: {
            conditions: [
              { type: 'Ready', status: 'True', reason: 'BucketReady', message: '', lastTransitionTime: NOW },
            ],
          },
        }
      : {}),
  };
}

function grantedBucket(opts: { ready?: boolean; changes?: string[] } = {}): Granted {
  const bucket = resource(opts.ready);
  const checked = checkBucketSpec(bucket);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return {
    facts: {
      resource: bucket,
      checked,
      access: granted(),
      now: NOW,
      driftCheckIntervalMs: DRIFT,
      ...(opts.changes && { changes: opts.changes }),
    },
    spec: checked.spec,
    connection,
    terms: GRANTED,
  };
}

const DESCRIPTION = `app data ${bucketMarker(resource())}`;
const IN_SYNC: BucketInfo = { id: 'b1', name: 'app-a.metrics', retentionSeconds: 3600, description: DESCRIPTION };

test('describeRetention: 0 is infinite', () => {
  assert.is(describeRetention(0), 'infinite retention');
  assert.is(describeRetention(3600), 'retention 3600s');
});

test('several changes outside the operator are put back one at a time: name, then retention, then description', () => {
  const g = grantedBucket();
  let found: BucketInfo = { id: 'b1', name: 'stolen', retentionSeconds: 0, description: 'mine now' };
  const kinds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const step = keepBucket(g, found, ENTRY);
    kinds.push(step.kind);
    if (step.kind === 'renameBucket') found = { ...found, name: step.name };
    else if (step.kind === 'setRetention') {
      assert.is(step.change, 'set retention 3600s (was infinite retention)');
      found = { ...found, retentionSeconds: step.retentionSeconds };
    } else if (step.kind === 'describeBucket') {
      assert.is(step.change, 'marked the bucket as managed again', 'the marker was gone');
      found = { ...found, description: step.description };
    }
  }
  assert.equal(kinds, ['renameBucket', 'setRetention', 'describeBucket', 'finish']);
  assert.equal(found, IN_SYNC);
});

test("a description edited around this resource's own marker is only set again", () => {
  const step = keepBucket(grantedBucket(), { ...IN_SYNC, description: `edited ${bucketMarker(resource())}` }, ENTRY);
  assert.ok(
    step.kind === 'describeBucket' && step.change === 'set the description' && step.description === DESCRIPTION,
  );
});

test('in sync: BucketReady with the status fields; repairs are an event only for a resource that was Ready', () => {
  const fresh = keepBucket(grantedBucket({ changes: ['set the description'] }), IN_SYNC, ENTRY);
  assert.ok(fresh.kind === 'finish' && fresh.reason === 'BucketReady');
  assert.equal(
    [fresh.status.bucketID, fresh.status.bucketName, fresh.status.onboarding, fresh.status.adopted],
    ['b1', 'app-a.metrics', 'monitoring/influxdb', false],
  );
  assert.is(
    fresh.message,
    'bucket app-a.metrics (retention 3600s) in org acme of InfluxOnboarding monitoring/influxdb',
  );
  assert.not.equal(fresh.event?.reason, 'BucketRepaired', 'a first Ready is not a repair');
  const repaired = keepBucket(grantedBucket({ ready: true, changes: ['set the description'] }), IN_SYNC, ENTRY);
  assert.equal(repaired.kind === 'finish' && repaired.event, {
    type: 'Normal',
    reason: 'BucketRepaired',
    message: 'set the description',
  });
  const adopted = keepBucket(grantedBucket(), IN_SYNC, { ...ENTRY, adopted: true });
  assert.ok(adopted.kind === 'finish' && adopted.status.adopted === true);
});

test.run();
