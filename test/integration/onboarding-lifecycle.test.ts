// End to end on a real control plane: one operator process onboards InfluxDB stand-ins declared
// as InfluxOnboarding resources. The life of a resource: fresh onboarding, adoption, the
// credentials Secret (re-created, never stolen, garbage-collected or retained), duplicates,
// a quiet steady state, and what the API server refuses before the operator ever sees it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type InfluxOnboarding } from '../../src/api/types.js';
import {
  OnboardingFile,
  closingChecks,
  consentTo,
  createOnboarding,
  createSecret,
  deleteOnboarding,
  deleteSecret,
  getOnboarding,
  getSecret,
  eventsOnceRecorded,
  onboardingHarness,
  onboardingManifest,
  patchOnboardingSpec,
  readyOf,
  driftChecks,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { eventually, sleep } from '../support/wait.js';

const tests = suite<OnboardingFile>('onboarding lifecycle', new OnboardingFile());

tests.before((file) => file.setUp('onb-life'));
tests.after((file) => file.tearDown());

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

tests(
  'a fresh instance is onboarded: Ready/Onboarded, the Secret holds what was sent, IDs and printer columns',
  async (context) => {
    const { namespace } = context;
    const { kubectl } = await onboardingHarness();
    const influx = await context.standin();
    await createOnboarding(namespace, 'fresh', { url: influx.url, ...SPEC, retentionPeriodSeconds: 7200 });

    await kubectl(['wait', '--for=condition=Ready', 'influxonboarding/fresh', '-n', namespace, '--timeout=60s']);
    const resource = await waitForReason(namespace, 'fresh', 'Onboarded');
    assert.is(readyOf(resource)?.status, 'True');

    const posts = influx.requests.filter((request) => request.method === 'POST' && request.path === '/api/v2/setup');
    assert.is(posts.length, 1, 'exactly one setup request');
    const sent = posts[0]?.body as Record<string, unknown>;
    assert.is(sent.retentionPeriodSeconds, 7200);
    assert.not.ok('retentionPeriodHrs' in sent, 'retentionPeriodHrs is never sent (InfluxDB reads it as nanoseconds)');
    assert.is(influx.onboarded()?.retentionPeriodSeconds, 7200);

    const secret = await getSecret(namespace, 'fresh-influxdb');
    assert.ok(secret, 'the credentials Secret exists');
    context.ledger.addSecret(secret);
    context.remember(influx);
    assert.equal(Object.keys(secret.data).sort(), ['bucket', 'org', 'password', 'token', 'url', 'username']);
    assert.equal(secret.data, {
      url: influx.url,
      org: 'acme',
      bucket: 'metrics',
      username: 'admin',
      password: sent.password,
      token: sent.token,
    });
    assert.is(secret.raw.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(influx.tokens(), [secret.data.token], 'InfluxDB knows exactly the token in the Secret');

    const onboarded = influx.onboarded();
    assert.equal(
      {
        userID: resource.status?.userID,
        orgID: resource.status?.orgID,
        bucketID: resource.status?.bucketID,
        authorizationID: resource.status?.authorizationID,
      },
      {
        userID: onboarded?.userID,
        orgID: onboarded?.orgID,
        bucketID: onboarded?.bucketID,
        authorizationID: onboarded?.authorizationID,
      },
    );
    assert.is(resource.status?.secretName, 'fresh-influxdb');
    assert.is(resource.status?.influxdbVersion, 'v2.7.12');
    assert.ok(resource.status?.onboardedAt, 'onboardedAt is set');

    const table = (await kubectl(['get', 'influxonboardings', '-n', namespace])).trimEnd().split('\n');
    assert.match(table[0] ?? '', /^NAME\s+READY\s+REASON\s+ORG\s+BUCKET\s+SECRET\s+AGE$/, table.join('\n'));
    const row = table.find((line) => line.startsWith('fresh '));
    assert.match(row ?? '', /^fresh\s+True\s+Onboarded\s+acme\s+metrics\s+fresh-influxdb\s+\S+$/, table.join('\n'));
    const wide = (await kubectl(['get', 'influxonboardings', '-n', namespace, '-o', 'wide'])).trimEnd().split('\n');
    assert.match(
      wide[0] ?? '',
      /^NAME\s+READY\s+REASON\s+ORG\s+BUCKET\s+SECRET\s+AGE\s+URL\s+VERSION$/,
      wide.join('\n'),
    );
    const wideRow = wide.find((line) => line.startsWith('fresh '));
    assert.ok(wideRow?.split(/\s+/).slice(-2).join(' ') === `${influx.url} v2.7.12`, wide.join('\n'));

    const events = await eventsOnceRecorded(namespace, 'fresh', 'Onboarded');
    assert.ok(
      events.some((event) => event.type === 'Normal' && event.reason === 'Onboarded'),
      JSON.stringify(events),
    );
  },
);

tests(
  'an instance set up by someone else is AlreadyOnboarded with no POST, then Adopted with a valid tokenSecretRef',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    const { token } = influx.knobs.setUpBySomeoneElse({ username: 'terraform', org: 'acme', bucket: 'metrics' });
    context.ledger.add(token, 'someone-elses-password');
    await createOnboarding(namespace, 'taken', { url: influx.url, ...SPEC });

    const refused = await waitForReason(namespace, 'taken', 'AlreadyOnboarded');
    assert.is(readyOf(refused)?.status, 'False');
    assert.is(await getSecret(namespace, 'taken-influxdb'), undefined, 'no Secret for credentials nobody knows');
    const warnings = await eventsOnceRecorded(namespace, 'taken', 'AlreadyOnboarded');
    assert.ok(
      warnings.some((event) => event.type === 'Warning' && event.reason === 'AlreadyOnboarded'),
      JSON.stringify(warnings),
    );

    await createSecret(namespace, 'taken-admin-token', { token }, consentTo(influx.url));
    await patchOnboardingSpec(namespace, 'taken', { tokenSecretRef: { name: 'taken-admin-token', key: 'token' } });
    const adopted = await waitForReason(namespace, 'taken', 'Adopted');
    assert.is(readyOf(adopted)?.status, 'True');
    const secret = await getSecret(namespace, 'taken-influxdb');
    context.ledger.addSecret(secret);
    assert.is(secret?.data.token, token, 'the Secret holds the adopted token');
    assert.is(secret?.data.url, influx.url);
    assert.is(adopted.status?.orgID, influx.onboarded()?.orgID, 'IDs found by lookup');
    assert.is(adopted.status?.bucketID, influx.onboarded()?.bucketID);
    assert.is(
      requestsTo(influx.requests, 'POST', '/api/v2/setup'),
      0,
      'never a setup request against a set-up instance',
    );
    assert.equal(influx.tokens(), [token]);
  },
);

tests(
  'a deleted Secret is re-created with the same credentials; a foreign Secret in the way is never touched',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    const squatted = await context.standin();
    const foreign = await createSecret(namespace, 'squatted-influxdb', {
      token: 'not-yours-0123456789',
      note: 'hands off',
    });
    context.ledger.add('not-yours-0123456789');
    await Promise.all([
      createOnboarding(namespace, 'keeper', { url: influx.url, ...SPEC }),
      createOnboarding(namespace, 'squatted', { url: squatted.url, ...SPEC }),
    ]);

    await waitForReason(namespace, 'keeper', 'Onboarded');
    const before = await getSecret(namespace, 'keeper-influxdb');
    assert.ok(before);
    context.ledger.addSecret(before);
    await deleteSecret(namespace, 'keeper-influxdb');
    const after = await eventually('the Secret to be re-created', async () => {
      const secret = await getSecret(namespace, 'keeper-influxdb');
      return secret && secret.raw.metadata?.uid !== before.raw.metadata?.uid ? secret : undefined;
    });
    assert.equal(after.data, before.data, 'the same url, org, bucket, username, password and token');
    assert.is(after.raw.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.is(readyOf(await getOnboarding(namespace, 'keeper'))?.reason, 'Onboarded');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);

    const conflict = await waitForReason(namespace, 'squatted', 'SecretConflict');
    assert.is(readyOf(conflict)?.status, 'False');
    assert.match(readyOf(conflict)?.message ?? '', 'squatted-influxdb');
    // Some reconciles later, still untouched.
    await sleep(1500);
    const untouched = await getSecret(namespace, 'squatted-influxdb');
    assert.equal(untouched?.raw, foreign, 'the foreign Secret is exactly as it was created');
    assert.is(requestsTo(squatted.requests, 'POST', '/api/v2/setup'), 0, 'no setup while the Secret cannot be written');
    const events = await eventsOnceRecorded(namespace, 'squatted', 'SecretConflict');
    assert.ok(
      events.some((event) => event.type === 'Warning' && event.reason === 'SecretConflict'),
      JSON.stringify(events),
    );
    context.remember(influx);
  },
);

tests(
  'deletionPolicy Delete: the Secret is garbage-collected; Retain: it stays, and a new resource of that name adopts it',
  async (context) => {
    const { namespace } = context;
    const collected = await context.standin();
    const retained = await context.standin();
    await Promise.all([
      createOnboarding(namespace, 'collected', {
        url: collected.url,
        ...SPEC,
        credentialsSecret: { deletionPolicy: 'Delete' },
      }),
      createOnboarding(namespace, 'retained', {
        url: retained.url,
        ...SPEC,
        credentialsSecret: { name: 'kept-credentials' },
      }),
    ]);
    const [collectedResource] = await Promise.all([
      waitForReason(namespace, 'collected', 'Onboarded'),
      waitForReason(namespace, 'retained', 'Onboarded'),
    ]);
    const collectedSecret = await getSecret(namespace, 'collected-influxdb');
    const keptSecret = await getSecret(namespace, 'kept-credentials');
    context.ledger.addSecret(collectedSecret);
    context.ledger.addSecret(keptSecret);
    assert.equal(
      collectedSecret?.raw.metadata?.ownerReferences?.map((reference) => [
        reference.kind,
        reference.name,
        reference.uid,
        reference.controller,
      ]),
      [['InfluxOnboarding', 'collected', collectedResource.metadata.uid, true]],
    );
    assert.equal(
      keptSecret?.raw.metadata?.ownerReferences ?? [],
      [],
      'a retained Secret has no owner to be collected with',
    );

    await Promise.all([deleteOnboarding(namespace, 'collected'), deleteOnboarding(namespace, 'retained')]);
    await eventually(
      'kube-controller-manager to garbage-collect the Secret',
      async () => (await getSecret(namespace, 'collected-influxdb')) === undefined,
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    await eventually(
      'the retained resource to be gone',
      async () => (await getOnboarding(namespace, 'retained')) === undefined,
    );
    const stillThere = await getSecret(namespace, 'kept-credentials');
    assert.equal(stillThere?.data, keptSecret?.data, 'the retained Secret outlives its resource, unchanged');

    await createOnboarding(namespace, 'retained', {
      url: retained.url,
      ...SPEC,
      credentialsSecret: { name: 'kept-credentials' },
    });
    const again = await waitForReason(namespace, 'retained', 'Onboarded');
    assert.is(readyOf(again)?.status, 'True');
    assert.is((await getSecret(namespace, 'kept-credentials'))?.data.token, keptSecret?.data.token, 'the same token');
    assert.is(requestsTo(retained.requests, 'POST', '/api/v2/setup'), 1, 'the instance is not set up again');
    assert.is(again.status?.orgID, retained.onboarded()?.orgID);
    context.remember(collected);
    context.remember(retained);
  },
);

tests(
  'a second Setup resource for the same instance is DuplicateTarget; the first stays Onboarded; one POST',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    await createOnboarding(namespace, 'first', { url: influx.url, ...SPEC });
    await waitForReason(namespace, 'first', 'Onboarded');
    // The same instance spelt differently: upper-case host and a trailing slash.
    await createOnboarding(namespace, 'second', {
      url: `${influx.url.replace('http://', 'HTTP://')}/`,
      username: 'other',
      org: 'o2',
      bucket: 'b2',
    });
    const duplicate = await waitForReason(namespace, 'second', 'DuplicateTarget');
    assert.is(readyOf(duplicate)?.status, 'False');
    assert.match(readyOf(duplicate)?.message ?? '', `${namespace}/first`);
    await sleep(1500);
    assert.is(readyOf(await getOnboarding(namespace, 'first'))?.reason, 'Onboarded');
    assert.is(readyOf(await getOnboarding(namespace, 'second'))?.reason, 'DuplicateTarget');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
    assert.is(await getSecret(namespace, 'second-influxdb'), undefined, 'the duplicate writes no Secret');
    context.ledger.addSecret(await getSecret(namespace, 'first-influxdb'));
    context.remember(influx);
  },
);

tests(
  'the resource that onboarded an instance keeps it against a newcomer of the same second whose name sorts first',
  async (context) => {
    const { namespace } = context;
    // creationTimestamp has whole seconds: both must land in the same one, so start early in a second.
    for (let attempt = 1; ; attempt++) {
      const influx = await context.standin();
      const [incumbent, newcomer] = [`zz-incumbent-${attempt}`, `aa-newcomer-${attempt}`];
      await eventually('the start of a second', () => Date.now() % 1000 < 100, { timeoutMs: 2000, intervalMs: 5 });
      await createOnboarding(namespace, incumbent, { url: influx.url, ...SPEC });
      await eventually(
        `${incumbent} to be onboarded`,
        async () => readyOf(await getOnboarding(namespace, incumbent))?.reason === 'Onboarded',
        {
          intervalMs: 20,
        },
      );
      const created = await createOnboarding(namespace, newcomer, { url: influx.url, ...SPEC });
      const first = await getOnboarding(namespace, incumbent);
      if (first?.metadata.creationTimestamp !== created.metadata.creationTimestamp) {
        assert.ok(attempt < 6, 'could not create two resources within one second');
        await Promise.all([deleteOnboarding(namespace, incumbent), deleteOnboarding(namespace, newcomer)]);
        continue;
      }
      const duplicate = await waitForReason(namespace, newcomer, 'DuplicateTarget');
      assert.match(readyOf(duplicate)?.message ?? '', `${namespace}/${incumbent}`);
      // Several drift checks later the incumbent still holds the instance.
      await eventually('three drift checks', () => driftChecks(influx.requests).length >= 3, { timeoutMs: 15_000 });
      assert.is(readyOf(await getOnboarding(namespace, incumbent))?.reason, 'Onboarded');
      assert.is(readyOf(await getOnboarding(namespace, newcomer))?.reason, 'DuplicateTarget');
      assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
      context.ledger.addSecret(await getSecret(namespace, `${incumbent}-influxdb`));
      context.remember(influx);
      return;
    }
  },
);

tests(
  'steady state writes nothing: over several drift checks neither the resource nor the Secret changes',
  async (context) => {
    const { namespace } = context;
    // v2.9+: hashed tokens, the setup answer is the only time the server shows a token.
    const influx = await context.standin({ version: 'v2.9.1', hashedTokens: true });
    await createOnboarding(namespace, 'steady', { url: influx.url, ...SPEC });
    const ready = await waitForReason(namespace, 'steady', 'Onboarded');
    assert.is(ready.status?.influxdbVersion, 'v2.9.1');
    // Let the first drift check pass, then watch several more.
    const checksAtStart = await eventually(
      'a first drift check',
      () => driftChecks(influx.requests).length || undefined,
    );
    const requestsAtStart = influx.requests.length;
    const resource = (await getOnboarding(namespace, 'steady')) as InfluxOnboarding;
    const secret = await getSecret(namespace, 'steady-influxdb');
    context.ledger.addSecret(secret);
    await eventually('three more drift checks', () => driftChecks(influx.requests).length >= checksAtStart + 3, {
      timeoutMs: 15_000,
    });
    const resourceAfter = await getOnboarding(namespace, 'steady');
    const secretAfter = await getSecret(namespace, 'steady-influxdb');
    assert.is(
      resourceAfter?.metadata.resourceVersion,
      resource.metadata.resourceVersion,
      'the resource was not written',
    );
    assert.is(
      secretAfter?.raw.metadata?.resourceVersion,
      secret?.raw.metadata?.resourceVersion,
      'the Secret was not written',
    );
    // Each drift check is ONE request: the bucket, read with the Secret's token (which proves the token works).
    const since = influx.requests.slice(requestsAtStart);
    assert.equal(
      since.map((request) => request.path),
      driftChecks(since).map((request) => request.path),
      'nothing but GET /api/v2/buckets/{id}',
    );
    assert.equal(new Set(since.map((request) => request.authorization)), new Set([`Token ${secret?.data.token}`]));
    assert.ok(
      since.every((request) => request.path === `/api/v2/buckets/${ready.status?.bucketID}`),
      'the bucket recorded in status',
    );
    context.remember(influx);
  },
);

const INVALID: Array<[string, Record<string, unknown>, string]> = [
  ['bad url scheme', { url: 'ftp://influxdb:8086', ...SPEC }, 'spec.url'],
  ['url with a query', { url: 'http://influxdb:8086/?org=x', ...SPEC }, 'spec.url'],
  [
    'retention of 60 s',
    { url: 'http://influxdb:8086', ...SPEC, retentionPeriodSeconds: 60 },
    'spec.retentionPeriodSeconds',
  ],
  ['bucket starting with _', { url: 'http://influxdb:8086', ...SPEC, bucket: '_x' }, 'spec.bucket'],
  ['bucket with a double quote', { url: 'http://influxdb:8086', ...SPEC, bucket: 'a"b' }, 'spec.bucket'],
  ['missing username', { url: 'http://influxdb:8086', org: 'acme', bucket: 'metrics' }, 'spec.username'],
  ['missing org', { url: 'http://influxdb:8086', username: 'admin', bucket: 'metrics' }, 'spec.org'],
  ['missing bucket', { url: 'http://influxdb:8086', username: 'admin', org: 'acme' }, 'spec.bucket'],
  ['bad mode', { url: 'http://influxdb:8086', ...SPEC, mode: 'Bootstrap' }, 'spec.mode'],
  [
    'SetupUser without authTokenSecretRef',
    { url: 'http://influxdb:8086', ...SPEC, mode: 'SetupUser' },
    'spec.authTokenSecretRef',
  ],
  [
    'requestTimeoutSeconds 0',
    { url: 'http://influxdb:8086', ...SPEC, requestTimeoutSeconds: 0 },
    'spec.requestTimeoutSeconds',
  ],
];

tests('kubectl apply of each invalid spec is refused by the API server, naming the field', async (context) => {
  const { namespace } = context;
  const { kubectlResult } = await onboardingHarness();
  await Promise.all(
    INVALID.map(async ([what, spec, field], index) => {
      const name = `invalid-${index}`;
      const result = await kubectlResult(
        ['apply', '-f', '-'],
        JSON.stringify(onboardingManifest(namespace, name, spec)),
      );
      assert.is.not(result.code, 0, `${what}: kubectl apply must fail; stdout: ${result.stdout}`);
      assert.ok(result.stderr.includes(field), `${what}: the refusal names ${field}: ${result.stderr}`);
      assert.match(result.stderr, /is invalid/, what);
      assert.is(await getOnboarding(namespace, name), undefined, `${what}: nothing was created`);
    }),
  );
});

tests('username, org and bucket are immutable after creation', async (context) => {
  const { namespace } = context;
  const { kubectl, kubectlResult } = await onboardingHarness();
  const influx = await context.standin();
  const spec = { url: influx.url, ...SPEC };
  await kubectl(['apply', '-f', '-'], JSON.stringify(onboardingManifest(namespace, 'fixed', spec)));
  for (const field of ['username', 'org', 'bucket'] as const) {
    const result = await kubectlResult(
      ['apply', '-f', '-'],
      JSON.stringify(onboardingManifest(namespace, 'fixed', { ...spec, [field]: 'changed' })),
    );
    assert.is.not(result.code, 0, `changing ${field} must fail`);
    assert.match(result.stderr, `spec.${field}`);
    assert.match(result.stderr, 'immutable');
  }
  const current = await getOnboarding(namespace, 'fixed');
  assert.equal([current?.spec.username, current?.spec.org, current?.spec.bucket], ['admin', 'acme', 'metrics']);
  // A mutable field still changes.
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify(onboardingManifest(namespace, 'fixed', { ...spec, requestTimeoutSeconds: 20 })),
  );
  assert.is((await getOnboarding(namespace, 'fixed'))?.spec.requestTimeoutSeconds, 20);
  await waitForReason(namespace, 'fixed', 'Onboarded');
  context.ledger.addSecret(await getSecret(namespace, 'fixed-influxdb'));
  context.remember(influx);
});

closingChecks(tests, 10);

tests.run();
