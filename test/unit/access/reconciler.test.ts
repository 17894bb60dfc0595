/**
 * The InfluxBucket and InfluxToken reconcilers (the shell around the decisions) against the
 * InfluxDB stand-in and in-memory Kubernetes ports: the whole flow, a Secret write that fails
 * right after InfluxDB handed out a token, rotations with and without a grace period, a withdrawn
 * grant, deletion, and a bucket re-created under a new ID.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBucketReconciler } from '../../../src/access/bucket-reconciler.js';
import type { AccessPorts } from '../../../src/access/reconciler.js';
import { createTokenReconciler } from '../../../src/access/token-reconciler.js';
import type { DesiredTokenSecret, InfluxBucket, InfluxToken, TokenSecret } from '../../../src/api/access-types.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import { createInfluxClient } from '../../../src/influx/client.js';
import { InfluxClientPool } from '../../../src/influx/pool.js';
import { SecretRegistry, type Logger } from '../../../src/log.js';
import { InfluxAdmin } from '../../support/influx-http.js';
import { startInfluxStandin, type InfluxStandin } from '../../support/influx-standin.js';
import { EMPTY_RECORD, applyRecordChange, type AccessRecord } from '../../../src/api/access-records.js';
import { recordName } from '../../../src/kube/access-records.js';

const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent };
const API = 'influxdb.onboarding.dev/v1alpha1';

interface World {
  standin: InfluxStandin;
  admin: InfluxAdmin;
  operatorToken: string;
  orgID: string;
  onboarding: InfluxOnboarding;
  buckets: Map<string, InfluxBucket>;
  tokens: Map<string, InfluxToken>;
  secrets: Map<string, Extract<TokenSecret, { state: 'owned' }>>;
  /** The operator's access records, by ConfigMap name. */
  records: Map<string, AccessRecord>;
  /** What the operator's cache shows of a Secret while it lags behind another writer; unset: the Secret as it is. */
  cachedSecrets: Map<string, Extract<TokenSecret, { state: 'owned' }>>;
  events: string[];
  failSecretWrites: number;
  clock: Date;
  version: number;
  /** The controller run's term: a new one is a restart or a new leadership term. */
  term: object;
  registry: SecretRegistry;
  /** Aborts the reconciles of the run (leadership lost). */
  run: AbortController;
  /** Tokens the API server no longer has, while the cache (w.tokens) still does. */
  goneFromServer: Set<string>;
  bucket(name: string): Promise<{ requeue?: boolean; requeueAfterMs?: number }>;
  token(name: string): Promise<{ requeue?: boolean; requeueAfterMs?: number }>;
  close(): Promise<void>;
}

const NS = 'app-a';
const DRIFT_MS = 60_000;

async function world(): Promise<World> {
  const standin = await startInfluxStandin();
  const { token: operatorToken } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'platform' });
  const record = standin.onboarded();
  assert.ok(record);
  const pool = new InfluxClientPool({});
  const registry = new SecretRegistry();
  const w = {
    standin,
    admin: new InfluxAdmin(standin.url),
    operatorToken,
    orgID: record.orgID,
    onboarding: {
      apiVersion: API,
      kind: 'InfluxOnboarding',
      metadata: { name: 'influxdb', namespace: 'monitoring', uid: 'onb' },
      spec: { url: standin.url, username: 'admin', org: 'acme', bucket: 'platform', accessFrom: { namespaces: [NS] } },
      status: {
        orgID: record.orgID,
        bucketID: record.bucketID,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Adopted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
        ],
      },
    },
    buckets: new Map(),
    tokens: new Map(),
    secrets: new Map(),
    records: new Map(),
    cachedSecrets: new Map(),
    events: [],
    failSecretWrites: 0,
    clock: new Date('2026-01-01T00:00:00Z'),
    version: 1,
    registry,
    term: {},
    run: new AbortController(),
    goneFromServer: new Set(),
  } as unknown as World;
  const nextVersion = () => String(++w.version);
  const access: AccessPorts = {
    onboarding: (namespace, name) => (namespace === 'monitoring' && name === 'influxdb' ? w.onboarding : undefined),
    readCredentials: async () => ({
      state: 'owned',
      data: { url: standin.url, org: 'acme', bucket: 'platform', token: operatorToken },
      garbageCollected: false,
    }),
    readReference: async () => ({ found: false, problem: 'none' }),
    namespaceLabels: async () => ({}),
    influx: (target) =>
      pool.get({ baseUrl: target.url, timeoutMs: target.timeoutMs, insecureSkipVerify: target.insecureSkipVerify }),
    recordEvent: (resource, event) => void w.events.push(`${resource.kind} ${event.reason}`),
    readRecord: async (key) => w.records.get(recordName(key)) ?? EMPTY_RECORD,
    changeRecord: async (key, change) => {
      const applied = applyRecordChange(w.records.get(recordName(key)) ?? EMPTY_RECORD, change);
      if (applied.ok) w.records.set(recordName(key), applied.record);
      return applied;
    },
  };
  function kindPorts<R extends InfluxBucket | InfluxToken>(store: Map<string, R>) {
    return {
      resource: (_namespace: string, name: string) => store.get(name),
      patchStatus: async (resource: R, status: object) => {
        const current = store.get(resource.metadata.name);
        if (current === undefined || current.metadata.resourceVersion !== resource.metadata.resourceVersion)
          return { kind: 'stale' as const };
        const resourceVersion = nextVersion();
        store.set(resource.metadata.name, {
          ...current,
          status,
          metadata: { ...current.metadata, resourceVersion },
        });
        return { kind: 'patched' as const, resourceVersion };
      },
      patchFinalizers: async (resource: R, finalizers: string[]) => {
        const current = store.get(resource.metadata.name);
        if (current === undefined || current.metadata.resourceVersion !== resource.metadata.resourceVersion)
          return { kind: 'stale' as const };
        if (current.metadata.deletionTimestamp !== undefined && finalizers.length === 0) {
          store.delete(resource.metadata.name);
          return { kind: 'patched' as const, resourceVersion: '' };
        }
        const resourceVersion = nextVersion();
        store.set(resource.metadata.name, {
          ...current,
          metadata: { ...current.metadata, finalizers, resourceVersion },
        });
        return { kind: 'patched' as const, resourceVersion };
      },
    };
  }
  const options = { driftCheckIntervalMs: DRIFT_MS, logger: silent, secrets: registry, now: () => w.clock };
  const buckets = createBucketReconciler({ ...access, ...kindPorts(w.buckets), influxqlPeers: () => [] }, options);
  const tokens = createTokenReconciler(
    {
      ...access,
      ...kindPorts(w.tokens),
      bucket: (_namespace, name) => w.buckets.get(name),
      readSecret: async (_owner, name) => w.cachedSecrets.get(name) ?? w.secrets.get(name) ?? { state: 'absent' },
      confirmSecret: async (_owner, name) => w.secrets.get(name) ?? { state: 'absent' },
      existsOnServer: async (owner) => !w.goneFromServer.has(owner.metadata.name),
      writeSecret: async (_owner, desired: DesiredTokenSecret, observed) => {
        if (w.failSecretWrites > 0) {
          w.failSecretWrites--;
          throw new Error('write Secret: 500 the API server went away');
        }
        const current = w.secrets.get(desired.name);
        if (observed.state === 'owned' && current?.resourceVersion !== observed.resourceVersion) throw new Error('409');
        const written = {
          state: 'owned' as const,
          data: desired.data,
          retiring: desired.retiring,
          resourceVersion: nextVersion(),
          tokenIntact: desired.data.token !== undefined,
          ...(desired.authorizationID && { authorizationID: desired.authorizationID }),
          ...(desired.permissions && { permissions: desired.permissions }),
          ...(desired.shape && { shape: desired.shape }),
          ...(desired.v1 && { v1: desired.v1 }),
        };
        w.secrets.set(desired.name, written);
        return written;
      },
    },
    options,
  );
  /** Reconciles until the reconciler asks for nothing but a later check (as the queue would, minus the waiting), all in one controller run. */
  const settle = async (reconcile: typeof buckets, name: string) => {
    for (let round = 0; round < 10; round++) {
      const outcome = await reconcile({ namespace: NS, name }, w.run.signal, w.term);
      if (!outcome.requeue) return outcome;
    }
    throw new Error(`${name} did not settle`);
  };
  w.bucket = (name) => settle(buckets, name);
  w.token = (name) => settle(tokens, name);
  w.close = async () => {
    pool.closeAll();
    await standin.close();
  };
  return w;
}

function addBucket(w: World, name: string, spec: Record<string, unknown> = {}): void {
  w.buckets.set(name, {
    apiVersion: API,
    kind: 'InfluxBucket',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: { onboardingRef: { name: 'influxdb', namespace: 'monitoring' }, ...spec },
  });
}

function addToken(w: World, name: string, spec: Record<string, unknown>): void {
  w.tokens.set(name, {
    apiVersion: API,
    kind: 'InfluxToken',
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: { onboardingRef: { name: 'influxdb', namespace: 'monitoring' }, ...spec },
  } as InfluxToken);
}

function editToken(w: World, name: string, spec: Record<string, unknown>): void {
  const current = w.tokens.get(name);
  assert.ok(current);
  w.tokens.set(name, {
    ...current,
    spec: { ...current.spec, ...spec },
    metadata: {
      ...current.metadata,
      generation: (current.metadata.generation ?? 1) + 1,
      resourceVersion: String(++w.version),
    },
  });
}

function reason(resource: InfluxBucket | InfluxToken | undefined): string | undefined {
  return resource?.status?.conditions?.find((condition) => condition.type === 'Ready')?.reason;
}

async function ownAuthorizations(w: World, name: string): Promise<string[]> {
  return (await w.admin.authorizationDescriptions(w.operatorToken, w.orgID)).filter((description) =>
    description.includes(`uid=uid-${name}]`),
  );
}

/** Whether InfluxDB still accepts the token (a bucket-scoped token may not read /me, so ask the stand-in). */
async function works(w: World, token: string | undefined): Promise<boolean> {
  return token !== undefined && w.standin.tokens().includes(token);
}

async function bucketNames(w: World): Promise<string[]> {
  return (await w.admin.bucketNames(w.operatorToken, w.orgID)).filter((name) => !name.startsWith('_'));
}

async function ready(): Promise<World> {
  const w = await world();
  addBucket(w, 'metrics', { retentionPeriodSeconds: 3600, deletionPolicy: 'Delete' });
  addToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }], rotationGracePeriodSeconds: 0 });
  await w.bucket('metrics');
  await w.token('writer');
  return w;
}

test('bucket and token: created in the onboarding org, the Secret holds a working token with exactly one authorization', async () => {
  const w = await ready();
  try {
    const bucket = w.buckets.get('metrics');
    assert.is(reason(bucket), 'BucketReady');
    assert.equal(await bucketNames(w), ['platform', 'app-a.metrics']);
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
    const secret = w.secrets.get('writer-influx-token');
    assert.equal([secret?.data.bucket, secret?.data.org, secret?.data.url], ['app-a.metrics', 'acme', w.standin.url]);
    assert.ok(await works(w, secret?.data.token));
    assert.is.not(secret?.data.token, w.operatorToken);
    assert.is((await ownAuthorizations(w, 'writer')).length, 1);
    assert.equal(w.events, ['InfluxBucket BucketReady', 'InfluxToken TokenReady']);
  } finally {
    await w.close();
  }
});

test('crash safety: the Secret write fails right after InfluxDB handed out the token; the next reconcile deletes that orphan and issues one that lands', async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    addToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    await w.bucket('metrics');
    w.failSecretWrites = 1;
    const failed = await w.token('writer').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failed, Error, 'the reconcile failed');
    const orphans = await ownAuthorizations(w, 'writer');
    assert.is(orphans.length, 1, 'one working token exists only in InfluxDB now');
    await w.token('writer');
    assert.is((await ownAuthorizations(w, 'writer')).length, 1, 'the orphan is gone, one authorization left');
    assert.ok(await works(w, w.secrets.get('writer-influx-token')?.data.token));
    assert.is(w.standin.tokens().length, 2, 'the operator token and the one in the Secret: nothing else authenticates');
  } finally {
    await w.close();
  }
});

/** What the 1.x API answers to SHOW DATABASES with the Secret's v1 username and password. */
async function v1Login(w: World, name: string): Promise<string> {
  const secret = w.secrets.get(name);
  const client = createInfluxClient({ baseUrl: w.standin.url, timeoutMs: 5_000 });
  try {
    const answer = await client.v1Databases({
      username: secret?.data['v1-username'] ?? '',
      password: secret?.data['v1-password'] ?? '',
    });
    return answer.ok ? `databases ${answer.value.join(',')}` : `refused ${answer.failure.kind}`;
  } finally {
    client.close();
  }
}

async function ownV1(w: World, name: string): Promise<string[]> {
  const client = createInfluxClient({ baseUrl: w.standin.url, timeoutMs: 5_000 });
  try {
    const listed = await client.listV1Authorizations(w.operatorToken, { orgID: w.orgID });
    assert.ok(listed.ok);
    return listed.value.filter((entry) => entry.description.includes(`uid=uid-${name} v1]`)).map((entry) => entry.id);
  } finally {
    client.close();
  }
}

test('v1 credentials through the stand-in: a Secret write that fails right after the create leaves an orphan the next reconcile deletes; the credentials log in; rotation keeps the authorization', async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    addToken(w, 'reader', { permissions: [{ action: 'read', bucket: 'metrics' }] });
    await w.bucket('metrics');
    await w.token('reader');
    // spec.v1 added; the write that would record the new v1 authorization fails.
    editToken(w, 'reader', { v1: {} });
    w.failSecretWrites = 1;
    const failed = await w.token('reader').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failed, Error, 'the reconcile failed');
    assert.is((await ownV1(w, 'reader')).length, 1, 'one v1 authorization exists only in InfluxDB now');
    await w.token('reader');
    assert.is(reason(w.tokens.get('reader')), 'TokenReady');
    const [id] = await ownV1(w, 'reader');
    assert.equal(await ownV1(w, 'reader'), [id], 'the orphan is gone, one v1 authorization left');
    const secret = w.secrets.get('reader-influx-token');
    assert.is(secret?.data['v1-username'], 'app-a.reader');
    assert.not.ok(secret && 'v1-pending-password' in secret.data);
    assert.match(await v1Login(w, 'reader-influx-token'), /^databases /);

    const token = w.tokens.get('reader');
    assert.ok(token);
    const before = secret?.data['v1-password'];
    w.tokens.set('reader', {
      ...token,
      metadata: {
        ...token.metadata,
        annotations: { 'influxdb.onboarding.dev/rotate-v1-password': 'now' },
        resourceVersion: String(++w.version),
      },
    });
    await w.token('reader');
    const rotated = w.secrets.get('reader-influx-token');
    assert.is.not(rotated?.data['v1-password'], before);
    assert.equal(await ownV1(w, 'reader'), [id], 'rotated in place');
    assert.match(await v1Login(w, 'reader-influx-token'), /^databases /);

    editToken(w, 'reader', { v1: undefined });
    await w.token('reader');
    assert.equal(await ownV1(w, 'reader'), [], 'spec.v1 removed: deleted');
    assert.not.ok('v1-username' in (w.secrets.get('reader-influx-token')?.data ?? {}));
  } finally {
    await w.close();
  }
});

/** The requests InfluxDB received while `during` ran, as `METHOD path`. */
async function requestsDuring(w: World, during: () => Promise<unknown>): Promise<string[]> {
  const before = w.standin.requests.length;
  await during();
  return w.standin.requests.slice(before).map((request) => `${request.method} ${request.path.split('?')[0]}`);
}

test("steady state: a Ready token's periodic check is one GET of its own authorization; a new run, or a Secret changed behind the operator, lists the org's authorizations once", async () => {
  const w = await ready();
  try {
    const id = w.secrets.get('writer-influx-token')?.authorizationID;
    assert.ok(id);
    const check = () => {
      w.clock = new Date(w.clock.getTime() + DRIFT_MS);
      return w.token('writer');
    };
    assert.equal(await requestsDuring(w, check), [`GET /api/v2/authorizations/${id}`]);
    assert.equal(await requestsDuring(w, check), [`GET /api/v2/authorizations/${id}`], 'and again');
    w.term = {};
    assert.equal(
      await requestsDuring(w, () => w.token('writer')),
      ['GET /api/v2/authorizations', `GET /api/v2/authorizations/${id}`],
      'a new run lists once',
    );
    assert.equal(await requestsDuring(w, check), [`GET /api/v2/authorizations/${id}`]);
    const secret = w.secrets.get('writer-influx-token');
    assert.ok(secret);
    w.secrets.set('writer-influx-token', { ...secret, retiring: [], resourceVersion: String(++w.version) });
    assert.equal(
      await requestsDuring(w, () => w.token('writer')),
      ['GET /api/v2/authorizations', `GET /api/v2/authorizations/${id}`],
      'an edited Secret: listed once',
    );
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
  } finally {
    await w.close();
  }
});

test("a Ready token is read once per drift interval, however often it is woken (its onboarding's and bucket's events, its own writes coming back, resyncs); a change of what it depends on is checked at once", async () => {
  const w = await ready();
  try {
    const id = w.secrets.get('writer-influx-token')?.authorizationID;
    assert.ok(id);
    const intervals = 5;
    const reads: string[] = [];
    // A wake every 5 s over five drift intervals (60 s here), as the queue would hand them out: 60 wakes.
    for (let elapsed = 0; elapsed < intervals * DRIFT_MS; elapsed += 5_000) {
      w.clock = new Date(w.clock.getTime() + 5_000);
      const requests = await requestsDuring(w, async () => {
        const outcome = await w.token('writer');
        assert.ok(
          outcome.requeueAfterMs !== undefined && outcome.requeueAfterMs <= DRIFT_MS,
          'comes back by its next check',
        );
      });
      reads.push(...requests);
    }
    assert.equal(
      reads,
      Array.from({ length: intervals }, () => `GET /api/v2/authorizations/${id}`),
      'one read per interval',
    );
    const secret = w.secrets.get('writer-influx-token');
    assert.ok(secret);
    w.secrets.set('writer-influx-token', { ...secret, resourceVersion: String(++w.version) });
    assert.equal(
      await requestsDuring(w, () => w.token('writer')),
      ['GET /api/v2/authorizations', `GET /api/v2/authorizations/${id}`],
      'its Secret changed behind the operator: checked (and listed) at once',
    );
    editToken(w, 'writer', { rotationGracePeriodSeconds: 0 });
    assert.equal(
      await requestsDuring(w, () => w.token('writer')),
      [`GET /api/v2/authorizations/${id}`],
      'the InfluxToken changed: checked at once',
    );
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
  } finally {
    await w.close();
  }
});

test("a new token is Ready on its create's answer, which is what InfluxDB holds: its authorization is not read back; the next check reads it", async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    await w.bucket('metrics');
    addToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    const requests = await requestsDuring(w, () => w.token('writer'));
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
    const id = w.secrets.get('writer-influx-token')?.authorizationID;
    assert.ok(id);
    assert.equal(
      requests.filter((request) => request.includes('/authorizations')),
      ['GET /api/v2/authorizations', 'POST /api/v2/authorizations'],
      'listed (for orphans), created, and no read of what was just created',
    );
    assert.ok(await works(w, w.secrets.get('writer-influx-token')?.data.token));
    assert.equal(await requestsDuring(w, () => w.token('writer')), [`GET /api/v2/authorizations/${id}`]);
  } finally {
    await w.close();
  }
});

test("a burst of new tokens in one run lists the org's authorizations once, not once per token; each still gets exactly one authorization", async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    await w.bucket('metrics');
    const names = Array.from({ length: 6 }, (_, index) => `writer-${index}`);
    for (const name of names) addToken(w, name, { permissions: [{ action: 'write', bucket: 'metrics' }] });
    const requests = await requestsDuring(w, () => Promise.all(names.map((name) => w.token(name))));
    assert.is(requests.filter((request) => request === 'GET /api/v2/authorizations').length, 1, 'one shared list');
    assert.is(requests.filter((request) => request === 'POST /api/v2/authorizations').length, names.length);
    for (const name of names) {
      assert.is(reason(w.tokens.get(name)), 'TokenReady', name);
      assert.is((await ownAuthorizations(w, name)).length, 1, name);
      assert.ok(await works(w, w.secrets.get(`${name}-influx-token`)?.data.token), name);
    }
  } finally {
    await w.close();
  }
});

test("after its own create, a token's next list is one sent after that create: the orphan of a lost Secret write is found though another token listed meanwhile", async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    await w.bucket('metrics');
    addToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    addToken(w, 'reader', { permissions: [{ action: 'read', bucket: 'metrics' }] });
    w.failSecretWrites = 1;
    const failed = await w.token('writer').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failed, Error, 'the Secret write after the create failed');
    await w.token('reader');
    assert.is((await ownAuthorizations(w, 'writer')).length, 1, 'the orphan exists');
    await w.token('writer');
    assert.is((await ownAuthorizations(w, 'writer')).length, 1, 'the orphan deleted, the new one kept');
    assert.ok(await works(w, w.secrets.get('writer-influx-token')?.data.token));
    assert.is(w.standin.tokens().length, 3, 'the operator token and the two Secrets: nothing else authenticates');
  } finally {
    await w.close();
  }
});

test("the cache lagging behind another writer's Secret deletes nothing: the Secret is read from the API server first", async () => {
  const w = await ready();
  try {
    const old = w.secrets.get('writer-influx-token');
    assert.ok(old?.authorizationID);
    // Another writer (the previous leader) rotated the token; this process's cache still shows the old Secret.
    editToken(w, 'writer', { permissions: [{ action: 'read', bucket: 'metrics' }] });
    await w.token('writer');
    const current = w.secrets.get('writer-influx-token');
    assert.ok(current?.authorizationID && current.authorizationID !== old.authorizationID);
    w.cachedSecrets.set('writer-influx-token', old);
    w.term = {};
    await w.token('writer');
    assert.ok(await works(w, current.data.token), 'the token the Secret holds still works');
    assert.equal((await ownAuthorizations(w, 'writer')).length, 1, 'the Secret names the one authorization left');
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
  } finally {
    await w.close();
  }
});

test('an authorization deactivated behind the operator is replaced by the periodic check', async () => {
  const w = await ready();
  try {
    const before = w.secrets.get('writer-influx-token');
    assert.ok(before?.authorizationID);
    await w.admin.setAuthorizationStatus(w.operatorToken, before.authorizationID, 'inactive');
    await w.token('writer');
    const after = w.secrets.get('writer-influx-token');
    assert.is.not(after?.authorizationID, before.authorizationID);
    assert.ok(await works(w, after?.data.token));
    assert.is((await ownAuthorizations(w, 'writer')).length, 1, 'the inactive one deleted (grace 0)');
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
  } finally {
    await w.close();
  }
});

test('a create whose Secret write was lost, then the change undone: the Secret serves again, and the orphan is still found and deleted', async () => {
  const w = await ready();
  try {
    const before = w.secrets.get('writer-influx-token');
    editToken(w, 'writer', { permissions: [{ action: 'read', bucket: 'metrics' }] });
    w.failSecretWrites = 1;
    const failed = await w.token('writer').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failed, Error, 'the reconcile failed after the create');
    assert.is((await ownAuthorizations(w, 'writer')).length, 2, 'the new token exists only in InfluxDB');
    editToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    await w.token('writer');
    assert.is(
      w.secrets.get('writer-influx-token')?.data.token,
      before?.data.token,
      'the Secret kept its token, which serves the spec again',
    );
    assert.is((await ownAuthorizations(w, 'writer')).length, 1, 'the orphan is gone');
    assert.is(reason(w.tokens.get('writer')), 'TokenReady');
  } finally {
    await w.close();
  }
});

test('rotation with grace 0: a permission change swaps the authorization at once', async () => {
  const w = await ready();
  try {
    const before = w.secrets.get('writer-influx-token')?.data.token;
    editToken(w, 'writer', {
      permissions: [
        { action: 'write', bucket: 'metrics' },
        { action: 'read', bucket: 'metrics' },
      ],
    });
    await w.token('writer');
    const after = w.secrets.get('writer-influx-token')?.data.token;
    assert.is.not(after, before);
    assert.not.ok(await works(w, before), 'the old token stopped working');
    assert.ok(await works(w, after));
    assert.is((await ownAuthorizations(w, 'writer')).length, 1);
    assert.is(w.tokens.get('writer')?.status?.permissions, 'read:metrics,write:metrics');
  } finally {
    await w.close();
  }
});

test('rotation with a grace period: the old token keeps working until it ends, then is deleted', async () => {
  const w = await ready();
  try {
    editToken(w, 'writer', { rotationGracePeriodSeconds: 120, permissions: [{ action: 'read', bucket: 'metrics' }] });
    const before = w.secrets.get('writer-influx-token')?.data.token;
    const outcome = await w.token('writer');
    assert.is(outcome.requeueAfterMs, 60_000, 'back at the drift check, before the grace period ends');
    assert.ok(await works(w, before), 'still working during the grace period');
    assert.is(w.tokens.get('writer')?.status?.retiring?.length, 1);
    w.clock = new Date(w.clock.getTime() + 120_000);
    await w.token('writer');
    assert.not.ok(await works(w, before));
    assert.ok(await works(w, w.secrets.get('writer-influx-token')?.data.token));
    assert.equal(w.secrets.get('writer-influx-token')?.retiring, []);
    assert.is((await ownAuthorizations(w, 'writer')).length, 1);
  } finally {
    await w.close();
  }
});

test('a token edited in the Secret by hand is replaced: a new authorization, the old one deleted, the old token forgotten by the log redaction', async () => {
  const w = await ready();
  try {
    const secret = w.secrets.get('writer-influx-token');
    assert.ok(secret?.data.token);
    assert.is(w.registry.mask(secret.data.token), '[REDACTED]');
    w.secrets.set('writer-influx-token', {
      ...secret,
      data: { ...secret.data, token: 'typed-in-by-hand' },
      tokenIntact: false,
      resourceVersion: String(++w.version),
    });
    await w.token('writer');
    const now = w.secrets.get('writer-influx-token');
    assert.ok(now?.tokenIntact && now.data.token !== secret.data.token && now.data.token !== 'typed-in-by-hand');
    assert.ok(await works(w, now.data.token));
    assert.not.ok(await works(w, secret.data.token), 'grace 0: the authorization of the edited-away token is gone');
    assert.is((await ownAuthorizations(w, 'writer')).length, 1);
    assert.is(w.registry.mask(now.data.token), '[REDACTED]');
    assert.is(w.registry.mask(secret.data.token), secret.data.token, 'a token no longer in use is no longer held');
  } finally {
    await w.close();
  }
});

test('a bucket re-created under a new ID re-issues its tokens', async () => {
  const w = await ready();
  try {
    const oldID = w.buckets.get('metrics')?.status?.bucketID ?? '';
    const before = w.secrets.get('writer-influx-token')?.data.token;
    await w.admin.deleteBucket(w.operatorToken, oldID);
    await w.bucket('metrics');
    const newID = w.buckets.get('metrics')?.status?.bucketID;
    assert.ok(newID && newID !== oldID);
    await w.token('writer');
    assert.is.not(w.secrets.get('writer-influx-token')?.data.token, before);
    assert.match(w.secrets.get('writer-influx-token')?.permissions ?? '', `write:${newID}`);
  } finally {
    await w.close();
  }
});

test('a withdrawn grant: NotPermitted, the authorization deleted, the Secret keeps no token; nothing more is asked of InfluxDB', async () => {
  const w = await ready();
  try {
    const before = w.secrets.get('writer-influx-token')?.data.token;
    w.onboarding = { ...w.onboarding, spec: { ...w.onboarding.spec, accessFrom: { namespaces: [] } } };
    await w.token('writer');
    assert.is(reason(w.tokens.get('writer')), 'NotPermitted');
    assert.not.ok(await works(w, before));
    assert.equal(await ownAuthorizations(w, 'writer'), []);
    assert.equal(Object.keys(w.secrets.get('writer-influx-token')?.data ?? {}).sort(), ['org', 'url']);
    const requests = w.standin.requests.length;
    await w.token('writer');
    await w.bucket('metrics');
    assert.is(w.standin.requests.length, requests, 'no request once revoked');
    assert.is(reason(w.buckets.get('metrics')), 'NotPermitted');
  } finally {
    await w.close();
  }
});

test('deletion: the token authorization and (deletionPolicy Delete) the bucket are deleted, then the finalizers go', async () => {
  const w = await ready();
  try {
    const token = w.secrets.get('writer-influx-token')?.data.token;
    for (const [store, name] of [
      [w.tokens, 'writer'],
      [w.buckets, 'metrics'],
    ] as const) {
      const current = store.get(name);
      assert.ok(current);
      (store as Map<string, typeof current>).set(name, {
        ...current,
        metadata: {
          ...current.metadata,
          deletionTimestamp: '2026-01-01T00:00:01Z',
          resourceVersion: String(++w.version),
        },
      });
    }
    await w.token('writer');
    await w.bucket('metrics');
    assert.is(w.tokens.size + w.buckets.size, 0, 'both let go');
    await w.token('writer');
    assert.is(w.registry.mask(token ?? ''), token, 'a token whose resource is gone is no longer held');
    assert.not.ok(await works(w, token));
    assert.equal(await bucketNames(w), ['platform']);
    assert.ok(
      w.events.includes('InfluxToken TokenRevoked') && w.events.includes('InfluxBucket BucketDeleted'),
      w.events.join(', '),
    );
  } finally {
    await w.close();
  }
});

test('the onboarding gone: both finalizers let go with a Warning, leaving InfluxDB as it is (to another namespace, gone reads as not granted)', async () => {
  const w = await ready();
  try {
    w.onboarding = undefined as unknown as InfluxOnboarding;
    for (const [store, name] of [
      [w.tokens, 'writer'],
      [w.buckets, 'metrics'],
    ] as const) {
      const current = store.get(name);
      assert.ok(current);
      (store as Map<string, typeof current>).set(name, {
        ...current,
        metadata: {
          ...current.metadata,
          deletionTimestamp: '2026-01-01T00:00:01Z',
          resourceVersion: String(++w.version),
        },
      });
    }
    const requests = w.standin.requests.length;
    await w.token('writer');
    await w.bucket('metrics');
    assert.is(w.tokens.size + w.buckets.size, 0, 'both let go');
    assert.is(w.standin.requests.length, requests, 'nothing asked of InfluxDB');
    assert.ok(
      w.events.includes('InfluxToken NotPermitted') && w.events.includes('InfluxBucket NotPermitted'),
      w.events.join(', '),
    );
    assert.equal(await bucketNames(w), ['platform', 'app-a.metrics'], 'the bucket stays');
  } finally {
    await w.close();
  }
});

test('leadership lost while a token is being made (signal aborted): no Secret, no status, nothing more sent', async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    await w.bucket('metrics');
    addToken(w, 'writer', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    w.standin.knobs.answerDelayMs = 300;
    const posts = () =>
      w.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/authorizations')
        .length;
    const before = posts();
    const outcome = w.token('writer').then(
      () => 'resolved',
      (error: unknown) => `rejected: ${error instanceof Error ? error.message : String(error)}`,
    );
    while (posts() === before) await new Promise((resolve) => setTimeout(resolve, 10));
    const sent = w.standin.requests.length;
    w.run.abort(new Error('leadership lost'));
    assert.match(await outcome, /^rejected/);
    assert.is(w.secrets.get('writer-influx-token'), undefined, 'no Secret was written after the abort');
    assert.is(w.tokens.get('writer')?.status, undefined, 'no status was written after the abort');
    assert.equal(
      w.standin.requests.slice(sent).map((request) => `${request.method} ${request.path}`),
      [],
      'nothing more reached InfluxDB',
    );
  } finally {
    await w.close();
  }
});

test('a token the API server no longer has, still in a cache that is behind: no authorization is made for it', async () => {
  const w = await world();
  try {
    addBucket(w, 'metrics');
    await w.bucket('metrics');
    // Deleted (finalizer done) while this replica was cut off; it leads now with the old cache.
    addToken(w, 'deleted', { permissions: [{ action: 'write', bucket: 'metrics' }] });
    w.goneFromServer.add('deleted');
    const posts = () =>
      w.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/authorizations')
        .length;
    const before = posts();
    let failure = '';
    await w.token('deleted').catch((error: unknown) => (failure = String(error)));
    assert.match(failure, 'gone from the API server');
    assert.is(posts(), before, 'no authorization was created');
    assert.equal(await ownAuthorizations(w, 'deleted'), []);
  } finally {
    await w.close();
  }
});

test.run();
