// End to end on a real control plane: Secrets the operator does not own (referenced ones, one in
// the way of the credentials Secret), and its own ones when another resource references them,
// wake the resource that depends on them at once. The operator
// runs with a 60 s backoff and drift interval, so anything faster than that came from the Secret watch. The operator's
// own Secret write, coming back through the watch, wakes nobody who knows it already. A resource
// waiting behind another for the same instance is woken when that one goes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OnboardingFile,
  annotateSecret,
  consentTo,
  createOnboarding,
  createSecret,
  deleteOnboarding,
  deleteSecret,
  getSecret,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const tests = suite<OnboardingFile>('onboarding wakes on the Secrets it depends on', new OnboardingFile());

const BACKOFF = ['--backoff-base=60s', '--backoff-max=60s', '--drift-check-interval=60s'];
// Well under the 60 s backoff, with room for a loaded machine.
const WAKE_MS = 20_000;

tests.before(async (file) => {
  await file.setUp('onb-watch', { withOperator: false });
  await file.startOperator(BACKOFF);
});
tests.after((file) => file.tearDown());

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

tests('a referenced password Secret created after the resource is used at once', async (context) => {
  const { namespace } = context;
  const influx = await context.standin();
  await createOnboarding(namespace, 'late-ref', {
    url: influx.url,
    ...SPEC,
    passwordSecretRef: { name: 'late-password', key: 'password' },
  });
  const waiting = await waitForReason(namespace, 'late-ref', 'SecretNotFound');
  assert.match(readyOf(waiting)?.message ?? '', 'late-password');

  const password = 'Late-Passw0rd-4f1c9e';
  context.ledger.add(password);
  await createSecret(namespace, 'late-password', { password }, consentTo(influx.url));
  await waitForReason(namespace, 'late-ref', 'Onboarded', WAKE_MS);
  assert.is(influx.onboarded()?.password, password);
  context.remember(influx);
});

tests('a foreign Secret in the way: SecretConflict, and onboarded as soon as it is removed', async (context) => {
  const { namespace } = context;
  const influx = await context.standin();
  await createSecret(namespace, 'blocked-influxdb', { note: "not the operator's" });
  await createOnboarding(namespace, 'blocked', { url: influx.url, ...SPEC });
  await waitForReason(namespace, 'blocked', 'SecretConflict');
  assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 0);

  await deleteSecret(namespace, 'blocked-influxdb');
  await waitForReason(namespace, 'blocked', 'Onboarded', WAKE_MS);
  const secret = await getSecret(namespace, 'blocked-influxdb');
  assert.is(secret?.data.token, influx.onboarded()?.token);
  context.ledger.addSecret(secret);
  context.remember(influx);
});

tests(
  "a referenced Secret the operator writes (another resource's credentials) wakes the resource at once",
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    const other = await context.standin();
    await createOnboarding(namespace, 'borrower', {
      url: other.url,
      ...SPEC,
      passwordSecretRef: { name: 'lender-influxdb', key: 'password' },
    });
    await waitForReason(namespace, 'borrower', 'SecretNotFound');

    await createOnboarding(namespace, 'lender', { url: influx.url, ...SPEC });
    await waitForReason(namespace, 'lender', 'Onboarded');
    // The operator's own Secret names no URL it may be sent to: found, and refused, well before the backoff.
    const refused = await waitForReason(namespace, 'borrower', 'SecretNotPermitted', WAKE_MS);
    assert.match(readyOf(refused)?.message ?? '', 'lender-influxdb');
    assert.is(requestsTo(other.requests, 'POST', '/api/v2/setup'), 0);
    context.ledger.addSecret(await getSecret(namespace, 'lender-influxdb'));
    context.remember(influx);
  },
);

tests(
  'its own Secret write does not wake the resource again; a change someone else makes to that Secret does',
  async (context) => {
    const { namespace, operator } = context;
    const influx = await context.standin();
    await createOnboarding(namespace, 'quiet', { url: influx.url, ...SPEC });
    await waitForReason(namespace, 'quiet', 'Onboarded');
    const secret = await getSecret(namespace, 'quiet-influxdb');
    context.ledger.addSecret(secret);
    // Every reconcile of the resource logs one of these two (the operator runs at debug level).
    const visits = () =>
      operator
        .records()
        .filter(
          (record) =>
            record.resource === `${namespace}/quiet` &&
            (record.message === 'reconciled' || record.message === 'unchanged since its last check'),
        )
        .map((record) => `${record.message}${typeof record.reason === 'string' ? ` ${record.reason}` : ''}`);

    await annotateSecret(namespace, 'quiet-influxdb', { 'example.com/touched-by': 'someone-else' });
    const woken = await eventually(
      'the change to wake the resource',
      () => {
        const seen = visits();
        const second = seen.indexOf('reconciled Onboarded', 1);
        return second > 0 && seen.slice(0, second + 1);
      },
      { timeoutMs: WAKE_MS },
    );
    // The watch delivers in order: had the Secret's creation come back as an event for the resource,
    // an "unchanged since its last check" would come before the wake by the annotation.
    const records = operator.records().filter((record) => record.resource === `${namespace}/quiet`);
    assert.equal(woken, ['reconciled Onboarded', 'reconciled Onboarded'], JSON.stringify(records));
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
    context.remember(influx);
  },
);

tests(
  'a resource waiting behind another for the same instance (DuplicateTarget) goes on at once when that one is deleted',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    // The first stays SecretNotFound, so it never onboards the instance, but it is older: it holds it.
    await createOnboarding(namespace, 'holder', {
      url: influx.url,
      ...SPEC,
      passwordSecretRef: { name: 'never-created', key: 'password' },
    });
    await waitForReason(namespace, 'holder', 'SecretNotFound');
    // creationTimestamp has whole seconds: the waiter must be younger, not a tie broken by name.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await createOnboarding(namespace, 'waiter', { url: influx.url, ...SPEC });
    const waiting = await waitForReason(namespace, 'waiter', 'DuplicateTarget');
    assert.match(readyOf(waiting)?.message ?? '', `${namespace}/holder`);
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 0);

    await deleteOnboarding(namespace, 'holder');
    await waitForReason(namespace, 'waiter', 'Onboarded', WAKE_MS);
    context.ledger.addSecret(await getSecret(namespace, 'waiter-influxdb'));
    context.remember(influx);
  },
);

tests('secrecy: no password or token of this file in the operator output, any Event or any status', (context) =>
  context.assertNoSecretLeaked(4),
);

tests.run();
