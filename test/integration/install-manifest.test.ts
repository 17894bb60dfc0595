// The plain-manifest install, deploy/install.yaml: it is the chart's current rendering (re-rendered
// here with scripts/render-install.sh and compared byte for byte), it holds what a kubectl user
// needs and no private key, the real API server takes it by server-side apply, and an operator
// holding only a token of its ServiceAccount (so exactly its RBAC, behind the API tap that records
// every request) onboards a resource to Ready and hands back its Lease on SIGTERM.
// The secrecy test reads what the operator test left.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { startApiTap, type ApiTap } from '../support/api-tap.js';
import { adminKubeConfig } from '../support/cluster.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import {
  SecretLedger,
  assertNoCredentialLeaked,
  createNamespace,
  createOnboarding,
  onboardingHarness,
  randomSuffix,
  readyOf,
  waitForReason,
} from '../support/onboarding.js';
import { chartDefaultArgs, startOperator, type RunningOperator } from '../support/operator.js';
import { grantsTo, permissionOf, type RbacManifest } from '../support/rbac-calls.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const installFile = join(root, 'deploy/install.yaml');
const SHARD_LABEL = 'influxdb.onboarding.dev/shard';

interface Manifest extends RbacManifest {
  spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } };
}

interface Context {
  manifests: Manifest[];
  tap?: ApiTap;
  operator?: RunningOperator;
  influx?: InfluxStandin;
  namespace?: string;
  /** The ServiceAccount token the operator ran with: a credential too. */
  serviceAccountToken?: string;
}

const tests = suite<Context>('deploy/install.yaml', {} as Context);
const text = readFileSync(installFile, 'utf8');

tests.before((context) => {
  context.manifests = parseAllDocuments(text)
    .map((document) => document.toJSON() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
});

tests.after(async (context) => {
  await context.operator?.terminate();
  await context.tap?.close();
  await context.influx?.close();
  // Everything but the CRD, which the other test files of this run share.
  const { kubectlResult } = await onboardingHarness();
  const removable = context.manifests.filter((m) => m.kind !== 'CustomResourceDefinition');
  await kubectlResult(
    ['delete', '--wait=false', '--ignore-not-found', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: removable }),
  );
});

const only = (context: Context, kind: string): Manifest => {
  const found = context.manifests.filter((m) => m.kind === kind);
  assert.is(found.length, 1, `exactly one ${kind}`);
  return found[0];
};

tests('the checked-in file is the current rendering of the chart (else: npm run manifests)', async () => {
  const { stdout } = await promisify(execFile)('bash', [join(root, 'scripts/render-install.sh')], {
    maxBuffer: 1 << 22,
  });
  assert.ok(stdout.length > 1000, 'the script rendered something');
  assert.ok(stdout === text, 'deploy/install.yaml is stale: run `npm run manifests` and commit the result');
});

tests(
  'it holds the namespace, the CRDs, RBAC, Deployment, Lease, Service and PDB, all in one namespace, and no key or Secret',
  (context) => {
    const kinds = context.manifests.map((m) => m.kind).sort();
    assert.equal(kinds, [
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'Lease',
      'Namespace',
      'PodDisruptionBudget',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const namespace = only(context, 'Namespace').metadata.name;
    const namespaced = context.manifests.filter(
      (m) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind),
    );
    assert.equal(
      namespaced.filter((m) => m.metadata.namespace !== namespace).map((m) => m.kind),
      [],
      `every namespaced object is in ${namespace}`,
    );
    const crds = context.manifests
      .filter((m) => m.kind === 'CustomResourceDefinition')
      .map((m) => m.metadata.name)
      .sort();
    assert.equal(crds, [
      'influxbuckets.influxdb.onboarding.dev',
      'influxonboardings.influxdb.onboarding.dev',
      'influxtokens.influxdb.onboarding.dev',
    ]);
    for (const plural of ['influxbuckets', 'influxonboardings', 'influxtokens']) {
      const crd = context.manifests.find((m) => m.metadata.name === `${plural}.influxdb.onboarding.dev`);
      assert.equal(
        crd,
        parse(readFileSync(join(root, `crds/influxdb.onboarding.dev_${plural}.yaml`), 'utf8')),
        `the ${plural} CRD is crds/ unchanged`,
      );
    }
    assert.not.match(text, /PRIVATE KEY/);
    assert.not.match(text, /^kind: Secret$/m);
  },
);

tests('the API server takes it by server-side apply', async (context) => {
  const { kubectl } = await onboardingHarness();
  const applied = await kubectl(['apply', '--server-side', '-f', installFile]);
  assert.is(
    applied
      .trim()
      .split('\n')
      .filter((line) => line.endsWith('serverside-applied')).length,
    context.manifests.length,
    applied,
  );
  const namespace = only(context, 'Namespace').metadata.name;
  const deployment = JSON.parse(
    await kubectl(['get', 'deployment', '-n', namespace, only(context, 'Deployment').metadata.name, '-o', 'json']),
  ) as Manifest;
  assert.is(deployment.metadata.namespace, namespace);
});

tests(
  'an operator holding only a token of the rendered ServiceAccount onboards a resource to Ready, then releases the Lease on SIGTERM',
  async (context) => {
    const { controlPlane } = await onboardingHarness();
    const serviceAccount = only(context, 'ServiceAccount');
    const saNamespace = serviceAccount.metadata.namespace ?? '';
    const token = await controlPlane.mintServiceAccountToken(saNamespace, serviceAccount.metadata.name);
    context.serviceAccountToken = token;
    context.tap = await startApiTap({ upstream: controlPlane.server, upstreamCaPem: controlPlane.caPem, token });

    // The Deployment's own flags.
    const args = chartDefaultArgs(saNamespace);
    assert.ok(args.includes('--leader-elect=true'), args.join(' '));
    const leaseName = args.find((arg) => arg.startsWith('--leader-election-id='))?.split('=')[1] ?? '';
    // The default watches every namespace; the label keeps this operator to this file's resource.
    const shard = randomSuffix();
    context.operator = await startOperator({
      kubeconfigPath: context.tap.kubeconfigPath,
      name: 'install-yaml-operator',
      secureMetrics: true,
      args: [...args, `--label-selector=${SHARD_LABEL}=${shard}`],
    });
    await context.operator.waitForReady(60_000);

    context.influx = await startInfluxStandin();
    context.namespace = await createNamespace('install-yaml');
    await createOnboarding(
      context.namespace,
      'plain',
      { url: context.influx.url, username: 'admin', org: 'acme', bucket: 'metrics' },
      { [SHARD_LABEL]: shard },
    );
    const ready = await waitForReason(context.namespace, 'plain', 'Onboarded', 60_000);
    assert.is(readyOf(ready)?.status, 'True');
    assert.ok(context.influx.onboarded(), 'the stand-in was set up');

    // Every call was allowed, and allowed by install.yaml's own grants to that ServiceAccount.
    const requests = context.tap.requests;
    assert.equal(
      requests.filter((r) => r.status === 403).map((r) => `${r.method} ${r.path}`),
      [],
      'the API server refused nothing',
    );
    const granted = grantsTo(context.manifests, { namespace: saNamespace, name: serviceAccount.metadata.name });
    const used = [...new Set(requests.map(permissionOf))];
    assert.ok(used.includes('get coordination.k8s.io/leases') && used.includes('create core/secrets'), used.join(', '));
    assert.equal(
      used.filter((permission) => !granted.has(permission)),
      [],
      'calls install.yaml does not grant',
    );

    assert.is(await context.operator.terminate(), 'exit code 0');
    const lease = await (
      await adminKubeConfig()
    )
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: saNamespace, name: leaseName });
    assert.not.ok(lease.spec?.holderIdentity, 'the Lease was released');
  },
);

tests(
  'secrecy: neither the onboarded password and token nor the ServiceAccount token in the operator output, any Event or any status',
  async (context) => {
    assert.ok(context.operator && context.influx && context.namespace, 'the operator ran');
    const ledger = new SecretLedger();
    ledger.addStandin(context.influx);
    ledger.add(context.serviceAccountToken);
    await assertNoCredentialLeaked([context.operator], [context.namespace], 3, ledger);
  },
);

tests.run();
