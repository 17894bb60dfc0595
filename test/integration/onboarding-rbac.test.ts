// End to end on a real control plane: the operator runs as a ServiceAccount bound to exactly the
// RBAC rules the Helm chart renders (default values: cluster-wide), with leader election and
// secure metrics, and onboards an instance. Every request it makes goes through the API tap, so
// the test knows each permission it used: any permission the chart forgets, and any it grants that
// no call used (outside a short list of exceptions, each with its reason), fails here, for the
// cluster-wide and the per-namespace renderings alike. /metrics is proven on the same run: no
// token 401, a ServiceAccount without the metrics-reader role 403, with it 200. A second operator
// runs with escrow.enabled under that rendering's RBAC, each call checked in its own namespace.
// The tests run in order: later ones use the RBAC, token and operator the earlier ones set up.
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
import { startApiTap, type ApiTap } from '../support/api-tap.js';
import { adminKubeConfig } from '../support/cluster.js';
import { scrapeHttps } from '../support/https-scrape.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import {
  SecretLedger,
  consentTo,
  createNamespace,
  createOnboarding,
  createSecret,
  getOnboarding,
  getSecret,
  observableText,
  eventsOnceRecorded,
  onboardingHarness,
  patchOnboardingSpec,
  randomSuffix,
  readyOf,
  requestsTo,
  waitForReason,
} from '../support/onboarding.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import type { InfluxToken } from '../../src/api/access-types.js';
import { CredentialsEscrow } from '../../src/kube/escrow.js';
import {
  accessHarness,
  createAccess,
  deleteAccess,
  getAccess,
  patchAccessSpec,
  waitForAccess,
  waitForGone,
} from '../support/access.js';
import { grantsIn, grantsTo, namespaceOf, permissionOf, roleGrants, type PolicyRule } from '../support/rbac-calls.js';
import { eventually } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/**
 * Grants that no API call shows, each with the reason it stays. The RBAC test fails if one of
 * these is not granted any more, or if a call does show it (then it is no exception).
 */
const UNOBSERVABLE_GRANTS: Record<string, string> = {
  'update influxdb.onboarding.dev/influxonboardings/finalizers':
    'setting blockOwnerDeletion on the credentials Secret (deletionPolicy Delete) is checked by the ' +
    'OwnerReferencesPermissionEnforcement admission plugin (OpenShift, hardened clusters) as update on ' +
    "the owner's finalizers; it is an admission check inside the Secret create/update, never a request of its own",
  'update influxdb.onboarding.dev/influxtokens/finalizers':
    "the same admission check for the InfluxToken Secret's ownerReference (blockOwnerDeletion: true)",
};

interface Context {
  namespace: string;
  release: string;
  dir: string;
  kubeconfigPath: string;
  serviceAccount: { namespace: string; name: string };
  serviceAccountToken: string;
  rendered: Manifest[];
  tap?: ApiTap;
  operator?: RunningOperator;
  influx?: InfluxStandin;
  readerBinding?: string;
  metricsText?: string;
  ledger: SecretLedger;
  escrow?: { namespace: string; tap: ApiTap; operator: RunningOperator };
}

const tests = suite<Context>('onboarding with the chart RBAC', {} as Context);

async function helmBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(root, 'test/helm/build.sh')], { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').pop() ?? '';
}

tests.before(async (context) => {
  const { controlPlane } = await accessHarness();
  context.ledger = new SecretLedger();
  context.namespace = await createNamespace('onb-rbac');
  context.release = `rbac-${randomSuffix()}`;
  context.dir = await mkdtemp(join(tmpdir(), 'onboarding-rbac-'));
  context.kubeconfigPath = join(context.dir, 'kubeconfig');
  void controlPlane;
});

tests.after(async (context) => {
  await context.operator?.terminate();
  await context.tap?.close();
  await context.escrow?.operator.terminate();
  await context.escrow?.tap.close();
  await context.influx?.close();
  if (context.readerBinding) {
    const { kubectlResult } = await onboardingHarness();
    await kubectlResult(['delete', 'clusterrolebinding', context.readerBinding, '--ignore-not-found']);
  }
  if (context.dir) await rm(context.dir, { recursive: true, force: true });
});

/** The chart rendered for a release (this file's, in its namespace, unless told); `values` as --set pairs. */
async function render(
  context: Context,
  values: string[] = [],
  release = { name: context.release, namespace: context.namespace },
): Promise<Manifest[]> {
  const helm = await helmBinary();
  const set = values.flatMap((value) => ['--set', value]);
  const { stdout } = await promisify(execFile)(
    helm,
    [
      'template',
      release.name,
      join(root, 'deploy/influx-onboarding-operator'),
      '--namespace',
      release.namespace,
      ...set,
    ],
    { maxBuffer: 1 << 22 },
  );
  return parseAllDocuments(stdout)
    .map((document) => document.toJSON() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

tests('the chart RBAC (and its ServiceAccount) is applied, and the token can do no more than that', async (context) => {
  const { controlPlane, kubectl, kubectlResult } = await onboardingHarness();
  const rendered = await render(context);
  context.rendered = rendered;
  const serviceAccount = rendered.find((manifest) => manifest.kind === 'ServiceAccount');
  const rbac = rendered.filter((manifest) => RBAC_KINDS.includes(manifest.kind));
  assert.ok(serviceAccount, 'the chart renders a ServiceAccount');
  assert.equal(
    [...new Set(rbac.map((manifest) => manifest.kind))].sort(),
    RBAC_KINDS.slice().sort(),
    'cluster-wide rules plus the leader-election Role',
  );
  context.serviceAccount = { namespace: context.namespace, name: serviceAccount.metadata.name };

  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [serviceAccount, ...rbac] }),
  );
  context.serviceAccountToken = await controlPlane.mintServiceAccountToken(
    context.namespace,
    serviceAccount.metadata.name,
  );
  context.ledger.add(context.serviceAccountToken);
  await writeFile(
    context.kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'cp',
          cluster: {
            server: controlPlane.server,
            'certificate-authority-data': Buffer.from(controlPlane.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'operator', user: { token: context.serviceAccountToken } }],
      contexts: [{ name: 'operator', context: { cluster: 'cp', user: 'operator', namespace: context.namespace } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );

  const can = async (...args: string[]) =>
    (await kubectlResult(['--kubeconfig', context.kubeconfigPath, 'auth', 'can-i', ...args])).stdout.trim();
  assert.is(await can('watch', 'influxonboardings.influxdb.onboarding.dev', '--all-namespaces'), 'yes');
  assert.is(
    await can('patch', 'influxonboardings.influxdb.onboarding.dev', '--subresource=status', '-n', context.namespace),
    'yes',
  );
  assert.is(
    await can('update', 'influxonboardings.influxdb.onboarding.dev', '-n', context.namespace),
    'no',
    'the spec is not the operator’s to change',
  );
  assert.is(await can('create', 'tokenreviews.authentication.k8s.io'), 'yes', 'for secure metrics');
  assert.is(await can('create', 'subjectaccessreviews.authorization.k8s.io'), 'yes', 'for secure metrics');
  assert.is(await can('get', '/metrics'), 'no', 'the operator reviews scrapers; it is not one');
  assert.is(await can('delete', 'secrets', '-n', context.namespace), 'no', 'a Secret is never deleted by the operator');
  assert.is(await can('delete', 'namespaces'), 'no');
  assert.is(await can('create', 'pods', '-n', context.namespace), 'no');
});

tests('an operator with only that token and leader election onboards an instance', async (context) => {
  const { namespace, release } = context;
  assert.ok(context.serviceAccountToken, 'the previous test minted the token');
  const shard = randomSuffix();
  const leaseName = `${release}-influx-onboarding-operator`;
  const { controlPlane } = await onboardingHarness();
  // Every request of the operator passes the tap, with the ServiceAccount token: the API server
  // still decides with the chart's RBAC, and the tap records what was asked.
  context.tap = await startApiTap({
    upstream: controlPlane.server,
    upstreamCaPem: controlPlane.caPem,
    token: context.serviceAccountToken,
  });
  context.operator = await startOperator({
    kubeconfigPath: context.tap.kubeconfigPath,
    name: 'rbac-operator',
    secureMetrics: true,
    args: [
      '--leader-elect=true',
      `--leader-election-namespace=${namespace}`,
      `--leader-election-id=${leaseName}`,
      // As the chart passes it: the access records live in the release namespace.
      `--operator-namespace=${namespace}`,
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
    await createOnboarding(namespace, 'other-shard', {
      url: other.url,
      username: 'admin',
      org: 'acme',
      bucket: 'metrics',
    });
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
  const events = await eventsOnceRecorded(namespace, 'rbac', 'Onboarded');
  assert.ok(events.some((event) => event.type === 'Normal' && event.reason === 'Onboarded'));

  const coordination = (await adminKubeConfig()).makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ namespace, name: leaseName });
  assert.ok(lease.spec?.holderIdentity, 'the Lease has a holder');
  assert.ok(
    operator.records().some((record) => /leader|leading/i.test(record.message)),
    'the operator logged its leadership',
  );
  // deletionPolicy Delete -> Retain: the Secret is replaced without its ownerReference (update).
  await patchOnboardingSpec(namespace, 'rbac', { credentialsSecret: { deletionPolicy: 'Retain' } });
  await eventually('the ownerReference to be dropped', async () => {
    const retained = await getSecret(namespace, 'rbac-influxdb');
    return (retained?.raw.metadata?.ownerReferences ?? []).length === 0;
  });

  // An application in the same namespace: a bucket and a token (their finalizers added and, on
  // deletion, removed; their statuses written; the token Secret created and replaced).
  const labels = { 'influxdb.onboarding.dev/shard': shard };
  const ref = { name: 'rbac' };
  await createAccess('InfluxBucket', namespace, 'app', { onboardingRef: ref }, labels);
  await createAccess(
    'InfluxToken',
    namespace,
    'app',
    { onboardingRef: ref, permissions: [{ action: 'write', bucket: 'app' }], rotationGracePeriodSeconds: 0 },
    labels,
  );
  await waitForAccess('InfluxToken', namespace, 'app', 'TokenReady');
  context.ledger.addSecret(await getSecret(namespace, 'app-influx-token'));
  await patchAccessSpec('InfluxToken', namespace, 'app', { permissions: [{ action: 'read', bucket: 'app' }] });
  await eventually(
    'the token to be re-issued',
    async () => (await getAccess<InfluxToken>('InfluxToken', namespace, 'app'))?.status?.permissions === 'read:app',
  );
  context.ledger.addSecret(await getSecret(namespace, 'app-influx-token'));
  await deleteAccess('InfluxToken', namespace, 'app');
  await waitForGone('InfluxToken', namespace, 'app');
  context.ledger.addStandin(influx);

  const refused = operator.records().filter((record) => /forbidden/i.test(JSON.stringify(record)));
  assert.equal(refused, [], 'no request of the operator was refused');
});

tests(
  'secure /metrics on the real control plane: no token 401, a ServiceAccount without the role 403, with metrics-reader 200',
  async (context) => {
    const { operator, tap, namespace, release } = context;
    assert.ok(operator && tap, 'the operator runs behind the tap');
    const { controlPlane, kubectl } = await onboardingHarness();
    const url = operator.metricsUrl;
    assert.match(url, /^https:/);

    const anonymous = await scrapeHttps(url);
    assert.is(anonymous.status, 401);
    assert.is(anonymous.certificate.subject.CN, 'influx-onboarding-operator-metrics');
    assert.is(
      anonymous.certificate.issuer.CN,
      anonymous.certificate.subject.CN,
      'the default certificate is self-signed',
    );
    assert.is(
      (await scrapeHttps(url, { token: `not-a-token-${randomSuffix()}` })).status,
      401,
      'a token the API server does not know',
    );

    const stranger = await controlPlane.mintServiceAccountToken(namespace, 'scraper-without-role');
    const reader = await controlPlane.mintServiceAccountToken(namespace, 'scraper');
    context.ledger.add(stranger, reader);
    const forbidden = await scrapeHttps(url, { token: stranger });
    assert.is(forbidden.status, 403);
    assert.not.match(forbidden.body, 'controller_runtime', 'no metric leaks with a 403');

    context.readerBinding = `${release}-scraper`;
    await kubectl([
      'create',
      'clusterrolebinding',
      context.readerBinding,
      `--clusterrole=${release}-influx-onboarding-operator-metrics-reader`,
      `--serviceaccount=${namespace}:scraper`,
    ]);
    const allowed = await eventually('the bound scraper to be allowed', async () => {
      const scrape = await scrapeHttps(url, { token: reader });
      return scrape.status === 200 ? scrape : undefined;
    });
    assert.match(allowed.body, 'influx_onboarding_resources{reason="Onboarded"} 1');
    assert.match(allowed.body, `leader_election_master_status{name="${release}-influx-onboarding-operator"} 1`);
    context.metricsText = allowed.body;

    // Each decision came from a TokenReview and a SubjectAccessReview the operator sent as itself...
    const reviews = () => ({
      token: tap.requests.filter((r) => r.method === 'POST' && r.path === '/apis/authentication.k8s.io/v1/tokenreviews')
        .length,
      access: tap.requests.filter(
        (r) => r.method === 'POST' && r.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      ).length,
    });
    const counted = reviews();
    assert.ok(counted.token >= 3 && counted.access >= 2, JSON.stringify(counted));
    // ...and is reused for a while: a second scrape at once costs the API server nothing.
    assert.is((await scrapeHttps(url, { token: reader })).status, 200);
    assert.equal(reviews(), counted, 'the second scrape was answered from the cache');

    // Unbinding the role takes effect once the cached decision expires (10 s).
    await kubectl(['delete', 'clusterrolebinding', context.readerBinding]);
    await eventually(
      'the unbound scraper to be refused',
      async () => (await scrapeHttps(url, { token: reader })).status === 403,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  },
);

tests('SIGTERM stops the operator cleanly, and it hands back the Lease with only the chart RBAC', async (context) => {
  assert.ok(context.operator, 'the operator ran');
  assert.is(await context.operator.terminate(), 'exit code 0');
  assert.ok(
    context.operator.records().some((record) => record.message === 'stopped'),
    'it logged its orderly stop',
  );
  assert.ok(
    context.operator.records().some((record) => record.message === 'released leader lease'),
    'it released the Lease',
  );
  const coordination = (await adminKubeConfig()).makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({
    namespace: context.namespace,
    name: `${context.release}-influx-onboarding-operator`,
  });
  assert.not.ok(lease.spec?.holderIdentity, 'nobody holds the Lease: a successor need not wait for it to expire');
});

tests(
  'least privilege: the chart grants exactly the permissions the operator used, in both RBAC modes',
  async (context) => {
    const { tap, serviceAccount } = context;
    assert.ok(tap && context.operator, 'the operator ran behind the tap');
    const used = new Set(tap.requests.map(permissionOf));
    const refused = tap.requests
      .filter((request) => request.status === 403)
      .map((request) => `${request.method} ${request.path}`);
    assert.equal(refused, [], 'the API server refused nothing');
    // The run covered every kind of call the code makes (a path it missed would make this test blind to its grant).
    assert.equal(
      [...used].sort(),
      [
        'create authentication.k8s.io/tokenreviews',
        'create authorization.k8s.io/subjectaccessreviews',
        'create coordination.k8s.io/leases',
        'create events.k8s.io/events',
        'create core/configmaps',
        'create core/secrets',
        'get core/configmaps',
        'get core/secrets',
        'get coordination.k8s.io/leases',
        'get influxdb.onboarding.dev/influxonboardings',
        'get influxdb.onboarding.dev/influxtokens',
        'list core/configmaps',
        'list core/secrets',
        'list core/services',
        'list discovery.k8s.io/endpointslices',
        'list influxdb.onboarding.dev/influxbuckets',
        'list influxdb.onboarding.dev/influxonboardings',
        'list influxdb.onboarding.dev/influxtokens',
        'patch influxdb.onboarding.dev/influxbuckets',
        'patch influxdb.onboarding.dev/influxbuckets/status',
        'patch influxdb.onboarding.dev/influxonboardings/status',
        'patch influxdb.onboarding.dev/influxtokens',
        'patch influxdb.onboarding.dev/influxtokens/status',
        'update core/configmaps',
        'update core/secrets',
        'update coordination.k8s.io/leases',
        'watch core/secrets',
        'watch core/services',
        'watch discovery.k8s.io/endpointslices',
        'watch influxdb.onboarding.dev/influxbuckets',
        'watch influxdb.onboarding.dev/influxonboardings',
        'watch influxdb.onboarding.dev/influxtokens',
      ].sort(),
    );

    const namespaced = await render(context, [`namespaces={${context.namespace}}`]);
    for (const [mode, manifests] of [
      ['cluster-wide', context.rendered],
      ['namespaces: [...]', namespaced],
    ] as const) {
      const granted = grantsTo(manifests, serviceAccount);
      const missing = [...used].filter((permission) => !granted.has(permission));
      assert.equal(missing, [], `${mode}: calls the chart does not allow`);
      const unused = [...granted].filter(
        (permission) => !used.has(permission) && UNOBSERVABLE_GRANTS[permission] === undefined,
      );
      assert.equal(
        unused,
        [],
        `${mode}: grants no call used (remove them, or list them with a reason in UNOBSERVABLE_GRANTS)`,
      );
      for (const exception of Object.keys(UNOBSERVABLE_GRANTS)) {
        assert.ok(granted.has(exception), `${mode}: the exception ${exception} is still granted`);
        assert.not.ok(used.has(exception), `${mode}: ${exception} was used, so it is no exception`);
      }
    }
  },
);

tests(
  'escrow enabled: an operator in its own namespace, watching another, keeps its escrow copies there with only the escrow Role; its calls match the rules',
  async (context) => {
    const { controlPlane, kubectl } = await onboardingHarness();
    const watched = context.namespace;
    const release = { name: `escrow-${randomSuffix()}`, namespace: await createNamespace('onb-rbac-escrow') };
    // Per-namespace RBAC: nothing else grants anything in the release namespace but leader election's Role.
    const rendered = await render(context, [`namespaces={${watched}}`, 'escrow.enabled=true'], release);
    const serviceAccount = rendered.find((manifest) => manifest.kind === 'ServiceAccount');
    assert.ok(serviceAccount, 'the chart renders a ServiceAccount');
    const escrowRole = rendered.find(
      (manifest) =>
        manifest.kind === 'Role' && manifest.metadata.name === `${release.name}-influx-onboarding-operator-escrow`,
    );
    assert.ok(escrowRole, 'escrow.enabled renders the escrow Role');
    assert.is(escrowRole.metadata.namespace, release.namespace);
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [serviceAccount, ...rendered.filter((manifest) => RBAC_KINDS.includes(manifest.kind))],
      }),
    );
    const account = { namespace: release.namespace, name: serviceAccount.metadata.name };
    const token = await controlPlane.mintServiceAccountToken(account.namespace, account.name);
    context.ledger.add(token);

    const tap = await startApiTap({ upstream: controlPlane.server, upstreamCaPem: controlPlane.caPem, token });
    const shard = randomSuffix();
    // The chart's arguments for these values (deployment.yaml), without leader election.
    const operator = await startOperator({
      kubeconfigPath: tap.kubeconfigPath,
      name: 'rbac-escrow-operator',
      args: [
        `--namespaces=${watched}`,
        `--escrow-namespace=${release.namespace}`,
        `--operator-namespace=${release.namespace}`,
        `--label-selector=influxdb.onboarding.dev/shard=${shard}`,
        '--backoff-max=2s',
      ],
    });
    context.escrow = { namespace: release.namespace, tap, operator };
    await operator.waitForReady(60_000);
    const influx = await startInfluxStandin();
    try {
      await createOnboarding(
        watched,
        'escrowed',
        {
          url: influx.url,
          username: 'admin',
          org: 'acme',
          bucket: 'metrics',
          credentialsSecret: { deletionPolicy: 'Delete' },
        },
        { 'influxdb.onboarding.dev/shard': shard },
      );
      await waitForReason(watched, 'escrowed', 'Onboarded', 60_000);
      // A second write of the Secret (its ownerReference dropped) replaces the escrow copy too.
      await patchOnboardingSpec(watched, 'escrowed', { credentialsSecret: { deletionPolicy: 'Retain' } });
      await eventually(
        'the ownerReference to be dropped',
        async () => ((await getSecret(watched, 'escrowed-influxdb'))?.raw.metadata?.ownerReferences ?? []).length === 0,
      );
      const secret = await getSecret(watched, 'escrowed-influxdb');
      context.ledger.addSecret(secret);
      context.ledger.addStandin(influx);
      const resource = await getOnboarding(watched, 'escrowed');
      assert.ok(resource);
      const copy = await getSecret(release.namespace, CredentialsEscrow.nameFor(resource));
      assert.is(copy?.data.token, secret?.data.token, 'the escrow copy holds the token');
    } finally {
      await influx.close();
    }

    const refused = tap.requests
      .filter((request) => request.status === 403)
      .map((request) => `${request.method} ${request.path}`);
    assert.equal(refused, [], 'the API server refused nothing');
    const ungranted = tap.requests
      .filter((request) => !grantsIn(rendered, account, namespaceOf(request)).has(permissionOf(request)))
      .map((request) => `${request.method} ${request.path}`);
    assert.equal(ungranted, [], 'every call is granted in its own namespace');
    const inRelease = new Set(
      tap.requests.filter((request) => namespaceOf(request) === release.namespace).map(permissionOf),
    );
    const recordsRole = rendered.find(
      (manifest) =>
        manifest.kind === 'Role' && manifest.metadata.name === `${release.name}-influx-onboarding-operator-records`,
    );
    assert.ok(recordsRole, 'the records Role is rendered');
    const allowed = new Set([...roleGrants(escrowRole), ...roleGrants(recordsRole)]);
    assert.equal(
      [...inRelease].filter((permission) => !allowed.has(permission)),
      [],
      'in its own namespace the operator used only what the escrow and records Roles grant',
    );
    assert.equal(
      [...roleGrants(escrowRole)].filter((permission) => !inRelease.has(permission)),
      [],
      'and all the escrow Role grants',
    );
  },
);

tests(
  'secrecy: no password or token of this file in the operator output, any Event, any status or /metrics',
  async (context) => {
    assert.ok(context.operator, 'the operator ran');
    assert.ok(context.metricsText, 'the metrics were read');
    assert.ok(
      context.ledger.size >= 5,
      `the check covers the password, the InfluxDB token and three ServiceAccount tokens (${context.ledger.size})`,
    );
    const sources = await observableText(
      [context.operator, ...(context.escrow ? [context.escrow.operator] : [])],
      [],
      [context.namespace, ...(context.escrow ? [context.escrow.namespace] : [])],
    );
    sources['/metrics'] = context.metricsText;
    assert.equal(context.ledger.leaks(sources), []);
  },
);

tests.run();
