/**
 * The operator's access records: the limits a change is checked against, and the ConfigMap store
 * (read once per max age, written over exactly the version read, read again when another writer
 * got there first).
 */
import { ApiException, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EMPTY_RECORD,
  MAX_RECORD_BYTES,
  applyRecordChange,
  applyRecordChanges,
  recordBytes,
  recordData,
  recordFromData,
  type AccessRecord,
  type RecordChange,
} from '../../../src/api/access-records.js';
import { AccessRecords, recordName, recordsOf, RECORD_OF_LABEL } from '../../../src/kube/access-records.js';

test('applyRecordChange: a new bucket or token over its limit is refused; an existing one is never refused', () => {
  let record: AccessRecord = EMPTY_RECORD;
  const apply = (change: Parameters<typeof applyRecordChange>[1]) => {
    const applied = applyRecordChange(record, change);
    if (applied.ok) record = applied.record;
    return applied;
  };
  const limits = { maxBuckets: 1, maxTokens: 1 };
  assert.ok(apply({ kind: 'bucket', uid: 'b1', bucket: { name: 'a.x' }, limits }).ok);
  assert.equal(apply({ kind: 'bucket', uid: 'b2', bucket: { name: 'a.y' }, limits }), {
    ok: false,
    refusal: { limit: 'maxBuckets', count: 1, max: 1 },
  });
  assert.ok(
    apply({ kind: 'bucket', uid: 'b1', bucket: { name: 'a.x', id: 'id1' }, limits }).ok,
    'recording the ID of one that exists',
  );
  const same = apply({ kind: 'bucket', uid: 'b1', bucket: { name: 'a.x', id: 'id1' } });
  assert.ok(same.ok && !same.changed, 'unchanged: nothing to write');
  assert.ok(apply({ kind: 'token', uid: 't1', name: 'writer', limits }).ok);
  assert.equal(apply({ kind: 'token', uid: 't2', name: 'reader', limits }), {
    ok: false,
    refusal: { limit: 'maxTokens', count: 1, max: 1 },
  });
  assert.ok(apply({ kind: 'forgetToken', uid: 't1' }).ok);
  assert.ok(apply({ kind: 'token', uid: 't2', name: 'reader', limits }).ok, 'room again once one is forgotten');
  assert.ok(apply({ kind: 'user', userID: 'u1' }).ok);
  assert.equal(record, { userID: 'u1', buckets: { b1: { name: 'a.x', id: 'id1' } }, tokens: { t2: 'reader' } });
  // A record never grows past its size, whatever the limits: the longest names fill it sooner.
  let crowded: AccessRecord = EMPTY_RECORD;
  let entries = 0;
  for (;;) {
    const applied = applyRecordChange(crowded, {
      kind: 'bucket',
      uid: `00000000-0000-0000-0000-${String(entries).padStart(12, '0')}`,
      bucket: { name: 'x'.repeat(256), id: '0123456789abcdef', adopted: true },
    });
    if (!applied.ok) {
      assert.equal(applied.refusal.limit, 'size');
      assert.is(applied.refusal.max, MAX_RECORD_BYTES);
      break;
    }
    crowded = applied.record;
    entries++;
  }
  assert.ok(
    recordBytes(crowded) <= MAX_RECORD_BYTES && entries > 2000,
    `${entries} entries, ${recordBytes(crowded)} bytes`,
  );
  assert.is(recordBytes(crowded), JSON.stringify(recordData(crowded)).length, 'counted as it is written');
  assert.equal(recordFromData(recordData(crowded)), crowded, 'what is written reads back');
});

/** ConfigMaps in memory, as the API server keeps them: versions, 404 and 409; `before` may hold a call. */
function fakeCore(before: (call: string) => Promise<void> = async () => undefined) {
  const maps = new Map<string, V1ConfigMap>();
  const calls: string[] = [];
  let version = 0;
  const fail = (code: number) => new ApiException(code, 'refused', JSON.stringify({ reason: String(code) }), {});
  const key = (namespace: string, name: string) => `${namespace}/${name}`;
  const core = {
    async readNamespacedConfigMap({ namespace, name }: { namespace: string; name: string }) {
      calls.push(`get ${name}`);
      await before(calls.at(-1) ?? '');
      const found = maps.get(key(namespace, name));
      if (found === undefined) throw fail(404);
      return structuredClone(found);
    },
    async createNamespacedConfigMap({ namespace, body }: { namespace: string; body: V1ConfigMap }) {
      calls.push(`create ${body.metadata?.name}`);
      await before(calls.at(-1) ?? '');
      const at = key(namespace, body.metadata?.name ?? '');
      if (maps.has(at)) throw fail(409);
      const stored = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++version) } };
      maps.set(at, stored);
      return structuredClone(stored);
    },
    async replaceNamespacedConfigMap({
      namespace,
      name,
      body,
    }: {
      namespace: string;
      name: string;
      body: V1ConfigMap;
    }) {
      calls.push(`update ${name}`);
      await before(calls.at(-1) ?? '');
      const current = maps.get(key(namespace, name));
      if (current === undefined) throw fail(404);
      if (current.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw fail(409);
      const stored = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++version) } };
      maps.set(key(namespace, name), stored);
      return structuredClone(stored);
    },
    async listNamespacedConfigMap({ namespace, labelSelector }: { namespace: string; labelSelector: string }) {
      calls.push(`list ${labelSelector}`);
      const [label, value] = labelSelector.split('=');
      return {
        items: [...maps.entries()]
          .filter(([at, map]) => at.startsWith(`${namespace}/`) && map.metadata?.labels?.[label ?? ''] === value)
          .map(([, map]) => structuredClone(map)),
      };
    },
  };
  return { core: core as unknown as CoreV1Api, maps, calls, bump: () => ++version };
}

const ONBOARDING = { namespace: 'monitoring', name: 'influxdb' };
const KEY = { onboarding: ONBOARDING, namespace: 'app-a' };

test('applyRecordChanges: a batch ends where the changes one after another end, each with its own outcome; the record is counted as from scratch', () => {
  const full = 'x'.repeat(200);
  const changes: RecordChange[] = [
    { kind: 'user', userID: 'u1' },
    { kind: 'token', uid: 't1', name: 'writer', limits: { maxTokens: 2 } },
    { kind: 'token', uid: 't2', name: 'reader', limits: { maxTokens: 2 } },
    { kind: 'token', uid: 't3', name: 'refused', limits: { maxTokens: 2 } },
    { kind: 'token', uid: 't1', name: 'writer' },
    { kind: 'forgetToken', uid: 't2' },
    { kind: 'token', uid: 't3', name: 'now-room', limits: { maxTokens: 2 } },
    { kind: 'bucket', uid: 'b1', bucket: { name: 'app.metrics' }, limits: { maxBuckets: 1 } },
    { kind: 'bucket', uid: 'b1', bucket: { name: 'app.metrics', id: 'id1' } },
    { kind: 'bucket', uid: 'b2', bucket: { name: 'app.more' }, limits: { maxBuckets: 1 } },
    { kind: 'forgetBucket', uid: 'b9' },
    { kind: 'user', userID: 'u2' },
    ...Array.from({ length: 4000 }, (_, index): RecordChange => ({ kind: 'token', uid: `big-${index}`, name: full })),
    { kind: 'forgetToken', uid: 'big-0' },
    { kind: 'token', uid: 'after-full', name: 'short' },
  ];
  for (const start of [EMPTY_RECORD, { userID: 'u0', buckets: { b0: { name: 'app.old' } }, tokens: { t0: 'old' } }]) {
    let sequential: AccessRecord = start;
    const oneByOne = changes.map((change) => {
      const applied = applyRecordChange(sequential, change);
      if (applied.ok) sequential = applied.record;
      return applied.ok ? applied.changed : applied.refusal;
    });
    const batch = applyRecordChanges(start, changes);
    assert.equal(batch.record, sequential);
    assert.equal(
      batch.outcomes.map((outcome) => (outcome.ok ? outcome.changed : outcome.refusal)),
      oneByOne,
    );
    assert.ok(
      oneByOne.some((outcome) => typeof outcome === 'object' && outcome.limit === 'size'),
      'the size limit is reached',
    );
    assert.ok(oneByOne.some((outcome) => typeof outcome === 'object' && outcome.limit === 'maxTokens'));
    assert.ok(oneByOne.some((outcome) => typeof outcome === 'object' && outcome.limit === 'maxBuckets'));
    const uncounted: AccessRecord = { ...batch.record };
    assert.is(
      recordBytes(batch.record),
      recordBytes(uncounted),
      'the bytes kept as it went are the bytes counted afresh',
    );
  }
  assert.is(
    applyRecordChanges(EMPTY_RECORD, [{ kind: 'forgetToken', uid: 'none' }]).record,
    EMPTY_RECORD,
    'unchanged: the very record',
  );
});

test('AccessRecords: one ConfigMap per onboarding and namespace in the operator namespace, read once per max age', async () => {
  const fake = fakeCore();
  let now = 0;
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 1000, now: () => now });
  assert.equal(await records.read(KEY), EMPTY_RECORD);
  const applied = await records.change(KEY, { kind: 'bucket', uid: 'b1', bucket: { name: 'app-a.metrics' } });
  assert.ok(applied.ok);
  await records.change(KEY, { kind: 'user', userID: 'u1' });
  assert.equal(await records.read(KEY), { userID: 'u1', buckets: { b1: { name: 'app-a.metrics' } }, tokens: {} });
  assert.equal(
    fake.calls,
    [`get ${recordName(KEY)}`, `create ${recordName(KEY)}`, `update ${recordName(KEY)}`],
    'one read; writes keep the copy',
  );
  const stored = fake.maps.get(`operator/${recordName(KEY)}`);
  assert.equal(stored?.metadata?.labels?.[RECORD_OF_LABEL], recordsOf(ONBOARDING));
  assert.equal(stored?.data, { user: 'u1', 'bucket.b1': '{"name":"app-a.metrics"}' });
  now = 1000;
  await records.read(KEY);
  assert.is(fake.calls.at(-1), `get ${recordName(KEY)}`, 'read again after its max age');
  assert.equal(await records.list(ONBOARDING), [
    { namespace: 'app-a', record: { userID: 'u1', buckets: { b1: { name: 'app-a.metrics' } }, tokens: {} } },
  ]);
});

test("AccessRecords.changesOf counts the changes asked of an onboarding's records (by the sweep, to know one found without records still has none), from the moment each is asked, never reset", async () => {
  const fake = fakeCore();
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  const other = { namespace: 'monitoring', name: 'other' };
  assert.equal([records.changesOf(ONBOARDING), records.changesOf(other)], [0, 0]);
  const writing = records.change(KEY, { kind: 'user', userID: 'u1' });
  assert.is(records.changesOf(ONBOARDING), 1, 'counted before it is written');
  await writing;
  await records.change({ onboarding: ONBOARDING, namespace: 'app-b' }, { kind: 'user', userID: 'u2' });
  records.newTerm();
  assert.equal(
    [records.changesOf(ONBOARDING), records.changesOf(other)],
    [2, 0],
    'per onboarding; a new term keeps the count',
  );
});

test('AccessRecords: a write that finds another version (another writer) reads again and applies the change over it', async () => {
  const fake = fakeCore();
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  await records.change(KEY, { kind: 'token', uid: 't1', name: 'writer' });
  // Someone else (a new leader, an administrator) writes meanwhile.
  const stored = fake.maps.get(`operator/${recordName(KEY)}`);
  assert.ok(stored?.metadata && stored.data);
  stored.data['token.t9'] = 'theirs';
  stored.metadata.resourceVersion = String(fake.bump());
  const applied = await records.change(KEY, { kind: 'token', uid: 't2', name: 'reader', limits: { maxTokens: 2 } });
  assert.equal(
    applied,
    { ok: false, refusal: { limit: 'maxTokens', count: 2, max: 2 } },
    'decided over the fresh version',
  );
  assert.equal((await records.read(KEY)).tokens, { t1: 'writer', t9: 'theirs' });
});

test('AccessRecords: a ConfigMap of that name that is not this record is never trusted', async () => {
  const fake = fakeCore();
  fake.maps.set(`operator/${recordName(KEY)}`, {
    metadata: {
      name: recordName(KEY),
      annotations: { 'influxdb.onboarding.dev/onboarding': 'x/y', 'influxdb.onboarding.dev/namespace': 'app-a' },
    },
    data: { user: 'u-x' },
  });
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  const error = await records.read(KEY).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  assert.instance(error, Error);
  assert.match(String(error), 'is not the record of app-a under monitoring/influxdb');
});

test('AccessRecords: a new term drops every copy held; a read or write sent before it keeps its answer to itself', async () => {
  const fake = fakeCore();
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  await records.change(KEY, { kind: 'bucket', uid: 'b1', bucket: { name: 'app-a.metrics', id: 'old' } });
  // Another replica leads meanwhile and re-creates the bucket.
  const stored = fake.maps.get(`operator/${recordName(KEY)}`);
  assert.ok(stored?.metadata && stored.data);
  stored.data['bucket.b1'] = '{"name":"app-a.metrics","id":"new"}';
  stored.metadata.resourceVersion = String(fake.bump());
  assert.is((await records.read(KEY)).buckets.b1?.id, 'old', 'within a term the copy is used');
  records.newTerm();
  assert.is((await records.read(KEY)).buckets.b1?.id, 'new', 'read again in the new term');

  // A read that was under way when the term changed: its answer is not held for the new term.
  const held = gate();
  let holding = true;
  const slow = fakeCore((call) => (holding && call.startsWith('get') ? held.wait : Promise.resolve()));
  const later = new AccessRecords(slow.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  const underway = later.read(KEY);
  await new Promise((resolve) => setImmediate(resolve));
  later.newTerm();
  holding = false;
  held.open();
  assert.equal(await underway, EMPTY_RECORD, 'the read gets its own answer');
  await later.read(KEY);
  assert.equal(slow.calls, [`get ${recordName(KEY)}`, `get ${recordName(KEY)}`], 'and the new term reads again');
});

/** A gate a fake write waits at until the test opens it (with an error: the write fails). */
function gate(): { wait: Promise<void>; open(error?: Error): void } {
  let open: (error?: Error) => void = () => undefined;
  const wait = new Promise<void>((resolve, reject) => {
    open = (error) => (error === undefined ? resolve() : reject(error));
  });
  return { wait, open };
}

test('AccessRecords: changes that come while the record is written go in its next write together, in order, each with its own outcome', async () => {
  const first = gate();
  const fake = fakeCore((call) => (call.startsWith('create') ? first.wait : Promise.resolve()));
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  const limits = { maxTokens: 2 };
  const a = records.change(KEY, { kind: 'token', uid: 't1', name: 'a', limits });
  await new Promise((resolve) => setImmediate(resolve));
  const b = records.change(KEY, { kind: 'token', uid: 't2', name: 'b', limits });
  const c = records.change(KEY, { kind: 'token', uid: 't3', name: 'c', limits });
  const again = records.change(KEY, { kind: 'token', uid: 't1', name: 'a', limits });
  first.open();
  const [writtenA, writtenB, refusedC, unchanged] = await Promise.all([a, b, c, again]);
  assert.equal(
    fake.calls,
    [`get ${recordName(KEY)}`, `create ${recordName(KEY)}`, `update ${recordName(KEY)}`],
    'two writes for four changes',
  );
  assert.ok(writtenA.ok && writtenA.changed);
  assert.equal(writtenA.ok && writtenA.record.tokens, { t1: 'a' });
  assert.ok(writtenB.ok && writtenB.changed);
  assert.equal(writtenB.ok && writtenB.record.tokens, { t1: 'a', t2: 'b' }, 'the record as written');
  assert.equal(refusedC, { ok: false, refusal: { limit: 'maxTokens', count: 2, max: 2 } }, 'b came first');
  assert.ok(unchanged.ok && !unchanged.changed);
  assert.equal((await records.read(KEY)).tokens, { t1: 'a', t2: 'b' });
});

test('AccessRecords: a write that fails fails every change that was in it; the changes after it are written', async () => {
  const second = gate();
  const fake = fakeCore((call) =>
    call.startsWith('update') && fake.calls.length === 3 ? second.wait : Promise.resolve(),
  );
  const records = new AccessRecords(fake.core, { namespaceOf: () => 'operator', maxAgeMs: 60_000 });
  await records.change(KEY, { kind: 'token', uid: 't1', name: 'a' });
  const b = records.change(KEY, { kind: 'token', uid: 't2', name: 'b' });
  await new Promise((resolve) => setImmediate(resolve));
  const c = records.change(KEY, { kind: 'token', uid: 't3', name: 'c' });
  second.open(new Error('update record: 500 etcd unavailable'));
  const failed = await b.then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.match(String(failed), 'etcd unavailable');
  const written = await c;
  assert.ok(written.ok && written.changed);
  assert.equal((await records.read(KEY)).tokens, { t1: 'a', t3: 'c' });
});

test.run();
