// End to end on a real control plane: what goes wrong on the InfluxDB side and how the operator
// reports it and recovers. A revoked token, a wiped instance (re-onboarded or reported), every
// kind of unreachable (nothing listening, a proxy's 5xx, an HTML page, a timeout) with growing
// retry delays and a single Warning, the removed /api/v2/setup/user route, and TLS.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OnboardingFile,
  closingChecks,
  consentTo,
  createOnboarding,
  createSecret,
  gaps,
  getOnboarding,
  getSecret,
  eventsOnceRecorded,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { InfluxAdmin } from '../support/influx-http.js';
import type { LogRecord, RunningOperator } from '../support/operator.js';
import { freePorts } from '../support/processes.js';
import { createTestCertificates } from '../support/tls.js';
import { eventually, sleep } from '../support/wait.js';

const tests = suite<OnboardingFile>('onboarding faults', new OnboardingFile());

tests.before((file) => file.setUp('onb-faults'));
tests.after((file) => file.tearDown());

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

/** The operator's 'reconciled' (and 'reconcile failed') records of one resource. */
function reconciles(operator: RunningOperator, namespace: string, name: string): LogRecord[] {
  return operator
    .records()
    .filter(
      (record) =>
        (record.message === 'reconciled' && record.resource === `${namespace}/${name}`) ||
        (record.message === 'reconcile failed' && record.namespace === namespace && record.name === name),
    );
}

/**
 * Retries of one failing resource come with growing delays: the later gaps between attempts are
 * clearly longer than the first ones (no absolute sizes asserted).
 */
function assertGrowingRetries(operator: RunningOperator, namespace: string, name: string, reason: string): void {
  const attempts = reconciles(operator, namespace, name).filter(
    (record) => record.message !== 'reconciled' || record.reason === reason,
  );
  const times = attempts.map((record) => Date.parse(String(record.timestamp)));
  assert.ok(times.length >= 6, `at least 6 attempts while ${reason}, got ${times.length}`);
  const between = gaps(times);
  const first = between.slice(0, 2);
  const last = between.slice(-2);
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  assert.ok(mean(last) > 3 * mean(first) + 20, `gaps between retries grow: ${between.join(', ')} ms`);
}

async function assertOneWarning(namespace: string, name: string, reason: string): Promise<void> {
  const events = await eventsOnceRecorded(namespace, name, reason);
  const warnings = events.filter((event) => event.type === 'Warning' && event.reason === reason);
  assert.is(warnings.length, 1, `exactly one Warning ${reason}: ${JSON.stringify(events)}`);
}

tests('a revoked token is TokenInvalid with a Warning event', async (context) => {
  const { namespace } = context;
  const influx = await context.standin();
  await createOnboarding(namespace, 'revoked', { url: influx.url, ...SPEC });
  await waitForReason(namespace, 'revoked', 'Onboarded');
  const secret = await getSecret(namespace, 'revoked-influxdb');
  context.ledger.addSecret(secret);
  await new InfluxAdmin(influx.url).deleteAuthorization(
    secret?.data.token ?? '',
    influx.onboarded()?.authorizationID ?? '',
  );
  const invalid = await waitForReason(namespace, 'revoked', 'TokenInvalid');
  assert.is(readyOf(invalid)?.status, 'False');
  assert.match(readyOf(invalid)?.message ?? '', 'revoked-influxdb');
  const events = await eventsOnceRecorded(namespace, 'revoked', 'TokenInvalid');
  assert.ok(
    events.some((event) => event.type === 'Warning' && event.reason === 'TokenInvalid'),
    JSON.stringify(events),
  );
  assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1, 'no new setup: the instance is still set up');
  context.remember(influx);
});

tests('a wiped instance is re-onboarded with the same token and password (resetPolicy Reonboard)', async (context) => {
  const { namespace } = context;
  const influx = await context.standin();
  await createOnboarding(namespace, 'wiped', { url: influx.url, ...SPEC });
  await waitForReason(namespace, 'wiped', 'Onboarded');
  const secret = await getSecret(namespace, 'wiped-influxdb');
  context.ledger.addSecret(secret);
  const firstIDs = influx.onboarded();
  influx.knobs.wipe();
  await eventually('a second setup request', () => requestsTo(influx.requests, 'POST', '/api/v2/setup') === 2);
  const again = await eventually('the instance to be set up again', () => influx.onboarded());
  assert.is(again.token, secret?.data.token, 'the same token');
  assert.is(again.password, secret?.data.password, 'the same password');
  assert.equal(influx.tokens(), [secret?.data.token]);
  const resource = await eventually('the status to carry the new IDs', async () => {
    const current = await getOnboarding(namespace, 'wiped');
    return current?.status?.orgID === again.orgID ? current : undefined;
  });
  assert.is(readyOf(resource)?.reason, 'Onboarded');
  assert.is(readyOf(resource)?.status, 'True');
  assert.is.not(again.orgID, firstIDs?.orgID);
  assert.equal(
    [resource.status?.userID, resource.status?.bucketID, resource.status?.authorizationID],
    [again.userID, again.bucketID, again.authorizationID],
  );
  assert.equal((await getSecret(namespace, 'wiped-influxdb'))?.data, secret?.data, 'the Secret did not change');
  const events = await eventsOnceRecorded(namespace, 'wiped', 'Reonboarded');
  assert.ok(
    events.some((event) => event.type === 'Normal' && event.reason === 'Reonboarded'),
    JSON.stringify(events),
  );
  context.remember(influx);
});

tests('a wiped instance is only reported with resetPolicy Report: InstanceReset, no POST', async (context) => {
  const { namespace } = context;
  const influx = await context.standin();
  await createOnboarding(namespace, 'reported', { url: influx.url, ...SPEC, resetPolicy: 'Report' });
  await waitForReason(namespace, 'reported', 'Onboarded');
  context.ledger.addSecret(await getSecret(namespace, 'reported-influxdb'));
  context.remember(influx);
  influx.knobs.wipe();
  const reset = await waitForReason(namespace, 'reported', 'InstanceReset');
  assert.is(readyOf(reset)?.status, 'False');
  const checks = requestsTo(influx.requests, 'GET', '/api/v2/setup');
  await eventually('two more drift checks', () => requestsTo(influx.requests, 'GET', '/api/v2/setup') >= checks + 2, {
    timeoutMs: 15_000,
  });
  assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1, 'never set up again');
  assert.is(influx.onboarded(), undefined);
  assert.is(readyOf(await getOnboarding(namespace, 'reported'))?.reason, 'InstanceReset');
  await assertOneWarning(namespace, 'reported', 'InstanceReset');
});

tests(
  'nothing listening: Unreachable, retried with growing delays, one Warning; onboarded once InfluxDB is up',
  async (context) => {
    const { namespace, operator } = context;
    const [port] = await freePorts(1);
    await createOnboarding(namespace, 'nowhere', { url: `http://127.0.0.1:${port}`, ...SPEC });
    const down = await waitForReason(namespace, 'nowhere', 'Unreachable');
    assert.is(readyOf(down)?.status, 'False');
    assert.match(readyOf(down)?.message ?? '', /connection refused/);
    await eventually('a few retries', () => reconciles(operator, namespace, 'nowhere').length >= 8, {
      timeoutMs: 20_000,
    });
    const influx = await context.standin({ port });
    await waitForReason(namespace, 'nowhere', 'Onboarded', 20_000);
    assertGrowingRetries(operator, namespace, 'nowhere', 'Unreachable');
    await assertOneWarning(namespace, 'nowhere', 'Unreachable');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
    context.ledger.addSecret(await getSecret(namespace, 'nowhere-influxdb'));
    context.remember(influx);
  },
);

tests(
  'a proxy answering 503: Unreachable, growing delays, one Warning, recovers when the 503s stop',
  async (context) => {
    const { namespace, operator } = context;
    const influx = await context.standin();
    influx.knobs.failNext(9, '503');
    await createOnboarding(namespace, 'proxied', { url: influx.url, ...SPEC });
    const down = await waitForReason(namespace, 'proxied', 'Unreachable');
    assert.match(readyOf(down)?.message ?? '', /503/);
    await waitForReason(namespace, 'proxied', 'Onboarded', 20_000);
    assert.ok(requestsTo(influx.requests, 'GET', '/api/v2/setup') >= 10, 'every 503 was retried');
    assertGrowingRetries(operator, namespace, 'proxied', 'Unreachable');
    await assertOneWarning(namespace, 'proxied', 'Unreachable');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
    context.ledger.addSecret(await getSecret(namespace, 'proxied-influxdb'));
    context.remember(influx);
  },
);

tests('an HTML page instead of JSON: Unreachable, growing delays, one Warning, recovers', async (context) => {
  const { namespace, operator } = context;
  const influx = await context.standin();
  influx.knobs.failNext(8, 'html');
  await createOnboarding(namespace, 'html', { url: influx.url, ...SPEC });
  const down = await waitForReason(namespace, 'html', 'Unreachable');
  assert.is(readyOf(down)?.status, 'False');
  await waitForReason(namespace, 'html', 'Onboarded', 20_000);
  assert.ok(requestsTo(influx.requests, 'GET', '/api/v2/setup') >= 9);
  assertGrowingRetries(operator, namespace, 'html', 'Unreachable');
  await assertOneWarning(namespace, 'html', 'Unreachable');
  context.ledger.addSecret(await getSecret(namespace, 'html-influxdb'));
  context.remember(influx);
});

tests(
  'a timeout (requestTimeoutSeconds 1, slow InfluxDB): Unreachable, recovers when InfluxDB is fast again',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    influx.knobs.latencyMs = 2500;
    await createOnboarding(namespace, 'slow', { url: influx.url, ...SPEC, requestTimeoutSeconds: 1 });
    const down = await waitForReason(namespace, 'slow', 'Unreachable');
    assert.match(readyOf(down)?.message ?? '', /did not answer within 1000 ms/);
    await eventually('a retry', () => requestsTo(influx.requests, 'GET', '/api/v2/setup') >= 3, { timeoutMs: 15_000 });
    influx.knobs.latencyMs = 0;
    await waitForReason(namespace, 'slow', 'Onboarded', 20_000);
    await assertOneWarning(namespace, 'slow', 'Unreachable');
    context.ledger.addSecret(await getSecret(namespace, 'slow-influxdb'));
    context.remember(influx);
  },
);

tests(
  'mode SetupUser: onboarded through /api/v2/setup/user (OSS 2.0); Unsupported once where the route is gone, without a retry loop',
  async (context) => {
    const { namespace } = context;
    const [legacy, modern] = [
      await context.standin({ setupUserRoute: 'v2.0' }),
      await context.standin({ setupUserRoute: 'gone' }),
    ];
    const legacyAdmin = legacy.knobs.setUpBySomeoneElse({ username: 'root', org: 'root-org', bucket: 'root-bucket' });
    const modernAdmin = modern.knobs.setUpBySomeoneElse({ username: 'root', org: 'root-org', bucket: 'root-bucket' });
    context.ledger.add(legacyAdmin.token, modernAdmin.token, 'someone-elses-password');
    await createSecret(namespace, 'legacy-admin', { token: legacyAdmin.token }, consentTo(legacy.url));
    await createSecret(namespace, 'modern-admin', { token: modernAdmin.token }, consentTo(modern.url));
    const spec = { username: 'team', org: 'team-org', bucket: 'team-bucket', mode: 'SetupUser' as const };
    await createOnboarding(namespace, 'legacy', {
      url: legacy.url,
      ...spec,
      authTokenSecretRef: { name: 'legacy-admin', key: 'token' },
    });
    await createOnboarding(namespace, 'modern', {
      url: modern.url,
      ...spec,
      authTokenSecretRef: { name: 'modern-admin', key: 'token' },
    });

    const onboarded = await waitForReason(namespace, 'legacy', 'Onboarded');
    assert.is(readyOf(onboarded)?.status, 'True');
    const secret = await getSecret(namespace, 'legacy-influxdb');
    context.ledger.addSecret(secret);
    const posts = legacy.requests.filter(
      (request) => request.method === 'POST' && request.path === '/api/v2/setup/user',
    );
    assert.is(posts.length, 1);
    assert.is(
      posts[0]?.authorization,
      `Token ${legacyAdmin.token}`,
      'authenticated with the token from authTokenSecretRef',
    );
    assert.equal((posts[0]?.body as Record<string, unknown>).token, secret?.data.token);
    assert.ok(legacy.tokens().includes(secret?.data.token ?? ''), 'the Secret token works on the instance');
    assert.is(requestsTo(legacy.requests, 'POST', '/api/v2/setup'), 0);

    const unsupported = await waitForReason(namespace, 'modern', 'Unsupported');
    assert.is(readyOf(unsupported)?.status, 'False');
    assert.match(readyOf(unsupported)?.message ?? '', '/api/v2/setup/user');
    await sleep(4000);
    const attempts = requestsTo(modern.requests, 'POST', '/api/v2/setup/user');
    assert.is(attempts, 1, `no retry loop: ${attempts} requests to /api/v2/setup/user`);
    assert.is(readyOf(await getOnboarding(namespace, 'modern'))?.reason, 'Unsupported');
    context.ledger.addSecret(await getSecret(namespace, 'modern-influxdb'));
    context.remember(legacy);
    context.remember(modern);
  },
);

tests('https: Onboarded with tls.caSecretRef; Unreachable with a TLS message without the CA', async (context) => {
  const { namespace } = context;
  const certificates = await createTestCertificates();
  const tls = { certPem: certificates.certPem, keyPem: certificates.keyPem };
  const [trusted, untrusted] = [await context.standin({ tls }), await context.standin({ tls })];
  assert.match(trusted.url, /^https:/);
  await createSecret(namespace, 'influx-ca', { 'ca.crt': certificates.caPem });
  await createOnboarding(namespace, 'trusted', {
    url: trusted.url,
    ...SPEC,
    tls: { caSecretRef: { name: 'influx-ca', key: 'ca.crt' } },
  });
  await createOnboarding(namespace, 'untrusted', { url: untrusted.url, ...SPEC });
  const ok = await waitForReason(namespace, 'trusted', 'Onboarded');
  assert.is(readyOf(ok)?.status, 'True');
  assert.is(requestsTo(trusted.requests, 'POST', '/api/v2/setup'), 1);
  const refused = await waitForReason(namespace, 'untrusted', 'Unreachable');
  assert.match(readyOf(refused)?.message ?? '', /TLS/);
  assert.is(untrusted.requests.length, 0, 'no request got through an unverified connection');
  context.ledger.addSecret(await getSecret(namespace, 'trusted-influxdb'));
  context.remember(trusted);
});

closingChecks(tests, 10);

tests.run();
