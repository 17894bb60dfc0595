// End to end on real InfluxDB: the operator as a process on the real control plane, onboarding
// real influxd v2.7.12 and v2.9.1 (built from Go modules), with a recording proxy in front of the
// server so the tests can count what reached it and cut an exchange at the worst moment. Every
// success is proven by using the Secret as an application would: a write and a Flux query with
// its token, a sign-in with its password.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createInfluxClient } from '../../src/influx/client.js';
import { useCredentials } from '../support/influx-app.js';
import { REAL_VERSIONS, type InfluxServer } from '../support/influxdb.js';
import {
  annotateOnboarding,
  consentTo,
  createOnboarding,
  createSecret,
  eventsOnceRecorded,
  getOnboarding,
  onboardingEvents,
  onboardingHarness,
  onboardingManifest,
  readyOf,
  requestsTo,
  waitForReason,
  patchOnboardingSpec,
  updateSecretData,
  type SecretView,
} from '../support/onboarding.js';
import { RealInfluxFile, SETUP, SPEC, credentialsOf } from '../support/real-influx-file.js';
import { eventually, sleep } from '../support/wait.js';

/** The authorizations of the user the token belongs to, as InfluxDB lists them. */
async function authorizationsOf(server: InfluxServer, token: string, userID: string): Promise<string[]> {
  const client = createInfluxClient({ baseUrl: server.url, timeoutMs: 10_000 });
  try {
    const listed = await client.listAuthorizations(token, { userID });
    if (!listed.ok) throw new Error(`listing authorizations failed: ${listed.failure.message}`);
    return listed.value.map((entry) => entry.id);
  } finally {
    client.close();
  }
}

for (const version of REAL_VERSIONS) {
  const tests = suite<RealInfluxFile>(`onboarding real influxd ${version}`, new RealInfluxFile(version));
  tests.before((file) => file.setUp(`real-${version.replace(/\./g, '-')}`));
  tests.after((file) => file.tearDown());

  tests(
    'a fresh instance is Onboarded: the retention is exact, the token writes and queries, the password signs in',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'fresh', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'fresh', 'Onboarded', 60_000);
      assert.is(readyOf(ready)?.status, 'True');
      assert.is(ready.status?.influxdbVersion, version);
      assert.is(proxy.forwarded(SETUP), 1, 'exactly one setup');

      const secret = await context.secret('fresh-influxdb');
      assert.is(secret.data.url, proxy.url);
      const bucket = await server.admin.bucket(secret.data.token ?? '', ready.status?.bucketID ?? '');
      assert.equal(
        [bucket.name, bucket.everySeconds],
        ['metrics', 7200],
        'the bucket has exactly the declared retention',
      );
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
    },
  );

  tests(
    'set up by someone else: AlreadyOnboarded with no setup attempted; then Adopted through tokenSecretRef',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      const theirs = await server.admin.setUp({
        username: 'admin',
        password: 'someone-elses-pass',
        org: 'acme',
        bucket: 'metrics',
      });
      context.ledger.add(theirs.token, 'someone-elses-pass');
      await createOnboarding(namespace, 'taken', { url: proxy.url, ...SPEC });
      await waitForReason(namespace, 'taken', 'AlreadyOnboarded', 60_000);
      assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 0, 'no setup was attempted');

      await createSecret(
        namespace,
        'taken-admin',
        { token: theirs.token, password: 'someone-elses-pass' },
        consentTo(proxy.url),
      );
      await patchOnboardingSpec(namespace, 'taken', {
        tokenSecretRef: { name: 'taken-admin', key: 'token' },
        passwordSecretRef: { name: 'taken-admin', key: 'password' },
      });
      const adopted = await waitForReason(namespace, 'taken', 'Adopted', 60_000);
      assert.is(readyOf(adopted)?.status, 'True');
      assert.equal([adopted.status?.orgID, adopted.status?.bucketID], [theirs.orgID, theirs.bucketID]);
      const secret = await context.secret('taken-influxdb');
      assert.is(secret.data.token, theirs.token);
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
    },
  );

  tests(
    'issue 9: adopting an instance set up with org theirs and user someone: org acme and bucket metrics created, the Secret names someone, the mismatch reported; the Secret works',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      const theirs = await server.admin.setUp({
        username: 'someone',
        password: 'someone-elses-pass',
        org: 'theirs',
        bucket: 'their-bucket',
      });
      context.ledger.add(theirs.token, 'someone-elses-pass');
      await createSecret(namespace, 'theirs-admin', { token: theirs.token }, consentTo(proxy.url));
      await createOnboarding(namespace, 'theirs', {
        url: proxy.url,
        ...SPEC,
        tokenSecretRef: { name: 'theirs-admin', key: 'token' },
      });
      const adopted = await waitForReason(namespace, 'theirs', 'Adopted', 60_000);
      assert.is(readyOf(adopted)?.status, 'True');
      assert.match(readyOf(adopted)?.message ?? '', 'The token belongs to user someone, not spec.username admin');
      assert.equal(
        [adopted.status?.username, adopted.status?.userID, adopted.status?.adopted],
        ['someone', theirs.userID, true],
      );
      assert.ok(adopted.status?.orgID && adopted.status.orgID !== theirs.orgID, 'a new org');
      const secret = await context.secret('theirs-influxdb');
      assert.equal(
        [secret.data.org, secret.data.bucket, secret.data.username, secret.data.token],
        ['acme', 'metrics', 'someone', theirs.token],
      );
      const bucket = await server.admin.bucket(theirs.token, adopted.status?.bucketID ?? '');
      assert.equal([bucket.name, bucket.orgID, bucket.everySeconds], ['metrics', adopted.status?.orgID, 7200]);
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1 });
      const events = await eventsOnceRecorded(namespace, 'theirs', 'Adopted');
      const event = events.find((entry) => entry.reason === 'Adopted');
      assert.match(event?.message ?? '', 'not spec.username admin');
      assert.match(event?.message ?? '', 'created org acme; created bucket metrics with retention 7200 s');
      assert.is(proxy.forwarded(SETUP), 0, 'no setup');
    },
  );

  tests(
    'day two: a retention changed after onboarding is applied (infinite -> 1 day -> infinite), a deleted bucket is re-created; the Secret keeps working',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'daytwo', { url: proxy.url, ...SPEC, retentionPeriodSeconds: 0 });
      const ready = await waitForReason(namespace, 'daytwo', 'Onboarded', 60_000);
      const secret = await context.secret('daytwo-influxdb');
      const token = secret.data.token ?? '';
      const bucketID = ready.status?.bucketID ?? '';
      assert.is((await server.admin.bucket(token, bucketID)).everySeconds, 0);

      // Infinite retention has 7-day shard groups: 1 day needs the shard-group duration changed too.
      for (const [retention, shards] of [
        [86_400, 3600],
        [0, 604_800],
      ] as const) {
        await patchOnboardingSpec(namespace, 'daytwo', { retentionPeriodSeconds: retention });
        await eventually(`retention ${retention} s read back`, async () => {
          const bucket = await server.admin.bucket(token, bucketID);
          return bucket.everySeconds === retention && bucket.shardGroupDurationSeconds === shards;
        });
        const after = await getOnboarding(namespace, 'daytwo');
        assert.is(readyOf(after)?.reason, 'Onboarded');
      }

      await server.admin.deleteBucket(token, bucketID);
      const repaired = await eventually('the bucket re-created', async () => {
        const current = await getOnboarding(namespace, 'daytwo');
        return current?.status?.bucketID !== undefined && current.status.bucketID !== bucketID && current;
      });
      assert.is(readyOf(repaired)?.reason, 'Onboarded');
      assert.is((await server.admin.bucket(token, repaired?.status?.bucketID ?? '')).name, 'metrics');
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
      const notes = (
        await eventsOnceRecorded(namespace, 'daytwo', 'Repaired', {
          matching: (entry) => entry.message.includes('created bucket metrics'),
        })
      )
        .filter((entry) => entry.reason === 'Repaired')
        .map((entry) => entry.message);
      assert.ok(
        notes.some((note) => note.includes('created bucket metrics')),
        notes.join(' | '),
      );
    },
  );

  tests(
    "an org deleted behind the operator's back takes its bucket along: the one-request drift check sees it, the full check re-creates both",
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'orgless', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'orgless', 'Onboarded', 60_000);
      const secret = await context.secret('orgless-influxdb');
      const token = secret.data.token ?? '';
      await server.admin.deleteOrg(token, ready.status?.orgID ?? '');
      const repaired = await eventually(
        'the org and bucket re-created',
        async () => {
          const current = await getOnboarding(namespace, 'orgless');
          return current?.status?.orgID !== ready.status?.orgID && readyOf(current)?.reason === 'Onboarded' && current;
        },
        { timeoutMs: 30_000 },
      );
      const bucket = await server.admin.bucket(token, repaired?.status?.bucketID ?? '');
      assert.equal([bucket.name, bucket.orgID, bucket.everySeconds], ['metrics', repaired?.status?.orgID, 7200]);
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
      const notes = (
        await eventsOnceRecorded(namespace, 'orgless', 'Repaired', {
          matching: (entry) =>
            entry.message.includes('created org acme') && entry.message.includes('created bucket metrics'),
        })
      )
        .filter((entry) => entry.reason === 'Repaired')
        .map((entry) => entry.message);
      assert.ok(
        notes.some((note) => note.includes('created org acme') && note.includes('created bucket metrics')),
        notes.join(' | '),
      );
    },
  );

  tests(
    'password rotation: a new passwordSecretRef value, then another ref, then the rotate-password annotation; each set in InfluxDB and proven by sign-in, the old password refused',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createSecret(namespace, 'rot-admin', { password: 'first-password-1' }, consentTo(proxy.url));
      await createOnboarding(namespace, 'rot', {
        url: proxy.url,
        ...SPEC,
        passwordSecretRef: { name: 'rot-admin', key: 'password' },
      });
      await waitForReason(namespace, 'rot', 'Onboarded', 60_000);
      const first = await context.secret('rot-influxdb');
      assert.equal(await useCredentials(credentialsOf(first, server)), { me: 200, rows: 1, signIn: 204 });

      let rotatedAt: string | undefined;
      const rotatedTo = async (password: string, previous: string): Promise<SecretView> => {
        const secret = await eventually(`the Secret to hold the new password`, async () => {
          const current = await context.secret('rot-influxdb');
          return current.data.password === password && current;
        });
        const ready = await eventually('status.passwordRotatedAt to move on', async () => {
          const current = await getOnboarding(namespace, 'rot');
          return (
            current?.status?.passwordRotatedAt !== undefined &&
            current.status.passwordRotatedAt !== rotatedAt &&
            current
          );
        });
        rotatedAt = ready.status?.passwordRotatedAt;
        assert.is(readyOf(ready)?.reason, 'Onboarded');
        assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
        assert.is(await server.admin.signInStatus('admin', previous), 401, 'the old password no longer signs in');
        assert.is(secret.data['pending-password'], undefined);
        return secret;
      };

      // The referenced value changes.
      await updateSecretData(namespace, 'rot-admin', { password: 'second-password-2' });
      await rotatedTo('second-password-2', 'first-password-1');
      // The reference changes.
      await createSecret(namespace, 'rot-admin-2', { password: 'third-password-3' }, consentTo(proxy.url));
      await patchOnboardingSpec(namespace, 'rot', { passwordSecretRef: { name: 'rot-admin-2', key: 'password' } });
      await rotatedTo('third-password-3', 'second-password-2');
      // Without a reference: a generated password on request.
      await patchOnboardingSpec(namespace, 'rot', { passwordSecretRef: null });
      await waitForReason(namespace, 'rot', 'Onboarded', 30_000);
      await annotateOnboarding(namespace, 'rot', { 'influxdb.onboarding.dev/rotate-password': '2026-12-01' });
      const generated = await eventually('a generated password in the Secret', async () => {
        const current = await context.secret('rot-influxdb');
        return (
          current.data.password !== 'third-password-3' && current.data['pending-password'] === undefined && current
        );
      });
      assert.is(generated.raw.metadata?.annotations?.['influxdb.onboarding.dev/password-rotation'], '2026-12-01');
      await rotatedTo(generated.data.password ?? '', 'third-password-3');
      // A set is repeated only when its Secret write did not land (a 409 on a stale cache read), so
      // there are at least three; and drift checks of the settled resource set nothing.
      const changes = () =>
        proxy.requests.filter(
          (request) => request.method === 'POST' && /^\/api\/v2\/users\/[0-9a-f]+\/password$/.test(request.path),
        ).length;
      const settled = changes();
      assert.ok(settled >= 3, `${settled} password changes`);
      await sleep(3000);
      assert.is(changes(), settled, 'no password change in three drift checks');
      const rotations = (await onboardingEvents(namespace, 'rot')).filter(
        (event) => event.reason === 'PasswordRotated',
      );
      assert.is(rotations.length, 3);
      // Each sign-in check signed out again.
      assert.is(
        requestsTo(proxy.requests, 'POST', '/api/v2/signin'),
        requestsTo(proxy.requests, 'POST', '/api/v2/signout'),
      );
    },
  );

  tests(
    'SetupFailed (InfluxDB refused the setup) waits for a spec change: one request, no loop; a spec change posts again',
    async (context) => {
      const { namespace } = context;
      const { proxy } = await context.fresh();
      proxy.disturbNext('refuse', SETUP);
      await createOnboarding(namespace, 'refused', { url: proxy.url, ...SPEC });
      const failed = await waitForReason(namespace, 'refused', 'SetupFailed', 60_000);
      assert.match(readyOf(failed)?.message ?? '', 'nothing is sent again until the spec changes');
      await sleep(4000);
      assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 1, 'no retry loop');
      await patchOnboardingSpec(namespace, 'refused', { retentionPeriodSeconds: 3600 });
      await waitForReason(namespace, 'refused', 'Onboarded', 60_000);
      assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 2);
    },
  );

  for (const [how, revoke] of [
    ['deleted', (server: InfluxServer, token: string, id: string) => server.admin.deleteAuthorization(token, id)],
    [
      'deactivated',
      (server: InfluxServer, token: string, id: string) => server.admin.setAuthorizationStatus(token, id, 'inactive'),
    ],
  ] as const) {
    tests(
      `the operator token ${how} behind the operator's back: TokenInvalid at the next drift check`,
      async (context) => {
        const { namespace } = context;
        const { server, proxy } = await context.fresh();
        const name = `revoked-${how}`;
        await createOnboarding(namespace, name, { url: proxy.url, ...SPEC });
        const ready = await waitForReason(namespace, name, 'Onboarded', 60_000);
        const secret = await context.secret(`${name}-influxdb`);
        await revoke(server, secret.data.token ?? '', ready.status?.authorizationID ?? '');
        const invalid = await waitForReason(namespace, name, 'TokenInvalid', 30_000);
        assert.is(readyOf(invalid)?.status, 'False');
        assert.is(await server.admin.meStatus(secret.data.token ?? ''), 401, 'the token really is dead');
        assert.is(proxy.forwarded(SETUP), 1, 'no second setup');
      },
    );
  }

  tests(
    'the instance wiped: set up again (event Reonboarded) with the same token and password, both proven by use',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'wiped', { url: proxy.url, ...SPEC });
      await waitForReason(namespace, 'wiped', 'Onboarded', 60_000);
      const before = await context.secret('wiped-influxdb');

      await server.wipe();
      await eventsOnceRecorded(namespace, 'wiped', 'Reonboarded', { timeoutMs: 60_000 });
      const again = await waitForReason(namespace, 'wiped', 'Onboarded', 30_000);
      assert.is(readyOf(again)?.status, 'True');
      const after = await context.secret('wiped-influxdb');
      assert.equal(after.data, before.data, 'the Secret did not change');
      assert.is(proxy.forwarded(SETUP), 2, 'one setup before the wipe, one after');
      assert.equal(await useCredentials(credentialsOf(after, server)), { me: 200, rows: 1, signIn: 204 });
    },
  );

  tests(
    'bad bucket names and retentions never reach InfluxDB: refused by the API server and by the client; the instance stays fresh',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      const { kubectlResult } = await onboardingHarness();
      for (const [index, bad] of [
        { bucket: '_x' },
        { bucket: 'a"b' },
        { retentionPeriodSeconds: 60 },
        { retentionPeriodSeconds: -1 },
      ].entries()) {
        const manifest = onboardingManifest(namespace, `bad-${index}`, { url: proxy.url, ...SPEC, ...bad });
        const applied = await kubectlResult(['apply', '-f', '-'], JSON.stringify(manifest));
        assert.is.not(applied.code, 0, `kubectl apply of ${JSON.stringify(bad)} must fail`);
        assert.is(await getOnboarding(namespace, `bad-${index}`), undefined);

        // The operator's own guard, should a bad value ever get past the schema.
        const client = createInfluxClient({ baseUrl: proxy.url, timeoutMs: 10_000 });
        const outcome = await client.setup({
          username: 'admin',
          password: 'a-good-password',
          org: 'acme',
          bucket: 'metrics',
          retentionPeriodSeconds: 0,
          token: 'tok-0123456789',
          ...bad,
        });
        client.close();
        assert.equal(
          outcome.ok || outcome.failure.kind !== 'rejected' ? outcome : [outcome.failure.kind, outcome.failure.status],
          ['rejected', 0],
          `refused locally: ${JSON.stringify(bad)}`,
        );
      }
      assert.is(proxy.requests.length, 0, 'nothing reached InfluxDB');
      assert.is(await server.admin.setupAllowed(), true, 'the instance is still fresh');
    },
  );

  tests('mode SetupUser: Unsupported after exactly one request to /api/v2/setup/user', async (context) => {
    const { namespace } = context;
    const { server, proxy } = await context.fresh();
    const root = await server.admin.setUp({
      username: 'root',
      password: 'root-password-1',
      org: 'root-org',
      bucket: 'root-bucket',
    });
    context.ledger.add(root.token, 'root-password-1');
    await createSecret(namespace, 'root-token', { token: root.token }, consentTo(proxy.url));
    await createOnboarding(namespace, 'team', {
      url: proxy.url,
      username: 'team',
      org: 'team-org',
      bucket: 'team-bucket',
      mode: 'SetupUser',
      authTokenSecretRef: { name: 'root-token', key: 'token' },
    });
    const unsupported = await waitForReason(namespace, 'team', 'Unsupported', 60_000);
    assert.is(readyOf(unsupported)?.status, 'False');
    await sleep(4000);
    assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup/user'), 1, 'no retry loop');
    assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 0);
  });

  tests(
    'SIGKILL between the Secret write and the setup request: the next operator sets up with the Secret token; exactly one setup',
    async (context) => {
      const namespace = await context.unwatchedNamespace();
      const { server, proxy } = await context.fresh();
      // The request reaches the proxy and goes no further: InfluxDB never sees it.
      proxy.disturbNext('hold', SETUP);
      const first = await context.startOperator([], [namespace]);
      await createOnboarding(namespace, 'kill-before', { url: proxy.url, ...SPEC });
      await proxy.disturbed();
      const written = await context.secret('kill-before-influxdb', namespace);
      await first.kill();
      assert.is(await server.admin.setupAllowed(), true, 'InfluxDB did not process anything');

      const second = await context.startOperator([], [namespace]);
      const ready = await waitForReason(namespace, 'kill-before', 'Onboarded', 60_000);
      assert.is(readyOf(ready)?.status, 'True');
      assert.is(proxy.forwarded(SETUP), 1, 'exactly one setup reached InfluxDB');
      const secret = await context.secret('kill-before-influxdb', namespace);
      assert.equal(secret.data, written.data, 'the credentials written before the kill');
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
      await second.terminate();
    },
  );

  tests(
    'SIGKILL after InfluxDB processed the setup, before its answer arrived: Ready with the token InfluxDB accepted',
    async (context) => {
      const namespace = await context.unwatchedNamespace();
      const { server, proxy } = await context.fresh();
      proxy.disturbNext('dropAnswer', SETUP);
      const first = await context.startOperator([], [namespace]);
      await createOnboarding(namespace, 'kill-after', { url: proxy.url, ...SPEC });
      await proxy.disturbed();
      await first.kill();
      assert.is(await server.admin.setupAllowed(), false, 'InfluxDB processed the setup');
      const written = await context.secret('kill-after-influxdb', namespace);
      assert.not.ok(
        readyOf(await getOnboarding(namespace, 'kill-after'))?.status === 'True',
        'the killed operator never reported success',
      );

      const second = await context.startOperator([], [namespace]);
      const ready = await waitForReason(namespace, 'kill-after', 'Onboarded', 60_000);
      assert.is(readyOf(ready)?.status, 'True');
      assert.is(proxy.forwarded(SETUP), 1, 'exactly one setup');
      const secret = await context.secret('kill-after-influxdb', namespace);
      assert.equal(secret.data, written.data);
      assert.equal(await useCredentials(credentialsOf(secret, server)), { me: 200, rows: 1, signIn: 204 });
      await second.terminate();
    },
  );

  tests(
    "password rotation SIGKILLed at every step (pending written, set in InfluxDB but unanswered, referenced password set but not written): the next operator finishes it; the Secret's password always known",
    async (context) => {
      const namespace = await context.unwatchedNamespace();
      const { server, proxy } = await context.fresh();
      let operator = await context.startOperator([], [namespace]);
      await createOnboarding(namespace, 'kill-rot', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'kill-rot', 'Onboarded', 60_000);
      const change = { method: 'POST', path: `/api/v2/users/${ready.status?.userID}/password` };
      const signsIn = async (password: string | undefined) =>
        password !== undefined && (await server.admin.signInStatus('admin', password)) === 204;

      const steps: Array<{
        how: 'hold' | 'dropAnswer';
        request: () => Promise<void>;
        influxHas: 'password' | 'pending-password';
        done: (secret: SecretView) => boolean;
      }> = [
        {
          how: 'hold', // killed after the pending password was written, before InfluxDB saw the change
          request: () =>
            annotateOnboarding(namespace, 'kill-rot', { 'influxdb.onboarding.dev/rotate-password': 'kill-1' }),
          influxHas: 'password',
          done: (secret) =>
            secret.raw.metadata?.annotations?.['influxdb.onboarding.dev/password-rotation'] === 'kill-1',
        },
        {
          how: 'dropAnswer', // killed after InfluxDB set the pending password, before it was promoted
          request: () =>
            annotateOnboarding(namespace, 'kill-rot', { 'influxdb.onboarding.dev/rotate-password': 'kill-2' }),
          influxHas: 'pending-password',
          done: (secret) =>
            secret.raw.metadata?.annotations?.['influxdb.onboarding.dev/password-rotation'] === 'kill-2',
        },
        {
          how: 'dropAnswer', // killed after InfluxDB set the referenced password, before the Secret got it
          request: async () => {
            await createSecret(namespace, 'kill-rot-admin', { password: 'referenced-pass-9' }, consentTo(proxy.url));
            await patchOnboardingSpec(namespace, 'kill-rot', {
              passwordSecretRef: { name: 'kill-rot-admin', key: 'password' },
            });
          },
          influxHas: 'password',
          done: (secret) => secret.data.password === 'referenced-pass-9',
        },
      ];
      for (const [index, step] of steps.entries()) {
        proxy.disturbNext(step.how, change);
        await step.request();
        await proxy.disturbed();
        await operator.kill();
        const killed = await context.secret('kill-rot-influxdb', namespace);
        assert.is(await server.admin.meStatus(killed.data.token ?? ''), 200, `step ${index}: the Secret's token works`);
        if (index === 2)
          assert.ok(
            await signsIn('referenced-pass-9'),
            'InfluxDB has the referenced password, which its Secret still holds',
          );
        else
          assert.ok(
            await signsIn(killed.data[step.influxHas]),
            `step ${index}: InfluxDB has the Secret's ${step.influxHas}`,
          );

        operator = await context.startOperator([], [namespace]);
        const settled = await eventually(
          `step ${index}: the rotation finished`,
          async () => {
            const secret = await context.secret('kill-rot-influxdb', namespace);
            return step.done(secret) && secret.data['pending-password'] === undefined && secret;
          },
          { timeoutMs: 60_000 },
        );
        await waitForReason(namespace, 'kill-rot', 'Onboarded', 30_000);
        assert.equal(
          await useCredentials(credentialsOf(settled, server)),
          { me: 200, rows: 1, signIn: 204 },
          `step ${index}`,
        );
      }
      await operator.terminate();
    },
  );

  tests(
    'a new tokenSecretRef on an onboarded resource: a rejected token leaves the Secret alone; an accepted one replaces it, and the old token is not deleted',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'newref', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'newref', 'Onboarded', 60_000);
      const before = await context.secret('newref-influxdb');
      const oldToken = before.data.token ?? '';
      await createSecret(namespace, 'newref-token', { token: 'not-a-token-of-this-instance' }, consentTo(proxy.url));
      await patchOnboardingSpec(namespace, 'newref', { tokenSecretRef: { name: 'newref-token', key: 'token' } });
      const refused = await waitForReason(namespace, 'newref', 'TokenInvalid', 60_000);
      assert.match(readyOf(refused)?.message ?? '', 'rejected the token from Secret newref-token');
      assert.equal((await context.secret('newref-influxdb')).data, before.data, 'the Secret was left as it is');

      const client = createInfluxClient({ baseUrl: server.url, timeoutMs: 10_000 });
      const [setupAuthorization] = await client
        .listAuthorizations(oldToken, { userID: ready.status?.userID ?? '' })
        .then((listed) => (listed.ok ? listed.value : []));
      const made = await client.createAuthorization(oldToken, {
        orgID: setupAuthorization?.orgID ?? '',
        userID: ready.status?.userID ?? '',
        description: 'a second operator token, made by a person',
        permissions: setupAuthorization?.permissions ?? [],
      });
      client.close();
      assert.ok(made.ok);
      if (!made.ok) return;
      context.ledger.add(made.value.token);
      await updateSecretData(namespace, 'newref-token', { token: made.value.token });
      const switched = await eventually('the Secret to hold the new token', async () => {
        const secret = await context.secret('newref-influxdb');
        return secret.data.token === made.value.token && secret;
      });
      await waitForReason(namespace, 'newref', 'Onboarded', 30_000);
      assert.equal(await useCredentials(credentialsOf(switched, server)), { me: 200, rows: 1, signIn: 204 });
      assert.is(await server.admin.meStatus(oldToken), 200, 'the old token was not deleted');
      // The old authorization's ID goes from the status; v2.7 lists tokens, so the new one is found, v2.9+ hashes them.
      assert.is.not(ready.status?.authorizationID, undefined);
      const recorded = await eventually('status.authorizationID of the new token', async () => {
        const current = await getOnboarding(namespace, 'newref');
        return current?.status?.authorizationID !== ready.status?.authorizationID && current;
      });
      assert.is(recorded.status?.authorizationID, version === 'v2.7.12' ? made.value.id : undefined);
    },
  );

  tests(
    'token rotation on request: a new operator token with the same permissions, the old one deleted (401), exactly one operator authorization left; the new one writes, queries and creates orgs',
    async (context) => {
      const { namespace } = context;
      const { server, proxy } = await context.fresh();
      await createOnboarding(namespace, 'tokrot', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'tokrot', 'Onboarded', 60_000);
      const before = await context.secret('tokrot-influxdb');
      const oldToken = before.data.token ?? '';
      const userID = ready.status?.userID ?? '';
      await annotateOnboarding(namespace, 'tokrot', { 'influxdb.onboarding.dev/rotate-token': '2026-12-01' });
      const after = await eventually(
        'the rotated token in the Secret, the replaced authorization gone',
        async () => {
          const secret = await context.secret('tokrot-influxdb');
          const annotations = secret.raw.metadata?.annotations ?? {};
          return (
            secret.data.token !== oldToken &&
            annotations['influxdb.onboarding.dev/replaced-authorization'] === undefined &&
            secret
          );
        },
        { timeoutMs: 60_000 },
      );
      const rotated = await eventually('status.tokenRotatedAt', async () => {
        const current = await getOnboarding(namespace, 'tokrot');
        return current?.status?.tokenRotatedAt !== undefined && current;
      });
      assert.is(readyOf(rotated)?.reason, 'Onboarded');
      const newToken = after.data.token ?? '';
      assert.is(await server.admin.meStatus(oldToken), 401, 'the old token is deleted');
      assert.equal(await useCredentials(credentialsOf(after, server)), { me: 200, rows: 1, signIn: 204 });
      const authorizations = await authorizationsOf(server, newToken, userID);
      assert.equal(
        authorizations,
        [rotated?.status?.authorizationID],
        "exactly one operator authorization, the Secret's",
      );
      assert.is(
        after.raw.metadata?.annotations?.['influxdb.onboarding.dev/authorization-id'],
        rotated?.status?.authorizationID,
      );
      // Global permissions, as the setup token had: it can create an org.
      const client = createInfluxClient({ baseUrl: server.url, timeoutMs: 10_000 });
      const org = await client.createOrg(newToken, 'made-with-the-rotated-token');
      client.close();
      assert.ok(org.ok, 'the rotated token can create orgs');
      const events = (await eventsOnceRecorded(namespace, 'tokrot', 'TokenRotated')).filter(
        (event) => event.reason === 'TokenRotated',
      );
      assert.is(events.length, 1);
    },
  );

  tests(
    "token rotation SIGKILLed at every step (create held, create answered but lost, delete of the old one held): the Secret's token always works, at most one extra authorization, gone after the next reconcile",
    async (context) => {
      const namespace = await context.unwatchedNamespace();
      const { server, proxy } = await context.fresh();
      let operator = await context.startOperator([], [namespace]);
      await createOnboarding(namespace, 'kill-tok', { url: proxy.url, ...SPEC });
      const ready = await waitForReason(namespace, 'kill-tok', 'Onboarded', 60_000);
      const userID = ready.status?.userID ?? '';
      const create = { method: 'POST', path: '/api/v2/authorizations' };
      const steps: Array<{
        how: 'hold' | 'dropAnswer';
        match: (secret: SecretView) => { method: string; path: string };
        extra: number;
      }> = [
        { how: 'hold', match: () => create, extra: 0 }, // InfluxDB never saw the create
        { how: 'dropAnswer', match: () => create, extra: 1 }, // created, its token lost: an orphan
        {
          how: 'hold',
          match: (secret) => ({
            method: 'DELETE',
            path: `/api/v2/authorizations/${secret.raw.metadata?.annotations?.['influxdb.onboarding.dev/authorization-id'] ?? ready.status?.authorizationID}`,
          }),
          extra: 1,
        }, // the new token written, the old one not deleted yet
      ];
      for (const [index, step] of steps.entries()) {
        const before = await context.secret('kill-tok-influxdb', namespace);
        proxy.disturbNext(step.how, step.match(before));
        await annotateOnboarding(namespace, 'kill-tok', { 'influxdb.onboarding.dev/rotate-token': `kill-${index}` });
        await proxy.disturbed();
        await operator.kill();
        const killed = await context.secret('kill-tok-influxdb', namespace);
        const token = killed.data.token ?? '';
        assert.is(await server.admin.meStatus(token), 200, `step ${index}: the Secret's token works`);
        assert.is(
          (await authorizationsOf(server, token, userID)).length,
          1 + step.extra,
          `step ${index}: ${step.extra} extra authorization(s)`,
        );

        operator = await context.startOperator([], [namespace]);
        const settled = await eventually(
          `step ${index}: the rotation finished and cleaned up`,
          async () => {
            const secret = await context.secret('kill-tok-influxdb', namespace);
            const annotations = secret.raw.metadata?.annotations ?? {};
            if (
              annotations['influxdb.onboarding.dev/token-rotation'] !== `kill-${index}` ||
              annotations['influxdb.onboarding.dev/replaced-authorization'] !== undefined
            )
              return undefined;
            return (await authorizationsOf(server, secret.data.token ?? '', userID)).length === 1 && secret;
          },
          { timeoutMs: 60_000 },
        );
        await waitForReason(namespace, 'kill-tok', 'Onboarded', 30_000);
        assert.equal(
          await useCredentials(credentialsOf(settled, server)),
          { me: 200, rows: 1, signIn: 204 },
          `step ${index}`,
        );
        assert.is.not(settled.data.token, before.data.token, `step ${index}: a new token`);
        assert.is(
          await server.admin.meStatus(before.data.token ?? ''),
          401,
          `step ${index}: the replaced token is dead`,
        );
      }
      await operator.terminate();
    },
  );

  tests('secrecy: no password or token of this file in any operator output, Event or status', async (context) => {
    for (const proxy of context.proxies) context.ledger.addRequests(proxy.requests);
    await eventually('the first operator to have logged a reconcile', () =>
      context.operator.records().some((record) => record.message === 'reconciled'),
    );
    await context.assertNoSecretLeaked(8);
  });

  tests.run();
}
