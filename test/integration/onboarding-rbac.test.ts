// End to end on a real control plane: the operator runs as a ServiceAccount bound to exactly the
// RBAC rules the Helm chart renders (default values: cluster-wide), with leader election, and
// onboards an instance. Any permission the operator needs and the chart forgets fails here.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments, stringify } from 'yaml';
import { adminKubeConfig } from '../support/cluster.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import {
  SecretLedger,
  consentTo,
  createNamespace,
  createOnboarding,
  createSecret,
  getSecret,
  observableText,
  onboardingEvents,
  onboardingHarness,
  randomSuffix,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { eventually } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

interface Context {
  namespace: string;
  release: string;
  dir: string;
  kubeconfigPath: string;
  serviceAccountToken: string;
  operator?: RunningOperator;
  influx?: InfluxStandin;
  ledger: SecretLedger;
}

const tests = suite<Context>('onboarding with the chart RBAC', {} as Context);

async function helmBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(root, 'test/helm/build.sh')], { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').pop() ?? '';
}

tests.before(async (context) => {
  const { controlPlane } = await onboardingHarness();
  context.ledger = new SecretLedger();
  context.namespace = await createNamespace('onb-rbac');
  context.release = `rbac-${randomSuffix()}`;
  context.dir = await mkdtemp(join(tmpdir(), 'onboarding-rbac-'));
  context.kubeconfigPath = join(context.dir, 'kubeconfig');
  void controlPlane;
});

tests.after(async (context) => {
  await context.operator?.terminate();
  await context.influx?.close();
  if (context.dir) await rm(context.dir, { recursive: true, force: true });
});

tests('the chart RBAC (and its ServiceAccount) is applied, and the token can do no more than that', async (context) => {
  const { controlPlane, kubectl, kubectlResult } = await onboardingHarness();
  const helm = await helmBinary();
  const { stdout } = await promisify(execFile)(helm, ['template', context.release, join(root, 'deploy/influx-onboarding-operator'), '--namespace', context.namespace], {
    maxBuffer: 1 << 22,
  });
  const rendered = parseAllDocuments(stdout)
    .map((document) => document.toJSON() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
  const serviceAccount = rendered.find((manifest) => manifest.kind === 'ServiceAccount');
  const rbac = rendered.filter((manifest) => RBAC_KINDS.includes(manifest.kind));
  assert.ok(serviceAccount, 'the chart renders a ServiceAccount');
  assert.equal([...new Set(rbac.map((manifest) => manifest.kind))].sort(), RBAC_KINDS.slice().sort(), 'cluster-wide rules plus the leader-election Role');

  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [serviceAccount, ...rbac] }));
  context.serviceAccountToken = await controlPlane.mintServiceAccountToken(context.namespace, serviceAccount.metadata.name);
  context.ledger.add(context.serviceAccountToken);
  await writeFile(
    context.kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cp', cluster: { server: controlPlane.server, 'certificate-authority-data': Buffer.from(controlPlane.caPem).toString('base64') } }],
      users: [{ name: 'operator', user: { token: context.serviceAccountToken } }],
      contexts: [{ name: 'operator', context: { cluster: 'cp', user: 'operator', namespace: context.namespace } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );

  const can = async (...args: string[]) => (await kubectlResult(['--kubeconfig', context.kubeconfigPath, 'auth', 'can-i', ...args])).stdout.trim();
  assert.is(await can('watch', 'influxonboardings.influxdb.onboarding.dev', '--all-namespaces'), 'yes');
  assert.is(await can('patch', 'influxonboardings.influxdb.onboarding.dev', '--subresource=status', '-n', context.namespace), 'yes');
  assert.is(await can('update', 'influxonboardings.influxdb.onboarding.dev', '-n', context.namespace), 'no', 'the spec is not the operator’s to change');
  assert.is(await can('delete', 'namespaces'), 'no');
  assert.is(await can('create', 'pods', '-n', context.namespace), 'no');
});

tests('an operator with only that token and leader election onboards an instance', async (context) => {
  const { namespace, release } = context;
  assert.ok(context.serviceAccountToken, 'the previous test minted the token');
  const shard = randomSuffix();
  const leaseName = `${release}-influx-onboarding-operator`;
  context.operator = await startOperator({
    kubeconfigPath: context.kubeconfigPath,
    name: 'rbac-operator',
    args: [
      '--leader-elect=true',
      `--leader-election-namespace=${namespace}`,
      `--leader-election-id=${leaseName}`,
      // The chart's default watches every namespace; the label keeps this operator to this file's resources.
      `--label-selector=influxdb.onboarding.dev/shard=${shard}`,
      '--drift-check-interval=1s',
      '--backoff-max=2s',
    ],
  });
  const operator = context.operator;
  await operator.waitForReady(60_000);
  const influx = await startInfluxStandin();
  context.influx = influx;

  const password = `pw-${randomSuffix()}-${randomSuffix()}-rbac`;
  context.ledger.add(password);
  await createSecret(namespace, 'rbac-password', { password }, consentTo(influx.url));
  const { custom } = await onboardingHarness();
  await custom.createNamespacedCustomObject({
    group: 'influxdb.onboarding.dev',
    version: 'v1alpha1',
    plural: 'influxonboardings',
    namespace,
    body: {
      apiVersion: 'influxdb.onboarding.dev/v1alpha1',
      kind: 'InfluxOnboarding',
      metadata: { name: 'rbac', namespace, labels: { 'influxdb.onboarding.dev/shard': shard } },
      spec: {
        url: influx.url,
        username: 'admin',
        org: 'acme',
        bucket: 'metrics',
        passwordSecretRef: { name: 'rbac-password', key: 'password' },
        credentialsSecret: { deletionPolicy: 'Delete' },
      },
    },
  });
  // An unlabelled resource in the same namespace belongs to another shard: never touched.
  const other = await startInfluxStandin();
  try {
    await createOnboarding(namespace, 'other-shard', { url: other.url, username: 'admin', org: 'acme', bucket: 'metrics' });
    const ready = await waitForReason(namespace, 'rbac', 'Onboarded', 60_000);
    assert.is(readyOf(ready)?.status, 'True');
    assert.is(other.requests.length, 0, 'the other shard was left alone');
  } finally {
    await other.close();
  }

  const secret = await getSecret(namespace, 'rbac-influxdb');
  context.ledger.addSecret(secret);
  context.ledger.addStandin(influx);
  assert.is(secret?.data.password, password, 'the referenced password Secret was read');
  assert.is(influx.onboarded()?.password, password);
  assert.is(influx.onboarded()?.token, secret?.data.token);
  assert.is(requestsTo(influx.requests, 'POST', '/api/v2/setup'), 1);
  assert.is(secret?.raw.metadata?.ownerReferences?.[0]?.blockOwnerDeletion, true, 'the owner reference could be set');
  const events = await eventually('the Onboarded event', async () => {
    const list = await onboardingEvents(namespace, 'rbac');
    return list.some((event) => event.reason === 'Onboarded') ? list : undefined;
  });
  assert.ok(events.some((event) => event.type === 'Normal' && event.reason === 'Onboarded'));

  const coordination = (await adminKubeConfig()).makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ namespace, name: leaseName });
  assert.ok(lease.spec?.holderIdentity, 'the Lease has a holder');
  assert.ok(
    operator.records().some((record) => /leader|leading/i.test(record.message)),
    'the operator logged its leadership',
  );
  const refused = operator.records().filter((record) => /forbidden/i.test(JSON.stringify(record)));
  assert.equal(refused, [], 'no request of the operator was refused');
});

tests('SIGTERM stops the operator cleanly, and it hands back the Lease with only the chart RBAC', async (context) => {
  assert.ok(context.operator, 'the operator ran');
  assert.is(await context.operator.terminate(), 'exit code 0');
  assert.ok(context.operator.records().some((record) => record.message === 'stopped'), 'it logged its orderly stop');
  assert.ok(context.operator.records().some((record) => record.message === 'released leader lease'), 'it released the Lease');
  const coordination = (await adminKubeConfig()).makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ namespace: context.namespace, name: `${context.release}-influx-onboarding-operator` });
  assert.not.ok(lease.spec?.holderIdentity, 'nobody holds the Lease: a successor need not wait for it to expire');
});

tests('secrecy: no password or token of this file in the operator output, any Event or any status', async (context) => {
  assert.ok(context.operator, 'the operator ran');
  assert.ok(context.ledger.size >= 3, `the check covers the credentials of this file (${context.ledger.size})`);
  const sources = await observableText([context.operator], [], [context.namespace]);
  assert.equal(context.ledger.leaks(sources), []);
});

tests.run();
