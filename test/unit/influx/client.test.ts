/**
 * The InfluxDB client against the stand-in and a few purpose-built servers. Every failure the
 * file produces goes through failureOf(), which asserts that no password or token appears in it.
 */
import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commaSeparated } from '../../../src/api/fields.js';
import { admit, parseAllowedTargets } from '../../../src/influx/address-policy.js';
import { createInfluxClient } from '../../../src/influx/client.js';
import { shardGroupDurationSeconds } from '../../../src/influx/wire.js';
import type {
  InfluxClient,
  InfluxClientOptions,
  InfluxFailure,
  Outcome,
  RequestSample,
  SetupRequest,
} from '../../../src/influx/types.js';
import { createAgent } from '../../../src/influx/agent.js';
import { InfluxClientPool } from '../../../src/influx/pool.js';
import { bucketPermissions } from '../../../src/access/token-authorizations.js';
import { startInfluxStandin, type InfluxStandin } from '../../support/influx-standin.js';
import { createTestCertificates, type TestCertificates } from '../../support/tls.js';

// A quote and a backslash, so JSON-escaped echoes of the password are exercised too.
const PASSWORD = 'pa"ss\\word-42';
const TOKEN = 'operator-token-7f3a9c';
const V1_PASSWORD = 'v1-pa"ss\\word-77';
const AUTH_TOKEN = 'caller-auth-token-51be';
const SECRETS = [PASSWORD, TOKEN, AUTH_TOKEN, V1_PASSWORD, JSON.stringify(PASSWORD).slice(1, -1)];
const REQUEST: SetupRequest = {
  username: 'admin',
  password: PASSWORD,
  org: 'acme',
  bucket: 'metrics',
  retentionPeriodSeconds: 0,
  token: TOKEN,
};

let failuresSeen = 0;

function assertNoSecret(text: string): void {
  for (const secret of SECRETS) assert.not.ok(text.includes(secret), `a secret leaked into: ${text}`);
}

function failureOf<T>(outcome: Outcome<T>): InfluxFailure {
  if (outcome.ok) assert.unreachable(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  assert.ok(!outcome.ok);
  failuresSeen += 1;
  assertNoSecret(JSON.stringify(outcome.failure));
  return outcome.failure;
}

function valueOf<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) assert.unreachable(`expected success, got ${JSON.stringify(outcome.failure)}`);
  assert.ok(outcome.ok);
  return outcome.value;
}

const openClients: InfluxClient[] = [];
function clientFor(baseUrl: string, options: Partial<InfluxClientOptions> = {}): InfluxClient {
  const client = createInfluxClient({ baseUrl, timeoutMs: 5000, ...options });
  openClients.push(client);
  return client;
}
function closeClients(): void {
  for (const client of openClients.splice(0)) client.close();
}

interface TestServer {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

interface StandinContext {
  standin: InfluxStandin;
}

function standinSuite(name: string, options: Parameters<typeof startInfluxStandin>[0] = {}) {
  const tests = suite<StandinContext>(name, {} as StandinContext);
  tests.before.each(async (context) => {
    context.standin = await startInfluxStandin(options);
  });
  tests.after.each(async (context) => {
    closeClients();
    await context.standin.close();
  });
  return tests;
}

// -------------------------------------------------------------------------------------------
const onboarding = standinSuite('setup and token calls against the stand-in');

onboarding('fresh instance: allowed, then setup returns the IDs and the instance is onboarded', async ({ standin }) => {
  const client = clientFor(standin.url);
  assert.equal(valueOf(await client.setupStatus()), { allowed: true, version: 'v2.7.12' });
  const result = valueOf(await client.setup({ ...REQUEST, retentionPeriodSeconds: 7 * 86400 }));
  const record = standin.onboarded();
  assert.equal(result, {
    userID: record?.userID,
    orgID: record?.orgID,
    bucketID: record?.bucketID,
    authorizationID: record?.authorizationID,
  });
  assert.not.ok('token' in result);
  assert.is(record?.token, TOKEN);
  assert.is(record?.password, PASSWORD);
  assert.is(record?.retentionPeriodSeconds, 7 * 86400);
  assert.equal(valueOf(await client.setupStatus()), { allowed: false, version: 'v2.7.12' });
});

onboarding(
  'setup sends retentionPeriodSeconds only, never retentionPeriodHrs, and no Authorization',
  async ({ standin }) => {
    await clientFor(standin.url).setup(REQUEST);
    const post = standin.requests.find((request) => request.method === 'POST');
    assert.equal(post?.body, {
      username: 'admin',
      password: PASSWORD,
      org: 'acme',
      bucket: 'metrics',
      retentionPeriodSeconds: 0,
      token: TOKEN,
    });
    assert.is(post?.authorization, undefined);
  },
);

onboarding("already set up: rejected 422 conflict with InfluxDB's message", async ({ standin }) => {
  standin.knobs.setUpBySomeoneElse();
  const failure = failureOf(await clientFor(standin.url).setup(REQUEST));
  assert.equal(failure, {
    kind: 'rejected',
    status: 422,
    code: 'conflict',
    message: 'onboarding has already been completed',
  });
});

onboarding("checkToken: the token's user when valid, rejected 401 unauthorized when not", async ({ standin }) => {
  const client = clientFor(standin.url);
  valueOf(await client.setup(REQUEST));
  assert.equal(valueOf(await client.checkToken(TOKEN)), { userID: standin.onboarded()?.userID, userName: 'admin' });
  valueOf(await client.deleteAuthorization(TOKEN, standin.onboarded()?.authorizationID ?? ''));
  const failure = failureOf(await client.checkToken(TOKEN));
  assert.equal(failure, { kind: 'rejected', status: 401, code: 'unauthorized', message: 'unauthorized access' });
});

onboarding('lookupIDs: both IDs, only the org, nothing, or 401', async ({ standin }) => {
  const client = clientFor(standin.url);
  valueOf(await client.setup(REQUEST));
  const record = standin.onboarded();
  assert.equal(valueOf(await client.lookupIDs(TOKEN, 'acme', 'metrics')), {
    orgID: record?.orgID,
    bucketID: record?.bucketID,
    bucketRetentionSeconds: 0,
  });
  assert.equal(valueOf(await client.lookupIDs(TOKEN, 'acme', 'other')), { orgID: record?.orgID });
  assert.equal(valueOf(await client.lookupIDs(TOKEN, 'nope', 'metrics')), {});
  const lookups = standin.requests.filter((request) => request.method === 'GET').map((request) => request.path);
  assert.equal(lookups.slice(0, 2), ['/api/v2/orgs?org=acme', `/api/v2/buckets?orgID=${record?.orgID}&name=metrics`]);
  assert.is(failureOf(await client.lookupIDs('wrong-token', 'acme', 'metrics')).kind, 'rejected');
});

onboarding('lookupIDs with a userID also finds the authorization that carries the token', async ({ standin }) => {
  const client = clientFor(standin.url);
  const created = valueOf(await client.setup(REQUEST));
  const ids = valueOf(await client.lookupIDs(TOKEN, 'acme', 'metrics', created.userID));
  assert.equal(ids, {
    orgID: created.orgID,
    bucketID: created.bucketID,
    authorizationID: created.authorizationID,
    bucketRetentionSeconds: 0,
  });
  assert.ok(standin.requests.some((request) => request.path === `/api/v2/authorizations?userID=${created.userID}`));
});

onboarding(
  'createOrg, createBucket, setRetention: create what is missing, change the retention with its shard-group duration',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    valueOf(await client.setup({ ...REQUEST, retentionPeriodSeconds: 7200 }));
    const org = valueOf(await client.createOrg(TOKEN, 'other'));
    const bucket = valueOf(await client.createBucket(TOKEN, org.id, 'fresh', 86_400));
    assert.equal(valueOf(await client.lookupIDs(TOKEN, 'other', 'fresh')), {
      orgID: org.id,
      bucketID: bucket.id,
      bucketRetentionSeconds: 86_400,
    });
    const conflict = failureOf(await client.createOrg(TOKEN, 'acme'));
    assert.equal(conflict.kind === 'rejected' && [conflict.status, conflict.code], [422, 'conflict']);
    assert.match(conflict.message, 'organization with name acme already exists');

    // Infinite retention keeps 7-day shard groups; going back to 1 day needs the shard-group
    // duration in the same PATCH (else 422), which the client always sends.
    const ids = valueOf(await client.lookupIDs(TOKEN, 'acme', 'metrics'));
    const bucketID = ids.bucketID ?? '';
    for (const retention of [0, 86_400, 400 * 86_400, 3600]) {
      valueOf(await client.setRetention(TOKEN, bucketID, retention));
      assert.is(
        valueOf(await client.lookupIDs(TOKEN, 'acme', 'metrics')).bucketRetentionSeconds,
        retention,
        String(retention),
      );
    }
    const patch = standin.requests.find((request) => request.method === 'PATCH');
    assert.is(patch?.path, `/api/v2/buckets/${bucketID}`);
    assert.equal(patch?.body, {
      retentionRules: [{ type: 'expire', everySeconds: 0, shardGroupDurationSeconds: 604_800 }],
    });
    const refused = failureOf(await client.createBucket('wrong-token', org.id, 'x', 0));
    assert.is(refused.kind, 'rejected');
  },
);

onboarding(
  'setPassword then checkPassword: the new password signs in (and signs out again), the old one is rejected 401',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { userID } = valueOf(await client.setup(REQUEST));
    const newPassword = 'new"pass\\word-43';
    assert.is(valueOf(await client.setPassword(TOKEN, userID, newPassword)), true);
    const change = standin.requests.find((request) => request.path === `/api/v2/users/${userID}/password`);
    assert.equal(
      [change?.method, change?.body, change?.authorization],
      ['POST', { password: newPassword }, `Token ${TOKEN}`],
    );
    assert.is(valueOf(await client.checkPassword('admin', newPassword)), true);
    // The session the sign-in opened is closed with its own cookie.
    const [signIn, signOut] = standin.requests.slice(-2);
    assert.equal(
      [signIn?.method, signIn?.path, signIn?.authorization],
      ['POST', '/api/v2/signin', `Basic ${Buffer.from(`admin:${newPassword}`).toString('base64')}`],
    );
    assert.equal([signOut?.method, signOut?.path], ['POST', '/api/v2/signout']);
    assert.is(standin.openSessions(), 0);
    const old = failureOf(await client.checkPassword('admin', PASSWORD));
    assert.equal([old.kind, old.kind === 'rejected' && old.status], ['rejected', 401]);
    assert.is(standin.requests.at(-1)?.path, '/api/v2/signin', 'no sign-out without a session');
    const refused = failureOf(await client.setPassword('wrong-token', userID, newPassword));
    assert.equal([refused.kind, refused.kind === 'rejected' && refused.status], ['rejected', 401]);
    const short = failureOf(await client.setPassword(TOKEN, userID, 'short'));
    assert.equal([short.kind, short.kind === 'rejected' && short.code], ['rejected', 'invalid']);
  },
);

onboarding(
  'authorizations: listed with their permissions, a copy created with a description, deleted (absent the second time)',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const setup = valueOf(await client.setup(REQUEST));
    const [operator, ...others] = valueOf(await client.listAuthorizations(TOKEN, { userID: setup.userID }));
    assert.equal(others, []);
    assert.is(operator?.id, setup.authorizationID);
    assert.is(operator?.token, TOKEN, 'listed with its token before v2.9');
    assert.is(operator?.userID, setup.userID);
    assert.ok((operator?.permissions.length ?? 0) > 0);
    const request = {
      orgID: operator?.orgID ?? '',
      userID: setup.userID,
      description: 'copy of the operator token',
      permissions: operator?.permissions ?? [],
    };
    const created = valueOf(await client.createAuthorization(TOKEN, request));
    assert.ok(standin.tokens().includes(created.token));
    assert.equal(valueOf(await client.checkToken(created.token)), { userID: setup.userID, userName: 'admin' });
    const listed = valueOf(await client.listAuthorizations(created.token, { userID: setup.userID })).find(
      (entry) => entry.id === created.id,
    );
    assert.equal(
      [listed?.description, listed?.permissions, listed?.active],
      ['copy of the operator token', operator?.permissions, true],
    );
    assert.equal(valueOf(await client.authorization(TOKEN, created.id)), listed, 'read by ID as it is listed');
    assert.is(
      valueOf(await client.authorization(TOKEN, 'not-an-id')),
      null,
      'an ID InfluxDB cannot parse (400) names nothing',
    );
    assert.is(valueOf(await client.deleteAuthorization(created.token, setup.authorizationID)), 'deleted');
    failureOf(await client.checkToken(TOKEN));
    assert.is(
      valueOf(await client.deleteAuthorization(created.token, setup.authorizationID)),
      'absent',
      'the 404 of a second delete: gone already',
    );
    assert.is(
      valueOf(await client.authorization(created.token, setup.authorizationID)),
      null,
      'the 404 of a deleted one',
    );
    const refused = failureOf(await client.listAuthorizations('wrong-token', { userID: setup.userID }));
    assert.equal([refused.kind, refused.kind === 'rejected' && refused.status], ['rejected', 401]);
  },
);

onboarding(
  "a namespace's user found or made, a token for it listed by user; a bucket by ID (null when gone) and renamed",
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { token } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'platform' });
    const orgID = standin.onboarded()?.orgID ?? '';
    const name = 'influx-onboarding-operator:team-a';
    assert.is(valueOf(await client.findUser(token, name)), null, 'none yet (InfluxDB answers 404)');
    const userID = valueOf(await client.createUser(token, name)).id;
    assert.is(valueOf(await client.findUser(token, name)), userID);
    assert.is(failureOf(await client.createUser(token, name)).kind, 'rejected', 'a second one of that name: 422');
    const bucketID = valueOf(await client.createBucket(token, orgID, 'team-a.metrics', 3600, 'd')).id;
    const permissions = [{ action: 'write', resource: { type: 'buckets', id: bucketID, orgID } }];
    const created = valueOf(await client.createAuthorization(token, { orgID, userID, description: 'x', permissions }));
    assert.equal(
      valueOf(await client.listAuthorizations(token, { userID })).map((entry) => entry.id),
      [created.id],
      "only that user's",
    );
    assert.equal(valueOf(await client.findBucketByID(token, bucketID)), {
      id: bucketID,
      name: 'team-a.metrics',
      retentionSeconds: 3600,
      description: 'd',
    });
    valueOf(await client.renameBucket(token, bucketID, 'team-a.renamed'));
    assert.is(valueOf(await client.findBucketByID(token, bucketID))?.name, 'team-a.renamed');
    assert.equal(failureOf(await client.renameBucket(token, bucketID, 'platform')), {
      kind: 'rejected',
      status: 422,
      code: 'conflict',
      message: 'bucket name is not unique',
    });
    valueOf(await client.deleteBucket(token, bucketID));
    assert.is(valueOf(await client.findBucketByID(token, bucketID)), null, 'gone: null, not a failure');
  },
);

onboarding('health reports status and version', async ({ standin }) => {
  assert.equal(valueOf(await clientFor(standin.url).health()), { status: 'pass', version: 'v2.7.12' });
});

onboarding('setupUser on OSS 2.1+: 404 not found with a valid token, 401 unauthorized without', async ({ standin }) => {
  const { token } = standin.knobs.setUpBySomeoneElse({ token: AUTH_TOKEN });
  const client = clientFor(standin.url);
  const removed = failureOf(await client.setupUser(REQUEST, token));
  assert.is(removed.kind, 'rejected');
  assert.is(removed.kind === 'rejected' && removed.code, 'not found');
  assert.is(removed.kind === 'rejected' && removed.status, 404);
  const unauthorized = failureOf(await client.setupUser(REQUEST, 'wrong-token'));
  assert.equal(unauthorized, { kind: 'rejected', status: 401, code: 'unauthorized', message: 'unauthorized access' });
  assert.equal(standin.requests.at(-1)?.authorization, 'Token wrong-token');
});

onboarding(
  'local validation refuses a request InfluxDB would choke on, naming the field, and sends nothing',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const invalid: Array<[Partial<SetupRequest>, string]> = [
      [{ username: '' }, 'username'],
      [{ password: 'short' }, 'password'],
      [{ password: 'x'.repeat(73) }, 'password'],
      [{ password: 'é'.repeat(37) }, 'password'], // 37 characters, 74 bytes
      [{ org: '' }, 'org'],
      [{ bucket: '' }, 'bucket'],
      [{ bucket: '_monitoring' }, 'bucket'],
      [{ bucket: 'say "hi"' }, 'bucket'],
      [{ retentionPeriodSeconds: 60 }, 'retentionPeriodSeconds'],
      [{ retentionPeriodSeconds: 3599 }, 'retentionPeriodSeconds'],
      [{ retentionPeriodSeconds: -3600 }, 'retentionPeriodSeconds'],
      [{ retentionPeriodSeconds: 5400.5 }, 'retentionPeriodSeconds'],
      [{ token: '' }, 'token'],
    ];
    for (const [change, field] of invalid) {
      for (const outcome of [
        await client.setup({ ...REQUEST, ...change }),
        await client.setupUser({ ...REQUEST, ...change }, AUTH_TOKEN),
      ]) {
        const failure = failureOf(outcome);
        assert.is(failure.kind, 'rejected');
        assert.ok(
          failure.kind === 'rejected' && failure.status === 0 && failure.code === 'invalid',
          JSON.stringify(failure),
        );
        assert.ok(failure.message.startsWith(`${field} `), failure.message);
      }
    }
    assert.equal(standin.requests, []);
    valueOf(await client.setup({ ...REQUEST, retentionPeriodSeconds: 3600 }));
  },
);

onboarding('onRequest gets a fixed endpoint label and the status class', async ({ standin }) => {
  const samples: RequestSample[] = [];
  const client = clientFor(standin.url, { onRequest: (sample) => samples.push(sample) });
  await client.setupStatus();
  await client.setup(REQUEST);
  await client.setup(REQUEST);
  await client.lookupIDs(TOKEN, 'acme', 'metrics');
  standin.knobs.failNext(1, 'reset');
  await client.health();
  assert.equal(
    samples.map(({ endpoint, statusClass }) => `${endpoint} ${statusClass}`),
    [
      'GET /api/v2/setup 2xx',
      'POST /api/v2/setup 2xx',
      'POST /api/v2/setup 4xx',
      'GET /api/v2/orgs 2xx',
      'GET /api/v2/buckets 2xx',
      'GET /health error',
    ],
  );
  assert.ok(samples.every((sample) => sample.seconds >= 0 && Number.isFinite(sample.seconds)));
});

onboarding.run();

// -------------------------------------------------------------------------------------------
const growing = standinSuite('lists that grow with the instance');

growing('an org with 2,000 tokens is listed whole: more than 1 MiB as InfluxDB prints it', async ({ standin }) => {
  const client = clientFor(standin.url);
  const setup = valueOf(await client.setup(REQUEST));
  const request = (index: number) => ({
    orgID: setup.orgID,
    description: `[managed by InfluxToken shop/writer-${index}]`,
    permissions: bucketPermissions(setup.orgID, [{ action: 'write' as const, bucketID: setup.bucketID }]),
  });
  for (let index = 0; index < 2000; index += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, offset) => client.createAuthorization(TOKEN, request(index + offset))),
    );
  const listed = valueOf(await client.listAuthorizations(TOKEN, { orgID: setup.orgID }));
  assert.is(listed.length, 2001, "the 2,000 and the operator's own");
  const failure = failureOf(
    await clientFor(standin.url, { maxListResponseBytes: 1024 * 1024 }).listAuthorizations(TOKEN, {
      orgID: setup.orgID,
    }),
  );
  assert.is(failure.kind === 'unreachable' && failure.reason, 'too-large', 'the list still has a cap');
});

growing.run();

// -------------------------------------------------------------------------------------------
const influxql = standinSuite('InfluxQL compatibility: DBRP mappings and v1 authorizations against the stand-in');

/** A set-up stand-in with a second bucket `app`, and tokens scoped to it as 1.x clients get them. */
async function withAppBucket(client: InfluxClient) {
  const setup = valueOf(await client.setup(REQUEST));
  const app = valueOf(await client.createBucket(TOKEN, setup.orgID, 'app', 0));
  const scoped = async (...actions: Array<'read' | 'write'>) =>
    valueOf(
      await client.createAuthorization(TOKEN, {
        orgID: setup.orgID,
        description: actions.join('+'),
        permissions: bucketPermissions(
          setup.orgID,
          actions.map((action) => ({ action, bucketID: app.id })),
        ),
      }),
    ).token;
  return { ...setup, appBucketID: app.id, scoped };
}

influxql(
  'DBRPs: every readable bucket shows as a virtual mapping; a physical one hides its twin, the first of a database is its default; duplicates are 422 conflict',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { orgID, bucketID, appBucketID } = await withAppBucket(client);
    const virtual = valueOf(await client.listDbrps(TOKEN, { orgID }));
    assert.equal(
      virtual.map((mapping) => [mapping.database, mapping.retentionPolicy, mapping.default, mapping.virtual]),
      [
        ['_monitoring', 'autogen', true, true],
        ['_tasks', 'autogen', true, true],
        ['app', 'autogen', true, true],
        ['metrics', 'autogen', true, true],
      ],
    );
    assert.is(
      virtual.find((mapping) => mapping.database === 'app')?.id,
      appBucketID,
      'a virtual mapping has its bucket ID',
    );

    const create = (bucket: string, database: string, retentionPolicy: string, isDefault: boolean) =>
      client.createDbrp(TOKEN, { orgID, bucketID: bucket, database, retentionPolicy, default: isDefault });
    const first = valueOf(await create(appBucketID, 'team.db', 'autogen', false));
    assert.equal(
      { ...first, id: '' },
      {
        id: '',
        database: 'team.db',
        retentionPolicy: 'autogen',
        default: true,
        virtual: false,
        orgID,
        bucketID: appBucketID,
      },
      'the first mapping of a database is its default even when the request says otherwise',
    );
    const second = valueOf(await create(bucketID, 'team.db', 'weekly', false));
    assert.is(second.default, false);
    const post = standin.requests.find((request) => request.method === 'POST' && request.path === '/api/v2/dbrps');
    assert.equal(post?.body, {
      orgID,
      bucketID: appBucketID,
      database: 'team.db',
      retention_policy: 'autogen',
      default: false,
    });

    const duplicate = failureOf(await create(bucketID, 'team.db', 'autogen', true));
    assert.equal(duplicate, {
      kind: 'rejected',
      status: 422,
      code: 'conflict',
      message: 'another DBRP mapping with same orgID, db, and rp exists',
    });

    // A physical mapping named like a bucket hides the bucket's virtual mapping.
    valueOf(await create(appBucketID, 'metrics', 'autogen', true));
    const metrics = valueOf(await client.listDbrps(TOKEN, { orgID, database: 'metrics' }));
    assert.equal(
      metrics.map((mapping) => [mapping.bucketID, mapping.virtual]),
      [[appBucketID, false]],
    );

    const ofApp = valueOf(await client.listDbrps(TOKEN, { orgID, bucketID: appBucketID }));
    assert.equal(
      ofApp.map((mapping) => `${mapping.database}/${mapping.retentionPolicy}`),
      ['team.db/autogen', 'metrics/autogen', 'app/autogen'],
    );
    const defaults = valueOf(await client.listDbrps(TOKEN, { orgID, database: 'team.db', default: true }));
    assert.equal(
      defaults.map((mapping) => mapping.id),
      [first.id],
    );
    const weekly = valueOf(await client.listDbrps(TOKEN, { orgID, retentionPolicy: 'weekly' }));
    assert.equal(
      weekly.map((mapping) => mapping.id),
      [second.id],
    );
    const listed = standin.requests
      .filter((request) => request.path.startsWith('/api/v2/dbrps?'))
      .map((request) => request.path);
    assert.ok(listed.includes(`/api/v2/dbrps?orgID=${orgID}&db=team.db&default=true`), listed.join());
  },
);

influxql(
  'DBRPs: PATCH moves the default and renames the retention policy; DELETE hands the default on; deleting the bucket takes its mappings',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { orgID, bucketID, appBucketID } = await withAppBucket(client);
    const mapping = (retentionPolicy: string, bucket = appBucketID) =>
      client.createDbrp(TOKEN, { orgID, bucketID: bucket, database: 'db', retentionPolicy, default: false });
    const a = valueOf(await mapping('a'));
    const b = valueOf(await mapping('b', bucketID));
    const moved = valueOf(await client.updateDbrp(TOKEN, orgID, b.id, { default: true }));
    assert.equal([moved.id, moved.default, moved.retentionPolicy], [b.id, true, 'b']);
    const defaultOf = async () =>
      valueOf(await client.listDbrps(TOKEN, { orgID, database: 'db', default: true })).map((m) => m.retentionPolicy);
    assert.equal(await defaultOf(), ['b']);
    const patch = standin.requests.find((request) => request.method === 'PATCH');
    assert.equal([patch?.path, patch?.body], [`/api/v2/dbrps/${b.id}?orgID=${orgID}`, { default: true }]);

    const renamed = valueOf(await client.updateDbrp(TOKEN, orgID, a.id, { retentionPolicy: 'c' }));
    assert.equal([renamed.retentionPolicy, renamed.default], ['c', false]);
    const taken = failureOf(await client.updateDbrp(TOKEN, orgID, a.id, { retentionPolicy: 'b' }));
    assert.equal(taken.kind === 'rejected' && [taken.status, taken.code], [422, 'conflict']);
    const unknown = failureOf(await client.updateDbrp(TOKEN, orgID, 'ffffffffffffffff', { default: true }));
    assert.equal(unknown.kind === 'rejected' && [unknown.status, unknown.message], [404, 'unable to find DBRP']);

    assert.is(valueOf(await client.deleteDbrp(TOKEN, orgID, b.id)), 'deleted');
    assert.equal(await defaultOf(), ['c'], 'the default went: the remaining mapping takes over');
    assert.is(valueOf(await client.deleteDbrp(TOKEN, orgID, b.id)), 'absent');

    valueOf(await client.deleteBucket(TOKEN, appBucketID));
    assert.equal(valueOf(await client.listDbrps(TOKEN, { orgID, database: 'db' })), [], 'gone with the bucket');
  },
);

influxql(
  'DBRPs need write and read on the bucket to create; lists show only readable buckets; the org is required',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { orgID, appBucketID, scoped } = await withAppBucket(client);
    const request = { orgID, bucketID: appBucketID, database: 'db', retentionPolicy: 'autogen', default: true };
    const writeOnly = await scoped('write');
    const readOnly = await scoped('read');
    const noRead = failureOf(await client.createDbrp(writeOnly, request));
    assert.equal(noRead, {
      kind: 'rejected',
      status: 401,
      code: 'unauthorized',
      message: `read:orgs/${orgID}/buckets/${appBucketID} is unauthorized`,
    });
    const noWrite = failureOf(await client.createDbrp(readOnly, request));
    assert.equal(
      noWrite.kind === 'rejected' && noWrite.message,
      `write:orgs/${orgID}/buckets/${appBucketID} is unauthorized`,
    );
    valueOf(await client.createDbrp(await scoped('read', 'write'), request));
    assert.equal(valueOf(await client.listDbrps(writeOnly, { orgID })), []);
    assert.equal(
      valueOf(await client.listDbrps(readOnly, { orgID })).map((m) => `${m.database}:${m.virtual}`),
      ['db:false', 'app:true'],
    );

    const response = await fetch(`${standin.url}/api/v2/dbrps`, { headers: { Authorization: `Token ${TOKEN}` } });
    assert.equal(
      [response.status, await response.json()],
      [400, { code: 'invalid', message: "either 'org' or 'orgID' must be provided" }],
    );
  },
);

influxql(
  'v1 authorizations: a username without a password cannot log in; with one it sees its databases; duplicates 422; short passwords 400',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { orgID, userID, appBucketID } = await withAppBucket(client);
    valueOf(
      await client.createDbrp(TOKEN, {
        orgID,
        bucketID: appBucketID,
        database: 'team.db',
        retentionPolicy: 'autogen',
        default: true,
      }),
    );
    const permissions = bucketPermissions(orgID, [{ action: 'read', bucketID: appBucketID }]);
    const created = valueOf(
      await client.createV1Authorization(TOKEN, {
        orgID,
        username: 'team.reader',
        description: 'team reader',
        permissions,
      }),
    );
    assert.equal(
      { ...created, id: '' },
      { id: '', username: 'team.reader', description: 'team reader', orgID, userID, active: true, permissions },
    );
    const post = standin.requests.find((request) => request.path === '/private/legacy/authorizations');
    assert.equal(post?.body, { orgID, token: 'team.reader', description: 'team reader', permissions });

    const login = { username: 'team.reader', password: V1_PASSWORD };
    const beforePassword = failureOf(await client.v1Databases(login));
    assert.equal(beforePassword.kind === 'rejected' && [beforePassword.status, beforePassword.message], [
      401,
      'Unauthorized',
    ]);
    assert.is(valueOf(await client.setV1Password(TOKEN, created.id, V1_PASSWORD)), true);
    const set = standin.requests.at(-1);
    assert.equal(
      [set?.path, set?.body],
      [`/private/legacy/authorizations/${created.id}/password`, { password: V1_PASSWORD }],
    );
    assert.equal(valueOf(await client.v1Databases(login)), ['team.db', 'app']);
    const query = standin.requests.at(-1);
    assert.equal(
      [query?.method, query?.path, query?.authorization],
      ['GET', '/query?q=SHOW+DATABASES', `Basic ${Buffer.from(`team.reader:${V1_PASSWORD}`).toString('base64')}`],
    );
    const wrong = failureOf(await client.v1Databases({ ...login, password: 'wrong-password' }));
    assert.equal(wrong.kind === 'rejected' && wrong.status, 401);

    const short = failureOf(await client.setV1Password(TOKEN, created.id, 'short'));
    assert.equal(short, {
      kind: 'rejected',
      status: 400,
      code: 'invalid',
      message: 'passwords must be between 8 and 72 characters long',
    });
    const duplicate = failureOf(
      await client.createV1Authorization(TOKEN, { orgID, username: 'team.reader', description: 'again', permissions }),
    );
    assert.equal(duplicate, { kind: 'rejected', status: 422, code: 'conflict', message: 'token already exists' });
    const none = failureOf(
      await client.createV1Authorization(TOKEN, { orgID, username: 'x.y', description: '', permissions: [] }),
    );
    assert.equal(none.kind === 'rejected' && [none.status, none.message], [
      400,
      'authorization must include permissions',
    ]);

    assert.equal(valueOf(await client.listV1Authorizations(TOKEN, { orgID })), [created]);
    assert.equal(valueOf(await client.listV1Authorizations(TOKEN, { userID })), [created]);
    assert.equal(valueOf(await client.listV1Authorizations(TOKEN, { username: 'team.reader' })), [created]);
    assert.equal(
      valueOf(await client.listV1Authorizations(TOKEN, { username: 'nobody' })),
      [],
      'an unknown username (404) is an empty list',
    );
    assert.equal(valueOf(await client.v1Authorization(TOKEN, created.id)), created);
    assert.is(valueOf(await client.v1Authorization(TOKEN, 'ffffffffffffffff')), null);
  },
);

influxql(
  'v1 authorizations: deactivated cannot log in, reactivated can; deleted (absent the second time) cannot; the token logs in to /query too',
  async ({ standin }) => {
    const client = clientFor(standin.url);
    const { orgID, appBucketID, scoped } = await withAppBucket(client);
    const permissions = bucketPermissions(orgID, [{ action: 'read', bucketID: appBucketID }]);
    const { id } = valueOf(
      await client.createV1Authorization(TOKEN, { orgID, username: 'u.v1', description: '', permissions }),
    );
    valueOf(await client.setV1Password(TOKEN, id, V1_PASSWORD));
    const login = { username: 'u.v1', password: V1_PASSWORD };
    const inactive = valueOf(await client.updateV1Authorization(TOKEN, id, { active: false, description: 'paused' }));
    assert.equal([inactive.active, inactive.description], [false, 'paused']);
    assert.equal(standin.requests.at(-1)?.body, { status: 'inactive', description: 'paused' });
    assert.is(failureOf(await client.v1Databases(login)).kind, 'rejected');
    valueOf(await client.updateV1Authorization(TOKEN, id, { active: true }));
    assert.equal(valueOf(await client.v1Databases(login)), ['app']);
    assert.is(valueOf(await client.deleteV1Authorization(TOKEN, id)), 'deleted');
    assert.is(valueOf(await client.deleteV1Authorization(TOKEN, id)), 'absent');
    assert.is(failureOf(await client.v1Databases(login)).kind, 'rejected');

    // A v2 token works on /query as it is (Token header), and as the password of any unknown username.
    assert.equal(valueOf(await client.v1Databases({ token: await scoped('read') })), ['app']);
    assert.equal(standin.requests.at(-1)?.authorization?.startsWith('Token '), true);
    assert.equal(
      valueOf(await client.v1Databases({ token: await scoped('write') })),
      [],
      'a write-only token reads no database',
    );
    assert.equal(valueOf(await client.v1Databases({ username: 'anyone', password: TOKEN })), [
      '_monitoring',
      '_tasks',
      'app',
      'metrics',
    ]);
  },
);

influxql.run();

const variants = suite('against other InfluxDB variants');

variants(
  "shardGroupDurationSeconds: InfluxDB's defaults (infinite and >= 180 days: 7 d; >= 2 days: 1 d; else 1 h)",
  () => {
    const cases: Array<[number, number]> = [
      [0, 604_800],
      [3600, 3600],
      [2 * 86_400 - 1, 3600],
      [2 * 86_400, 86_400],
      [180 * 86_400 - 1, 86_400],
      [180 * 86_400, 604_800],
    ];
    for (const [retention, shards] of cases) assert.is(shardGroupDurationSeconds(retention), shards, String(retention));
  },
);

variants('OSS 2.0 setup/user: creates the additional user and returns its IDs', async () => {
  const standin = await startInfluxStandin({ setupUserRoute: 'v2.0' });
  try {
    const { token } = standin.knobs.setUpBySomeoneElse({ token: AUTH_TOKEN });
    const result = valueOf(
      await clientFor(standin.url).setupUser({ ...REQUEST, username: 'second', org: 'second-org' }, token),
    );
    assert.match(result.orgID, /^[0-9a-f]{16}$/);
    assert.ok(standin.tokens().includes(TOKEN));
  } finally {
    closeClients();
    await standin.close();
  }
});

variants(
  'hashed tokens (v2.9): listings show no token, so the authorization stays unknown and the other IDs are kept',
  async () => {
    const standin = await startInfluxStandin({ hashedTokens: true });
    try {
      const client = clientFor(standin.url);
      const created = valueOf(await client.setup(REQUEST));
      assert.equal(valueOf(await client.lookupIDs(TOKEN, 'acme', 'metrics', created.userID)), {
        orgID: created.orgID,
        bucketID: created.bucketID,
        bucketRetentionSeconds: 0,
      });
    } finally {
      closeClients();
      await standin.close();
    }
  },
);

variants(
  'hashed tokens (v2.9): authorizations are listed without their tokens; a created one still answers with its token once',
  async () => {
    const standin = await startInfluxStandin({ hashedTokens: true });
    try {
      const client = clientFor(standin.url);
      const setup = valueOf(await client.setup(REQUEST));
      const [operator] = valueOf(await client.listAuthorizations(TOKEN, { userID: setup.userID }));
      assert.is(operator?.token, undefined);
      const created = valueOf(
        await client.createAuthorization(TOKEN, {
          orgID: operator?.orgID ?? '',
          userID: setup.userID,
          description: 'x',
          permissions: operator?.permissions ?? [],
        }),
      );
      assert.ok(created.token.length > 0);
      assert.is(
        valueOf(await client.listAuthorizations(TOKEN, { userID: setup.userID })).find(
          (entry) => entry.id === created.id,
        )?.token,
        undefined,
      );
    } finally {
      await standin.close();
    }
  },
);

variants('--strong-passwords: the server-side refusal comes back as rejected 400 invalid', async () => {
  const standin = await startInfluxStandin({ strongPasswords: true });
  try {
    const failure = failureOf(await clientFor(standin.url).setup({ ...REQUEST, password: 'alllowercase' }));
    assert.is(failure.kind === 'rejected' && failure.status, 400);
    assert.is(failure.kind === 'rejected' && failure.code, 'invalid');
    assert.equal(valueOf(await clientFor(standin.url).setupStatus()), { allowed: true, version: 'v2.7.12' });
  } finally {
    closeClients();
    await standin.close();
  }
});

variants.run();

// -------------------------------------------------------------------------------------------
const broken = standinSuite('what answers instead of InfluxDB');

broken('5xx is unreachable/server-error with its status only, never what the server said', async ({ standin }) => {
  const client = clientFor(standin.url);
  standin.knobs.failNext(1, '503');
  const proxy = failureOf(await client.setupStatus());
  assert.is(proxy.kind === 'unreachable' && proxy.reason, 'server-error');
  assert.is(proxy.kind === 'unreachable' && proxy.status, 503);
  standin.knobs.failNext(1, '500-json');
  const influx = failureOf(await client.setupStatus());
  assert.is(influx.kind === 'unreachable' && influx.reason, 'server-error');
  assert.is(influx.message, 'the InfluxDB URL answered 500');
});

broken(
  'whatever a server answers, an unreachable failure tells only its status and what was wrong with it',
  async () => {
    // A server of a resource author's choosing: a status message must not let them read its answers.
    const MARK = 'Internal-Only-7f3a';
    const answers: Array<[number, Record<string, string>, string]> = [
      [
        500,
        { 'Content-Type': 'application/json', 'X-Platform-Error-Code': MARK },
        JSON.stringify({ code: MARK, message: MARK }),
      ],
      [503, { 'Content-Type': `text/${MARK}` }, `<html>${MARK}</html>`],
      [302, { Location: `http://${MARK.toLowerCase()}.internal:8086/` }, ''],
      [200, { 'Content-Type': `application/${MARK}` }, `{"${MARK}": true}`],
      [200, { 'Content-Type': 'text/plain' }, MARK],
      [404, { 'Content-Type': `text/${MARK}` }, MARK],
    ];
    let next = 0;
    const server = await startServer((_request, response) => {
      const [status, headers, body] = answers[next++ % answers.length] ?? [500, {}, ''];
      response.writeHead(status, headers).end(body);
    });
    try {
      const client = clientFor(server.url);
      for (let index = 0; index < answers.length; index++) {
        const failure = failureOf(await client.setupStatus());
        assert.is(failure.kind, 'unreachable', `answer ${index}`);
        assert.not.match(failure.message.toLowerCase(), MARK.toLowerCase(), `answer ${index}: ${failure.message}`);
        assert.match(failure.message, String(answers[index]?.[0]), `answer ${index} names its status`);
      }
    } finally {
      await server.close();
    }
  },
);

broken('HTML, plain text, empty and truncated JSON on 2xx are unreachable/not-influxdb', async ({ standin }) => {
  const client = clientFor(standin.url);
  for (const how of ['html', 'plain', 'empty', 'truncated'] as const) {
    standin.knobs.failNext(1, how);
    const failure = failureOf(await client.setupStatus());
    assert.is(failure.kind === 'unreachable' && failure.reason, 'not-influxdb', how);
    assert.not.match(failure.message, /<html|allowed/, 'no raw body in the message');
  }
  assert.equal(valueOf(await client.setupStatus()), { allowed: true, version: 'v2.7.12' });
});

broken('a reset connection is unreachable/network', async ({ standin }) => {
  standin.knobs.failNext(1, 'reset');
  const failure = failureOf(await clientFor(standin.url).setupStatus());
  assert.is(failure.kind === 'unreachable' && failure.reason, 'network');
});

broken('no answer within timeoutMs is unreachable/timeout', async ({ standin }) => {
  standin.knobs.failNext(1, 'hang');
  const failure = failureOf(await clientFor(standin.url, { timeoutMs: 150 }).setupStatus());
  assert.is(failure.kind === 'unreachable' && failure.reason, 'timeout');
});

broken('an answer bigger than maxResponseBytes is unreachable/too-large', async ({ standin }) => {
  const failure = failureOf(await clientFor(standin.url, { maxResponseBytes: 64 }).health());
  assert.is(failure.kind === 'unreachable' && failure.reason, 'too-large');
});

broken('a redirect to another host is not followed', async ({ standin }) => {
  const redirector = await startServer((_request, response) => {
    response.writeHead(302, { Location: `${standin.url.replace('127.0.0.1', 'localhost')}/api/v2/setup` }).end();
  });
  try {
    const failure = failureOf(await clientFor(redirector.url).setup(REQUEST));
    assert.is(failure.kind === 'unreachable' && failure.reason, 'redirect');
    assert.is(failure.kind === 'unreachable' && failure.status, 302);
    assert.equal(standin.requests, []);
  } finally {
    await redirector.close();
  }
});

broken.run();

// -------------------------------------------------------------------------------------------
const transport = suite('transport edge cases');

transport.after.each(() => closeClients());

transport('the timeout also covers a body that stalls after the headers', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
    response.write('{"allowed":');
  });
  try {
    const failure = failureOf(await clientFor(server.url, { timeoutMs: 150 }).setupStatus());
    assert.is(failure.kind === 'unreachable' && failure.reason, 'timeout');
  } finally {
    await server.close();
  }
});

transport(
  'the client signal ends a request to a server that never answers at once, as a timeout, and drops the connection',
  async () => {
    let connectionClosed!: Promise<void>;
    const server = await startServer((request) => {
      connectionClosed = new Promise((resolve) => request.socket.on('close', resolve));
    });
    try {
      const caller = new AbortController();
      const client = clientFor(server.url, { timeoutMs: 60_000, signal: caller.signal });
      const pending = client.setupStatus();
      setTimeout(() => caller.abort(), 50);
      const failure = failureOf(await pending);
      assert.equal(failure, {
        kind: 'unreachable',
        reason: 'timeout',
        message: 'the request was given up before InfluxDB answered',
      });
      await connectionClosed;
      const again = failureOf(await client.setupStatus());
      assert.is(again.kind === 'unreachable' && again.message, 'the request was given up before InfluxDB answered');
    } finally {
      await server.close();
    }
  },
);

transport('an endless body is cut at the cap and the connection dropped', async () => {
  let connectionClosed!: Promise<void>;
  const server = await startServer((_request, response) => {
    connectionClosed = new Promise((resolve) => response.on('close', resolve));
    response.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const pump = () => {
      while (!response.destroyed && response.write(chunk));
    };
    response.on('drain', pump);
    pump();
  });
  try {
    const failure = failureOf(await clientFor(server.url, { maxResponseBytes: 100_000 }).setupStatus());
    assert.is(failure.kind === 'unreachable' && failure.reason, 'too-large');
    await connectionClosed;
  } finally {
    await server.close();
  }
});

transport('connection refused is unreachable/network', async () => {
  const server = await startServer(() => undefined);
  await server.close();
  const failure = failureOf(await clientFor(server.url).setupStatus());
  assert.is(failure.kind === 'unreachable' && failure.reason, 'network');
  assert.match(failure.message, /ECONNREFUSED/);
});

transport('a literal link-local address is refused before any connection', async () => {
  const samples: RequestSample[] = [];
  for (const baseUrl of ['http://169.254.169.254', 'http://[fe80::1]:8086', 'http://[::ffff:169.254.169.254]']) {
    const failure = failureOf(await clientFor(baseUrl, { onRequest: (sample) => samples.push(sample) }).setupStatus());
    assert.is(failure.kind === 'refused' && failure.reason, 'link-local', baseUrl);
  }
  assert.equal(
    samples.map((sample) => sample.statusClass),
    ['error', 'error', 'error'],
  );
});

transport('allowLinkLocal without an allow-list takes the guard off the connection pool', () => {
  // Asserted on the admission and the agent, not by connecting: tests send no packet beyond the loopback range.
  const base = new URL('http://influxdb.data.svc:8086');
  const guardedAdmission = admit(base, {});
  const openAdmission = admit(base, { allowLinkLocal: true });
  assert.ok(guardedAdmission.kind === 'allowed' && guardedAdmission.checkResolved !== undefined);
  assert.equal(openAdmission, { kind: 'allowed' });
  const guarded = createAgent({
    https: false,
    ...(guardedAdmission.kind === 'allowed' && { checkResolved: guardedAdmission.checkResolved }),
  }) as http.Agent & { options: { lookup?: unknown } };
  const open = createAgent({ https: false }) as http.Agent & { options: { lookup?: unknown } };
  assert.type(guarded.options.lookup, 'function');
  assert.is(open.options.lookup, undefined);
  guarded.destroy();
  open.destroy();
});

transport('a name that resolves to a link-local address is refused at connect time', async () => {
  const resolver = dns as unknown as { lookup: (...args: unknown[]) => void };
  const realLookup = resolver.lookup;
  // Stands in for a DNS answer that changed after the URL was checked (rebinding).
  resolver.lookup = (hostname: unknown, ...rest: unknown[]) => {
    const callback = rest.at(-1) as (error: null, addresses: dns.LookupAddress[]) => void;
    if (hostname === 'metadata.test') return callback(null, [{ address: '169.254.169.254', family: 4 }]);
    return realLookup.call(dns, hostname, ...rest);
  };
  try {
    const failure = failureOf(await clientFor('http://metadata.test:8086').setupStatus());
    assert.is(failure.kind === 'refused' && failure.reason, 'link-local');
    assert.match(failure.message, 'metadata.test resolves to 169.254.169.254');
  } finally {
    resolver.lookup = realLookup;
  }
});

transport('a name that resolves normally still works through the guarded lookup', async () => {
  const standin = await startInfluxStandin();
  try {
    const client = clientFor(standin.url.replace('127.0.0.1', 'localhost'));
    assert.equal(valueOf(await client.setupStatus()), { allowed: true, version: 'v2.7.12' });
  } finally {
    closeClients();
    await standin.close();
  }
});

transport(
  'allowedTargets: inside a CIDR or host pattern it connects; outside, refused before any connection',
  async () => {
    const server = await startServer((_request, response) =>
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true}'),
    );
    const allowList = (text: string) => {
      const parsed = parseAllowedTargets(commaSeparated(text));
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      return { allowedTargets: parsed.targets };
    };
    const byAddress = server.url;
    const byName = `http://localhost:${server.port}`;
    try {
      const inside: Array<[string, string]> = [
        [byAddress, '127.0.0.0/8'],
        [byAddress, `10.0.0.0/8, 127.0.0.1:${server.port}`],
        [byName, 'localhost'],
        [byName, `*.example.test, localhost:${server.port}`],
        // Every address localhost resolves to must lie in a listed network.
        [byName, '127.0.0.0/8, ::1/128'],
      ];
      for (const [url, list] of inside) {
        assert.equal(
          valueOf(await clientFor(url, allowList(list)).setupStatus()),
          { allowed: true },
          `${url} with ${list}`,
        );
      }
      const connected = server.connections();
      assert.ok(connected >= 1);
      const outside: Array<[string, string, string]> = [
        [byAddress, '10.0.0.0/8', `the address 127.0.0.1 is not among the allowed targets`],
        [byAddress, `127.0.0.1:${server.port === 65535 ? 1 : server.port + 1}`, 'not among the allowed targets'],
        [byAddress, 'localhost', 'not among the allowed targets'],
        [byName, '*.example.test', `localhost:${server.port} is not among the allowed targets`],
        [byName, '10.0.0.0/8', 'localhost resolves to'],
      ];
      for (const [url, list, message] of outside) {
        const failure = failureOf(await clientFor(url, allowList(list)).setupStatus());
        assert.is(failure.kind === 'refused' && failure.reason, 'not-allowed', `${url} with ${list}`);
        assert.match(failure.message, message);
      }
      assert.is(server.connections(), connected, 'no connection was opened for a refused URL');
    } finally {
      closeClients();
      await server.close();
    }
  },
);

transport(
  "a guard: a literal address it refuses gets no connection (asked before each request); resolveAs is looked up instead of the URL's host",
  async () => {
    const hosts: string[] = [];
    const server = await startServer((request, response) => {
      hosts.push(request.headers.host ?? '');
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true}');
    });
    let refusing = true;
    const asked: string[] = [];
    const guard = {
      check: (address: string) => {
        asked.push(address);
        return refusing
          ? {
              reason: 'not-permitted' as const,
              message: `the address ${address} belongs to namespace team-a`,
              owners: ['team-a'],
            }
          : undefined;
      },
    };
    try {
      const literal = clientFor(server.url, { guard });
      const failure = failureOf(await literal.setupStatus());
      assert.equal(failure, {
        kind: 'refused',
        reason: 'not-permitted',
        message: 'refused before connecting: the address 127.0.0.1 belongs to namespace team-a',
        owners: ['team-a'],
      });
      assert.is(server.connections(), 0, 'no connection');
      // Consent given: the next request of the same client goes through.
      refusing = false;
      assert.equal(valueOf(await literal.setupStatus()), { allowed: true });
      assert.equal(asked, ['127.0.0.1', '127.0.0.1']);

      // A name the guard refuses where it resolves: refused at connect time, the same way.
      refusing = true;
      const byName = clientFor(`http://influxdb.team-a.test:${server.port}`, {
        guard: { ...guard, resolveAs: 'localhost' },
      });
      const resolved = failureOf(await byName.setupStatus());
      assert.is(resolved.kind === 'refused' && resolved.reason, 'not-permitted');
      assert.equal(resolved.kind === 'refused' && resolved.owners, ['team-a']);
      assert.is(server.connections(), 1, 'still only the one allowed connection');
      refusing = false;
      assert.equal(valueOf(await byName.setupStatus()), { allowed: true });
      assert.equal(
        hosts,
        ['127.0.0.1:' + server.port, `influxdb.team-a.test:${server.port}`],
        'the URL stays as written',
      );
    } finally {
      closeClients();
      await server.close();
    }
  },
);

transport(
  'reserved targets: a client of another tenant is refused what an entry reserves, by name or where a name resolves',
  async () => {
    const server = await startServer((_request, response) =>
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true}'),
    );
    const parsed = parseAllowedTargets(['localhost', '127.0.0.0/8']);
    if (!parsed.ok) throw new Error(parsed.problems.join());
    const reserved = (tenant: string) => parsed.targets.map((target) => ({ ...target, tenant }));
    try {
      const byName = `http://localhost:${server.port}`;
      assert.equal(
        valueOf(await clientFor(byName, { allowedTargets: reserved('team-a'), tenant: 'team-a' }).setupStatus()),
        { allowed: true },
      );
      for (const tenant of ['team-b', undefined]) {
        const failure = failureOf(
          await clientFor(byName, { allowedTargets: reserved('team-a'), ...(tenant && { tenant }) }).setupStatus(),
        );
        assert.is(failure.kind === 'refused' && failure.reason, 'not-permitted', String(tenant));
        assert.equal(failure.kind === 'refused' && failure.owners, ['team-a']);
      }
      // Only the network is reserved: a name resolving into it is refused at connect time.
      const names = parseAllowedTargets(['*.test', 'localhost']);
      const network = [...(names.ok ? names.targets : []), { ...parsed.targets[1], tenant: 'team-a' }];
      const failure = failureOf(await clientFor(byName, { allowedTargets: network, tenant: 'team-b' }).setupStatus());
      assert.is(failure.kind === 'refused' && failure.reason, 'not-permitted');
      assert.match(failure.message, 'localhost resolves to 127.0.0.1, which is reserved for team-a');
      assert.is(server.connections(), 1, 'only team-a connected');
    } finally {
      closeClients();
      await server.close();
    }
  },
);

transport('the pool keeps one transport per tenant, each with the guard made for its URL and tenant', () => {
  const made: string[] = [];
  const pool = new InfluxClientPool({
    guardFor: (baseUrl, tenant) => {
      made.push(`${tenant ?? '-'} ${baseUrl}`);
      return tenant === undefined ? undefined : { check: () => undefined };
    },
  });
  const target = { baseUrl: 'http://influxdb:8086', timeoutMs: 1000 };
  pool.get({ ...target, tenant: 'team-a' });
  pool.get({ ...target, tenant: 'team-a' });
  assert.is(pool.size, 1, "team-a's second client shares the first one's connections and guard");
  pool.get({ ...target, tenant: 'team-b' });
  assert.is(pool.size, 2, 'team-b gets connections of its own');
  pool.get(target);
  assert.equal(made, ['team-a http://influxdb:8086', 'team-b http://influxdb:8086', '- http://influxdb:8086']);
  pool.closeAll();
});

transport('baseUrl with credentials, a query or another scheme is refused without echoing it', () => {
  for (const baseUrl of [
    'http://admin:s3cret-pw@influx:8086',
    'http://influx:8086/?token=s3cret-pw',
    'ftp://influx',
    'not a url s3cret-pw',
  ]) {
    assert.throws(
      () => createInfluxClient({ baseUrl, timeoutMs: 1000 }),
      (error: Error) => !error.message.includes('s3cret-pw'),
    );
  }
});

transport('a path prefix in baseUrl is kept; User-Agent is set; no trace header is sent', async () => {
  const seen: http.IncomingMessage[] = [];
  const server = await startServer((request, response) => {
    seen.push(request);
    response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"allowed":true}');
  });
  try {
    await clientFor(`${server.url}/influx/`).setupStatus();
    await clientFor(`${server.url}/influx`, { userAgent: 'custom/1.0' }).setupStatus();
    assert.equal(
      seen.map((request) => request.url),
      ['/api/v2/setup', '/api/v2/setup'].map((path) => `/influx${path}`),
    );
    assert.is(seen[0]?.headers['user-agent'], 'influx-onboarding-operator');
    assert.is(seen[1]?.headers['user-agent'], 'custom/1.0');
    assert.not.ok(seen.some((request) => 'zap-trace-span' in request.headers));
  } finally {
    await server.close();
  }
});

transport.run();

// -------------------------------------------------------------------------------------------
const tls = suite<{ certificates: TestCertificates; standin: InfluxStandin }>(
  'https',
  {} as { certificates: TestCertificates; standin: InfluxStandin },
);

tls.before(async (context) => {
  // Only the IP in the certificate, so 'localhost' is a hostname mismatch.
  context.certificates = await createTestCertificates(['IP:127.0.0.1']);
  context.standin = await startInfluxStandin({
    tls: { certPem: context.certificates.certPem, keyPem: context.certificates.keyPem },
  });
});
tls.after.each(() => closeClients());
tls.after(async ({ standin }) => {
  await standin.close();
});

tls('with the CA bundle the connection is verified and works', async ({ certificates, standin }) => {
  assert.ok(standin.url.startsWith('https://127.0.0.1:'));
  assert.equal(valueOf(await clientFor(standin.url, { caPem: certificates.caPem }).health()).status, 'pass');
});

tls('without the CA: unreachable/tls', async ({ standin }) => {
  const failure = failureOf(await clientFor(standin.url).health());
  assert.is(failure.kind === 'unreachable' && failure.reason, 'tls');
});

tls('a hostname the certificate does not name: unreachable/tls', async ({ certificates, standin }) => {
  const failure = failureOf(
    await clientFor(standin.url.replace('127.0.0.1', 'localhost'), { caPem: certificates.caPem }).health(),
  );
  assert.is(failure.kind === 'unreachable' && failure.reason, 'tls');
  assert.match(failure.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
});

tls('insecureSkipVerify connects without the CA', async ({ standin }) => {
  assert.equal(valueOf(await clientFor(standin.url, { insecureSkipVerify: true }).health()).status, 'pass');
});

tls.run();

// -------------------------------------------------------------------------------------------
const secrets = suite('secrets never reach a failure message');

secrets('a server echoing the request in every kind of error is scrubbed', async () => {
  let mode: 'invalid' | 'unauthorized' | 'server-error' | 'html' = 'invalid';
  const server = await startServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const echo = `${Buffer.concat(chunks).toString('utf8')} ${request.headers.authorization ?? ''}`;
      const json = (status: number, code: string) =>
        response
          .writeHead(status, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ code, message: `refused ${echo}` }));
      if (mode === 'invalid') return json(400, 'invalid');
      if (mode === 'unauthorized') return json(401, 'unauthorized');
      if (mode === 'server-error') return json(500, 'internal error');
      return response.writeHead(200, { 'Content-Type': `text/html; ${echo}` }).end(`<html>${echo}</html>`);
    });
  });
  try {
    const client = clientFor(server.url);
    const before = failuresSeen;
    for (const next of ['invalid', 'unauthorized', 'server-error', 'html'] as const) {
      mode = next;
      failureOf(await client.setup(REQUEST));
      const viaSetupUser = failureOf(await client.setupUser(REQUEST, AUTH_TOKEN));
      failureOf(await client.checkToken(TOKEN));
      failureOf(await client.lookupIDs(AUTH_TOKEN, 'acme', 'metrics'));
      // A rejection quotes InfluxDB's message, scrubbed; an unreachable answer is never quoted.
      if (next === 'invalid' || next === 'unauthorized') assert.match(viaSetupUser.message, /\[REDACTED\]/);
      else assert.not.match(viaSetupUser.message, /refused|REDACTED/);
    }
    assert.is(failuresSeen - before, 16);
  } finally {
    await server.close();
  }
});

secrets('every test above produced failures, and all were checked', () => {
  assert.ok(failuresSeen > 40, `only ${failuresSeen} failures were checked`);
});

secrets.run();
