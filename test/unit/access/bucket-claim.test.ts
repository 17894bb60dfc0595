/**
 * claimBucket alone, once the preconditions hold: the recorded bucket kept, else the buckets of
 * its name looked up, one from before records taken over, a missing one created after its intent
 * is recorded, an existing one recorded, adopted with consent, or BucketExists with the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { claimBucket } from '../../../src/access/bucket-claim.js';
import { bucketMarker, type BucketFacts, type Granted } from '../../../src/access/bucket-facts.js';
import { EMPTY_RECORD, type RecordedBucket } from '../../../src/api/access-records.js';
import type { GrantTerms } from '../../../src/api/access-from.js';
import { checkBucketSpec } from '../../../src/api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket } from '../../../src/api/access-types.js';
import type { BucketInfo } from '../../../src/influx/types.js';
import { DRIFT, GRANTED, NOW, connection, granted, refOf } from '../../support/access-facts.js';

const UID = 'bucket-uid';

function claim(
  extra: Partial<BucketFacts> & { spec?: Record<string, unknown>; terms?: Partial<GrantTerms> } = {},
): ReturnType<typeof claimBucket> {
  const { spec: fields = {}, terms: overrides = {}, ...known } = extra;
  const resource: InfluxBucket = {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: { name: 'metrics', namespace: 'app-a', uid: UID, generation: 1, finalizers: [BUCKET_FINALIZER] },
    spec: { onboardingRef: refOf, retentionPeriodSeconds: 3600, ...fields },
  };
  const checked = checkBucketSpec(resource);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  const terms = { ...GRANTED, ...overrides };
  const g: Granted = {
    facts: { resource, checked, access: granted(terms), now: NOW, driftCheckIntervalMs: DRIFT, ...known },
    spec: checked.spec,
    connection,
    terms,
  };
  return claimBucket(g);
}

const recorded = (entry: RecordedBucket) => ({ record: { ...EMPTY_RECORD, buckets: { [UID]: entry } } });
const named = (entries: Record<string, BucketInfo | null>): Pick<BucketFacts, 'named'> => ({
  named: Object.fromEntries(Object.entries(entries).map(([name, value]) => [name, { ok: true as const, value }])),
});
const MARKER = bucketMarker({ metadata: { name: 'metrics', namespace: 'app-a', uid: UID } });
const bucketNamed = (name: string, description = '', id = 'b9'): BucketInfo => ({
  id,
  name,
  retentionSeconds: 3600,
  description,
});

function message(step: ReturnType<typeof claimBucket>): string {
  return step.kind === 'finish' ? `${step.reason}: ${step.message}` : step.kind;
}

test('the recorded bucket is read by its ID and kept; one gone is made again under the recorded name', () => {
  const entry = { name: 'app-a.metrics', id: 'b1' };
  assert.equal(claim(recorded(entry)), { kind: 'readBucket', connection, bucketID: 'b1' });
  const kept = claim({
    ...recorded(entry),
    recorded: { id: 'b1', found: { ok: true, value: bucketNamed('x', MARKER, 'b1') } },
  });
  assert.is(kept.kind, 'renameBucket');
  const gone = { ...recorded(entry), recorded: { id: 'b1', found: { ok: true as const, value: null } } };
  assert.equal(claim(gone), { kind: 'findBucket', connection, name: 'app-a.metrics' }, 'no legacy name once recorded');
  assert.equal(claim({ ...gone, ...named({ 'app-a.metrics': null }) }), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics' } },
  });
  const again = claim({ ...gone, ...recorded({ name: 'app-a.metrics' }), ...named({ 'app-a.metrics': null }) });
  assert.is(message(again), 'createBucket');
});

test('a bucket from before records: taken over under the old default name, never under another without consent', () => {
  const legacyMarker = '[managed by InfluxBucket app-a/metrics]';
  assert.equal(claim(named({ 'app-a.metrics': null, 'app-a-metrics': bucketNamed('app-a-metrics', legacyMarker) })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a-metrics', id: 'b9' } },
  });
  const chosen = { spec: { name: 'shared' }, terms: { bucketNames: ['shared'] } };
  assert.match(
    message(claim({ ...chosen, ...named({ shared: bucketNamed('shared', legacyMarker) }) })),
    /^BucketExists: .*adoptBuckets/,
  );
  assert.is(
    message(
      claim({
        ...chosen,
        terms: { adoptBuckets: ['shared'] },
        ...named({ shared: bucketNamed('shared', legacyMarker) }),
      }),
    ),
    'record',
  );
});

test('an existing bucket: each reason it is not this resource is named, and adoption needs spec.adopt and consent', () => {
  const at = (bucket: BucketInfo, extra: Parameters<typeof claim>[0] = {}) =>
    message(claim({ ...named({ 'app-a.metrics': bucket, 'app-a-metrics': null }), ...extra }));
  const cases: Array<[string, RegExp]> = [
    [at(bucketNamed('app-a.metrics', MARKER)), /never recorded creating or adopting it/],
    [
      at(bucketNamed('app-a.metrics', '[managed by InfluxBucket app-a/other uid=u2]')),
      /managed by InfluxBucket other$/,
    ],
    [at(bucketNamed('app-a.metrics', '[managed by InfluxBucket app-b/other uid=u2]')), /managed by another resource$/],
    [at(bucketNamed('app-a.metrics')), /set spec.adopt: true \(and ask that .*adoptBuckets\)$/],
    [at(bucketNamed('app-a.metrics'), { terms: { home: true } }), /set spec.adopt: true$/],
    [at(bucketNamed('app-a.metrics'), { spec: { adopt: true } }), /may be adopted only when .*left as they are$/],
    [
      at(bucketNamed('app-a.metrics', '', 'b-platform'), { spec: { adopt: true }, terms: { home: true } }),
      /onboarding's own bucket/,
    ],
  ];
  for (const [got, expected] of cases) assert.match(got, expected);
  const adopted = claim({
    ...named({ 'app-a.metrics': bucketNamed('app-a.metrics'), 'app-a-metrics': null }),
    spec: { adopt: true },
    terms: { adoptBuckets: ['app-a.metrics'], limits: { maxBuckets: 2 } },
  });
  assert.equal(adopted, {
    kind: 'record',
    change: {
      kind: 'bucket',
      uid: UID,
      bucket: { name: 'app-a.metrics', id: 'b9', adopted: true },
      limits: { maxBuckets: 2 },
    },
  });
});

test('a create whose answer was lost: the bucket found with this UID under the recorded name is recorded as the one created', () => {
  const step = claim({
    ...recorded({ name: 'app-a.metrics' }),
    ...named({ 'app-a.metrics': bucketNamed('app-a.metrics', MARKER) }),
  });
  assert.equal(step, {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics', id: 'b9' } },
  });
});

test.run();
