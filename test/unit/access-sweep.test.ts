/**
 * decideSweep, row by row: an authorization is deleted only on what the API server says now (the
 * token gone, re-created, or its namespace no longer granted); the cache only spares reads; a
 * namespace the operator cannot read is skipped and reported, never decided.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideSweep, type LiveList, type SweepFacts } from '../../src/access/sweep-decide.js';
import { EMPTY_RECORD } from '../../src/api/access-records.js';

const ONBOARDING = { namespace: 'monitoring', name: 'influxdb' };
const auth = (id: string, namespace: string, name: string, uid: string) => ({
  id,
  description: `app [InfluxToken ${namespace}/${name} uid=${uid}]`,
});
const listed = (...items: Array<[string, string, boolean?, string?]>): LiveList => ({
  kind: 'listed',
  items: items.map(([name, uid, deleting = false, onboarding = 'monitoring/influxdb']) => ({
    name,
    uid,
    onboarding,
    deleting,
  })),
});

function facts(extra: Partial<SweepFacts> = {}): SweepFacts {
  return {
    onboarding: ONBOARDING,
    accessFrom: { namespaces: ['app-a', 'app-b'] },
    labelGrants: false,
    records: [],
    authorizations: [],
    cachedTokenUID: () => undefined,
    cachedBucketUID: () => false,
    liveTokens: {},
    liveBuckets: {},
    liveNamespaces: {},
    ...extra,
  };
}

test('a token the cache shows with the marker UID in a granted namespace: no read, nothing deleted', () => {
  const verdict = decideSweep(
    facts({
      authorizations: [auth('a1', 'app-a', 'writer', 'u1'), { id: 'op', description: "admin's Token" }],
      cachedTokenUID: (namespace, name) => (namespace === 'app-a' && name === 'writer' ? 'u1' : undefined),
    }),
  );
  assert.equal(verdict, { read: { tokensIn: [], bucketsIn: [], namespaces: [] }, delete: [], forget: [], skipped: [] });
});

test('the cache never decides: a token it does not show is read live first; gone (finalizer removed by hand) or re-created is deleted', () => {
  const authorizations = [
    auth('a1', 'app-a', 'writer', 'u1'),
    auth('a2', 'app-a', 'reader', 'u2'),
    auth('a3', 'app-a', 'lagging', 'u3'),
  ];
  const first = decideSweep(facts({ authorizations }));
  assert.equal(first.read.tokensIn, ['app-a']);
  assert.equal(first.delete, [], 'nothing decided before the live read');
  const verdict = decideSweep(
    facts({ authorizations, liveTokens: { 'app-a': listed(['reader', 'u2-new'], ['lagging', 'u3']) } }),
  );
  assert.equal(verdict.delete, [
    { id: 'a1', token: 'app-a/writer', reason: 'token-gone' },
    { id: 'a2', token: 'app-a/reader', reason: 'token-recreated' },
  ]);
  assert.equal(verdict.read, { tokensIn: [], bucketsIn: [], namespaces: [] });
});

test('a namespace no longer granted: its tokens are read live, and deleted when they still reference this onboarding', () => {
  const authorizations = [
    auth('a1', 'app-c', 'writer', 'u1'),
    auth('a2', 'app-c', 'moved', 'u2'),
    auth('a3', 'app-c', 'leaving', 'u3'),
  ];
  const cached = () => 'cached-with-any-uid';
  assert.equal(decideSweep(facts({ authorizations, cachedTokenUID: cached })).read.tokensIn, ['app-c']);
  const verdict = decideSweep(
    facts({
      authorizations,
      liveTokens: {
        'app-c': listed(['writer', 'u1'], ['moved', 'u2', false, 'other/onboarding'], ['leaving', 'u3', true]),
      },
    }),
  );
  assert.equal(
    verdict.delete,
    [{ id: 'a1', token: 'app-c/writer', reason: 'not-granted' }],
    "another onboarding's, or one being deleted by its finalizer, are left",
  );
  assert.equal(
    decideSweep(facts({ authorizations: [auth('h1', 'monitoring', 'own', 'u9')], cachedTokenUID: () => 'u9' })).delete,
    [],
    'home always granted',
  );
});

test('grants by label: the namespace is read live (only with --namespace-label-grants); 403 skips and reports, nothing decided', () => {
  const accessFrom = { namespaceSelector: { matchLabels: { influx: 'yes' } } };
  const authorizations = [auth('a1', 'app-l', 'writer', 'u1')];
  const cachedTokenUID = () => 'u1';
  const off = decideSweep(
    facts({ accessFrom, authorizations, cachedTokenUID, liveTokens: { 'app-l': listed(['writer', 'u1']) } }),
  );
  assert.equal(
    off.delete,
    [{ id: 'a1', token: 'app-l/writer', reason: 'not-granted' }],
    'without label grants a selector grants nothing',
  );
  const on = (extra: Partial<SweepFacts>) =>
    decideSweep(facts({ accessFrom, labelGrants: true, authorizations, cachedTokenUID, ...extra }));
  assert.equal(on({}).read.namespaces, ['app-l']);
  assert.equal(on({}).delete, []);
  assert.equal(on({ liveNamespaces: { 'app-l': { kind: 'found', labels: { influx: 'yes' } } } }).delete, []);
  const withdrawn = on({
    liveNamespaces: { 'app-l': { kind: 'found', labels: {} } },
    liveTokens: { 'app-l': listed(['writer', 'u1']) },
  });
  assert.equal(withdrawn.delete, [{ id: 'a1', token: 'app-l/writer', reason: 'not-granted' }]);
  const forbidden = on({ liveNamespaces: { 'app-l': { kind: 'forbidden' } } });
  assert.equal([forbidden.delete, forbidden.skipped], [[], [{ namespace: 'app-l', what: 'the namespace (403)' }]]);
});

test('InfluxTokens the operator may not list (403): skipped and reported, nothing deleted', () => {
  const verdict = decideSweep(
    facts({ authorizations: [auth('a1', 'app-b', 'writer', 'u1')], liveTokens: { 'app-b': { kind: 'forbidden' } } }),
  );
  assert.equal([verdict.delete, verdict.skipped], [[], [{ namespace: 'app-b', what: 'InfluxTokens (403)' }]]);
});

test('record entries of resources gone (read live) are forgotten; cached ones cost no read', () => {
  const record = {
    ...EMPTY_RECORD,
    userID: 'u',
    buckets: { 'b-live': { name: 'app-a.kept', id: '1' }, 'b-gone': { name: 'app-a.gone', id: '2' } },
    tokens: { 't-cached': 'writer', 't-gone': 'old' },
  };
  const base = {
    records: [{ namespace: 'app-a', record }],
    cachedTokenUID: (_: string, name: string) => (name === 'writer' ? 't-cached' : undefined),
  };
  const first = decideSweep(facts(base));
  assert.equal([first.read.tokensIn, first.read.bucketsIn], [['app-a'], ['app-a']]);
  const verdict = decideSweep(
    facts({
      ...base,
      liveTokens: { 'app-a': listed(['writer', 't-cached']) },
      liveBuckets: { 'app-a': listed(['kept', 'b-live']) },
    }),
  );
  assert.equal(verdict.forget, [
    { namespace: 'app-a', change: { kind: 'forgetToken', uid: 't-gone' } },
    { namespace: 'app-a', change: { kind: 'forgetBucket', uid: 'b-gone' } },
  ]);
});

test.run();
