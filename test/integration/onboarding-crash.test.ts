// End to end on a real control plane: the operator is SIGKILLed at the two moments where a
// naive onboarding loses the only copy of the token, and a new operator process must converge
// on the credentials that were already written down.
//   (a) after the Secret was written, before InfluxDB processed the setup request;
//   (b) after InfluxDB processed the setup request, before its answer (and the status) landed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OnboardingFile,
  createOnboarding,
  deleteSecret,
  getOnboarding,
  getSecret,
  onboardingHarness,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const tests = suite<OnboardingFile>('onboarding crash safety', new OnboardingFile());

tests.before((file) => file.setUp('onb-crash', { withOperator: false }));
tests.after((file) => file.tearDown());

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

tests(
  'killed after the Secret write, before InfluxDB processed the setup: the next operator sets it up with the Secret token',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    // The setup request arrives and is never processed nor answered.
    influx.knobs.failNext(1, 'hang', { method: 'POST', path: '/api/v2/setup' });
    const first = await context.startOperator();
    await createOnboarding(namespace, 'before-post', { url: influx.url, ...SPEC });

    const written = await eventually('the Secret, then the setup request in flight', async () => {
      const secret = await getSecret(namespace, 'before-post-influxdb');
      return secret && requestsTo(influx.requests, 'POST', '/api/v2/setup') === 1 ? secret : undefined;
    });
    await first.kill();
    context.ledger.addSecret(written);
    assert.is(influx.onboarded(), undefined, 'InfluxDB did not process the request');
    const sent = influx.requests.find((request) => request.method === 'POST')?.body as Record<string, unknown>;
    assert.is(sent.token, written.data.token, 'the request carried the token already in the Secret');

    await context.startOperator();
    const ready = await waitForReason(namespace, 'before-post', 'Onboarded');
    assert.is(readyOf(ready)?.status, 'True');
    const secret = await getSecret(namespace, 'before-post-influxdb');
    assert.equal(secret?.data, written.data, 'the Secret kept the credentials written before the kill');
    assert.is(influx.onboarded()?.token, written.data.token, "InfluxDB's token is the one in the Secret");
    assert.is(influx.onboarded()?.password, written.data.password);
    assert.equal(influx.tokens(), [written.data.token]);
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 2, 'the lost request and the one that worked');
    assert.is(ready.status?.orgID, influx.onboarded()?.orgID);
    context.remember(influx);
    // This file's operators run one at a time.
    await context.operators.at(-1)?.terminate();
  },
);

tests(
  'killed after InfluxDB processed the setup, before the answer: the next operator adopts what the Secret holds',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    influx.knobs.answerDelayMs = 60_000;
    const first = await context.startOperator();
    await createOnboarding(namespace, 'after-post', { url: influx.url, ...SPEC });

    const setUp = await eventually('InfluxDB to process the setup', () => influx.onboarded());
    await first.kill();
    influx.knobs.answerDelayMs = 0;
    const written = await getSecret(namespace, 'after-post-influxdb');
    assert.ok(written, 'the Secret was written before the request');
    context.ledger.addSecret(written);
    assert.is(written.data.token, setUp.token, 'the Secret already held the token InfluxDB now knows');
    const beforeRestart = await getOnboarding(namespace, 'after-post');
    assert.not.ok(readyOf(beforeRestart)?.status === 'True', 'the killed operator never reported success');

    await context.startOperator();
    const ready = await waitForReason(namespace, 'after-post', 'Onboarded');
    assert.is(readyOf(ready)?.status, 'True');
    const secret = await getSecret(namespace, 'after-post-influxdb');
    assert.equal(secret?.data, written.data, 'the same credentials');
    assert.equal(influx.tokens(), [written.data.token], 'exactly one authorization, holding that token');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1, 'exactly one setup');
    assert.equal(
      [ready.status?.userID, ready.status?.orgID, ready.status?.bucketID, ready.status?.authorizationID],
      [setUp.userID, setUp.orgID, setUp.bucketID, setUp.authorizationID],
      'IDs filled in by lookup',
    );
    assert.ok(ready.status?.onboardedAt, 'onboardedAt is set');
    context.remember(influx);
    await context.operators.at(-1)?.terminate();
  },
);

tests(
  'two operator processes at once (a rolling update without leader election): each instance ends with the token in its Secret',
  async (context) => {
    const { namespace } = context;
    const [one, two] = await Promise.all([context.startOperator(), context.startOperator()]);
    const names = ['race-a', 'race-b', 'race-c', 'race-d', 'race-e', 'race-f'];
    const influxes = await Promise.all(names.map(() => context.standin()));
    await Promise.all(
      names.map((name, index) => createOnboarding(namespace, name, { url: influxes[index]?.url, ...SPEC })),
    );
    for (const [index, name] of names.entries()) {
      const influx = influxes[index];
      const ready = await waitForReason(namespace, name, 'Onboarded');
      assert.is(readyOf(ready)?.status, 'True', name);
      const secret = await getSecret(namespace, `${name}-influxdb`);
      context.ledger.addSecret(secret);
      context.remember(influx);
      assert.equal(influx.tokens(), [secret?.data.token], `${name}: InfluxDB knows exactly the token in the Secret`);
      assert.is(influx.onboarded()?.password, secret?.data.password, `${name}: and the password`);
    }
    await Promise.all([one.terminate(), two.terminate()]);
  },
);

tests(
  'a restart over Ready resources: a resource created meanwhile is reconciled first, and each Ready one gets the one-request drift check',
  async (context) => {
    const { namespace } = context;
    const names = ['settled-a', 'settled-b', 'settled-c', 'settled-d'];
    const influxes = await Promise.all(names.map(() => context.standin()));
    const first = await context.startOperator();
    await Promise.all(
      names.map((name, index) => createOnboarding(namespace, name, { url: influxes[index]?.url, ...SPEC })),
    );
    for (const name of names) await waitForReason(namespace, name, 'Onboarded');
    assert.is(await first.terminate(), 'exit code 0');

    // Named to be listed last: only its priority can put it first.
    const pending = await context.standin();
    await createOnboarding(namespace, 'zz-pending', { url: pending.url, ...SPEC });
    const restarted = await context.startOperator(['--concurrency=1']);
    await waitForReason(namespace, 'zz-pending', 'Onboarded');
    const reconciled = await eventually('a reconcile of every resource after the restart', () => {
      const records = restarted.records().filter((record) => record.message === 'reconciled');
      const seen = new Set(records.map((record) => record['resource']));
      return [...names, 'zz-pending'].every((name) => seen.has(`${namespace}/${name}`)) ? records : undefined;
    });
    assert.is(reconciled[0]?.['resource'], `${namespace}/zz-pending`, 'the new resource went before the Ready ones');
    for (const name of names) {
      const firstCheck = reconciled.find((record) => record['resource'] === `${namespace}/${name}`);
      assert.equal(
        firstCheck?.['steps'],
        ['checkBucket'],
        `${name}: one request, GET /api/v2/buckets/{id}, proves it is still Ready`,
      );
    }
    for (const influx of [...influxes, pending]) context.remember(influx);
    for (const name of [...names, 'zz-pending'])
      context.ledger.addSecret(await getSecret(namespace, `${name}-influxdb`));
    assert.is(await restarted.terminate(), 'exit code 0');
  },
);

tests(
  'the API server restarts under a running operator: it keeps onboarding and keeps watching Secrets',
  async (context) => {
    const { namespace } = context;
    const { controlPlane } = await onboardingHarness();
    const running = await context.startOperator();
    const [before, after] = [await context.standin(), await context.standin()];
    await createOnboarding(namespace, 'before-restart', { url: before.url, ...SPEC });
    await waitForReason(namespace, 'before-restart', 'Onboarded');

    await controlPlane.restartApiServer();
    await createOnboarding(namespace, 'after-restart', { url: after.url, ...SPEC });
    await waitForReason(namespace, 'after-restart', 'Onboarded', 60_000);
    const secret = await getSecret(namespace, 'before-restart-influxdb');
    assert.ok(secret);
    context.ledger.addSecret(secret);
    await deleteSecret(namespace, 'before-restart-influxdb');
    const restored = await eventually(
      'the Secret deleted after the restart to be re-created',
      async () => {
        const current = await getSecret(namespace, 'before-restart-influxdb');
        return current && current.raw.metadata?.uid !== secret.raw.metadata?.uid ? current : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(restored.data, secret.data);
    assert.is(
      running.records().some((record) => record.message === 'stopped'),
      false,
      'the operator did not stop',
    );
    assert.is(requestsTo(after.requests, 'POST', '/api/v2/setup'), 1);
    context.remember(before);
    context.remember(after);
  },
);

tests('SIGTERM stops the running operator cleanly', async (context) => {
  const running = context.operators.filter((operator) =>
    operator.records().every((record) => record.message !== 'stopped'),
  );
  const outcomes = await Promise.all(running.map((operator) => operator.terminate()));
  // The SIGKILLed ones, and the one still running.
  assert.equal(
    outcomes.filter((outcome) => outcome !== 'SIGKILL'),
    ['exit code 0'],
  );
});

tests('secrecy: no password or token of this file in any operator output, Event or status', async (context) => {
  assert.is(context.operators.length, 9);
  await context.assertNoSecretLeaked(4);
});

tests.run();
