// End to end on a real control plane: the credentials escrow (--escrow-namespace). Deleting a
// namespace deletes every Secret in it, deletionPolicy Retain ones too; with the escrow, the
// resource created again in a namespace of the same name gets the same credentials back, for the
// same instance, once an administrator of the escrow namespace approves it (another UID: see
// tenant-escrow.test.ts), instead of AlreadyOnboarded with its token lost.
// The second test counts the escrow copies the first one made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OnboardingFile,
  annotateSecret,
  closingChecks,
  createNamespace,
  createOnboarding,
  getSecret,
  namespaceGone,
  onboardingHarness,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const tests = suite<OnboardingFile>('onboarding credentials escrow', new OnboardingFile());

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };
/** The operator's own namespace, where the escrow lives; made by the first test. */
let escrowNamespace = '';

tests.before(async (file) => {
  await file.setUp('onb-escrow', { withOperator: false });
});
tests.after((file) => file.tearDown());

tests(
  'a deleted namespace takes the Secret with it; the resource created again there gets the escrowed credentials back once approved, no second setup',
  async (context) => {
    const { core } = await onboardingHarness();
    escrowNamespace = await createNamespace('onb-escrow-store');
    const apps = `${context.namespace}-apps`;
    await core.createNamespace({ body: { metadata: { name: apps } } });
    await context.startOperator([`--escrow-namespace=${escrowNamespace}`], [context.namespace, apps]);
    const influx = await context.standin();
    await createOnboarding(apps, 'kept', { url: influx.url, ...SPEC });
    await waitForReason(apps, 'kept', 'Onboarded', 60_000);
    const original = await getSecret(apps, 'kept-influxdb');
    assert.ok(original);
    context.ledger.addSecret(original);
    const escrowed = (await core.listNamespacedSecret({ namespace: escrowNamespace })).items;
    assert.is(escrowed.length, 1, 'one escrow Secret');
    const copy = Buffer.from(escrowed[0]?.data?.token ?? '', 'base64').toString('utf8');
    assert.is(copy, original.data.token, 'the escrow holds the token');

    await core.deleteNamespace({ name: apps });
    await eventually('the namespace to be gone', () => namespaceGone(apps), { timeoutMs: 120_000 });
    await core.createNamespace({ body: { metadata: { name: apps } } });
    const again = await createOnboarding(apps, 'kept', { url: influx.url, ...SPEC });
    await waitForReason(apps, 'kept', 'EscrowApprovalRequired', 60_000);
    await annotateSecret(escrowNamespace, escrowed[0]?.metadata?.name ?? '', {
      'influxdb.onboarding.dev/escrow-approved-uid': again.metadata.uid,
    });
    const ready = await waitForReason(apps, 'kept', 'Onboarded', 60_000);
    assert.is(readyOf(ready)?.status, 'True');
    const restored = await getSecret(apps, 'kept-influxdb');
    assert.equal(restored?.data, original.data, 'the same credentials');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1, 'no second setup');
    assert.equal(influx.tokens(), [original.data.token]);
    context.remember(influx);
  },
);

tests('resources in the file namespace are escrowed too, one copy each', async (context) => {
  const { core } = await onboardingHarness();
  for (const name of ['steady-a', 'steady-b']) {
    const influx = await context.standin();
    await createOnboarding(context.namespace, name, { url: influx.url, ...SPEC });
    await waitForReason(context.namespace, name, 'Onboarded', 60_000);
    context.ledger.addSecret(await getSecret(context.namespace, `${name}-influxdb`));
  }
  const copies = (await core.listNamespacedSecret({ namespace: escrowNamespace })).items;
  assert.is(copies.length, 3);
  const owners = copies.map((copy) => copy.metadata?.annotations?.['influxdb.onboarding.dev/escrow-for']).sort();
  assert.equal(owners, [
    `${context.namespace}-apps/kept`,
    `${context.namespace}/steady-a`,
    `${context.namespace}/steady-b`,
  ]);
});

tests('without the escrow the same loss is AlreadyOnboarded (the token is gone)', async (context) => {
  const { core } = await onboardingHarness();
  const apps = `${context.namespace}-plain`;
  await core.createNamespace({ body: { metadata: { name: apps } } });
  const plain = await context.startOperator([], [apps]);
  const influx = await context.standin();
  await createOnboarding(apps, 'lost', { url: influx.url, ...SPEC });
  await waitForReason(apps, 'lost', 'Onboarded', 60_000);
  context.ledger.addSecret(await getSecret(apps, 'lost-influxdb'));
  await core.deleteNamespace({ name: apps });
  await eventually('the namespace to be gone', () => namespaceGone(apps), { timeoutMs: 120_000 });
  await core.createNamespace({ body: { metadata: { name: apps } } });
  await createOnboarding(apps, 'lost', { url: influx.url, ...SPEC });
  await waitForReason(apps, 'lost', 'AlreadyOnboarded', 60_000);
  context.remember(influx);
  await plain.terminate();
});

closingChecks(tests, 2);

tests.run();
