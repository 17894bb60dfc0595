/**
 * decideBucket, row by row: each row is the facts one reconcile has gathered and the one step (or
 * finish) that must come next. Ownership is proven (the operator's recorded ID and the UID
 * marker), never taken from a status; names outside the namespace's prefix, adoption and limits
 * need the grant; no row reaches InfluxDB before the grant and the spec allow it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideBucket } from '../../../src/access/bucket-decide.js';
import { bucketMarker, managerOf, type BucketFacts } from '../../../src/access/bucket-facts.js';
import { EMPTY_RECORD, type AccessRecord, type RecordedBucket } from '../../../src/api/access-records.js';
import { checkBucketSpec } from '../../../src/api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket } from '../../../src/api/access-types.js';
import type { BucketInfo } from '../../../src/influx/types.js';
import { DRIFT, NOW, WAITING, connection, granted, refOf } from '../../support/access-facts.js';

const READY = granted();
const UID = 'bucket-uid';

function bucket(
  spec: Record<string, unknown> = {},
  meta: Partial<InfluxBucket['metadata']> = {},
  status?: InfluxBucket['status'],
): InfluxBucket {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: { name: 'metrics', namespace: 'app-a', uid: UID, generation: 1, finalizers: [BUCKET_FINALIZER], ...meta },
    spec: { onboardingRef: refOf, retentionPeriodSeconds: 3600, ...spec },
    ...(status && { status }),
  };
}

const recorded = (entry?: RecordedBucket): AccessRecord => ({
  ...EMPTY_RECORD,
  buckets: entry ? { [UID]: entry } : {},
});

function facts(resource: InfluxBucket, extra: Partial<BucketFacts> = {}): BucketFacts {
  return {
    resource,
    checked: checkBucketSpec(resource),
    access: READY,
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    record: EMPTY_RECORD,
    ...extra,
  };
}

const MARKER = bucketMarker(bucket());
const OURS: BucketInfo = { id: 'b1', name: 'app-a.metrics', retentionSeconds: 3600, description: MARKER };
const named = (entries: Record<string, BucketInfo | null>): Pick<BucketFacts, 'named'> => ({
  named: Object.fromEntries(Object.entries(entries).map(([name, value]) => [name, { ok: true as const, value }])),
});
const byID = (id: string, value: BucketInfo | null): Pick<BucketFacts, 'recorded'> => ({
  recorded: { id, found: { ok: true, value } },
});
/** Both default names looked up, nothing found under either. */
const NOTHING = named({ 'app-a.metrics': null, 'app-a-metrics': null });

function outcome(step: ReturnType<typeof decideBucket>): string {
  return step.kind === 'finish' ? `${step.reason}: ${step.message}` : step.kind;
}

test('markers: this resource by namespace, name and UID; a marker from before UIDs still reads', () => {
  assert.is(MARKER, `[managed by InfluxBucket app-a/metrics uid=${UID}]`);
  assert.equal(managerOf(`app data ${MARKER}`), { namespace: 'app-a', name: 'metrics', uid: UID });
  assert.equal(managerOf('[managed by InfluxBucket app-a/metrics]'), { namespace: 'app-a', name: 'metrics' });
  assert.is(managerOf(`${MARKER} and more`), undefined, 'only a trailing marker counts');
});

test('invalid spec, missing finalizer, no grant and a missing onboarding all end before any InfluxDB request', () => {
  assert.match(outcome(decideBucket(facts(bucket({ retentionPeriodSeconds: 5 })))), /^InvalidSpec/);
  assert.is(decideBucket(facts(bucket({}, { finalizers: [] }))).kind, 'addFinalizer');
  const refused = decideBucket(facts(bucket(), { access: { kind: 'not-permitted', message: 'no grant', connection } }));
  assert.ok(
    refused.kind === 'finish' &&
      refused.reason === 'NotPermitted' &&
      refused.status.conditions?.[0]?.status === 'False',
  );
  assert.equal(refused.kind === 'finish' && refused.event?.type, 'Warning');
  const waiting = decideBucket(facts(bucket(), { access: WAITING }));
  assert.ok(waiting.kind === 'finish' && waiting.reason === 'OnboardingNotReady' && waiting.requeue.kind === 'after');
});

test('names are claimed, not grabbed: spec.name outside <namespace>. needs the grant to list it; the onboarding namespace names any', () => {
  const shared = bucket({ name: 'shared-metrics' });
  const refused = decideBucket(facts(shared));
  assert.ok(refused.kind === 'finish' && refused.reason === 'NotPermitted', outcome(refused));
  assert.match(refused.kind === 'finish' ? refused.message : '', 'spec.accessFrom.grants[].bucketNames');
  assert.match(refused.kind === 'finish' ? refused.message : '', '(app-a.*)');
  for (const access of [granted({ bucketNames: ['shared-metrics'] }), granted({ home: true })]) {
    assert.equal(decideBucket(facts(shared, { access })), { kind: 'findBucket', connection, name: 'shared-metrics' });
  }
  assert.equal(decideBucket(facts(bucket({ name: 'app-a.custom' }))), {
    kind: 'findBucket',
    connection,
    name: 'app-a.custom',
  });
  assert.match(outcome(decideBucket(facts(bucket({ name: 'app-a-custom' })))), /^NotPermitted/, 'a dash is no prefix');
});

test('limits of the grant: a retention outside them and a record refused at its limit are QuotaExceeded, nothing created', () => {
  const short = decideBucket(facts(bucket(), { access: granted({ limits: { minRetentionSeconds: 86_400 } }) }));
  assert.match(
    outcome(short),
    /^QuotaExceeded: spec.retentionPeriodSeconds 3600 is shorter than the minimum of 86400 s/,
  );
  const forever = decideBucket(
    facts(bucket({ retentionPeriodSeconds: 0 }), { access: granted({ limits: { maxRetentionSeconds: 86_400 } }) }),
  );
  assert.match(outcome(forever), /^QuotaExceeded: .*0 is infinite/);
  assert.is(
    decideBucket(facts(bucket(), { access: granted({ home: true, limits: { minRetentionSeconds: 86_400 } }) })).kind,
    'findBucket',
    'no limits at home',
  );
  const full = decideBucket(facts(bucket(), { refused: { limit: 'maxBuckets', count: 3, max: 3 } }));
  assert.match(
    outcome(full),
    /^QuotaExceeded: namespace app-a already has 3 InfluxBuckets .* limits.maxBuckets: 3\)\. Nothing was created/,
  );
});

test('a new bucket: both default names looked up, the intent recorded (with the limits) before the create, then the ID', () => {
  const limits = { maxBuckets: 5 };
  const access = granted({ limits });
  assert.equal(decideBucket(facts(bucket(), { access })), { kind: 'findBucket', connection, name: 'app-a.metrics' });
  assert.equal(decideBucket(facts(bucket(), { access, ...named({ 'app-a.metrics': null }) })), {
    kind: 'findBucket',
    connection,
    name: 'app-a-metrics',
  });
  assert.equal(decideBucket(facts(bucket(), { access, ...NOTHING })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics' }, limits },
  });
  const pending = recorded({ name: 'app-a.metrics' });
  assert.equal(decideBucket(facts(bucket({ description: 'app data' }), { access, record: pending, ...NOTHING })), {
    kind: 'createBucket',
    connection,
    name: 'app-a.metrics',
    retentionSeconds: 3600,
    description: `app data ${MARKER}`,
    change: 'created bucket app-a.metrics',
  });
  assert.equal(decideBucket(facts(bucket(), { record: pending, ...named({ 'app-a.metrics': OURS }) })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics', id: 'b1' } },
  });
  const ready = decideBucket(
    facts(bucket(), { record: recorded({ name: 'app-a.metrics', id: 'b1' }), ...named({ 'app-a.metrics': OURS }) }),
  );
  assert.ok(ready.kind === 'finish');
  assert.equal(
    [ready.reason, ready.status.bucketID, ready.status.bucketName, ready.status.onboarding, ready.status.adopted],
    ['BucketReady', 'b1', 'app-a.metrics', 'monitoring/influxdb', false],
  );
  assert.equal(
    [ready.status.conditions?.[0]?.status, ready.event?.type, ready.requeue],
    ['True', 'Normal', { kind: 'after', ms: DRIFT }],
  );
});

test('status is a report: a forged status.bucketID changes nothing; the recorded ID is read, and the status corrected', () => {
  const forged = bucket({}, {}, { bucketID: 'victim-bucket', bucketName: 'app-b.secret', adopted: true });
  const record = recorded({ name: 'app-a.metrics', id: 'b1' });
  assert.equal(decideBucket(facts(forged, { record })), { kind: 'readBucket', connection, bucketID: 'b1' });
  const ready = decideBucket(facts(forged, { record, ...byID('b1', OURS) }));
  assert.ok(ready.kind === 'finish' && ready.reason === 'BucketReady');
  assert.equal([ready.status.bucketID, ready.status.bucketName, ready.status.adopted], ['b1', 'app-a.metrics', false]);
  // Unrecorded, the forged status adopts nothing either: the victim's bucket (same name, unmarked) is BucketExists.
  const unmarked = { ...OURS, id: 'victim-bucket', description: '' };
  assert.match(
    outcome(decideBucket(facts(forged, named({ 'app-a.metrics': unmarked, 'app-a-metrics': null })))),
    /^BucketExists/,
  );
});

test('ownership is proven: the recorded bucket is repaired (name, retention, marker); a copied marker elsewhere is BucketExists', () => {
  const record = recorded({ name: 'app-a.metrics', id: 'b1' });
  const renamed = decideBucket(facts(bucket(), { record, ...byID('b1', { ...OURS, name: 'stolen' }) }));
  assert.equal(renamed, {
    kind: 'renameBucket',
    connection,
    bucketID: 'b1',
    name: 'app-a.metrics',
    change: 'renamed the bucket back to app-a.metrics (it had been renamed to stolen outside the operator)',
  });
  const retention = decideBucket(facts(bucket(), { record, ...byID('b1', { ...OURS, retentionSeconds: 7200 }) }));
  assert.ok(retention.kind === 'setRetention' && retention.retentionSeconds === 3600);
  const stripped = decideBucket(facts(bucket(), { record, ...byID('b1', { ...OURS, description: 'mine now' }) }));
  assert.ok(
    stripped.kind === 'describeBucket' &&
      stripped.description === MARKER &&
      stripped.change === 'marked the bucket as managed again',
  );
  const repaired = decideBucket(
    facts(
      bucket(
        {},
        {},
        {
          conditions: [{ type: 'Ready', status: 'True', reason: 'BucketReady', message: '', lastTransitionTime: NOW }],
        },
      ),
      {
        record,
        ...byID('b1', OURS),
        changes: ['renamed the bucket back to app-a.metrics'],
      },
    ),
  );
  assert.ok(repaired.kind === 'finish' && repaired.event?.reason === 'BucketRepaired');
  // This resource's marker on a bucket the record does not name proves nothing.
  const copied = { ...OURS, id: 'b9' };
  const unrecorded = decideBucket(facts(bucket(), named({ 'app-a.metrics': copied, 'app-a-metrics': null })));
  assert.match(outcome(unrecorded), /^BucketExists: .*never recorded creating or adopting it/);
  // The recorded one deleted, another bucket renamed to its name and marked: not it.
  const impostor = decideBucket(
    facts(bucket(), { record, ...byID('b1', null), ...named({ 'app-a.metrics': copied }) }),
  );
  assert.match(outcome(impostor), /^BucketExists: .*not the bucket the operator recorded \(ID b1/);
});

test('the recorded bucket deleted outside the operator: the intent recorded again, then created again under the recorded name', () => {
  const record = recorded({ name: 'app-a.metrics', id: 'b1' });
  const gone = { ...byID('b1', null), ...named({ 'app-a.metrics': null }) };
  assert.equal(decideBucket(facts(bucket(), { record, ...byID('b1', null) })), {
    kind: 'findBucket',
    connection,
    name: 'app-a.metrics',
  });
  assert.equal(decideBucket(facts(bucket(), { record, ...gone })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics' } },
  });
  const create = decideBucket(facts(bucket(), { record: recorded({ name: 'app-a.metrics' }), ...gone }));
  assert.ok(
    create.kind === 'createBucket' &&
      create.change.includes('the recorded one, ID b1, was deleted outside the operator'),
  );
});

test('adoption needs spec.adopt and the onboarding listing the bucket for the namespace; otherwise BucketExists, untouched', () => {
  const unmarked = { ...OURS, description: 'made by hand' };
  const found = named({ 'app-a.metrics': unmarked, 'app-a-metrics': null });
  assert.match(
    outcome(decideBucket(facts(bucket(), found))),
    /^BucketExists: .*set spec.adopt: true \(and ask that InfluxOnboarding monitoring\/influxdb lists it/,
  );
  const unlisted = decideBucket(facts(bucket({ adopt: true }), found));
  assert.match(outcome(unlisted), /^BucketExists: .*adoptBuckets; its retention and description were left as they are/);
  const limits = { maxBuckets: 2 };
  assert.equal(
    decideBucket(
      facts(bucket({ adopt: true }), { ...found, access: granted({ adoptBuckets: ['app-a.metrics'], limits }) }),
    ),
    {
      kind: 'record',
      change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics', id: 'b1', adopted: true }, limits },
    },
  );
  assert.is(
    decideBucket(facts(bucket({ adopt: true }), { ...found, access: granted({ home: true }) })).kind,
    'record',
    'at home, adopt alone',
  );
  // Once recorded it is marked, kept in sync, and reported as adopted.
  const record = recorded({ name: 'app-a.metrics', id: 'b1', adopted: true });
  assert.is(decideBucket(facts(bucket({ adopt: true }), { record, ...found })).kind, 'describeBucket');
  const ready = decideBucket(facts(bucket({ adopt: true }), { record, ...byID('b1', OURS) }));
  assert.ok(ready.kind === 'finish' && ready.status.adopted === true);
  // Never the onboarding's own bucket, never one another resource manages.
  const platform = { ...unmarked, id: 'b-platform', name: 'platform' };
  assert.match(
    outcome(
      decideBucket(
        facts(bucket({ adopt: true, name: 'platform' }), { access: granted({ home: true }), ...named({ platform }) }),
      ),
    ),
    /^BucketExists: .*the onboarding's own bucket/,
  );
});

test("BucketExists names a manager of this namespace, never another namespace's resource", () => {
  const same = { ...OURS, description: '[managed by InfluxBucket app-a/other uid=u2]' };
  assert.match(
    outcome(decideBucket(facts(bucket({ adopt: true }), named({ 'app-a.metrics': same, 'app-a-metrics': null })))),
    /is managed by InfluxBucket other$/,
  );
  const foreign = { ...OURS, description: '[managed by InfluxBucket team-b/secret uid=u3]' };
  const step = decideBucket(facts(bucket({ adopt: true }), named({ 'app-a.metrics': foreign, 'app-a-metrics': null })));
  assert.match(outcome(step), /is managed by another resource$/);
  assert.not.match(outcome(step), /team-b|secret/);
});

test('upgrade: a bucket the operator made before records (old default name, old marker naming exactly this resource) is recorded and kept under its name', () => {
  const legacy = { ...OURS, id: 'b0', name: 'app-a-metrics', description: '[managed by InfluxBucket app-a/metrics]' };
  const found = named({ 'app-a.metrics': null, 'app-a-metrics': legacy });
  assert.equal(decideBucket(facts(bucket({}, {}, { bucketID: 'b0' }), found)), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a-metrics', id: 'b0' } },
  });
  const record = recorded({ name: 'app-a-metrics', id: 'b0' });
  const remark = decideBucket(facts(bucket(), { record, ...found }));
  assert.ok(
    remark.kind === 'describeBucket' && remark.description === MARKER,
    'the marker gains the UID; the name stays',
  );
  // Another namespace's old marker under the shared old default (a-b/c vs a/b-c) is not this resource's.
  const theirs = { ...legacy, description: '[managed by InfluxBucket app/a-metrics]' };
  assert.is(decideBucket(facts(bucket(), named({ 'app-a.metrics': null, 'app-a-metrics': theirs }))).kind, 'record');
  assert.equal(
    decideBucket(facts(bucket(), named({ 'app-a.metrics': null, 'app-a-metrics': theirs }))),
    { kind: 'record', change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics' } } },
    'it creates its own under the new default instead',
  );
});

test('upgrade under a chosen name: an old marker is a claim anyone with write could copy; taken over only with adoptBuckets (or at home)', () => {
  const chosen = bucket({ name: 'shared-ingest' });
  const stamped = { ...OURS, id: 'b7', name: 'shared-ingest', description: '[managed by InfluxBucket app-a/metrics]' };
  const found = named({ 'shared-ingest': stamped });
  const claimOnly = decideBucket(facts(chosen, { ...found, access: granted({ bucketNames: ['shared-ingest'] }) }));
  assert.match(
    outcome(claimOnly),
    /^BucketExists: .*from before the operator kept records, which proves nothing under a chosen name/,
  );
  const consent = granted({ adoptBuckets: ['shared-ingest'] });
  assert.equal(decideBucket(facts(chosen, { ...found, access: consent })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'shared-ingest', id: 'b7' } },
  });
  assert.is(decideBucket(facts(chosen, { ...found, access: granted({ home: true }) })).kind, 'record');
  // Deleting before it was taken over: only under the old default name is the old marker trusted.
  const deleting = facts(
    bucket({ name: 'shared-ingest', deletionPolicy: 'Delete' }, { deletionTimestamp: NOW }),
    found,
  );
  assert.equal(decideBucket(deleting), { kind: 'removeFinalizer' }, 'left as it is');
});

test('failures: a lookup that fails is Unreachable with backoff; a refused change is InfluxError', () => {
  const failed = decideBucket(
    facts(bucket(), {
      named: {
        'app-a.metrics': {
          ok: false,
          failure: { kind: 'unreachable', reason: 'network', message: 'connection refused' },
        },
      },
    }),
  );
  assert.ok(failed.kind === 'finish' && failed.reason === 'Unreachable' && failed.requeue.kind === 'backoff');
  const refused = decideBucket(
    facts(bucket(), {
      failure: { doing: 'creating', failure: { kind: 'rejected', status: 422, code: 'conflict', message: 'exists' } },
    }),
  );
  assert.ok(refused.kind === 'finish' && refused.reason === 'InfluxError');
});

test('deletion: Retain lets go and forgets; Delete deletes only the proven bucket; a gone onboarding lets go with a Warning', () => {
  const record = recorded({ name: 'app-a.metrics', id: 'b1' });
  const deleting = (policy: string, extra: Partial<BucketFacts> = {}) =>
    facts(bucket({ deletionPolicy: policy }, { deletionTimestamp: NOW }), { record, ...extra });
  const forget = { kind: 'forgetBucket', uid: UID };
  assert.equal(decideBucket(deleting('Retain')), { kind: 'removeFinalizer', forget });
  assert.equal(decideBucket(deleting('Delete')), { kind: 'readBucket', connection, bucketID: 'b1' });
  assert.equal(decideBucket(deleting('Delete', byID('b1', OURS))), {
    kind: 'deleteBucket',
    connection,
    bucketID: 'b1',
  });
  const done = decideBucket(deleting('Delete', { ...byID('b1', OURS), deleted: true }));
  assert.ok(done.kind === 'removeFinalizer' && done.event?.reason === 'BucketDeleted' && done.forget !== undefined);
  const stripped = decideBucket(deleting('Delete', byID('b1', { ...OURS, description: 'taken' })));
  assert.ok(stripped.kind === 'removeFinalizer' && stripped.event?.reason === 'BucketLeft', outcome(stripped));
  assert.equal(decideBucket(deleting('Delete', byID('b1', null))), { kind: 'removeFinalizer', forget });
  // Before records: the old marker naming exactly this resource.
  const legacy = facts(bucket({ deletionPolicy: 'Delete' }, { deletionTimestamp: NOW }), {
    ...named({
      'app-a-metrics': {
        ...OURS,
        id: 'b0',
        name: 'app-a-metrics',
        description: '[managed by InfluxBucket app-a/metrics]',
      },
    }),
  });
  assert.equal(decideBucket(legacy), { kind: 'deleteBucket', connection, bucketID: 'b0' });
  const gone = decideBucket(
    deleting('Delete', { access: { kind: 'waiting', reason: 'OnboardingNotFound', message: 'gone', gone: true } }),
  );
  assert.ok(gone.kind === 'removeFinalizer' && gone.event?.reason === 'OnboardingGone');
  // Waiting for the onboarding (not Ready yet, not gone) is no failure: the drift interval, not the rate limiter.
  const waits = decideBucket(deleting('Delete', { access: WAITING }));
  assert.ok(waits.kind === 'finish', waits.kind);
  assert.is(waits.reason, 'OnboardingNotReady');
  assert.match(waits.message, 'deletion waits');
  assert.equal(waits.requeue, { kind: 'after', ms: DRIFT });
  const refused = decideBucket(deleting('Delete', { access: { kind: 'not-permitted', message: 'no grant' } }));
  assert.ok(refused.kind === 'removeFinalizer' && refused.event?.reason === 'NotPermitted');
  assert.equal(decideBucket(facts(bucket({}, { deletionTimestamp: NOW, finalizers: [] }))).kind, 'finish');
});

test.run();
