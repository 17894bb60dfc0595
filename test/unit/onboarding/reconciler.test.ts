// The reconciler shell with in-memory Kubernetes ports and a real HTTP InfluxDB stand-in: the
// order of side effects, what a steady state writes, memory of credentials, the per-instance lock.
import dns from 'node:dns';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CredentialsSecret, DesiredSecret } from '../../../src/api/credentials.js';
import { checkSpec } from '../../../src/api/spec.js';
import {
  READY,
  type InfluxOnboarding,
  type InfluxOnboardingSpec,
  type InfluxOnboardingStatus,
  type Reason,
} from '../../../src/api/types.js';
import { createInfluxClient } from '../../../src/influx/client.js';
import { InfluxClientPool } from '../../../src/influx/pool.js';
import type {
  AuthorizationFilter,
  AuthorizationRequest,
  InfluxClient,
  InfluxTarget,
} from '../../../src/influx/types.js';
import { SecretRegistry, type Logger } from '../../../src/log.js';
import type { ResourceEvent } from '../../../src/runtime/steps.js';
import type { BoundCredentials } from '../../../src/onboarding/facts.js';
import type { EscrowCopy } from '../../../src/api/credentials.js';
import {
  connectGuard,
  resolveInstance,
  rememberedReach,
  targetKey,
  type InstanceSettings,
} from '../../../src/onboarding/instance.js';
import type { OnboardingPorts } from '../../../src/onboarding/ports.js';
import { createOnboardingReconciler } from '../../../src/onboarding/reconciler.js';
import { ReadYourWrites, withStatus } from '../../../src/runtime/read-your-writes.js';
import { TestCluster } from '../../support/cluster-objects.js';
import { InfluxAdmin } from '../../support/influx-http.js';
import { startInfluxStandin, type InfluxStandin } from '../../support/influx-standin.js';
import { resource as buildResource } from '../../support/facts.js';

const test = suite('onboarding reconciler shell');
// One controller run for every reconcile of these tests.
const TERM = {};

const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent };

interface World {
  resources: Map<string, InfluxOnboarding>;
  secrets: Map<string, CredentialsSecret>;
  /** Every side effect and InfluxDB call, in order. */
  journal: string[];
  events: ResourceEvent[];
  patches: number;
  secretWrites: number;
  /** Status patches to refuse as stale (409) before accepting again. */
  stalePatches: number;
  maxInFlight: number;
  /** The cache does not show status writes (it has not caught up with them yet). */
  cacheLags: boolean;
  /** Referenced Secret values by `namespace/name/key`. */
  references: Map<string, string>;
  /** The URLs every referenced Secret consents to. */
  consentTo: string[];
  /** While set, every InfluxDB call waits for it. */
  holdInflux?: Promise<void>;
  /** Called after each accepted status patch. */
  afterPatch?: () => void;
  /** The escrow's copies by `namespace/name`, with the UID they were taken from and the one approved; undefined: no escrow. */
  escrow?: Map<string, { bound: BoundCredentials; uid: string; approved?: string }>;
  /** The Services and EndpointSlices of the cluster. */
  cluster: TestCluster;
  /** Every target a client was asked for. */
  targets: InfluxTarget[];
}

const INSTANCES: InstanceSettings = { clusterDomain: 'cluster.local', allowedTargets: [] };

function keyOf(resource: InfluxOnboarding): string {
  return `${resource.metadata.namespace}/${resource.metadata.name}`;
}

function fakePorts(world: World, pool: InfluxClientPool): OnboardingPorts {
  let inFlight = 0;
  const tracked = (client: InfluxClient): InfluxClient => {
    const wrap =
      <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        inFlight++;
        world.maxInFlight = Math.max(world.maxInFlight, inFlight);
        await world.holdInflux;
        world.journal.push(`influx ${name}`);
        try {
          return await call(...args);
        } finally {
          inFlight--;
        }
      };
    return {
      setupStatus: wrap('setupStatus', () => client.setupStatus()),
      setup: wrap('setup', (request) => client.setup(request)),
      setupUser: wrap('setupUser', (request, token: string) => client.setupUser(request, token)),
      checkToken: wrap('checkToken', (token: string) => client.checkToken(token)),
      lookupIDs: wrap('lookupIDs', (token: string, org: string, bucket: string, userID?: string) =>
        client.lookupIDs(token, org, bucket, userID),
      ),
      createOrg: wrap('createOrg', (token: string, name: string) => client.createOrg(token, name)),
      createBucket: wrap('createBucket', (token: string, orgID: string, name: string, retention: number) =>
        client.createBucket(token, orgID, name, retention),
      ),
      setRetention: wrap('setRetention', (token: string, bucketID: string, retention: number) =>
        client.setRetention(token, bucketID, retention),
      ),
      bucket: wrap('bucket', (token: string, bucketID: string) => client.bucket(token, bucketID)),
      listAuthorizations: wrap('listAuthorizations', (token: string, filter: AuthorizationFilter) =>
        client.listAuthorizations(token, filter),
      ),
      createAuthorization: wrap('createAuthorization', (token: string, request: AuthorizationRequest) =>
        client.createAuthorization(token, request),
      ),
      deleteAuthorization: wrap('deleteAuthorization', (token: string, id: string) =>
        client.deleteAuthorization(token, id),
      ),
      setPassword: wrap('setPassword', (token: string, userID: string, password: string) =>
        client.setPassword(token, userID, password),
      ),
      checkPassword: wrap('checkPassword', (username: string, password: string) =>
        client.checkPassword(username, password),
      ),
      health: wrap('health', () => client.health()),
      // The onboarding reconciler never calls these; they reach the client untracked.
      findBucket: (...args) => client.findBucket(...args),
      findBucketByID: (...args) => client.findBucketByID(...args),
      renameBucket: (...args) => client.renameBucket(...args),
      findUser: (...args) => client.findUser(...args),
      createUser: (...args) => client.createUser(...args),
      describeBucket: (...args) => client.describeBucket(...args),
      deleteBucket: (...args) => client.deleteBucket(...args),
      authorization: (...args) => client.authorization(...args),
      listDbrps: (...args) => client.listDbrps(...args),
      createDbrp: (...args) => client.createDbrp(...args),
      updateDbrp: (...args) => client.updateDbrp(...args),
      deleteDbrp: (...args) => client.deleteDbrp(...args),
      listV1Authorizations: (...args) => client.listV1Authorizations(...args),
      v1Authorization: (...args) => client.v1Authorization(...args),
      createV1Authorization: (...args) => client.createV1Authorization(...args),
      setV1Password: (...args) => client.setV1Password(...args),
      updateV1Authorization: (...args) => client.updateV1Authorization(...args),
      deleteV1Authorization: (...args) => client.deleteV1Authorization(...args),
      v1Databases: (...args) => client.v1Databases(...args),
      close: () => client.close(),
    };
  };
  // As the controller wires it: the cache behind the runtime's read-your-writes view, which the
  // status writes are recorded in.
  const reach = rememberedReach(world.cluster.directory, INSTANCES);
  const resources = new ReadYourWrites<InfluxOnboarding>({
    get: (namespace, name) => world.resources.get(`${namespace}/${name}`),
  });
  return {
    resource: (namespace, name) => resources.get(namespace, name),
    instance: (namespace, url) => resolveInstance(url, namespace, world.cluster.directory, INSTANCES),
    reach,
    // Every resource compared, as the filing must answer (test/unit/onboarding/instance-filing.test.ts holds it to this).
    atInstance: (spellings, key) =>
      [...world.resources.values()].filter((resource) => {
        const checked = checkSpec(resource);
        return (
          checked.ok &&
          spellings.includes(targetKey(checked.spec.url, resource.metadata.namespace, 'cluster.local') ?? '') &&
          reach(resource)?.key === key
        );
      }),
    readSecret: async (owner, name) => world.secrets.get(`${owner.metadata.namespace}/${name}`) ?? { state: 'absent' },
    writeSecret: async (owner, desired: DesiredSecret) => {
      const key = `${owner.metadata.namespace}/${desired.name}`;
      const current = world.secrets.get(key);
      if (current?.state === 'foreign') return current;
      world.journal.push('writeSecret');
      // A new resourceVersion per write, as the API server gives: the reconciler tells Secrets apart by it.
      world.secretWrites++;
      // The one record the shell's tests follow: a setup under way (kept when absent, removed when null).
      const setupSentAt =
        desired.setupSentAt === null
          ? undefined
          : (desired.setupSentAt ?? (current?.state === 'owned' ? current.setupSentAt : undefined));
      const written: CredentialsSecret = {
        state: 'owned',
        data: { ...desired.data },
        garbageCollected: desired.garbageCollected,
        tls: desired.tls,
        resourceVersion: `secret-${world.secretWrites}`,
        ...(setupSentAt !== undefined && { setupSentAt }),
      };
      world.secrets.set(key, written);
      return written;
    },
    readReference: async (namespace, selector) => {
      const value = world.references.get(`${namespace}/${selector.name}/${selector.key}`);
      return value === undefined
        ? { found: false, problem: `no Secret ${selector.name}` }
        : { found: true, value, allowedUrls: world.consentTo };
    },
    patchStatus: async (target, status: InfluxOnboardingStatus) => {
      if (world.stalePatches > 0) {
        world.stalePatches--;
        world.journal.push('patchStatus stale');
        return { kind: 'stale' };
      }
      world.journal.push('patchStatus');
      world.patches++;
      const stored = world.resources.get(keyOf(target));
      const resourceVersion = String(world.patches);
      if (stored && !world.cacheLags)
        world.resources.set(keyOf(target), { ...stored, metadata: { ...stored.metadata, resourceVersion }, status });
      resources.wrote(target, withStatus(target, status, resourceVersion));
      world.afterPatch?.();
      return { kind: 'patched', resourceVersion };
    },
    recordEvent: (_target, event) => {
      world.journal.push(`event ${event.reason}`);
      world.events.push(event);
    },
    ...(world.escrow && {
      escrow: {
        read: async (owner: InfluxOnboarding): Promise<EscrowCopy | undefined> => {
          world.journal.push('readEscrow');
          const copy = world.escrow?.get(keyOf(owner));
          if (copy === undefined) return undefined;
          const { uid } = owner.metadata;
          return copy.uid === uid || copy.approved === uid
            ? {
                kind: 'restorable',
                escrowed: {
                  ...copy.bound,
                  target: { url: copy.bound.target.url ?? '', tls: copy.bound.target.tls ?? '' },
                },
              }
            : { kind: 'approval-needed', secret: { namespace: 'operator', name: `escrow-${owner.metadata.name}` } };
        },
        write: async (owner: InfluxOnboarding, desired: DesiredSecret) => {
          world.journal.push('writeEscrow');
          const { username, password, token, url } = desired.data;
          world.escrow?.set(keyOf(owner), {
            bound: { credentials: { username, password, token }, target: { url, tls: desired.tls } },
            uid: owner.metadata.uid,
          });
        },
      },
    }),
    influx: (target) => {
      world.targets.push(target);
      return tracked(
        pool.get({
          baseUrl: target.url,
          timeoutMs: target.timeoutMs,
          insecureSkipVerify: target.insecureSkipVerify,
          ...(target.tenant !== undefined && { tenant: target.tenant }),
          ...(target.signal && { signal: target.signal }),
        }),
      );
    },
  };
}

interface Harness {
  world: World;
  standin: InfluxStandin;
  registry: SecretRegistry;
  reasons: Map<string, Reason | undefined>;
  reconcile: (
    name: string,
    namespace?: string,
    signal?: AbortSignal,
  ) => Promise<{ requeue?: boolean; requeueAfterMs?: number }>;
  add: (
    name: string,
    options?: { createdAt?: string; namespace?: string; uid?: string; spec?: Partial<InfluxOnboardingSpec> },
  ) => InfluxOnboarding;
  /** Moves the reconciler's clock forward. */
  advance: (ms: number) => void;
  close: () => Promise<void>;
}

async function harness(
  latencyMs = 0,
  options: { progressingAfterMs?: number; escrow?: boolean } = {},
): Promise<Harness> {
  const { escrow, ...reconcilerOptions } = options;
  const standin = await startInfluxStandin();
  standin.knobs.latencyMs = latencyMs;
  const world: World = {
    resources: new Map(),
    secrets: new Map(),
    journal: [],
    events: [],
    patches: 0,
    secretWrites: 0,
    stalePatches: 0,
    maxInFlight: 0,
    cacheLags: false,
    references: new Map(),
    consentTo: [],
    ...(escrow && { escrow: new Map() }),
    cluster: new TestCluster(),
    targets: [],
  };
  const pool = new InfluxClientPool({
    guardFor: (baseUrl, tenant) =>
      tenant === undefined ? undefined : connectGuard(baseUrl, tenant, world.cluster.directory, INSTANCES),
  });
  const registry = new SecretRegistry();
  const reasons = new Map<string, Reason | undefined>();
  let clock = Date.parse('2026-11-28T12:00:00Z');
  const reconciler = createOnboardingReconciler(fakePorts(world, pool), {
    driftCheckIntervalMs: 60_000,
    passwordCheckIntervalMs: 3_600_000,
    requireSecretConsent: true,
    logger: silent,
    secrets: registry,
    ...reconcilerOptions,
    now: () => new Date(clock),
    random: () => 0.5,
    onReason: (key, reason) => reasons.set(key, reason),
  });
  return {
    world,
    standin,
    registry,
    reasons,
    reconcile: (name, namespace = 'ns', signal = new AbortController().signal) =>
      reconciler({ namespace, name }, signal, TERM),
    add: (name, options = {}) => {
      const base = buildResource({ spec: { url: standin.url, ...options.spec } });
      const created: InfluxOnboarding = {
        ...base,
        metadata: {
          ...base.metadata,
          name,
          namespace: options.namespace ?? 'ns',
          uid: options.uid ?? `uid-${name}`,
          creationTimestamp: options.createdAt ?? '2026-11-28T10:00:00Z',
        },
      };
      world.resources.set(keyOf(created), created);
      return created;
    },
    advance: (ms) => {
      clock += ms;
    },
    close: async () => {
      pool.closeAll();
      await standin.close();
    },
  };
}

/** Runs `body` with these names resolving to these addresses (as a DNS answer would), every other name as usual. */
async function withDns<T>(names: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const resolver = dns as unknown as { lookup: (...args: unknown[]) => void };
  const realLookup = resolver.lookup;
  resolver.lookup = (hostname: unknown, ...rest: unknown[]) => {
    const callback = rest.at(-1) as (error: null, addresses: dns.LookupAddress[]) => void;
    const address = names[String(hostname)];
    if (address !== undefined) return callback(null, [{ address, family: 4 }]);
    return realLookup.call(dns, hostname, ...rest);
  };
  try {
    return await body();
  } finally {
    resolver.lookup = realLookup;
  }
}

function readyReason(world: World, key: string): string | undefined {
  return world.resources.get(key)?.status?.conditions?.find((condition) => condition.type === READY)?.reason;
}

test('fresh instance: the Secret is written before the POST, then status and one event; drift-check requeue', async () => {
  const h = await harness();
  try {
    h.add('a');
    const result = await h.reconcile('a');
    const post = h.world.journal.indexOf('influx setup');
    const write = h.world.journal.indexOf('writeSecret');
    assert.ok(write >= 0 && post > write, h.world.journal.join(', '));
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    assert.equal(
      h.world.events.map((event) => event.reason),
      ['Onboarded'],
    );
    // 60 s drift interval with 10% jitter at random() = 0.5.
    assert.equal(result, { requeueAfterMs: 63_000 });
    const secret = h.world.secrets.get('ns/a-influxdb');
    assert.ok(secret?.state === 'owned');
    assert.is(secret.state === 'owned' && secret.data.token, h.standin.onboarded()?.token);
    assert.is(h.reasons.get('ns/a'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test('the Secret counts by its version: a new version of it is checked at once, and so is one without a version', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const onboarded = h.world.journal.length;
    const secret = h.world.secrets.get('ns/a-influxdb');
    assert.is(secret?.state, 'owned');
    assert.equal(
      await h.reconcile('a'),
      { requeueAfterMs: 63_000 },
      'the same version: nothing to check before the drift check',
    );
    assert.equal(h.world.journal.slice(onboarded), []);
    if (secret?.state !== 'owned') return;
    h.world.secrets.set('ns/a-influxdb', { ...secret, resourceVersion: 'edited' });
    await h.reconcile('a');
    assert.ok(h.world.journal.length > onboarded, 'another version (the same data or not) is checked');
    const checked = h.world.journal.length;
    const { resourceVersion: _unknown, ...withoutVersion } = secret;
    h.world.secrets.set('ns/a-influxdb', withoutVersion);
    await h.reconcile('a');
    const again = h.world.journal.length;
    assert.ok(again > checked, 'a Secret without a version is checked');
    await h.reconcile('a');
    assert.ok(h.world.journal.length > again, 'and never counts as unchanged');
  } finally {
    await h.close();
  }
});

test('a slow first step: Ready Unknown/Progressing is written while it waits, once', async () => {
  const h = await harness(0, { progressingAfterMs: 0 });
  try {
    h.add('a');
    await h.standin.close();
    // InfluxDB answers only once the Progressing status is there.
    h.world.holdInflux = new Promise((resolve) => (h.world.afterPatch = resolve));
    await h.reconcile('a');
    const journal = h.world.journal.join(', ');
    assert.equal(h.world.journal.slice(0, 3), ['patchStatus', 'influx setupStatus', 'patchStatus'], journal);
    assert.is(readyReason(h.world, 'ns/a'), 'Unreachable');
    const before = h.world.patches;
    await h.reconcile('a');
    assert.is(h.world.patches, before, 'no second Progressing patch once a Ready condition exists');
  } finally {
    await h.close();
  }
});

test('a fast first visit goes straight to its outcome: one status write, no Progressing', async () => {
  const h = await harness(0, { progressingAfterMs: 60_000 });
  try {
    h.add('a');
    await h.reconcile('a');
    assert.is(h.world.patches, 1, h.world.journal.join(', '));
    assert.is(h.world.journal[0], 'influx setupStatus');
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test('its own Secret write coming back as an event, or a resync, repeats nothing before the drift check is due; that check is ONE request', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const onboarded = h.world.journal.length;
    const patches = h.world.patches;
    // Woken by the Secret it wrote (two informers), then a resync: the same inputs.
    assert.equal(await h.reconcile('a'), { requeueAfterMs: 63_000 });
    h.advance(3_000);
    assert.equal(await h.reconcile('a'), { requeueAfterMs: 60_000 });
    assert.equal(h.world.journal.slice(onboarded), [], 'no InfluxDB request, no write');
    h.advance(60_000);
    assert.equal(await h.reconcile('a'), { requeueAfterMs: 63_000 });
    assert.equal(
      h.world.journal.slice(onboarded),
      ['influx bucket'],
      'the drift check: GET /api/v2/buckets/{id} alone',
    );
    assert.is(h.world.patches, patches);
    const bucketRequests = h.standin.requests.filter(
      (request) => request.method === 'GET' && request.path.startsWith('/api/v2/buckets/'),
    );
    assert.is(bucketRequests.length, 1);
    assert.is(bucketRequests[0]?.authorization, `Token ${h.standin.onboarded()?.token}`);
    // A changed input (the Secret deleted) is checked at once, in full.
    h.world.secrets.delete('ns/a-influxdb');
    await h.reconcile('a');
    assert.ok(h.world.journal.includes('writeSecret'), h.world.journal.join(', '));
    assert.ok(h.world.journal.slice(onboarded).includes('influx setupStatus'), h.world.journal.join(', '));
  } finally {
    await h.close();
  }
});

test('a drift check that finds the token revoked runs the full check: TokenInvalid', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const onboarded = h.standin.onboarded();
    await new InfluxAdmin(h.standin.url).deleteAuthorization(onboarded?.token ?? '', onboarded?.authorizationID ?? '');
    h.advance(63_000);
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'TokenInvalid');
    const after = h.world.journal.slice(h.world.journal.indexOf('influx bucket'));
    assert.equal(after.slice(0, 3), ['influx bucket', 'influx setupStatus', 'influx checkToken'], after.join(', '));
  } finally {
    await h.close();
  }
});

test('adoption through the ports: the missing org and bucket are created on the instance with the adopted token; the Secret names its user', async () => {
  const h = await harness();
  try {
    const { token } = h.standin.knobs.setUpBySomeoneElse({ username: 'someone', org: 'theirs' });
    h.world.references.set('ns/theirs/token', token);
    h.world.consentTo = [h.standin.url];
    const added = h.add('a', {
      spec: { tokenSecretRef: { name: 'theirs', key: 'token' }, retentionPeriodSeconds: 7200 },
    });
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'Adopted');
    const journal = h.world.journal.join(', ');
    assert.ok(journal.includes('influx createOrg, influx createBucket'), journal);
    const reader = createInfluxClient({ baseUrl: h.standin.url, timeoutMs: 5000 });
    const ids = await reader.lookupIDs(token, added.spec.org, added.spec.bucket);
    reader.close();
    assert.ok(ids.ok && ids.value.bucketID !== undefined, JSON.stringify(ids));
    assert.is(ids.ok && ids.value.bucketRetentionSeconds, 7200);
    const secret = h.world.secrets.get('ns/a-influxdb');
    assert.is(secret?.state === 'owned' && secret.data.username, 'someone');
    assert.is(h.world.resources.get('ns/a')?.status?.username, 'someone');
    assert.equal(
      h.world.events.map((event) => event.reason),
      ['Adopted'],
    );
  } finally {
    await h.close();
  }
});

test('a cache that has not caught up with our own status write: decided on what was written (SetupUser is not asked twice)', async () => {
  const h = await harness();
  try {
    const { token } = h.standin.knobs.setUpBySomeoneElse();
    h.world.references.set('ns/root/token', token);
    h.world.consentTo = [h.standin.url];
    h.add('team', { spec: { mode: 'SetupUser', authTokenSecretRef: { name: 'root', key: 'token' } } });
    h.world.cacheLags = true;
    await h.reconcile('team');
    assert.is(h.reasons.get('ns/team'), 'Unsupported');
    const patches = h.world.patches;
    // Woken by its own Secret write while the cache still shows the resource as it was.
    await h.reconcile('team');
    assert.is(h.world.journal.filter((entry) => entry === 'influx setupUser').length, 1, h.world.journal.join(', '));
    assert.is(h.world.patches, patches, 'nothing written again');
    assert.is(h.reasons.get('ns/team'), 'Unsupported');
  } finally {
    await h.close();
  }
});

test('steady state writes nothing: no status patch, no Secret write, no event', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const before = { patches: h.world.patches, events: h.world.events.length, journal: h.world.journal.length };
    await h.reconcile('a');
    await h.reconcile('a');
    const after = h.world.journal.slice(before.journal);
    assert.is(h.world.patches, before.patches);
    assert.is(h.world.events.length, before.events);
    assert.not.ok(after.includes('writeSecret'), after.join(', '));
    assert.not.ok(after.includes('influx setup'), after.join(', '));
  } finally {
    await h.close();
  }
});

test('every credential handled is registered for log redaction', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const onboarded = h.standin.onboarded();
    assert.ok(onboarded);
    assert.is(h.registry.mask(`t=${onboarded.token}`), 't=[REDACTED]');
    assert.is(h.registry.mask(`p=${onboarded.password ?? ''}`), 'p=[REDACTED]');
  } finally {
    await h.close();
  }
});

test("the log redaction holds what a resource uses now: a replaced reference's old value is forgotten, an invalid one never held, a deleted resource's released", async () => {
  const h = await harness();
  try {
    h.world.consentTo = [h.standin.url];
    h.world.references.set('ns/pw/password', 'password-0000');
    h.add('a', { spec: { passwordSecretRef: { name: 'pw', key: 'password' } } });
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    for (let round = 1; round <= 30; round++) {
      h.world.references.set('ns/pw/password', `password-${String(round).padStart(4, '0')}`);
      await h.reconcile('a');
    }
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    const token = h.standin.onboarded()?.token ?? '';
    assert.is(h.registry.mask(token), '[REDACTED]');
    assert.is(h.registry.mask('password-0030'), '[REDACTED]', 'the password in use');
    assert.is(h.registry.mask('password-0029'), 'password-0029', 'a password replaced is forgotten');
    assert.is(h.registry.mask('password-0000'), 'password-0000');
    assert.is(h.registry.size, 2, 'the token and the password in use, nothing else');

    const huge = 'p'.repeat(900 * 1024);
    h.world.references.set('ns/pw/password', huge);
    await h.reconcile('a');
    assert.is.not(readyReason(h.world, 'ns/a'), 'Onboarded', 'a 0.9 MiB password is refused');
    assert.is(h.registry.mask(huge), huge, 'and never held');
    assert.is(h.registry.size, 2, 'the credentials in the Secret are still in use');

    h.world.resources.delete('ns/a');
    await h.reconcile('a');
    assert.is(h.registry.size, 0, 'a resource that is gone holds nothing');
  } finally {
    await h.close();
  }
});

test('a Secret deleted after onboarding is restored from memory with the same token', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    const token = h.standin.onboarded()?.token;
    h.world.secrets.delete('ns/a-influxdb');
    await h.reconcile('a');
    const restored = h.world.secrets.get('ns/a-influxdb');
    assert.is(restored?.state === 'owned' && restored.data.token, token);
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test('credentials remembered from a deleted Secret are restored only for their own instance', async () => {
  const h = await harness();
  const elsewhere = await startInfluxStandin();
  try {
    const created = h.add('a');
    await h.reconcile('a');
    const before = h.world.secrets.get('ns/a-influxdb');
    h.world.secrets.delete('ns/a-influxdb');
    const moved = h.world.resources.get('ns/a') ?? created;
    // A spec change is a new version of the object.
    h.world.resources.set('ns/a', {
      ...moved,
      metadata: { ...moved.metadata, resourceVersion: 'moved' },
      spec: { ...moved.spec, url: elsewhere.url },
    });
    const journal = h.world.journal.length;
    const result = await h.reconcile('a');
    assert.equal(result, {}, 'waits for a change');
    assert.is(readyReason(h.world, 'ns/a'), 'TargetChanged');
    assert.equal(
      h.world.journal.slice(journal),
      ['writeSecret', 'patchStatus', 'event TargetChanged'],
      'no request; the Secret written back',
    );
    assert.equal(elsewhere.requests, []);
    const restored = h.world.secrets.get('ns/a-influxdb');
    assert.ok(restored?.state === 'owned' && before?.state === 'owned');
    assert.equal(restored.data, before.data, 'as it was: the same credentials, for the instance they belong to');
    assert.is(restored.data.url, h.standin.url);
  } finally {
    await elsewhere.close();
    await h.close();
  }
});

test('a status patch refused as stale: decided again with backoff, no event for a status that did not land', async () => {
  const h = await harness();
  try {
    h.world.stalePatches = 1;
    h.add('a');
    assert.equal(await h.reconcile('a'), { requeue: true });
    assert.equal(h.world.events, []);
    assert.is(readyReason(h.world, 'ns/a'), undefined);
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    assert.equal(
      h.world.events.map((event) => event.reason),
      ['Onboarded'],
    );
    assert.is(
      h.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/setup').length,
      1,
    );
  } finally {
    await h.close();
  }
});

test('escrow: written before the Secret (so before the POST); the resource and its Secret deleted and created again: restored from the escrow, no second setup', async () => {
  for (const escrow of [true, false]) {
    const h = await harness(0, { escrow });
    try {
      h.add('a');
      await h.reconcile('a');
      assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
      const { journal } = h.world;
      if (escrow)
        assert.ok(
          journal.indexOf('writeEscrow') < journal.indexOf('writeSecret') &&
            journal.indexOf('writeSecret') < journal.indexOf('influx setup'),
          journal.join(', '),
        );
      const original = h.world.secrets.get('ns/a-influxdb');
      // The namespace was deleted: the resource and its Secret with it.
      h.world.resources.delete('ns/a');
      h.world.secrets.delete('ns/a-influxdb');
      await h.reconcile('a');
      h.add('a');
      await h.reconcile('a');
      assert.is(readyReason(h.world, 'ns/a'), escrow ? 'Onboarded' : 'AlreadyOnboarded');
      const restored = h.world.secrets.get('ns/a-influxdb');
      if (escrow) {
        assert.ok(original?.state === 'owned' && restored?.state === 'owned');
        assert.equal(
          restored?.state === 'owned' && restored.data,
          original?.state === 'owned' && original.data,
          'the same credentials',
        );
        assert.ok(h.world.journal.includes('readEscrow'));
      } else {
        assert.is(restored, undefined);
      }
      assert.is(
        h.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/setup').length,
        1,
      );
    } finally {
      await h.close();
    }
  }
});

test('a resource created again under the same name, its deletion never seen (a relist): nothing of the old one is restored from memory', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    // The namespace was deleted and created again between two reconciles.
    h.world.secrets.delete('ns/a-influxdb');
    const again = h.add('a', { uid: 'uid-a-again' });
    // A new object's resourceVersion is new too (the API server's are unique across objects).
    h.world.resources.set('ns/a', { ...again, metadata: { ...again.metadata, resourceVersion: 'again-1' } });
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'AlreadyOnboarded');
    assert.is(h.world.secrets.get('ns/a-influxdb'), undefined, "no Secret with the old resource's token");
  } finally {
    await h.close();
  }
});

test('a resource that is gone is forgotten: no calls, its reason metric cleared', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.reconcile('a');
    h.world.resources.delete('ns/a');
    const before = h.world.journal.length;
    assert.equal(await h.reconcile('a'), {});
    assert.is(h.world.journal.length, before);
    assert.ok(h.reasons.has('ns/a') && h.reasons.get('ns/a') === undefined);
  } finally {
    await h.close();
  }
});

test('two Setup resources for one instance: the older wins, the younger is DuplicateTarget and never posts', async () => {
  const h = await harness();
  try {
    h.add('young', { createdAt: '2026-11-28T11:00:00Z' });
    h.add('old', { createdAt: '2026-11-28T09:00:00Z', namespace: 'other' });
    await h.reconcile('young');
    assert.is(readyReason(h.world, 'ns/young'), 'DuplicateTarget');
    assert.not.ok(h.world.journal.includes('influx setup'));
    await h.reconcile('old', 'other');
    assert.is(readyReason(h.world, 'other/old'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test("another namespace's instance: NotPermitted with one Warning, and nothing at all reaches it (the transport's guard agrees); consent given, it onboards", async () => {
  const h = await harness();
  try {
    // The stand-in's address is the ClusterIP of team-a's Service.
    h.world.cluster.service('team-a', 'influxdb', { clusterIP: '127.0.0.1' });
    h.add('squat', { namespace: 'evil' });
    assert.equal(await h.reconcile('squat', 'evil'), {}, 'no retry');
    assert.is(readyReason(h.world, 'evil/squat'), 'NotPermitted');
    await h.reconcile('squat', 'evil');
    assert.equal(h.standin.requests, [], 'no request of any kind');
    assert.equal(
      h.world.events.map((event) => `${event.type} ${event.reason}`),
      ['Warning NotPermitted'],
    );
    assert.equal(h.world.secrets.size, 0, 'no Secret written');
    const message = h.world.resources.get('evil/squat')?.status?.conditions?.[0]?.message ?? '';
    assert.match(message, 'belongs to namespace team-a, not to namespace evil');
    // A name of any domain that resolves there is refused where it resolves: nothing connects.
    h.add('alias', { namespace: 'evil', spec: { url: h.standin.url.replace('127.0.0.1', 'sneaky.attacker.test') } });
    await withDns({ 'sneaky.attacker.test': '127.0.0.1' }, () => h.reconcile('alias', 'evil'));
    assert.is(readyReason(h.world, 'evil/alias'), 'NotPermitted');
    assert.match(
      h.world.resources.get('evil/alias')?.status?.conditions?.[0]?.message ?? '',
      'sneaky.attacker.test resolves to 127.0.0.1, which belongs to namespace team-a',
    );
    assert.equal(h.standin.requests, []);
    // The owner lets evil in.
    h.world.cluster.service('team-a', 'influxdb', { clusterIP: '127.0.0.1', consent: 'evil' });
    await h.reconcile('squat', 'evil');
    assert.is(readyReason(h.world, 'evil/squat'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test("DuplicateTarget compares instances: aliases of one Service are one; the owner's resource wins over an older one of a namespace it let in, and one it did not let in blocks nothing", async () => {
  const h = await harness();
  try {
    h.world.cluster.service('team-a', 'influxdb', {
      clusterIP: '127.0.0.1',
      consent: 'team-b',
      ports: [{ name: 'http', port: Number(new URL(h.standin.url).port) }],
    });
    const port = new URL(h.standin.url).port;
    h.add('guest', { namespace: 'team-b', createdAt: '2026-11-28T08:00:00Z' });
    h.add('squat', { namespace: 'evil', createdAt: '2026-11-28T07:00:00Z' });
    h.add('own', { namespace: 'team-a', createdAt: '2026-11-28T10:00:00Z' });
    // The same Service by its name: an alias, so a duplicate (decided before any lookup).
    h.add('alias', {
      namespace: 'team-a',
      createdAt: '2026-11-28T11:00:00Z',
      spec: { url: `http://influxdb.team-a.svc.cluster.local:${port}` },
    });
    await h.reconcile('guest', 'team-b');
    assert.is(readyReason(h.world, 'team-b/guest'), 'DuplicateTarget', 'the owner’s resource comes first');
    assert.match(h.world.resources.get('team-b/guest')?.status?.conditions?.[0]?.message ?? '', 'team-a/own');
    await h.reconcile('squat', 'evil');
    assert.is(readyReason(h.world, 'evil/squat'), 'NotPermitted');
    await h.reconcile('own', 'team-a');
    assert.is(readyReason(h.world, 'team-a/own'), 'Onboarded', 'neither the older guest nor the squatter blocks it');
    await h.reconcile('alias', 'team-a');
    assert.is(readyReason(h.world, 'team-a/alias'), 'DuplicateTarget');
    assert.is(
      h.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/setup').length,
      1,
    );
  } finally {
    await h.close();
  }
});

test('escrow: a copy of another UID is approval-needed: nothing sent, nothing written; approved for this UID it is restored, and then recorded as this one’s', async () => {
  const h = await harness(0, { escrow: true });
  try {
    h.add('a');
    await h.reconcile('a');
    const original = h.world.secrets.get('ns/a-influxdb');
    assert.is(h.world.escrow?.get('ns/a')?.uid, 'uid-a');
    // The namespace was deleted and created again by someone else: another UID.
    h.world.resources.delete('ns/a');
    h.world.secrets.delete('ns/a-influxdb');
    await h.reconcile('a');
    h.add('a', { uid: 'uid-newcomer' });
    const requests = h.standin.requests.length;
    const journal = h.world.journal.length;
    assert.equal(await h.reconcile('a'), { requeueAfterMs: 63_000 }, 'looked at again after the drift interval');
    assert.is(readyReason(h.world, 'ns/a'), 'EscrowApprovalRequired');
    assert.is(h.standin.requests.length, requests, 'nothing sent to InfluxDB');
    assert.equal(
      h.world.journal.slice(journal).filter((entry) => !entry.startsWith('event') && entry !== 'patchStatus'),
      ['readEscrow'],
      'nothing but the status written',
    );
    assert.is(h.world.secrets.get('ns/a-influxdb'), undefined);
    assert.match(
      h.world.resources.get('ns/a')?.status?.conditions?.[0]?.message ?? '',
      'influxdb.onboarding.dev/escrow-approved-uid=uid-newcomer',
    );
    // An administrator of the escrow namespace approves this UID.
    const copy = h.world.escrow?.get('ns/a');
    if (copy) copy.approved = 'uid-newcomer';
    await h.reconcile('a');
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
    const restored = h.world.secrets.get('ns/a-influxdb');
    assert.equal(
      restored?.state === 'owned' && restored.data,
      original?.state === 'owned' && original.data,
      'the same credentials',
    );
    assert.is(h.world.escrow?.get('ns/a')?.uid, 'uid-newcomer', 'the copy is now this resource’s');
  } finally {
    await h.close();
  }
});

test('waiting states come back after the drift interval (jittered), not through the rate limiter: DuplicateTarget, SecretNotFound', async () => {
  const h = await harness();
  try {
    h.add('young', { createdAt: '2026-11-28T11:00:00Z' });
    h.add('old', { createdAt: '2026-11-28T09:00:00Z', namespace: 'other' });
    assert.equal(await h.reconcile('young'), { requeueAfterMs: 63_000 });
    assert.is(readyReason(h.world, 'ns/young'), 'DuplicateTarget');
    h.add('referencing', { spec: { passwordSecretRef: { name: 'missing', key: 'password' } } });
    h.world.resources.delete('other/old');
    assert.equal(await h.reconcile('referencing'), { requeueAfterMs: 63_000 });
    assert.is(readyReason(h.world, 'ns/referencing'), 'SecretNotFound');
  } finally {
    await h.close();
  }
});

test('concurrent reconciles aimed at one instance never overlap their InfluxDB requests', async () => {
  const h = await harness(30);
  try {
    h.add('a');
    await Promise.all([h.reconcile('a'), h.reconcile('a'), h.reconcile('a')]);
    assert.is(h.world.maxInFlight, 1);
    assert.is(
      h.standin.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/setup').length,
      1,
      'one setup, not three',
    );
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test("a reconcile finding its instance held by another resource's reconcile does not wait for it: it comes back in 1 s", async () => {
  const h = await harness();
  try {
    h.add('first');
    h.add('second', { namespace: 'other', createdAt: '2026-11-28T11:00:00Z' });
    let release: () => void = () => undefined;
    h.world.holdInflux = new Promise((resolve) => (release = resolve));
    const first = h.reconcile('first');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(h.world.maxInFlight, 1, 'the first reconcile waits on InfluxDB, holding the instance');
    const journalBefore = h.world.journal.length;
    // Raced with a generous bound only so that a reconcile that does wait fails here instead of hanging.
    const second = await Promise.race([
      h.reconcile('second', 'other'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting for the first one'), 2000)),
    ]);
    assert.equal(second, { requeueAfterMs: 1000 });
    assert.is(h.world.journal.length, journalBefore, 'the second one did nothing at all meanwhile');
    release();
    delete h.world.holdInflux;
    await first;
    assert.is(readyReason(h.world, 'ns/first'), 'Onboarded');
    await h.reconcile('second', 'other');
    assert.is(readyReason(h.world, 'other/second'), 'DuplicateTarget', 'once free, it is reconciled as before');
  } finally {
    await h.close();
  }
});

test('a requestTimeoutSeconds above 60 stored by an older CRD is used as 60, with one Warning across reconciles', async () => {
  const h = await harness();
  try {
    h.add('a', { spec: { requestTimeoutSeconds: 300 } });
    await h.reconcile('a');
    h.advance(120_000);
    await h.reconcile('a');
    h.advance(120_000);
    await h.reconcile('a');
    assert.ok(h.world.targets.length >= 2);
    assert.ok(
      h.world.targets.every((target) => target.timeoutMs === 60_000),
      JSON.stringify(h.world.targets.map((target) => target.timeoutMs)),
    );
    const adjusted = h.world.events.filter((event) => event.reason === 'SpecAdjusted');
    assert.equal(adjusted, [
      {
        type: 'Warning',
        reason: 'SpecAdjusted',
        message:
          'spec.requestTimeoutSeconds is 300, above the maximum of 60 (older versions allowed up to 300): 60 is used; set it to at most 60',
      },
    ]);
    assert.is(readyReason(h.world, 'ns/a'), 'Onboarded');
  } finally {
    await h.close();
  }
});

test('an aborted signal (the deadline) ends the request in flight; nothing more is decided, sent or written', async () => {
  const h = await harness();
  const sockets = new Set<Socket>();
  let closed = 0;
  // Reads whatever comes and never answers.
  const silentServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => closed++);
    socket.resume();
  });
  await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silentServer.address() as AddressInfo;
    h.add('a', { spec: { url: `http://127.0.0.1:${port}`, requestTimeoutSeconds: 60 } });
    const deadline = new AbortController();
    const reconciling = h.reconcile('a', 'ns', deadline.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = [...h.world.journal];
    deadline.abort(new Error('deadline passed'));
    const failure = await reconciling.then(
      () => 'resolved',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    assert.is(failure, 'deadline passed', 'the reconcile ends with the reason it was aborted for');
    assert.is(h.world.patches, 0, 'no status written after the abort');
    assert.equal(h.world.events, []);
    assert.equal(
      h.world.journal.filter((entry) => !before.includes(entry)),
      [],
      'no step after the abandoned request',
    );
    for (let wait = 0; wait < 100 && closed < sockets.size; wait++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(sockets.size >= 1 && closed === sockets.size, 'the connection to the silent server was dropped');
  } finally {
    silentServer.close();
    for (const socket of sockets) socket.destroy();
    await h.close();
  }
});

test('an unreachable instance: Unreachable with backoff, one Warning event across retries', async () => {
  const h = await harness();
  try {
    h.add('a');
    await h.standin.close();
    const first = await h.reconcile('a');
    const second = await h.reconcile('a');
    assert.equal(first, { requeue: true });
    assert.equal(second, { requeue: true });
    assert.is(readyReason(h.world, 'ns/a'), 'Unreachable');
    assert.equal(
      h.world.events.map((event) => `${event.type} ${event.reason}`),
      ['Warning Unreachable'],
    );
  } finally {
    await h.close();
  }
});

test('leadership lost while the setup is in flight (signal aborted): no status, no event, nothing more sent', async () => {
  const h = await harness();
  try {
    h.add('a');
    h.standin.knobs.answerDelayMs = 300;
    const run = new AbortController();
    const reconciling = h.reconcile('a', 'ns', run.signal).then(
      () => 'resolved',
      (error: unknown) => `rejected: ${error instanceof Error ? error.message : String(error)}`,
    );
    while (h.standin.onboarded() === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    const sent = h.standin.requests.length;
    run.abort(new Error('leadership lost'));
    assert.match(await reconciling, /^rejected/);
    assert.is(h.world.patches, 0, 'no status was written after the abort');
    assert.equal(h.world.events, [], 'no event was recorded');
    assert.is(h.standin.requests.length, sent, 'nothing more reached InfluxDB');
  } finally {
    await h.close();
  }
});

test.run();
