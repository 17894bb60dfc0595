/**
 * An InfluxBucket's DBRP mapping (spec.influxql), row by row: decideMapping from the mappings
 * InfluxDB listed, defaultClaimants from the specs in the cache, and decideBucket around them (the
 * database claim before anything reaches InfluxDB, the status, the Retain deletion). A mapping is
 * this resource's only when its bucketID is this resource's bucket; nothing is taken over, and
 * two claims on one database's default never flip it back and forth.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideBucket } from '../../../src/access/bucket-decide.js';
import type { BucketFacts } from '../../../src/access/bucket-facts.js';
import {
  decideMapping,
  defaultClaimants,
  dropMappings,
  type MappingInput,
  type MappingPeer,
} from '../../../src/access/bucket-influxql.js';
import { EMPTY_RECORD, type RecordedBucket } from '../../../src/api/access-records.js';
import { checkBucketSpec } from '../../../src/api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket } from '../../../src/api/access-types.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import type { DbrpMapping, InfluxFailure } from '../../../src/influx/types.js';
import { DRIFT, NOW, connection, granted, refOf } from '../../support/access-facts.js';

const UID = 'bucket-uid';
const BUCKET_ID = 'b1';
const WANT = { database: 'app-a.metrics', retentionPolicy: 'autogen', default: false };
const MAPPED: RecordedBucket = { name: 'app-a.metrics', id: BUCKET_ID, influxql: true };

function mapping(fields: Partial<DbrpMapping> = {}): DbrpMapping {
  return {
    id: 'm1',
    database: 'app-a.metrics',
    retentionPolicy: 'autogen',
    default: true,
    virtual: false,
    orgID: 'org1',
    bucketID: BUCKET_ID,
    ...fields,
  };
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const FAILURE: InfluxFailure = { kind: 'rejected', status: 401, code: 'unauthorized', message: 'unauthorized access' };

function input(extra: Partial<MappingInput> = {}): MappingInput {
  return {
    want: WANT,
    uid: UID,
    entry: MAPPED,
    bucketID: BUCKET_ID,
    connection,
    mappings: {},
    defaultClaimants: [],
    namespace: 'app-a',
    ...extra,
  };
}

/** Both lists answered: this bucket's mappings and the database's. */
function listed(ofBucket: DbrpMapping[], ofDatabase: DbrpMapping[] = ofBucket): Pick<MappingInput, 'mappings'> {
  return { mappings: { ofBucket: ok(ofBucket), ofDatabase: ok(ofDatabase) } };
}

function stepOf(decision: ReturnType<typeof decideMapping>) {
  if (decision.kind !== 'step') throw new Error(`expected a step, got ${JSON.stringify(decision)}`);
  return decision.step;
}

test('no spec.influxql and nothing recorded: done with no request (a mapping made by hand on the bucket stays)', () => {
  assert.equal(decideMapping(input({ want: undefined, entry: { name: 'app-a.metrics', id: BUCKET_ID } })), {
    kind: 'done',
  });
  const handMade = listed([mapping()]);
  assert.equal(
    decideMapping(input({ want: undefined, entry: { name: 'app-a.metrics', id: BUCKET_ID }, ...handMade })),
    { kind: 'done' },
  );
});

test('a new mapping: the intent recorded first, then both lists, then the create (default only when claimed)', () => {
  const entry = { name: 'app-a.metrics', id: BUCKET_ID };
  assert.equal(stepOf(decideMapping(input({ entry }))), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { ...entry, influxql: true } },
  });
  assert.equal(stepOf(decideMapping(input())), { kind: 'listMappings', connection, of: 'bucket', bucketID: BUCKET_ID });
  assert.equal(stepOf(decideMapping(input({ mappings: { ofBucket: ok([]) } }))), {
    kind: 'listMappings',
    connection,
    of: 'database',
    database: 'app-a.metrics',
  });
  assert.equal(stepOf(decideMapping(input(listed([])))), {
    kind: 'createMapping',
    connection,
    request: {
      orgID: 'org1',
      bucketID: BUCKET_ID,
      database: 'app-a.metrics',
      retentionPolicy: 'autogen',
      default: false,
    },
    change: 'mapped InfluxQL database app-a.metrics retention policy autogen to the bucket',
  });
  const claimed = stepOf(decideMapping(input({ want: { ...WANT, default: true }, ...listed([]) })));
  assert.ok(claimed.kind === 'createMapping' && claimed.request.default);
  const contested = stepOf(
    decideMapping(input({ want: { ...WANT, default: true }, defaultClaimants: ['app-a/other'], ...listed([]) })),
  );
  assert.ok(contested.kind === 'createMapping' && !contested.request.default, 'a contested claim is not sent');
});

test('virtual mappings are not mappings: the bucket named like the database shows one, and it is neither kept nor a conflict', () => {
  const virtual = mapping({ id: BUCKET_ID, virtual: true });
  const otherVirtual = mapping({ id: 'b9', bucketID: 'b9', virtual: true });
  const step = stepOf(decideMapping(input(listed([virtual], [virtual, otherVirtual]))));
  assert.is(step.kind, 'createMapping');
});

test('in sync: done with the status InfluxDB shows (default as InfluxDB has it, also when not claimed)', () => {
  // A Ready bucket's drift check asks for its own mappings only: the database's list is not needed.
  assert.equal(decideMapping(input({ mappings: { ofBucket: ok([mapping()]) } })).kind, 'done');
  assert.equal(decideMapping(input(listed([mapping()]))), {
    kind: 'done',
    status: { database: 'app-a.metrics', retentionPolicy: 'autogen', default: true, mappingID: 'm1' },
  });
  const notDefault = mapping({ default: false });
  const other = mapping({ id: 'm2', bucketID: 'b2', retentionPolicy: 'weekly', default: true });
  assert.equal(decideMapping(input(listed([notDefault], [notDefault, other]))), {
    kind: 'done',
    status: { database: 'app-a.metrics', retentionPolicy: 'autogen', default: false, mappingID: 'm1' },
  });
});

test('kept in sync: a changed retention policy is PATCHed in place; a changed database is deleted and created', () => {
  const weekly = { ...WANT, retentionPolicy: 'weekly' };
  assert.equal(stepOf(decideMapping(input({ want: weekly, ...listed([mapping()]) }))), {
    kind: 'updateMapping',
    connection,
    mappingID: 'm1',
    update: { retentionPolicy: 'weekly' },
    change: "set the DBRP mapping's retention policy to weekly (was autogen)",
  });
  const renamed = { ...WANT, database: 'app-a.renamed' };
  assert.equal(stepOf(decideMapping(input({ want: renamed, ...listed([mapping()], []) }))), {
    kind: 'deleteMapping',
    connection,
    mappingID: 'm1',
    change:
      'deleted the DBRP mapping of database app-a.metrics retention policy autogen (spec.influxql names database app-a.renamed retention policy autogen)',
  });
  assert.is(stepOf(decideMapping(input({ want: renamed, ...listed([], []) }))).kind, 'createMapping');
});

test("extra mappings of this bucket go (one step each), the matching one stays; another bucket's mapping is never touched", () => {
  const exact = mapping({ id: 'm1' });
  const sameDatabase = mapping({ id: 'm2', retentionPolicy: 'old', default: false });
  const elsewhere = mapping({ id: 'm3', database: 'app-a.legacy' });
  const step = stepOf(decideMapping(input(listed([sameDatabase, exact, elsewhere], [sameDatabase, exact]))));
  assert.ok(step.kind === 'deleteMapping' && step.mappingID === 'm2', JSON.stringify(step));
  const next = stepOf(decideMapping(input(listed([exact, elsewhere], [exact]))));
  assert.ok(next.kind === 'deleteMapping' && next.mappingID === 'm3');
});

test('DatabaseTaken: the database and retention policy mapped to another bucket is left as it is, no create, no PATCH', () => {
  const theirs = mapping({ id: 'm9', bucketID: 'b-other' });
  const taken = decideMapping(input(listed([], [theirs])));
  assert.equal(taken.kind === 'refused' && [taken.reason, taken.message], [
    'DatabaseTaken',
    'InfluxQL database app-a.metrics retention policy autogen is mapped to another bucket in org acme; that mapping was left as it is (spec.influxql)',
  ]);
  // Our mapping of the database under another retention policy is not moved onto theirs either.
  const ours = mapping({ retentionPolicy: 'old' });
  assert.is(decideMapping(input(listed([ours], [ours, theirs]))).kind, 'refused');
  // A create InfluxDB refused as a conflict (mapped by someone else after the list) is the same.
  const raced = decideMapping(input({ mappings: { ofBucket: ok([]), ofDatabase: ok([]), conflicted: true } }));
  assert.ok(raced.kind === 'refused' && raced.reason === 'DatabaseTaken', JSON.stringify(raced));
  // Another retention policy of the same database is no conflict.
  const sibling = mapping({ id: 'm9', bucketID: 'b-other', retentionPolicy: 'weekly' });
  assert.is(stepOf(decideMapping(input(listed([], [sibling])))).kind, 'createMapping');
});

test('the default: claimed when uncontested (PATCHed from an unclaimed holder), never PATCHed when two claim it, never given away', () => {
  const claim = { ...WANT, default: true };
  const ours = mapping({ default: false });
  const holder = mapping({ id: 'm2', bucketID: 'b2', retentionPolicy: 'weekly', default: true });
  assert.equal(stepOf(decideMapping(input({ want: claim, ...listed([ours], [ours, holder]) }))), {
    kind: 'updateMapping',
    connection,
    mappingID: 'm1',
    update: { default: true },
    change: 'made retention policy autogen the default of database app-a.metrics',
  });
  const conflict = decideMapping(
    input({ want: claim, defaultClaimants: ['app-a/weekly'], ...listed([ours], [ours, holder]) }),
  );
  assert.ok(conflict.kind === 'refused' && conflict.reason === 'DefaultConflict');
  assert.match(conflict.kind === 'refused' ? conflict.message : '', /^InfluxBucket weekly also declares/);
  // The holder that also claims it stays the holder, and is told the same: nothing flips.
  const held = mapping({ default: true });
  const theirs = mapping({ id: 'm2', bucketID: 'b2', retentionPolicy: 'weekly', default: false });
  const holderView = decideMapping(
    input({ want: claim, defaultClaimants: ['app-b/x'], ...listed([held], [held, theirs]) }),
  );
  assert.ok(holderView.kind === 'refused' && holderView.reason === 'DefaultConflict');
  assert.match(
    holderView.kind === 'refused' ? holderView.message : '',
    /^an InfluxBucket of another namespace also declares/,
    "another namespace's resource is not named",
  );
  // default: false never PATCHes the default away (InfluxDB keeps one per database).
  assert.equal(decideMapping(input(listed([held], [held, theirs]))).kind, 'done');
});

test('spec.influxql removed: the recorded mapping is deleted, then the record forgets it; lists that fail are InfluxDB failures', () => {
  const removed = input({ want: undefined });
  assert.is(stepOf(decideMapping(removed)).kind, 'listMappings');
  const step = stepOf(decideMapping({ ...removed, mappings: { ofBucket: ok([mapping()]) } }));
  assert.equal(step, {
    kind: 'deleteMapping',
    connection,
    mappingID: 'm1',
    change: 'deleted the DBRP mapping of database app-a.metrics retention policy autogen (spec.influxql was removed)',
  });
  assert.equal(stepOf(decideMapping({ ...removed, mappings: { ofBucket: ok([]) } })), {
    kind: 'record',
    change: { kind: 'bucket', uid: UID, bucket: { name: 'app-a.metrics', id: BUCKET_ID } },
  });
  assert.equal(decideMapping(input({ mappings: { ofBucket: { ok: false, failure: FAILURE } } })), {
    kind: 'failed',
    doing: "listing the bucket's DBRP mappings",
    failure: FAILURE,
  });
  assert.equal(
    decideMapping(input({ mappings: { ofBucket: ok([]), ofDatabase: { ok: false, failure: FAILURE } } })).kind,
    'failed',
  );
  assert.is(dropMappings({ bucketID: BUCKET_ID, connection, mappings: { ofBucket: ok([]) } }, 'why'), undefined);
});

function onboarding(grants: unknown[] = []): InfluxOnboarding {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: { namespace: 'monitoring', name: 'influxdb' },
    spec: { accessFrom: { grants } },
  } as unknown as InfluxOnboarding;
}

function peer(namespace: string, name: string, database: string, isDefault = true, deleting = false): MappingPeer {
  return {
    metadata: {
      namespace,
      name,
      uid: `${namespace}-${name}`,
      ...(deleting && { deletionTimestamp: NOW }),
    },
    influxql: { database, retentionPolicy: name, default: isDefault },
  };
}

test('defaultClaimants: only live peers claiming the default of the same database whose namespace may map it', () => {
  const self = { uid: 'app-a-self' };
  const peers = [
    peer('app-a', 'self', 'app-a.metrics'),
    peer('app-a', 'weekly', 'app-a.metrics'),
    peer('app-a', 'plain', 'app-a.metrics', false),
    peer('app-a', 'gone', 'app-a.metrics', true, true),
    peer('app-a', 'elsewhere', 'app-a.other'),
    // The attack: another tenant declares a claim on app-a's database to make app-a's bucket DefaultConflict.
    peer('app-b', 'squatter', 'app-a.metrics'),
    peer('monitoring', 'platform', 'app-a.metrics'),
  ];
  assert.equal(defaultClaimants(self, 'app-a.metrics', peers, onboarding()), ['app-a/weekly', 'monitoring/platform']);
  // Once the onboarding lists the database for app-b, its claim counts.
  assert.equal(
    defaultClaimants(self, 'app-a.metrics', peers, onboarding([{ namespace: 'app-b', databases: ['app-a.metrics'] }])),
    ['app-a/weekly', 'app-b/squatter', 'monitoring/platform'],
  );
});

function bucket(spec: Record<string, unknown> = {}, meta: Partial<InfluxBucket['metadata']> = {}): InfluxBucket {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: { name: 'metrics', namespace: 'app-a', uid: UID, generation: 1, finalizers: [BUCKET_FINALIZER], ...meta },
    spec: { onboardingRef: refOf, retentionPeriodSeconds: 3600, influxql: { database: 'app-a.metrics' }, ...spec },
  };
}

function facts(resource: InfluxBucket, extra: Partial<BucketFacts> = {}): BucketFacts {
  const ours = { id: BUCKET_ID, name: 'app-a.metrics', retentionSeconds: 3600, description: '' };
  const marked = { ...ours, description: `[managed by InfluxBucket app-a/metrics uid=${UID}]` };
  return {
    resource,
    checked: checkBucketSpec(resource),
    access: granted(),
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    record: { ...EMPTY_RECORD, buckets: { [UID]: MAPPED } },
    recorded: { id: BUCKET_ID, found: ok(marked) },
    ...extra,
  };
}

test('decideBucket: a database outside the prefix is NotPermitted before any request; one the grant lists is mapped', () => {
  // The attack: a tenant maps a database under another tenant's prefix.
  const foreign = bucket({ influxql: { database: 'app-b.metrics' } });
  const refused = decideBucket(facts(foreign, { record: EMPTY_RECORD, recorded: undefined }));
  assert.ok(refused.kind === 'finish' && refused.reason === 'NotPermitted', JSON.stringify(refused));
  assert.match(refused.kind === 'finish' ? refused.message : '', 'spec.accessFrom.grants[].databases');
  const listed = decideBucket(
    facts(bucket({ influxql: { database: 'telegraf' } }), { access: granted({ databases: ['telegraf'] }) }),
  );
  assert.is(listed.kind, 'listMappings');
});

test('decideBucket: a database mapped under a grant since withdrawn loses its mapping, then is NotPermitted', () => {
  const shared = bucket({ influxql: { database: 'telegraf' } });
  const withdrawn = decideBucket(facts(shared));
  assert.equal(withdrawn, { kind: 'listMappings', connection, of: 'bucket', bucketID: BUCKET_ID });
  const drop = decideBucket(facts(shared, { mappings: { ofBucket: ok([mapping({ database: 'telegraf' })]) } }));
  assert.ok(drop.kind === 'deleteMapping' && drop.mappingID === 'm1', JSON.stringify(drop));
  assert.match(drop.kind === 'deleteMapping' ? drop.change : '', 'does not let namespace app-a map database telegraf');
  const refused = decideBucket(facts(shared, { mappings: { ofBucket: ok([]) } }));
  assert.ok(refused.kind === 'finish' && refused.reason === 'NotPermitted');
  assert.ok(refused.kind === 'finish' && 'influxql' in refused.status && refused.status.influxql === undefined);
  // Still granted: mapped as before.
  assert.is(decideBucket(facts(shared, { access: granted({ databases: ['telegraf'] }) })).kind, 'listMappings');
});

test('decideBucket: BucketReady shows the mapping in status and message; refusals are Ready=False at the drift interval', () => {
  const ready = decideBucket(facts(bucket(), { mappings: { ofBucket: ok([mapping()]), ofDatabase: ok([mapping()]) } }));
  assert.ok(ready.kind === 'finish' && ready.reason === 'BucketReady');
  assert.equal(ready.kind === 'finish' && ready.status.influxql, {
    database: 'app-a.metrics',
    retentionPolicy: 'autogen',
    default: true,
    mappingID: 'm1',
  });
  assert.match(
    ready.kind === 'finish' ? ready.message : '',
    'InfluxQL database app-a.metrics retention policy autogen (its default)',
  );
  const gone = decideBucket(
    facts(bucket({ influxql: undefined }), {
      record: { ...EMPTY_RECORD, buckets: { [UID]: { name: 'app-a.metrics', id: BUCKET_ID } } },
    }),
  );
  assert.ok(
    gone.kind === 'finish' && 'influxql' in gone.status && gone.status.influxql === undefined,
    'a removed mapping leaves the status',
  );
  const theirs = mapping({ id: 'm9', bucketID: 'b-other' });
  const taken = decideBucket(facts(bucket(), { mappings: { ofBucket: ok([]), ofDatabase: ok([theirs]) } }));
  assert.ok(taken.kind === 'finish' && taken.reason === 'DatabaseTaken');
  assert.equal(
    taken.kind === 'finish' && [taken.status.bucketID, taken.status.bucketName],
    [BUCKET_ID, 'app-a.metrics'],
    'the bucket is there: its status says which',
  );
  assert.ok(taken.kind === 'finish' && 'influxql' in taken.status && taken.status.influxql === undefined);
  const held = mapping({ default: false });
  const contested = decideBucket(
    facts(bucket({ influxql: { database: 'app-a.metrics', default: true } }), {
      defaultClaimants: ['app-a/other'],
      mappings: { ofBucket: ok([held]) },
    }),
  );
  assert.ok(contested.kind === 'finish' && contested.reason === 'DefaultConflict', JSON.stringify(contested));
  assert.equal(
    contested.kind === 'finish' && contested.status.influxql,
    {
      database: 'app-a.metrics',
      retentionPolicy: 'autogen',
      default: false,
      mappingID: 'm1',
    },
    'the mapping works without the default, and the status says so',
  );
  assert.equal(taken.kind === 'finish' && [taken.status.conditions?.[0]?.status, taken.requeue], [
    'False',
    { kind: 'after', ms: DRIFT },
  ]);
  const failed = decideBucket(facts(bucket(), { mappings: { ofBucket: { ok: false, failure: FAILURE } } }));
  assert.ok(failed.kind === 'finish' && failed.reason === 'InfluxError');
});

test('decideBucket deletion: Retain deletes the mappings this resource made, then lets go; Delete leaves them to the bucket', () => {
  const deleting = { deletionTimestamp: NOW };
  const retain = bucket({}, deleting);
  assert.equal(decideBucket(facts(retain)), { kind: 'listMappings', connection, of: 'bucket', bucketID: BUCKET_ID });
  const step = decideBucket(facts(retain, { mappings: { ofBucket: ok([mapping()]) } }));
  assert.ok(step.kind === 'deleteMapping' && step.mappingID === 'm1');
  const letGo = decideBucket(facts(retain, { mappings: { ofBucket: ok([]) } }));
  assert.is(letGo.kind, 'removeFinalizer');
  const unmapped = decideBucket(
    facts(retain, { record: { ...EMPTY_RECORD, buckets: { [UID]: { name: 'app-a.metrics', id: BUCKET_ID } } } }),
  );
  assert.is(unmapped.kind, 'removeFinalizer', 'never mapped by the operator: nothing is listed');
  const remove = decideBucket(facts(bucket({ deletionPolicy: 'Delete' }, deleting)));
  assert.is(remove.kind, 'deleteBucket', 'InfluxDB deletes the mappings with the bucket');
});

test.run();
