/**
 * decideSweep, row by row: an authorization is deleted only on what the API server says now (the
 * token gone, re-created, or its namespace no longer granted); the cache only spares reads; a
 * namespace the operator cannot read is skipped and reported, never decided.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideSweep, leavesNothing, type LiveList, type SweepFacts } from '../../../src/access/sweep-decide.js';
import { createSweepReconciler } from '../../../src/access/sweep.js';
import { EMPTY_RECORD, applyRecordChange, type AccessRecord } from '../../../src/api/access-records.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import { InfluxClientPool } from '../../../src/influx/pool.js';
import { SecretRegistry, type Logger } from '../../../src/log.js';
import { InfluxAdmin } from '../../support/influx-http.js';
import { startInfluxStandin } from '../../support/influx-standin.js';

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

/** A stand-in set up by someone else, a user per namespace with a token's orphan under it, and the sweep of an onboarding on it. */
async function sweepOnStandin(namespaces: string[], requestTimeoutSeconds = 10) {
  const standin = await startInfluxStandin();
  const pool = new InfluxClientPool({});
  const { token } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'platform' });
  const orgID = standin.onboarded()?.orgID ?? '';
  const operatorUserID = standin.onboarded()?.userID ?? '';
  // What the sweep asks of the API server, and the changes this process asked of the records (AccessRecords.changesOf).
  const apiReads: string[] = [];
  let recordChanges = 0;
  let cachedIdentity: string | undefined = 'o/1';
  const admin = new InfluxAdmin(standin.url);
  /** An authorization made behind the operator's back (or by it, long ago): read access to the org's buckets. */
  const authorize = (userID: string, description: string) =>
    admin.request({
      method: 'POST',
      path: '/api/v2/authorizations',
      token,
      body: { orgID, userID, description, permissions: [{ action: 'read', resource: { type: 'buckets', orgID } }] },
    });
  const records: Array<{ namespace: string; record: AccessRecord }> = [];
  for (const namespace of namespaces) {
    const user = await admin.request({ method: 'POST', path: '/api/v2/users', token, body: { name: namespace } });
    const userID = String((user.json as { id: string }).id);
    await authorize(userID, `[InfluxToken ${namespace}/gone uid=uid-${namespace}]`);
    records.push({ namespace, record: { userID, buckets: {}, tokens: { [`uid-${namespace}`]: 'gone' } } });
  }
  const onboarding: InfluxOnboarding = {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: { name: 'influxdb', namespace: 'monitoring', uid: 'o' },
    spec: {
      url: standin.url,
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
      requestTimeoutSeconds,
      accessFrom: { namespaces },
    },
    status: {
      orgID,
      userID: operatorUserID,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Adopted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    },
  };
  const events: string[] = [];
  const deleted: string[] = [];
  const changes: string[] = [];
  let skipped = 0;
  const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent };
  const defaultTerm = {};
  const sweep = createSweepReconciler(
    {
      readOnboarding: async () => {
        apiReads.push('read onboarding');
        return onboarding;
      },
      readCredentials: async () => ({
        state: 'owned',
        data: { url: standin.url, org: 'acme', token },
        garbageCollected: false,
      }),
      readReference: async () => ({ found: false, problem: 'none' }),
      influx: (target) =>
        pool.get({
          baseUrl: target.url,
          timeoutMs: target.timeoutMs,
          insecureSkipVerify: false,
          ...(target.signal && { signal: target.signal }),
        }),
      recordEvent: (_resource, event) => void events.push(`${event.reason}: ${event.message}`),
      listRecords: async () => {
        apiReads.push('list records');
        return records;
      },
      recordChanges: () => recordChanges,
      cachedOnboarding: () => cachedIdentity,
      changeRecord: async (key, change) => {
        recordChanges++;
        changes.push(`${key.namespace}: ${change.kind}`);
        const at = records.find((entry) => entry.namespace === key.namespace);
        const applied = applyRecordChange(at?.record ?? EMPTY_RECORD, change);
        if (applied.ok && at) at.record = applied.record;
        return applied;
      },
      listTokens: async () => ({ kind: 'listed', items: [] }),
      listBuckets: async () => ({ kind: 'listed', items: [] }),
      readNamespace: async () => ({ kind: 'found', labels: {} }),
      cachedTokenUID: () => undefined,
      cachedBucketUID: () => false,
    },
    {
      intervalMs: 600_000,
      labelGrants: false,
      logger: silent,
      secrets: new SecretRegistry(),
      onDeleted: (reason) => void deleted.push(reason),
      onSkipped: () => void skipped++,
    },
  );
  return {
    standin,
    admin,
    token,
    orgID,
    records,
    events,
    deleted,
    changes,
    operatorUserID,
    authorize,
    apiReads,
    /** A record change this process asked for (a token's reconcile recording its user or itself). */
    recordChanged: () => void recordChanges++,
    /** The onboarding as the cache shows it: its UID and generation, or none. */
    cache: (identity: string | undefined) => void (cachedIdentity = identity),
    skipped: () => skipped,
    sweep: (signal = new AbortController().signal, term: object = defaultTerm) =>
      sweep({ namespace: 'monitoring', name: 'influxdb' }, signal, term),
    remaining: async () =>
      (await admin.authorizationDescriptions(token, orgID)).filter((description) =>
        description.includes('InfluxToken'),
      ),
    close: async () => {
      pool.closeAll();
      await standin.close();
    },
  };
}

test("the sweep itself: each recorded user's list read; one that fails is skipped and reported while the others are swept; the next sweep gets it", async () => {
  const world = await sweepOnStandin(['app-a', 'app-b']);
  const { standin, admin, token, orgID } = world;
  try {
    // The gone token of app-b had spec.v1: its v1 authorization carries the same marker with ` v1`.
    const v1 = await admin.request({
      method: 'POST',
      path: '/private/legacy/authorizations',
      token,
      body: {
        orgID,
        token: 'app-b.gone',
        description: '[InfluxToken app-b/gone uid=uid-app-b v1]',
        permissions: [{ action: 'read', resource: { type: 'buckets', orgID } }],
      },
    });
    assert.is(v1.status, 201, v1.text);
    standin.knobs.failNext(1, '500-json', { method: 'GET', path: '/api/v2/authorizations' });
    const outcome = await world.sweep();
    assert.equal(outcome, { requeueAfterMs: 600_000 }, 'again after the interval');
    assert.equal(
      [world.deleted, world.skipped()],
      [['token-gone', 'token-gone'], 1],
      "app-b's token and its v1 authorization",
    );
    const legacy = await admin.request({ method: 'GET', path: `/private/legacy/authorizations?orgID=${orgID}`, token });
    assert.equal((legacy.json as { authorizations: unknown[] }).authorizations, [], 'the v1 authorization is gone');
    assert.equal(
      await world.remaining(),
      ['[InfluxToken app-a/gone uid=uid-app-a]'],
      "app-a's list failed: left for now",
    );
    assert.ok(
      world.events.some((event) => event.startsWith('SweepSkipped: could not list the authorizations of app-a')),
    );
    assert.equal(
      world.records.map((entry) => entry.record.tokens),
      [{}, {}],
      'the entries of gone tokens forgotten',
    );
    await world.sweep();
    assert.equal(await world.remaining(), [], 'the next sweep gets it');
  } finally {
    await world.close();
  }
});

test("the sweep's InfluxDB requests end with its signal: a list InfluxDB holds ends at the abort (not at the 60 s request timeout), and the aborted sweep deletes, forgets and reports nothing", async () => {
  const world = await sweepOnStandin(['app-a'], 60);
  const { standin } = world;
  try {
    standin.knobs.failNext(1, 'hang', { method: 'GET', path: '/api/v2/authorizations' });
    const controller = new AbortController();
    const swept = world.sweep(controller.signal).then(
      (result) => ({ ended: 'returned', result }),
      (error: unknown) => ({ ended: 'threw', name: error instanceof Error ? error.name : String(error) }),
    );
    const held = () =>
      standin.requests.some(
        (request) => request.method === 'GET' && request.path.startsWith('/api/v2/authorizations?'),
      );
    while (!held()) await new Promise((resolve) => setTimeout(resolve, 10));
    const sent = standin.requests.length;
    controller.abort();
    // A guard, not a speed bound: without the signal the list would wait out its 60 s timeout.
    const guard = new Promise<{ ended: string }>((resolve) =>
      setTimeout(() => resolve({ ended: 'still waiting' }), 5000).unref(),
    );
    assert.equal(await Promise.race([swept, guard]), { ended: 'threw', name: 'AbortError' });
    assert.is(standin.requests.length, sent, 'nothing sent to InfluxDB after the abort');
    assert.equal([world.deleted, world.changes, world.events, world.skipped()], [[], [], [], 0]);
    assert.equal(await world.remaining(), ['[InfluxToken app-a/gone uid=uid-app-a]'], 'left for the next sweep');
    assert.equal(await world.sweep(), { requeueAfterMs: 600_000 });
    assert.equal(await world.remaining(), [], 'which deletes it');
  } finally {
    await world.close();
  }
});

test('leavesNothing: only a sweep that found no record of the onboarding and finished all it found to do lets the next ones rest', () => {
  const clean = { records: 0, unlisted: 0, skipped: 0, undeleted: 0 };
  assert.ok(leavesNothing(clean));
  assert.not.ok(leavesNothing({ ...clean, records: 1 }), 'a record: a user whose tokens may be orphaned');
  assert.not.ok(leavesNothing({ ...clean, unlisted: 1 }), "a list that failed (the operator's own user's, the v1 one)");
  assert.not.ok(leavesNothing({ ...clean, skipped: 1 }), 'a namespace it could not read');
  assert.not.ok(leavesNothing({ ...clean, undeleted: 1 }), 'an orphan it could not delete');
});

/** What one sweep sent: its requests to InfluxDB (method and path) and its reads from the API server. */
async function sentDuring(world: Awaited<ReturnType<typeof sweepOnStandin>>, during: () => Promise<unknown>) {
  const influx = world.standin.requests.length;
  const api = world.apiReads.length;
  await during();
  return {
    influx: world.standin.requests.slice(influx).map((request) => `${request.method} ${request.path.split('?')[0]}`),
    api: world.apiReads.slice(api),
  };
}

test("an onboarding without records: its first sweep of the term lists InfluxDB (a token from before the records, under the operator's own user, gone: deleted); later ones send nothing until one of its records is written or a new term begins", async () => {
  const world = await sweepOnStandin([]);
  try {
    await world.authorize(world.operatorUserID, '[InfluxToken app-a/legacy uid=uid-legacy]');
    const first = await sentDuring(world, () => world.sweep());
    assert.equal(first.api, ['read onboarding', 'list records']);
    assert.ok(first.influx.includes('GET /api/v2/authorizations'), "the operator's own user listed");
    assert.ok(first.influx.includes('GET /private/legacy/authorizations'), 'and the v1 authorizations');
    assert.equal(world.deleted, ['token-gone']);
    assert.equal(await world.remaining(), []);
    for (const round of [1, 2, 3]) {
      let outcome: unknown;
      const rest = await sentDuring(world, async () => (outcome = await world.sweep()));
      assert.equal(rest, { influx: [], api: [] }, `sweep ${round} after: nothing sent`);
      assert.equal(outcome, { requeueAfterMs: 600_000 }, 'and again after the interval');
    }
    world.recordChanged();
    const recorded = await sentDuring(world, () => world.sweep());
    assert.equal(recorded.api, ['read onboarding', 'list records'], 'a record of it written: swept again');
    assert.ok(recorded.influx.length > 0);
    assert.equal((await sentDuring(world, () => world.sweep())).influx, [], 'which found none: at rest again');
    world.cache('o/2');
    const edited = await sentDuring(world, () => world.sweep());
    assert.equal(edited.api, ['read onboarding', 'list records'], 'its spec changed (another instance, say): swept');
    world.cache(undefined);
    const uncached = await sentDuring(world, () => world.sweep());
    assert.equal(uncached.api, ['read onboarding', 'list records'], 'not in the cache: read live');
    world.cache('o/2');
    const newTerm = await sentDuring(world, () => world.sweep(new AbortController().signal, {}));
    assert.equal(newTerm.api, ['read onboarding', 'list records'], 'a new term (another replica may have led): swept');
  } finally {
    await world.close();
  }
});

test('an InfluxToken deleted while the operator was down (its finalizer removed by hand) left its record: every sweep lists its user, the one after the restart deletes its authorization', async () => {
  const world = await sweepOnStandin(['app-a']);
  try {
    const restarted = {};
    const sent = await sentDuring(world, () => world.sweep(new AbortController().signal, restarted));
    assert.equal(sent.api, ['read onboarding', 'list records']);
    assert.equal(world.deleted, ['token-gone']);
    assert.equal(await world.remaining(), []);
    assert.equal(world.changes, ['app-a: forgetToken'], 'its entry forgotten; the record (its user) stays');
    const next = await sentDuring(world, () => world.sweep(new AbortController().signal, restarted));
    assert.ok(next.influx.includes('GET /api/v2/authorizations'), 'a record exists: its user is listed every sweep');
  } finally {
    await world.close();
  }
});

test('a sweep that could not finish (a list failed) does not rest: the next one lists again and gets it', async () => {
  const world = await sweepOnStandin([]);
  const { standin } = world;
  try {
    await world.authorize(world.operatorUserID, '[InfluxToken app-a/legacy uid=uid-legacy]');
    standin.knobs.failNext(1, '500-json', { method: 'GET', path: '/api/v2/authorizations' });
    await world.sweep();
    assert.equal(world.deleted, [], 'the list failed');
    const again = await sentDuring(world, () => world.sweep());
    assert.ok(again.influx.includes('GET /api/v2/authorizations'), 'listed again');
    assert.equal(world.deleted, ['token-gone']);
  } finally {
    await world.close();
  }
});

test.run();
