/**
 * The InfluxDB stand-in reproduces /work/shared/influxdb-setup-api.md: every row of its error
 * table and every trap, byte-level where the doc is (tab indentation, compact 401).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readStatus, writeStatus } from '../../support/influx-app.js';
import { influxRequest, type RawAnswer } from '../../support/influx-http.js';
import { startInfluxStandin, type InfluxStandin, type StandinOptions } from '../../support/influx-standin.js';

function send(
  base: string,
  method: string,
  path: string,
  options: { body?: string; token?: string } = {},
): Promise<RawAnswer> {
  return influxRequest(base, { method, path, ...options });
}

const jsonOf = (answer: RawAnswer) => JSON.parse(answer.text) as Record<string, unknown>;
type JsonRecord = Record<string, unknown>;

const VALID = {
  username: 'admin',
  password: 'correct-horse-9',
  org: 'acme',
  bucket: 'metrics',
  retentionPeriodSeconds: 0,
  token: 'given-operator-token',
};
const post = (standin: InfluxStandin, body: unknown, path = '/api/v2/setup') =>
  send(standin.url, 'POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body) });
const allowed = async (standin: InfluxStandin) => jsonOf(await send(standin.url, 'GET', '/api/v2/setup')).allowed;

function assertInfluxError(answer: RawAnswer, status: number, code: string, message: string): void {
  assert.is(answer.status, status, answer.text);
  assert.is(answer.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(answer.headers['x-platform-error-code'], code);
  assert.equal(jsonOf(answer), { code, message });
}

/** A suite with a fresh stand-in for every test. */
function standinSuite(name: string, options: StandinOptions = {}) {
  const tests = suite<{ standin: InfluxStandin }>(name, {} as { standin: InfluxStandin });
  tests.before.each(async (context) => {
    context.standin = await startInfluxStandin(options);
  });
  tests.after.each(async (context) => {
    await context.standin.close();
  });
  return tests;
}

// -------------------------------------------------------------------------------------------
const setupStatus = standinSuite('GET /api/v2/setup');

setupStatus('answers {allowed: true} tab-indented with the JSON content type', async ({ standin }) => {
  const answer = await send(standin.url, 'GET', '/api/v2/setup');
  assert.is(answer.status, 200);
  assert.is(answer.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(answer.text, '{\n\t"allowed": true\n}');
});

setupStatus('ignores an Authorization header, even an invalid one', async ({ standin }) => {
  const answer = await send(standin.url, 'GET', '/api/v2/setup', { token: 'not-a-token' });
  assert.is(answer.status, 200);
  assert.is(jsonOf(answer).allowed, true);
});

setupStatus('a trailing slash or another method meets the auth middleware: compact 401', async ({ standin }) => {
  for (const [method, path] of [
    ['GET', '/api/v2/setup/'],
    ['PUT', '/api/v2/setup'],
    ['DELETE', '/api/v2/setup'],
  ] as const) {
    const answer = await send(standin.url, method, path);
    assert.is(answer.status, 401, `${method} ${path}`);
    assert.is(answer.text, '{"code":"unauthorized","message":"unauthorized access"}');
    assert.is(answer.headers['x-platform-error-code'], 'unauthorized');
  }
});

setupStatus('buckets do not count, users and orgs do', async ({ standin }) => {
  standin.knobs.setUpBySomeoneElse();
  assert.is(await allowed(standin), false);
  standin.knobs.wipe();
  assert.is(await allowed(standin), true);
  assert.equal(standin.tokens(), []);
  assert.is(standin.onboarded(), undefined);
});

setupStatus.run();

// -------------------------------------------------------------------------------------------
const setup = standinSuite('POST /api/v2/setup');

setup('201 with user, bucket, org and auth objects shaped as the doc describes', async ({ standin }) => {
  const answer = await post(standin, { ...VALID, retentionPeriodSeconds: 86400 });
  assert.is(answer.status, 201, answer.text);
  assert.ok(answer.text.startsWith('{\n\t"user": {'), 'tab-indented');
  const body = jsonOf(answer);
  assert.equal(Object.keys(body).sort(), ['auth', 'bucket', 'org', 'user']);
  const user = body.user as JsonRecord;
  const org = body.org as JsonRecord;
  const bucket = body.bucket as JsonRecord;
  const auth = body.auth as JsonRecord;
  for (const id of [user.id, org.id, bucket.id, auth.id]) assert.match(String(id), /^[0-9a-f]{16}$/);
  assert.equal(user, {
    links: { self: `/api/v2/users/${String(user.id)}` },
    id: user.id,
    name: 'admin',
    status: 'active',
  });
  assert.is(org.name, 'acme');
  assert.is(org.description, '');
  assert.is(bucket.orgID, org.id);
  assert.is(bucket.type, 'user');
  assert.equal(bucket.retentionRules, [{ type: 'expire', everySeconds: 86400, shardGroupDurationSeconds: 3600 }]);
  assert.equal(bucket.labels, []);
  assert.is(auth.token, VALID.token);
  assert.is(auth.status, 'active');
  assert.is(auth.description, "admin's Token");
  assert.is(auth.userID, user.id);
  assert.is(auth.orgID, org.id);
  assert.is((auth.permissions as unknown[]).length, 44);
  assert.not.ok('hashedToken' in auth);

  assert.is(await allowed(standin), false);
  assert.equal(standin.onboarded(), {
    username: 'admin',
    password: VALID.password,
    org: 'acme',
    bucket: 'metrics',
    token: VALID.token,
    retentionPeriodSeconds: 86400,
    userID: user.id,
    orgID: org.id,
    bucketID: bucket.id,
    authorizationID: auth.id,
  });
  assert.equal(standin.tokens(), [VALID.token]);
});

setup('without a token the server generates 64 random bytes, base64url with padding', async ({ standin }) => {
  const answer = await post(standin, { ...VALID, token: undefined });
  const token = String((jsonOf(answer).auth as JsonRecord).token);
  assert.match(token, /^[A-Za-z0-9_-]{86}==$/);
  assert.equal(standin.tokens(), [token]);
});

setup('already set up: 422 conflict, checked before the required fields but after decoding', async ({ standin }) => {
  assert.is((await post(standin, VALID)).status, 201);
  assertInfluxError(await post(standin, VALID), 422, 'conflict', 'onboarding has already been completed');
  assertInfluxError(await post(standin, {}), 422, 'conflict', 'onboarding has already been completed');
  assertInfluxError(await post(standin, ''), 500, 'internal error', 'EOF');
});

setup('missing required fields: 422 naming only the missing ones, in order, no spaces', async ({ standin }) => {
  const cases: Array<[JsonRecord, string]> = [
    [{}, '[username,org,bucket]'],
    [{ ...VALID, org: '' }, '[org]'],
    [{ ...VALID, username: undefined, bucket: '' }, '[username,bucket]'],
  ];
  for (const [body, fields] of cases) {
    assertInfluxError(
      await post(standin, body),
      422,
      'unprocessable entity',
      `onboarding failed: missing required fields ${fields}`,
    );
  }
  assert.is(await allowed(standin), true);
});

setup('password of 7 or 73 bytes: 400 invalid, and the user is removed so a retry works', async ({ standin }) => {
  for (const password of ['1234567', 'x'.repeat(73)]) {
    assertInfluxError(
      await post(standin, { ...VALID, password }),
      400,
      'invalid',
      'passwords must be between 8 and 72 characters long',
    );
  }
  assert.is(await allowed(standin), true);
  assert.is((await post(standin, VALID)).status, 201);
});

setup('the password is optional for the server', async ({ standin }) => {
  assert.is((await post(standin, { ...VALID, password: undefined })).status, 201);
  assert.is(standin.onboarded()?.password, undefined);
});

setup('bucket "_x": 400 invalid after user and org exist, and the instance stays stuck', async ({ standin }) => {
  assertInfluxError(
    await post(standin, { ...VALID, bucket: '_x' }),
    400,
    'invalid',
    'bucket name _x is invalid. Buckets may not start with underscore',
  );
  assert.is(await allowed(standin), false);
  assertInfluxError(await post(standin, VALID), 422, 'conflict', 'onboarding has already been completed');
  assert.is(standin.onboarded(), undefined);
  assert.equal(standin.tokens(), []);
});

setup('a bucket name with a double quote is invalid too, also after user and org', async ({ standin }) => {
  const answer = await post(standin, { ...VALID, bucket: 'a"b' });
  assert.is(answer.status, 400);
  assert.is(jsonOf(answer).code, 'invalid');
  assert.is(await allowed(standin), false);
});

setup('retentionPeriodHrs is nanoseconds: 24 means 24 ns -> 500 and stuck', async ({ standin }) => {
  assertInfluxError(
    await post(standin, { ...VALID, retentionPeriodSeconds: undefined, retentionPeriodHrs: 24 }),
    500,
    'internal error',
    'retention policy duration must be at least 1h0m0s',
  );
  assert.is(await allowed(standin), false);
  assertInfluxError(await post(standin, VALID), 422, 'conflict', 'onboarding has already been completed');
});

setup('retentionPeriodSeconds under an hour (or negative Hrs) -> 500 and stuck', async ({ standin }) => {
  assertInfluxError(
    await post(standin, { ...VALID, retentionPeriodSeconds: 60 }),
    500,
    'internal error',
    'retention policy duration must be at least 1h0m0s',
  );
  assert.is(await allowed(standin), false);
  standin.knobs.wipe();
  assert.is((await post(standin, { ...VALID, retentionPeriodSeconds: 0, retentionPeriodHrs: -1 })).status, 500);
  assert.is(await allowed(standin), false);
});

setup('retentionPeriodSeconds wins when > 0, else retentionPeriodHrs counts (as nanoseconds)', async ({ standin }) => {
  await post(standin, { ...VALID, retentionPeriodSeconds: 7200, retentionPeriodHrs: 24 });
  assert.is(standin.onboarded()?.retentionPeriodSeconds, 7200);
  standin.knobs.wipe();
  await post(standin, { ...VALID, retentionPeriodSeconds: 0, retentionPeriodHrs: 10800 * 1e9 });
  assert.is(standin.onboarded()?.retentionPeriodSeconds, 10800);
});

setup('decoder errors: empty body -> EOF, malformed JSON and wrong types -> Go decoder text', async ({ standin }) => {
  assertInfluxError(await post(standin, ''), 500, 'internal error', 'EOF');
  const truncated = await post(standin, '{"username":');
  assert.is(truncated.status, 500);
  assert.is(jsonOf(truncated).code, 'internal error');
  assertInfluxError(
    await post(standin, { ...VALID, retentionPeriodSeconds: '1h' }),
    500,
    'internal error',
    'json: cannot unmarshal string into Go struct field OnboardingRequest.retentionPeriodSeconds of type int64',
  );
  assert.is(await allowed(standin), true);
});

setup("unknown keys (Cloud's limit) are ignored and keys match case-insensitively, as Go does", async ({ standin }) => {
  const answer = await post(standin, { ...VALID, username: undefined, UserName: 'admin', limit: { maxBuckets: 2 } });
  assert.is(answer.status, 201, answer.text);
  assert.is(standin.onboarded()?.username, 'admin');
});

setup.run();

// -------------------------------------------------------------------------------------------
const variants = suite('POST /api/v2/setup variants by version and flags');

variants('v2.9 hashed tokens: the 201 carries the raw token and a hashedToken', async () => {
  const standin = await startInfluxStandin({ hashedTokens: true });
  try {
    const auth = jsonOf(await post(standin, VALID)).auth as JsonRecord;
    assert.is(auth.token, VALID.token);
    assert.type(auth.hashedToken, 'string');
    assert.is.not(auth.hashedToken, VALID.token);
  } finally {
    await standin.close();
  }
});

variants('v2.7.0-2.7.5: only a minimum length, with the older message', async () => {
  const standin = await startInfluxStandin({ version: 'v2.7.5' });
  try {
    assertInfluxError(
      await post(standin, { ...VALID, password: 'short' }),
      400,
      'invalid',
      'passwords must be at least 8 characters long',
    );
    assert.is((await post(standin, { ...VALID, password: 'y'.repeat(80) })).status, 201);
  } finally {
    await standin.close();
  }
});

variants('--strong-passwords: 3 of 4 character classes', async () => {
  const standin = await startInfluxStandin({ strongPasswords: true });
  try {
    const weak = await post(standin, { ...VALID, password: 'alllowercase' });
    assert.is(weak.status, 400);
    assert.is(jsonOf(weak).code, 'invalid');
    assert.is((await post(standin, { ...VALID, password: 'Mixed-case-1' })).status, 201);
  } finally {
    await standin.close();
  }
});

variants.run();

// -------------------------------------------------------------------------------------------
const race = standinSuite('concurrent POST /api/v2/setup (no lock)');
// Wide enough for both requests to reach the allowed-check on a busy machine.
const RACE_WINDOW_MS = 250;

race('same username: both pass the allowed-check, the second gets "user already exists"', async ({ standin }) => {
  standin.knobs.latencyMs = RACE_WINDOW_MS;
  const answers = await Promise.all([post(standin, VALID), post(standin, { ...VALID, token: 'other-token' })]);
  assert.equal(answers.map((answer) => answer.status).sort(), [201, 422]);
  const conflict = answers.find((answer) => answer.status === 422);
  assert.equal(jsonOf(conflict as RawAnswer), { code: 'conflict', message: 'user with name admin already exists' });
});

race('different usernames and orgs: both succeed, two operator tokens exist', async ({ standin }) => {
  standin.knobs.latencyMs = RACE_WINDOW_MS;
  const answers = await Promise.all([
    post(standin, VALID),
    post(standin, { ...VALID, username: 'other', org: 'other-org', token: 'other-token' }),
  ]);
  assert.equal(
    answers.map((answer) => answer.status),
    [201, 201],
  );
  assert.equal(standin.tokens().sort(), ['given-operator-token', 'other-token']);
});

race('same token: the second gets "token already exists"', async ({ standin }) => {
  standin.knobs.latencyMs = RACE_WINDOW_MS;
  const answers = await Promise.all([
    post(standin, VALID),
    post(standin, { ...VALID, username: 'other', org: 'other-org' }),
  ]);
  const statuses = answers.map((answer) => answer.status).sort();
  assert.equal(statuses, [201, 422]);
  const conflict = answers.find((answer) => answer.status === 422) as RawAnswer;
  assertInfluxError(conflict, 422, 'conflict', 'token already exists');
});

race.run();

// -------------------------------------------------------------------------------------------
const setupUserGone = standinSuite('POST /api/v2/setup/user, removed (OSS 2.1+)');

setupUserGone('401 without a valid token, plain-text 404 with one', async ({ standin }) => {
  const { token } = standin.knobs.setUpBySomeoneElse();
  const body = JSON.stringify({ ...VALID, username: 'second', org: 'second-org' });
  const anonymous = await send(standin.url, 'POST', '/api/v2/setup/user', { body });
  assert.is(anonymous.status, 401);
  const authorized = await send(standin.url, 'POST', '/api/v2/setup/user', { body, token });
  assert.is(authorized.status, 404);
  assert.is(authorized.text, '404 page not found\n');
  assert.match(String(authorized.headers['content-type']), /^text\/plain/);
});

setupUserGone.run();

const setupUserV20 = standinSuite('POST /api/v2/setup/user, OSS 2.0.x', { setupUserRoute: 'v2.0' });

setupUserV20(
  'needs a valid token; creates another user, org and bucket; 201 with the same shape',
  async ({ standin }) => {
    const { token } = standin.knobs.setUpBySomeoneElse();
    const body = JSON.stringify({ ...VALID, username: 'second', org: 'second-org', token: 'second-token' });
    assert.is((await send(standin.url, 'POST', '/api/v2/setup/user', { body, token: 'wrong' })).status, 401);
    const answer = await send(standin.url, 'POST', '/api/v2/setup/user', { body, token });
    assert.is(answer.status, 201, answer.text);
    const created = jsonOf(answer);
    const org = created.org as JsonRecord;
    const auth = created.auth as JsonRecord;
    assert.is((created.user as JsonRecord).name, 'second');
    assert.is((created.bucket as JsonRecord).orgID, org.id);
    const permissions = auth.permissions as Array<{ resource: { type: string; id?: string; orgID?: string } }>;
    assert.is(permissions.length, 46);
    const scopes = permissions.map(({ resource }) => resource.orgID ?? resource.id);
    assert.ok(
      scopes.every((scope) => scope === org.id || scope === (created.user as JsonRecord).id),
      'owner of the new org and of its own user only',
    );
    assert.ok(standin.tokens().includes('second-token'));
    assert.is(
      (await send(standin.url, 'GET', '/api/v2/me', { token: 'second-token' })).status,
      200,
      'the new token can read its own user',
    );
  },
);

setupUserV20.run();

// -------------------------------------------------------------------------------------------
const authenticated = standinSuite('token routes and /health');

authenticated(
  "/api/v2/me: 200 with the token's user; 401 compact JSON for an unknown or revoked token",
  async ({ standin }) => {
    await post(standin, VALID);
    const me = await send(standin.url, 'GET', '/api/v2/me', { token: VALID.token });
    assert.is(me.status, 200);
    assert.is(jsonOf(me).name, 'admin');
    assert.is(jsonOf(me).id, standin.onboarded()?.userID);
    assert.is(
      (await send(standin.url, 'GET', '/api/v2/me', { token: 'unknown' })).text,
      '{"code":"unauthorized","message":"unauthorized access"}',
    );
    assert.is(
      (
        await send(standin.url, 'DELETE', `/api/v2/authorizations/${standin.onboarded()?.authorizationID}`, {
          token: VALID.token,
        })
      ).status,
      204,
    );
    assert.is((await send(standin.url, 'GET', '/api/v2/me', { token: VALID.token })).status, 401);
    assert.equal(standin.tokens(), []);
  },
);

authenticated(
  '/api/v2/orgs?org= finds the org or answers 404; /api/v2/buckets?orgID=&name= lists matches',
  async ({ standin }) => {
    await post(standin, VALID);
    const record = standin.onboarded();
    const orgs = await send(standin.url, 'GET', '/api/v2/orgs?org=acme', { token: VALID.token });
    assert.is(orgs.status, 200);
    assert.equal(
      (jsonOf(orgs).orgs as JsonRecord[]).map((org) => org.id),
      [record?.orgID],
    );
    const missing = await send(standin.url, 'GET', '/api/v2/orgs?org=nope', { token: VALID.token });
    assertInfluxError(missing, 404, 'not found', 'organization name "nope" not found');
    const buckets = await send(standin.url, 'GET', `/api/v2/buckets?orgID=${record?.orgID}&name=metrics`, {
      token: VALID.token,
    });
    assert.equal(
      (jsonOf(buckets).buckets as JsonRecord[]).map((bucket) => bucket.id),
      [record?.bucketID],
    );
    assert.is((await send(standin.url, 'GET', '/api/v2/orgs?org=acme')).status, 401);
  },
);

authenticated('/health needs no token and reports the version', async ({ standin }) => {
  const answer = await send(standin.url, 'GET', '/health');
  assert.is(answer.status, 200);
  const body = jsonOf(answer);
  assert.is(body.name, 'influxdb');
  assert.is(body.message, 'ready for queries and writes');
  assert.is(body.status, 'pass');
  assert.is(body.version, 'v2.7.12');
});

authenticated(
  'an unknown API path is 401 without a token and a JSON 404 with one; the removed setup/user route a plain 404',
  async ({ standin }) => {
    const { token } = standin.knobs.setUpBySomeoneElse();
    assert.is((await send(standin.url, 'GET', '/api/v2/nothing')).status, 401);
    assertInfluxError(await send(standin.url, 'GET', '/api/v2/nothing', { token }), 404, 'not found', 'path not found');
    assert.is(
      (await send(standin.url, 'POST', '/api/v2/setup/user', { token, body: '{}' })).text,
      '404 page not found\n',
    );
    const outside = await send(standin.url, 'GET', '/nothing');
    assert.equal(
      [outside.status, outside.text],
      [404, 'no assets included in binary\n'],
      'outside /api/ no token is asked for',
    );
  },
);

authenticated.run();

// -------------------------------------------------------------------------------------------
const knobs = standinSuite('knobs and recording');

knobs('records every request in order with parsed body and Authorization', async ({ standin }) => {
  await send(standin.url, 'GET', '/api/v2/setup');
  await post(standin, VALID);
  await send(standin.url, 'GET', '/api/v2/orgs?org=acme', { token: VALID.token });
  await post(standin, 'not json');
  assert.equal(standin.requests, [
    { method: 'GET', path: '/api/v2/setup' },
    { method: 'POST', path: '/api/v2/setup', body: VALID },
    { method: 'GET', path: '/api/v2/orgs?org=acme', authorization: `Token ${VALID.token}` },
    { method: 'POST', path: '/api/v2/setup', body: 'not json' },
  ]);
});

knobs('failNext injects each failure for exactly that many requests', async ({ standin }) => {
  standin.knobs.failNext(1, '503');
  standin.knobs.failNext(1, '500-json');
  standin.knobs.failNext(1, 'html');
  standin.knobs.failNext(1, 'plain');
  standin.knobs.failNext(1, 'empty');
  standin.knobs.failNext(1, 'truncated');
  const [unavailable, internal, html, plain, empty, truncated] = [
    await send(standin.url, 'GET', '/api/v2/setup'),
    await send(standin.url, 'GET', '/api/v2/setup'),
    await send(standin.url, 'GET', '/api/v2/setup'),
    await send(standin.url, 'GET', '/api/v2/setup'),
    await send(standin.url, 'GET', '/api/v2/setup'),
    await send(standin.url, 'GET', '/api/v2/setup'),
  ] as RawAnswer[];
  assert.is(unavailable?.status, 503);
  assert.match(String(unavailable?.headers['content-type']), /text\/html/);
  assert.is(internal?.headers['x-platform-error-code'], 'internal error');
  assert.is(html?.status, 200);
  assert.match(String(html?.text), /<html>/);
  assert.is(plain?.text, 'OK\n');
  assert.is(empty?.text, '');
  assert.throws(() => JSON.parse(String(truncated?.text)));
  assert.is(truncated?.headers['content-length'], String(truncated?.text.length));
  assert.equal(jsonOf(await send(standin.url, 'GET', '/api/v2/setup')), { allowed: true });
});

knobs('reset destroys the connection without an answer', async ({ standin }) => {
  standin.knobs.failNext(1, 'reset');
  const error = await send(standin.url, 'GET', '/api/v2/setup').then(
    () => undefined,
    (thrown: NodeJS.ErrnoException) => thrown,
  );
  assert.is(error?.code, 'ECONNRESET');
});

knobs('hang never answers; close() ends the connection', async ({ standin }) => {
  standin.knobs.failNext(1, 'hang');
  const pending = send(standin.url, 'GET', '/api/v2/setup').then(
    () => 'answered',
    () => 'connection ended',
  );
  while (standin.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
  await standin.close();
  assert.is(await pending, 'connection ended');
});

knobs('failNext with a request match skips requests that do not match', async ({ standin }) => {
  standin.knobs.failNext(1, '503', { method: 'POST', path: '/api/v2/setup' });
  assert.equal(jsonOf(await send(standin.url, 'GET', '/api/v2/setup')), { allowed: true });
  assert.is((await post(standin, VALID)).status, 503);
  assert.is(await allowed(standin), true);
  assert.is((await post(standin, VALID)).status, 201);
});

knobs('answerDelayMs: the setup is done before its answer is sent', async ({ standin }) => {
  standin.knobs.answerDelayMs = 60_000;
  const pending = post(standin, VALID).then(
    () => 'answered',
    () => 'connection ended',
  );
  while (standin.onboarded() === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.is(standin.onboarded()?.token, VALID.token);
  assert.equal(standin.tokens(), [VALID.token]);
  await standin.close();
  assert.is(await pending, 'connection ended');
});

knobs('setUpBySomeoneElse onboards directly and returns the generated token', async ({ standin }) => {
  const { token } = standin.knobs.setUpBySomeoneElse({ username: 'terraform' });
  assert.is(token.length, 88);
  assert.is(standin.onboarded()?.username, 'terraform');
  assert.equal(standin.requests, []);
  assert.throws(() => standin.knobs.setUpBySomeoneElse(), /already set up/);
});

knobs.run();

// -------------------------------------------------------------------------------------------
const legacy = standinSuite('the 1.x API: /write and /query with v1 credentials or a token');

legacy(
  'a point written with a token through a mapping is read back with v1 credentials, SELECT * and epoch',
  async ({ standin }) => {
    const { token } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'metrics' });
    const orgID = JSON.parse((await send(standin.url, 'GET', '/api/v2/orgs?org=acme', { token })).text).orgs[0]
      .id as string;
    const mapped = await send(standin.url, 'POST', '/api/v2/dbrps', {
      token,
      body: JSON.stringify({
        orgID,
        bucketID: JSON.parse(
          (await send(standin.url, 'GET', `/api/v2/buckets?orgID=${orgID}&name=metrics`, { token })).text,
        ).buckets[0].id,
        database: 'db',
        retention_policy: 'autogen',
      }),
    });
    assert.is(mapped.status, 201, mapped.text);
    const lines = 'm,host=a value=1 1700000000\nm,host=b value=2.5,note="x \\"y\\"",ok=true,n=3i 1700000001\n';
    const wrote = await influxRequest(standin.url, {
      method: 'POST',
      path: '/write?db=db&precision=s',
      authorization: `Token ${token}`,
      body: lines,
    });
    assert.is(wrote.status, 204, wrote.text);

    const query = (q: string, parameters = '') =>
      influxRequest(standin.url, {
        path: `/query?db=db&q=${encodeURIComponent(q)}${parameters}`,
        authorization: `Token ${token}`,
      });
    const all = await query('SELECT * FROM m');
    assert.is(all.headers['content-type'], 'application/json');
    assert.ok(all.text.endsWith('}\n'), 'compact JSON and a newline');
    assert.equal(JSON.parse(all.text), {
      results: [
        {
          statement_id: 0,
          series: [
            {
              name: 'm',
              columns: ['time', 'host', 'n', 'note', 'ok', 'value'],
              values: [
                ['2023-11-14T22:13:20Z', 'a', null, null, null, 1],
                ['2023-11-14T22:13:21Z', 'b', 3, 'x "y"', true, 2.5],
              ],
            },
          ],
        },
      ],
    });
    const picked = JSON.parse((await query('SELECT "value" FROM "m"', '&epoch=ms')).text);
    assert.equal(picked.results[0].series[0].values, [
      [1700000000000, 1],
      [1700000001000, 2.5],
    ]);
    const unsupported = JSON.parse((await query('SELECT mean(value) FROM m GROUP BY time(1m)')).text);
    assert.match(unsupported.results[0].error, /^stand-in: unsupported statement/);
  },
);

legacy(
  'credentials: u/p, Basic, Token, a token as the password of an unknown user; 401 otherwise',
  async ({ standin }) => {
    const { token } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'metrics' });
    const show = (path: string, authorization?: string) =>
      influxRequest(standin.url, { path, ...(authorization === undefined ? {} : { authorization }) });
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const q = 'q=SHOW%20DATABASES';
    for (const [path, authorization] of [
      [`/query?${q}`, `Token ${token}`],
      [`/query?${q}`, `Token someone:${token}`],
      [`/query?${q}&u=anyone&p=${encodeURIComponent(token)}`, undefined],
      [`/query?${q}`, basic('anyone', token)],
    ] as const) {
      const answer = await show(path, authorization);
      assert.is(answer.status, 200, `${path} ${authorization}`);
      assert.equal(JSON.parse(answer.text).results[0].series[0].values, [['_monitoring'], ['_tasks'], ['metrics']]);
    }
    const none = await show(`/query?${q}`);
    assert.equal([none.status, none.text], [401, '{"code":"unauthorized","message":"unauthorized access"}']);
    for (const authorization of ['Token wrong', basic('anyone', 'wrong'), 'Bearer x']) {
      const answer = await show(`/query?${q}`, authorization);
      assert.is(answer.status, 401, authorization);
    }
    const ping = await show('/ping');
    assert.is(ping.status, 204);
  },
);

legacy.run();

const data = standinSuite('what an application does: /api/v2/write and a Flux query, with the official client');

data('a token writes and queries as its permissions say; a deleted one can do neither', async ({ standin }) => {
  const { token } = standin.knobs.setUpBySomeoneElse({ org: 'acme', bucket: 'metrics' });
  const orgID = (jsonOf(await send(standin.url, 'GET', '/api/v2/orgs?org=acme', { token })).orgs as JsonRecord[])[0]
    ?.id as string;
  const bucketID = (
    jsonOf(await send(standin.url, 'GET', `/api/v2/buckets?orgID=${orgID}&name=metrics`, { token }))
      .buckets as JsonRecord[]
  )[0]?.id as string;
  const scoped = async (action: 'read' | 'write') =>
    jsonOf(
      await send(standin.url, 'POST', '/api/v2/authorizations', {
        token,
        body: JSON.stringify({ orgID, permissions: [{ action, resource: { type: 'buckets', id: bucketID, orgID } }] }),
      }),
    ) as { id: string; token: string };
  const [writer, reader] = [await scoped('write'), await scoped('read')];
  const as = (secret: string, bucket = 'metrics') => ({ url: standin.url, org: 'acme', bucket, token: secret });

  assert.is(await writeStatus(as(writer.token)), 204);
  assert.is(await writeStatus(as(reader.token)), 403, 'a read-only token may not write');
  assert.is(await writeStatus(as(token, 'nothing')), 404);
  assert.equal(await readStatus(as(reader.token)), { status: 200, rows: 0 }, 'no Flux engine: nothing is found');
  assert.is((await readStatus(as(writer.token))).status, 404, 'a write-only token cannot read');
  assert.is((await send(standin.url, 'DELETE', `/api/v2/authorizations/${reader.id}`, { token })).status, 204);
  assert.is((await readStatus(as(reader.token))).status, 401);
  assert.is(await writeStatus(as('no-such-token')), 401);
});

data.run();
