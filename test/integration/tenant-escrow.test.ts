// Issue 17 point 2, as the attack: escrow is break-glass, not inheritance. The operator runs with
// the chart's default flags plus escrow.enabled (--escrow-namespace=<its own namespace>), on the
// real control plane and a real influxd v2.9.1 (which never shows a token again, so the escrow is
// the only copy) behind a recording proxy. Namespace team-e onboards; the namespace is deleted and
// created again by someone else with a resource of the same name and URL. Before: the escrowed
// credentials were restored into the newcomer's Secret at once, no approval asked (the escrow
// matched on namespace/name). Now: EscrowApprovalRequired, nothing sent to the instance and no
// Secret, until the escrow namespace's administrator approves that UID with the command the
// message gives; the resource the copy was taken from still gets it back by itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { useCredentials } from '../support/influx-app.js';
import { startInfluxProxy, type InfluxProxy } from '../support/influx-proxy.js';
import { freshInfluxd } from '../support/influxdb.js';
import {
  SecretLedger,
  createNamespace,
  createOnboarding,
  deleteSecret,
  getOnboarding,
  getSecret,
  namespaceGone,
  observableText,
  onboardingEvents,
  onboardingHarness,
  randomSuffix,
  readyOf,
  requestsTo,
  waitForReason,
  type SecretView,
} from '../support/onboarding.js';
import { chartDefaultArgs, startOperator, type RunningOperator } from '../support/operator.js';
import { eventually, sleep } from '../support/wait.js';

const SHARD_LABEL = 'influxdb.onboarding.dev/shard';
const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

interface Context {
  ops: string;
  teamE: string;
  shard: string;
  proxy: InfluxProxy;
  operator: RunningOperator;
  operators: RunningOperator[];
  original: SecretView;
  ledger: SecretLedger;
}

const tests = suite<Context>('tenants: escrow is break-glass, not inheritance', {} as Context);

tests.before(async (context) => {
  context.ledger = new SecretLedger();
  context.operators = [];
  context.ops = await createNamespace('te-ops');
  context.teamE = `te-team-e-${randomSuffix()}`;
  context.shard = randomSuffix();
  const influxd = await freshInfluxd('v2.9.1');
  context.proxy = await startInfluxProxy(influxd.url);
  await startEscrowOperator(context);
});

tests.after(async (context) => {
  for (const operator of context.operators ?? []) await operator.terminate();
  await context.proxy?.close();
});

/** The operator with the chart's default flags and escrow.enabled, in a Pod of the ops namespace (a new process: no memory). */
async function startEscrowOperator(context: Context): Promise<void> {
  const { controlPlane } = await onboardingHarness();
  context.operator = await startOperator({
    kubeconfigPath: controlPlane.kubeconfigPath,
    name: `tenant-escrow-${context.operators.length + 1}`,
    env: { POD_NAMESPACE: context.ops },
    args: [
      ...chartDefaultArgs(context.ops),
      // escrow.enabled: true renders this (deployment.yaml).
      `--escrow-namespace=${context.ops}`,
      `--leader-election-id=tenant-escrow-${context.shard}`,
      `--label-selector=${SHARD_LABEL}=${context.shard}`,
    ],
  });
  context.operators.push(context.operator);
  await context.operator.waitForReady(60_000);
}

async function createTeamE(context: Context): Promise<void> {
  const { core } = await onboardingHarness();
  await core.createNamespace({ body: { metadata: { name: context.teamE } } });
  await createOnboarding(
    context.teamE,
    'influxdb',
    { url: context.proxy.url, ...SPEC },
    { [SHARD_LABEL]: context.shard },
  );
}

tests(
  'team-e onboards; its Secret deleted while the operator restarts, the same resource gets the escrowed copy back by itself',
  async (context) => {
    const { teamE } = context;
    await createTeamE(context);
    await waitForReason(teamE, 'influxdb', 'Onboarded', 60_000);
    const original = await getSecret(teamE, 'influxdb-influxdb');
    assert.ok(original);
    context.original = original;
    context.ledger.addSecret(original);
    // A new process remembers nothing: only the escrow holds the credentials now.
    assert.is(await context.operator.terminate(), 'exit code 0');
    await deleteSecret(teamE, 'influxdb-influxdb');
    await startEscrowOperator(context);
    const restored = await eventually('the Secret to be restored', async () => getSecret(teamE, 'influxdb-influxdb'));
    assert.equal(
      restored.data,
      original.data,
      'the same credentials, from the escrow, for the resource they were taken from',
    );
    assert.is(requestsTo(context.proxy.requests, 'POST', '/api/v2/setup'), 1);
  },
);

tests(
  'the namespace deleted and created again with a resource of the same name and URL: EscrowApprovalRequired, no Secret, nothing sent; approved by UID with the command the message gives, restored',
  async (context) => {
    const { teamE, ops, proxy, original } = context;
    const { core, kubectl } = await onboardingHarness();
    await core.deleteNamespace({ name: teamE });
    await eventually('the namespace to be gone', () => namespaceGone(teamE), { timeoutMs: 120_000 });
    // Someone else creates it again, with a resource of the same name for the same URL.
    await createTeamE(context);
    const connections = proxy.connections();
    const waiting = await waitForReason(teamE, 'influxdb', 'EscrowApprovalRequired', 60_000);
    const uid = waiting.metadata.uid;
    const message = readyOf(waiting)?.message ?? '';
    assert.is(readyOf(waiting)?.status, 'False');
    assert.match(message, `To approve: kubectl annotate secret -n ${ops} `);
    await sleep(5000);
    assert.is(await getSecret(teamE, 'influxdb-influxdb'), undefined, 'nothing restored');
    assert.is(proxy.connections(), connections, 'nothing sent to the instance');
    const warnings = (await onboardingEvents(teamE, 'influxdb')).filter(
      (event) => event.type === 'Warning' && event.reason === 'EscrowApprovalRequired',
    );
    assert.is(warnings.length, 1);
    const copy = (await core.listNamespacedSecret({ namespace: ops })).items.find(
      (secret) => secret.metadata?.annotations?.['influxdb.onboarding.dev/escrow-for'] === `${teamE}/influxdb`,
    );
    assert.not.equal(copy?.metadata?.annotations?.['influxdb.onboarding.dev/escrow-uid'], uid, 'still the old copy');

    // The escrow namespace's administrator runs the command the message gives.
    const command = /kubectl (annotate secret -n \S+ \S+ \S+=\S+)$/.exec(message)?.[1];
    assert.ok(command, message);
    await kubectl((command ?? '').split(' '));
    await waitForReason(teamE, 'influxdb', 'Onboarded', 60_000);
    const restored = await getSecret(teamE, 'influxdb-influxdb');
    assert.equal(restored?.data, original.data, 'the escrowed credentials');
    assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 1, 'no second setup');
    const used = await useCredentials({
      ...(restored?.data as { token: string; org: string; bucket: string }),
      url: proxy.url,
    });
    assert.equal([used.me, used.rows, used.signIn], [200, 1, 204], 'they work, as an application uses them');
    const rewritten = await core.readNamespacedSecret({ namespace: ops, name: copy?.metadata?.name ?? '' });
    assert.is(
      rewritten.metadata?.annotations?.['influxdb.onboarding.dev/escrow-uid'],
      uid,
      'the copy is now this resource’s',
    );
    assert.is(
      rewritten.metadata?.annotations?.['influxdb.onboarding.dev/escrow-approved-uid'],
      undefined,
      'the approval is used up',
    );
    assert.ok(await getOnboarding(teamE, 'influxdb'));
  },
);

tests('secrecy: no credential in the operator output, any Event or status', async (context) => {
  context.ledger.addRequests(context.proxy.requests);
  assert.ok(context.ledger.size >= 2);
  const sources = await observableText(context.operators, [], [context.teamE, context.ops]);
  assert.equal(context.ledger.leaks(sources), []);
});

tests.run();
