/**
 * The Helm chart and the samples against the helm CLI pinned in test/helm and a real
 * kube-apiserver: lint, rendering (cluster-wide vs per-namespace RBAC), server-side dry runs
 * (real schemas, real RBAC object validation), the restricted Pod Security Standard as enforced by
 * the API server's PodSecurity admission plugin, and the CRD copy shipped in the chart.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { getControlPlane } from '../support/cluster.js';
import type { ControlPlane } from '../support/controlplane.js';
import { ensureHelm } from '../support/helm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'deploy/influx-onboarding-operator');
const crdFile = 'influxdb.onboarding.dev_influxonboardings.yaml';
const crdName = 'influxonboardings.influxdb.onboarding.dev';
const samplesDir = join(root, 'config/samples');
const release = 'ioo';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

type RbacObject = Manifest & { rules: PolicyRule[] };

interface Container {
  name: string;
  image: string;
  args: string[];
  env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  securityContext: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

interface PodSpec {
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; emptyDir?: object; secret?: { secretName: string } }>;
  topologySpreadConstraints?: unknown[];
}

interface Deployment extends Manifest {
  spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

function run(command: string, args: string[], input?: string): Promise<Result> {
  const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let helmBin = '';
let controlPlane: ControlPlane;
const namespaces: string[] = [];

test.before(async () => {
  helmBin = await ensureHelm();
  controlPlane = await getControlPlane();
});

test.after(async () => {
  // Without the namespace controller a deleted namespace stays Terminating; that harms no one.
  if (namespaces.length > 0)
    await controlPlane.kubectl(['delete', 'namespace', '--wait=false', '--ignore-not-found', ...namespaces]);
});

function helm(args: string[], input?: string): Promise<Result> {
  return run(helmBin, args, input);
}

/** Renders the chart; `values` goes in as a values file, so lists and selectors need no --set escaping. */
async function render(namespace: string, values: Record<string, unknown> = {}): Promise<Manifest[]> {
  const result = await helm(['template', release, chart, '--namespace', namespace, '-f', '-'], stringify(values));
  assert.is(result.code, 0, `helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

const only = <T extends Manifest>(manifests: Manifest[], kind: string): T => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.is(found.length, 1, `exactly one ${kind}, got ${found.length}`);
  return found[0] as T;
};
const toYaml = (manifests: Manifest[]): string => manifests.map((m) => stringify(m)).join('---\n');

async function kubectl(args: string[], input?: string): Promise<Result> {
  return controlPlane.kubectl(args, input === undefined ? undefined : { input });
}

/** A fresh namespace (random suffix, so reruns and parallel files never collide), removed after. */
async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
  const created = await kubectl(['create', '-f', '-'], JSON.stringify(namespace));
  assert.is(created.code, 0, created.stderr);
  namespaces.push(name);
  return name;
}

/**
 * Server-side dry run: the API server validates and admits the objects but stores nothing.
 * Without `namespace` every namespaced object must name its own, as the chart's templates do.
 */
async function dryRunApply(yaml: string, namespace?: string): Promise<Result> {
  return kubectl(['apply', '--dry-run=server', ...(namespace ? ['--namespace', namespace] : []), '-f', '-'], yaml);
}

function assertAcceptedWithoutWarnings(result: Result, count: number): void {
  assert.is(result.code, 0, `rejected:\n${result.stderr}`);
  const accepted = result.stdout.split('\n').filter((line) => line.endsWith('(server dry run)'));
  assert.is(accepted.length, count, result.stdout);
  assert.not.match(result.stderr, /Warning/i, `warnings:\n${result.stderr}`);
}

/**
 * The operator's own flag parser run on the rendered args and downward-API env, as the kubelet
 * would start it (with $(VAR) expanded): catches a flag the chart spells differently from the code.
 */
function parseRenderedArgs(deployment: Deployment, env: Record<string, string>) {
  const args = deployment.spec.template.spec.containers[0]?.args ?? [];
  const expanded = args.map((arg) => arg.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole));
  const result = loadConfig(expanded, env);
  if (result.kind === 'run') return result.config;
  throw new Error(`the operator refuses the chart's args ${JSON.stringify(expanded)}: ${JSON.stringify(result)}`);
}

function rulesCover(rules: PolicyRule[], group: string, resource: string, verbs: string[]): boolean {
  return verbs.every((verb) =>
    rules.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb)),
  );
}

const named = <T extends Manifest>(manifests: Manifest[], kind: string, name: string): T => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `a ${kind} named ${name}`);
  return found as T;
};

/** The operator's rules on its own resources: the same in the ClusterRole and in each per-namespace Role. */
const OPERATOR_RULES: PolicyRule[] = [
  { apiGroups: ['influxdb.onboarding.dev'], resources: ['influxonboardings'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['influxdb.onboarding.dev'], resources: ['influxonboardings/status'], verbs: ['patch'] },
  { apiGroups: ['influxdb.onboarding.dev'], resources: ['influxonboardings/finalizers'], verbs: ['update'] },
  {
    apiGroups: ['influxdb.onboarding.dev'],
    resources: ['influxbuckets', 'influxtokens'],
    verbs: ['list', 'watch', 'patch'],
  },
  { apiGroups: ['influxdb.onboarding.dev'], resources: ['influxtokens'], verbs: ['get'] },
  {
    apiGroups: ['influxdb.onboarding.dev'],
    resources: ['influxbuckets/status', 'influxtokens/status'],
    verbs: ['patch'],
  },
  { apiGroups: ['influxdb.onboarding.dev'], resources: ['influxtokens/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
];
const METRICS_AUTH_RULES: PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];
const METRICS_READER_RULES: PolicyRule[] = [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }];
const fullname = `${release}-influx-onboarding-operator`;

/** The cluster-wide objects secure metrics need, whatever `namespaces` says. */
function assertMetricsClusterRbac(manifests: Manifest[], namespace: string): void {
  assert.equal(named<RbacObject>(manifests, 'ClusterRole', `${fullname}-metrics-auth`).rules, METRICS_AUTH_RULES);
  assert.equal(named<RbacObject>(manifests, 'ClusterRole', `${fullname}-metrics-reader`).rules, METRICS_READER_RULES);
  const binding = named<Manifest & { roleRef: object; subjects: object[] }>(
    manifests,
    'ClusterRoleBinding',
    `${fullname}-metrics-auth`,
  );
  assert.equal(binding.roleRef, {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: `${fullname}-metrics-auth`,
  });
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: fullname, namespace }]);
  assert.not.ok(
    manifests.some(
      (m) =>
        m.kind === 'ClusterRoleBinding' &&
        (m as Manifest & { roleRef: { name: string } }).roleRef.name.endsWith('-metrics-reader'),
    ),
    'the metrics-reader role is for the scrapers, bound by whoever runs Prometheus',
  );
}

/**
 * Instance ownership: read-only list/watch on Services and EndpointSlices, cluster-wide whatever
 * `namespaces` says (an address of any namespace may be written into a resource of a watched one).
 */
function assertInstanceOwnersRbac(manifests: Manifest[], namespace: string): void {
  assert.equal(named<RbacObject>(manifests, 'ClusterRole', `${fullname}-instance-owners`).rules, [
    { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
  const binding = named<Manifest & { roleRef: { name: string }; subjects: object[] }>(
    manifests,
    'ClusterRoleBinding',
    `${fullname}-instance-owners`,
  );
  assert.equal(
    [binding.roleRef.name, binding.subjects],
    [`${fullname}-instance-owners`, [{ kind: 'ServiceAccount', name: fullname, namespace }]],
  );
}

async function installCrd(): Promise<void> {
  // Cluster-scoped and shared with the other integration tests: applied (idempotent), never deleted.
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  assert.is(applied.code, 0, applied.stderr);
  for (const name of [crdName, 'influxbuckets.influxdb.onboarding.dev', 'influxtokens.influxdb.onboarding.dev']) {
    const established = await kubectl(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s']);
    assert.is(established.code, 0, established.stderr);
  }
}

test('helm lint --strict passes with the default values and with a namespace list', async () => {
  for (const extra of [[], ['--set', 'namespaces={team-a,team-b}']]) {
    const result = await helm(['lint', '--strict', chart, ...extra]);
    assert.is(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('the chart ships the top-level CRD byte for byte (crds/ is the one source of truth)', () => {
  const topLevel = readFileSync(join(root, 'crds', crdFile));
  const inChart = readFileSync(join(chart, 'crds', crdFile));
  assert.ok(
    topLevel.equals(inChart),
    `deploy/influx-onboarding-operator/crds/${crdFile} differs from crds/${crdFile}: copy it again`,
  );
  assert.equal(readdirSync(join(chart, 'crds')), readdirSync(join(root, 'crds')));
});

test('namespaceLabelGrants: the flag and a cluster-wide list/watch on namespaces, only when set, also with a namespace list', async () => {
  for (const values of [{ namespaceLabelGrants: true }, { namespaceLabelGrants: true, namespaces: ['team-a'] }]) {
    const manifests = await render('ops', values);
    assert.equal(named<RbacObject>(manifests, 'ClusterRole', `${fullname}-namespace-labels`).rules, [
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
    ]);
    const binding = named<Manifest & { roleRef: { name: string }; subjects: object[] }>(
      manifests,
      'ClusterRoleBinding',
      `${fullname}-namespace-labels`,
    );
    assert.equal(
      [binding.roleRef.name, binding.subjects],
      [`${fullname}-namespace-labels`, [{ kind: 'ServiceAccount', name: fullname, namespace: 'ops' }]],
    );
    assert.ok(
      only<Deployment>(manifests, 'Deployment').spec.template.spec.containers[0]?.args.includes(
        '--namespace-label-grants=true',
      ),
    );
  }
  const plain = await render('ops');
  assert.not.ok(
    plain.some((m) => m.metadata.name.endsWith('-namespace-labels')),
    'off by default: nothing may read namespaces',
  );
});

test('default values: cluster-wide RBAC, 2 replicas with leader election and a PDB, restricted pod', async () => {
  const manifests = await render('ops');
  const kinds = manifests.map((m) => m.kind).sort();
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
    'Deployment',
    'Lease',
    'PodDisruptionBudget',
    'Role',
    'Role',
    'RoleBinding',
    'RoleBinding',
    'Service',
    'ServiceAccount',
  ]);
  // The Lease belongs to the release (uninstalling removes it), free until a replica takes it.
  const lease = only<Manifest & { spec?: unknown }>(manifests, 'Lease');
  assert.equal(
    [lease.metadata.namespace, lease.metadata.name, lease.spec],
    ['ops', `${release}-influx-onboarding-operator`, undefined],
  );

  // Exactly the verbs the code uses (onboarding-rbac.test.ts proves it against the calls).
  const rules = named<RbacObject>(manifests, 'ClusterRole', fullname).rules;
  assert.equal(rules, OPERATOR_RULES);
  assertMetricsClusterRbac(manifests, 'ops');
  assertInstanceOwnersRbac(manifests, 'ops');
  for (const role of manifests.filter((m): m is RbacObject => m.kind === 'ClusterRole' || m.kind === 'Role')) {
    assert.not.ok(
      role.rules.some((r) => r.verbs.includes('*') || r.resources?.includes('*') || r.apiGroups?.includes('*')),
      `no wildcards in ${role.metadata.name}`,
    );
  }

  // The leader-election Role lives in the release namespace and covers one Lease (create cannot
  // be limited to a name).
  const role = named<RbacObject>(manifests, 'Role', `${fullname}-leader-election`);
  assert.is(role.metadata.namespace, 'ops');
  assert.equal(role.rules, [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: [`${release}-influx-onboarding-operator`],
      verbs: ['get', 'update'],
    },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  ]);
  const binding = named<Manifest & { subjects: Array<{ kind: string; name: string; namespace: string }> }>(
    manifests,
    'ClusterRoleBinding',
    fullname,
  );
  const serviceAccount = only(manifests, 'ServiceAccount');
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: 'ops' }]);

  const deployment = only<Deployment>(manifests, 'Deployment');
  assert.is(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  assert.is(pod.serviceAccountName, serviceAccount.metadata.name);
  assert.is(pod.terminationGracePeriodSeconds, 40);
  assert.equal(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const [container] = pod.containers;
  assert.ok(container);
  const appVersion = /appVersion: "?([^"\n]+)"?/.exec(readFileSync(join(chart, 'Chart.yaml'), 'utf8'))?.[1];
  assert.is(container.image, `ghcr.io/influx-onboarding/influx-onboarding-operator:${appVersion}`);
  assert.equal(container.args, [
    '--concurrency=4',
    '--reconcile-timeout=2m',
    '--resync-period=10m',
    '--drift-check-interval=5m',
    '--password-check-interval=1h',
    '--token-sweep-interval=10m',
    '--operator-namespace=$(POD_NAMESPACE)',
    '--leader-elect=true',
    `--leader-election-id=${release}-influx-onboarding-operator`,
    '--leader-election-namespace=$(POD_NAMESPACE)',
    '--metrics-bind-address=:8443',
    '--metrics-secure=true',
    '--health-probe-bind-address=:8081',
    '--log-level=info',
    '--log-format=json',
    '--allow-link-local=false',
    '--cluster-domain=cluster.local',
    '--require-secret-consent=true',
    '--namespace-label-grants=false',
  ]);
  const config = parseRenderedArgs(deployment, { POD_NAMESPACE: 'ops', POD_NAME: 'operator-0' });
  assert.equal(
    [config.namespaces, config.leaderElect, config.leaderElectionNamespace, config.leaderElectionId, config.identity],
    [[], true, 'ops', `${release}-influx-onboarding-operator`, 'operator-0'],
  );
  assert.equal(
    [config.operatorNamespace, config.tokenSweepIntervalMs],
    ['ops', 600_000],
    'records in the release namespace',
  );
  assert.equal(
    [
      config.metricsBindAddress,
      config.metricsSecure,
      config.metricsCertDir,
      config.healthProbeBindAddress,
      config.allowLinkLocal,
      config.allowedUrls,
      config.requireSecretConsent,
      config.clusterDomain,
    ],
    [':8443', true, undefined, ':8081', false, [], true, 'cluster.local'],
  );
  // The grace period must outlast the operator's own shutdown bound, or SIGKILL cuts it short.
  assert.ok(config.shutdownTimeoutMs < pod.terminationGracePeriodSeconds * 1000);
  assert.equal(
    container.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    [
      ['POD_NAMESPACE', 'metadata.namespace'],
      ['POD_NAME', 'metadata.name'],
    ],
  );
  const port = (name: string | number) => container.ports.find((p) => p.name === name)?.containerPort;
  assert.is(port(container.livenessProbe.httpGet.port), 8081);
  assert.is(container.livenessProbe.httpGet.path, '/healthz');
  assert.is(port(container.readinessProbe.httpGet.port), 8081);
  assert.is(container.readinessProbe.httpGet.path, '/readyz');
  assert.is(port('metrics'), 8443);
  assert.equal(container.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
  });
  assert.equal(container.resources, { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  const tmp = container.volumeMounts.find((m) => m.mountPath === '/tmp');
  assert.ok(tmp && pod.volumes.some((v) => v.name === tmp.name && v.emptyDir), 'an emptyDir at /tmp');
  assert.is(pod.volumes.length, 1, 'no certificate mounted: the default certificate is self-signed in memory');
  assert.is(pod.topologySpreadConstraints, undefined);

  const pdb = only<Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>(
    manifests,
    'PodDisruptionBudget',
  );
  assert.is(pdb.spec.minAvailable, 1);
  assert.equal(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  const service = only<
    Manifest & { spec: { ports: Array<{ name: string; port: number; targetPort: string; protocol: string }> } }
  >(manifests, 'Service');
  assert.equal(service.spec.ports, [{ name: 'metrics', port: 8443, targetPort: 'metrics', protocol: 'TCP' }]);
  assert.not.ok(
    manifests.some((m) => m.kind === 'NetworkPolicy'),
    'the NetworkPolicy is off by default',
  );
  assert.not.match(toYaml(manifests), /PRIVATE KEY/, 'no private key in the chart');
});

test('namespaces [a, b]: a Role and RoleBinding in each, cluster-wide only the reviews, reading Services and the tenant roles, --namespaces=a,b', async () => {
  const manifests = await render('ops', { namespaces: ['a', 'b'] });
  // The token and access reviews are cluster-scoped APIs; who owns an address is read from every
  // namespace; the tenant roles are aggregated into Kubernetes' own ClusterRoles (bound to nobody).
  assert.equal(
    manifests
      .filter((m) => m.kind.startsWith('Cluster'))
      .map((m) => `${m.kind}/${m.metadata.name}`)
      .sort(),
    [
      `ClusterRole/${fullname}-instance-owners`,
      `ClusterRole/${fullname}-metrics-auth`,
      `ClusterRole/${fullname}-metrics-reader`,
      `ClusterRole/${fullname}-tenant-edit`,
      `ClusterRole/${fullname}-tenant-view`,
      `ClusterRoleBinding/${fullname}-instance-owners`,
      `ClusterRoleBinding/${fullname}-metrics-auth`,
    ],
  );
  assertMetricsClusterRbac(manifests, 'ops');
  assertInstanceOwnersRbac(manifests, 'ops');
  const roles = manifests.filter((m): m is RbacObject => m.kind === 'Role');
  const watched = roles.filter((r) => rulesCover(r.rules, '', 'secrets', ['get', 'list', 'watch']));
  assert.equal(watched.map((r) => r.metadata.namespace).sort(), ['a', 'b']);
  for (const role of watched)
    assert.equal(role.rules, OPERATOR_RULES, 'the same rules as the ClusterRole of the cluster-wide mode');
  const own = roles.filter((r) => !watched.includes(r));
  assert.equal(
    own.map((r) => [r.metadata.namespace, r.rules[0]?.resources]).sort(),
    [
      ['ops', ['configmaps']],
      ['ops', ['leases']],
    ],
    'in the release namespace: the access records and the Lease',
  );
  const bindings = manifests.filter(
    (m): m is Manifest & { roleRef: { apiGroup: string; kind: string; name: string } } => m.kind === 'RoleBinding',
  );
  for (const ns of ['a', 'b']) {
    const binding = bindings.find((b) => b.metadata.namespace === ns);
    assert.ok(binding, `a RoleBinding in ${ns}`);
    assert.equal(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: watched[0]?.metadata.name,
    });
  }
  const deployment = only<Deployment>(manifests, 'Deployment');
  assert.ok(deployment.spec.template.spec.containers[0]?.args.includes('--namespaces=a,b'));
  assert.equal(parseRenderedArgs(deployment, { POD_NAMESPACE: 'ops' }).namespaces, ['a', 'b']);
});

test('options: label selector, link-local, allow-list, secret consent off, one replica (no PDB), topology spread, ServiceMonitor', async () => {
  const manifests = await render('ops', {
    replicaCount: 1,
    labelSelector: 'tier in (a,b)',
    allowLinkLocal: true,
    allowedUrls: ['*.monitoring.svc', '10.0.0.0/8:8086', 'team-a=influx.example.com:8086'],
    clusterDomain: 'corp.internal',
    requireSecretConsent: false,
    concurrency: 8,
    reconcileTimeout: '3m',
    resyncPeriod: '1h',
    driftCheckInterval: '90s',
    logFormat: 'text',
    topologySpread: { enabled: true },
    serviceMonitor: { enabled: true },
  });
  assert.not.ok(
    manifests.some((m) => m.kind === 'PodDisruptionBudget'),
    'a PDB of minAvailable 1 would block every drain of a single replica',
  );
  const deployment = only<Deployment>(manifests, 'Deployment');
  const args = deployment.spec.template.spec.containers[0]?.args ?? [];
  for (const arg of [
    '--label-selector=tier in (a,b)',
    '--allow-link-local=true',
    '--allowed-urls=*.monitoring.svc,10.0.0.0/8:8086,team-a=influx.example.com:8086',
    '--cluster-domain=corp.internal',
    '--require-secret-consent=false',
    '--concurrency=8',
    '--reconcile-timeout=3m',
  ]) {
    assert.ok(args.includes(arg), `${arg} in ${args.join(' ')}`);
  }
  const config = parseRenderedArgs(deployment, { POD_NAMESPACE: 'ops' });
  assert.equal(config.allowedUrls, [
    { kind: 'host', pattern: '*.monitoring.svc' },
    { kind: 'network', address: '10.0.0.0', prefix: 8, family: 'ipv4', port: 8086 },
    { kind: 'host', pattern: 'influx.example.com', port: 8086, tenant: 'team-a' },
  ]);
  assert.is(config.clusterDomain, 'corp.internal');
  assert.is(config.requireSecretConsent, false);
  assert.equal(
    [
      config.labelSelector,
      config.allowLinkLocal,
      config.concurrency,
      config.reconcileTimeoutMs,
      config.resyncPeriodMs,
      config.driftCheckIntervalMs,
      config.logFormat,
    ],
    ['tier in (a,b)', true, 8, 180_000, 3_600_000, 90_000, 'text'],
  );
  assert.is(deployment.spec.template.spec.topologySpreadConstraints?.length, 1);
  const monitor = only<Manifest & { spec: { endpoints: Array<Record<string, unknown>> } }>(manifests, 'ServiceMonitor');
  assert.equal(monitor.spec.endpoints, [
    {
      port: 'metrics',
      path: '/metrics',
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      tlsConfig: { insecureSkipVerify: true },
    },
  ]);

  const refused = await helm(['template', release, chart, '--set', 'leaderElection.enabled=false']);
  assert.is.not(refused.code, 0, 'two replicas without leader election must not render');
  assert.match(refused.stderr, /leaderElection\.enabled/);
});

test('access records and tenant roles: a Role for ConfigMaps in the release namespace only; edit/view ClusterRoles without status, InfluxOnboarding only when asked, none without rbac.create', async () => {
  const manifests = await render('ops');
  assert.equal(named<RbacObject>(manifests, 'Role', `${fullname}-records`).rules, [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'update'] },
  ]);
  assert.is(named<RbacObject>(manifests, 'Role', `${fullname}-records`).metadata.namespace, 'ops');
  const edit = named<RbacObject>(manifests, 'ClusterRole', `${fullname}-tenant-edit`);
  const view = named<RbacObject>(manifests, 'ClusterRole', `${fullname}-tenant-view`);
  const aggregates = (role: RbacObject) =>
    Object.keys(role.metadata.labels ?? {})
      .filter((label) => label.startsWith('rbac.authorization.k8s.io/aggregate-to-'))
      .sort();
  assert.equal(aggregates(edit), [
    'rbac.authorization.k8s.io/aggregate-to-admin',
    'rbac.authorization.k8s.io/aggregate-to-edit',
  ]);
  assert.equal(aggregates(view), [
    'rbac.authorization.k8s.io/aggregate-to-admin',
    'rbac.authorization.k8s.io/aggregate-to-edit',
    'rbac.authorization.k8s.io/aggregate-to-view',
  ]);
  for (const role of [edit, view])
    assert.equal(
      role.rules.map((rule) => rule.resources),
      [['influxbuckets', 'influxtokens']],
      'no status, no onboardings',
    );
  assert.equal(view.rules[0]?.verbs, ['get', 'list', 'watch']);
  assert.not.ok(
    manifests.some((m) => (m as Manifest & { roleRef?: { name: string } }).roleRef?.name?.includes('-tenant-')),
    'bound to nobody: the platform gives tenants edit or view',
  );
  const withOnboardings = await render('ops', { tenantRoles: { onboardings: true } });
  assert.equal(named<RbacObject>(withOnboardings, 'ClusterRole', `${fullname}-tenant-edit`).rules[0]?.resources, [
    'influxbuckets',
    'influxtokens',
    'influxonboardings',
  ]);
  const off = await render('ops', { tenantRoles: { enabled: false } });
  assert.not.ok(off.some((m) => m.metadata.name.includes('-tenant-')));
  const none = await render('ops', { rbac: { create: false } });
  assert.not.ok(none.some((m) => m.metadata.name.endsWith('-records') || m.metadata.name.includes('-tenant-')));
});

test('escrow.enabled: --escrow-namespace is the release namespace, and a Role there grants exactly get, create and update on Secrets; off by default', async () => {
  const off = await render('ops');
  assert.not.ok(
    (only<Deployment>(off, 'Deployment').spec.template.spec.containers[0]?.args ?? []).some((arg) =>
      arg.startsWith('--escrow-namespace'),
    ),
  );
  const manifests = await render('ops', { escrow: { enabled: true } });
  const deployment = only<Deployment>(manifests, 'Deployment');
  assert.is(parseRenderedArgs(deployment, { POD_NAMESPACE: 'ops' }).escrowNamespace, 'ops');
  const escrow = manifests.filter((m): m is RbacObject => m.kind === 'Role' && m.metadata.name.endsWith('-escrow'));
  assert.equal(
    escrow.map((role) => [role.metadata.namespace, role.rules]),
    [['ops', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }]]],
  );
  const binding = manifests.find(
    (m): m is Manifest & { roleRef: { name: string }; subjects: Array<{ name: string; namespace: string }> } =>
      m.kind === 'RoleBinding' && m.metadata.name.endsWith('-escrow'),
  );
  assert.is(binding?.roleRef.name, escrow[0]?.metadata.name);
  assert.is(binding?.subjects[0]?.namespace, 'ops');
  assert.is(
    manifests.filter((m) => m.kind === 'ClusterRole').length,
    off.filter((m) => m.kind === 'ClusterRole').length,
    'nothing cluster-wide added',
  );
});

test('metrics: a certificate Secret is mounted for --metrics-cert-dir; plain HTTP drops the reviews and serves on 8080', async () => {
  const tlsConfig = {
    ca: { secret: { name: 'metrics-tls', key: 'ca.crt' } },
    serverName: `${fullname}-metrics.ops.svc`,
  };
  const withSecret = await render('ops', {
    metrics: { certSecretName: 'metrics-tls' },
    serviceMonitor: { enabled: true, tlsConfig },
  });
  const deployment = only<Deployment>(withSecret, 'Deployment');
  const [container] = deployment.spec.template.spec.containers;
  assert.ok(container);
  assert.ok(container.args.includes('--metrics-cert-dir=/etc/metrics-certs'), container.args.join(' '));
  const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/metrics-certs');
  assert.ok(mount, 'the certificate directory is mounted');
  assert.equal(
    deployment.spec.template.spec.volumes.find((v) => v.name === mount.name)?.secret?.secretName,
    'metrics-tls',
  );
  assert.is(parseRenderedArgs(deployment, { POD_NAMESPACE: 'ops' }).metricsCertDir, '/etc/metrics-certs');
  const monitor = only<Manifest & { spec: { endpoints: Array<{ tlsConfig?: object }> } }>(withSecret, 'ServiceMonitor');
  assert.equal(monitor.spec.endpoints[0]?.tlsConfig, tlsConfig, 'the scraper verifies the mounted certificate');

  const plain = await render('ops', {
    metrics: { secure: false, certSecretName: 'ignored' },
    serviceMonitor: { enabled: true },
  });
  const plainDeployment = only<Deployment>(plain, 'Deployment');
  const plainContainer = plainDeployment.spec.template.spec.containers[0];
  assert.ok(plainContainer);
  assert.ok(
    plainContainer.args.includes('--metrics-bind-address=:8080') &&
      plainContainer.args.includes('--metrics-secure=false'),
  );
  assert.not.ok(
    plainContainer.args.some((arg) => arg.startsWith('--metrics-cert-dir')),
    'no certificate with plain HTTP',
  );
  const plainConfig = parseRenderedArgs(plainDeployment, { POD_NAMESPACE: 'ops' });
  assert.equal([plainConfig.metricsBindAddress, plainConfig.metricsSecure], [':8080', false]);
  assert.is(plainContainer.ports.find((p) => p.name === 'metrics')?.containerPort, 8080);
  const service = only<Manifest & { spec: { ports: Array<{ port: number }> } }>(plain, 'Service');
  assert.is(service.spec.ports[0]?.port, 8080);
  assert.equal(
    plain
      .filter((m) => m.kind.startsWith('Cluster'))
      .map((m) => m.metadata.name)
      .sort(),
    [
      fullname,
      fullname,
      `${fullname}-instance-owners`,
      `${fullname}-instance-owners`,
      `${fullname}-tenant-edit`,
      `${fullname}-tenant-view`,
    ],
    'no review grants nor reader role without secure metrics',
  );
  const plainMonitor = only<Manifest & { spec: { endpoints: Array<Record<string, unknown>> } }>(
    plain,
    'ServiceMonitor',
  );
  assert.equal(plainMonitor.spec.endpoints, [{ port: 'metrics', path: '/metrics' }]);
});

test('networkPolicy.enabled: ingress to the metrics and probe ports, egress to DNS, the API server and InfluxDB; accepted by the API server', async () => {
  const namespace = await createNamespace('deploy-netpol');
  const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
  const apiServer = [{ ipBlock: { cidr: '10.0.0.1/32' } }];
  const manifests = await render(namespace, {
    networkPolicy: {
      enabled: true,
      metricsFrom: monitoring,
      apiServer: { ports: [443, 6443], to: apiServer },
      influxdb: { ports: [8086, 443] },
    },
  });
  interface NetworkPolicy extends Manifest {
    spec: {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: Array<{ ports: Array<{ port: string | number; protocol: string }>; from?: unknown[] }>;
      egress: Array<{ ports: Array<{ port: string | number; protocol: string }>; to?: unknown[] }>;
    };
  }
  const policy = only<NetworkPolicy>(manifests, 'NetworkPolicy');
  const deployment = only<Deployment>(manifests, 'Deployment');
  assert.equal(
    policy.spec.podSelector.matchLabels,
    deployment.spec.template.metadata.labels,
    'it selects the operator pods',
  );
  assert.equal(policy.spec.policyTypes, ['Ingress', 'Egress']);
  // Named ports: they follow the container ports (8443 or 8080, 8081) whatever the mode.
  const ports = deployment.spec.template.spec.containers[0]?.ports.map((p) => p.name) ?? [];
  assert.equal(
    policy.spec.ingress.map((rule) => [rule.ports.map((p) => p.port), rule.from]),
    [
      [['metrics'], monitoring],
      [['health'], undefined],
    ],
  );
  for (const rule of policy.spec.ingress)
    for (const port of rule.ports) assert.ok(ports.includes(String(port.port)), `${port.port} is a container port`);
  assert.equal(
    policy.spec.egress.map((rule) => [rule.ports.map((p) => `${p.port}/${p.protocol}`), rule.to]),
    [
      [['53/UDP', '53/TCP'], undefined],
      [['443/TCP', '6443/TCP'], apiServer],
      [['8086/TCP', '443/TCP'], undefined],
    ],
  );
  // The test control plane has no network plugin: this proves the object is valid, not that it is enforced.
  assertAcceptedWithoutWarnings(await dryRunApply(toYaml(manifests)), manifests.length);
});

test('the API server accepts the default rendering (server-side dry run)', async () => {
  const namespace = await createNamespace('deploy');
  const manifests = await render(namespace);
  assertAcceptedWithoutWarnings(await dryRunApply(toYaml(manifests)), manifests.length);
});

test('the API server accepts the per-namespace rendering (server-side dry run)', async () => {
  const namespace = await createNamespace('deploy');
  const watched = [await createNamespace('deploy-a'), await createNamespace('deploy-b')];
  const manifests = await render(namespace, { namespaces: watched });
  // One in each watched namespace, the Lease's and the access records'.
  assert.is(manifests.filter((m) => m.kind === 'Role').length, 4);
  assertAcceptedWithoutWarnings(await dryRunApply(toYaml(manifests)), manifests.length);
});

test('the Deployment satisfies the restricted Pod Security Standard (PodSecurity admission)', async () => {
  const namespace = await createNamespace('deploy-psa', {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': 'latest',
  });
  const deployment = only<Deployment>(await render(namespace), 'Deployment');
  // PodSecurity checks workload resources in warn mode: a violation is a warning, not a denial.
  assertAcceptedWithoutWarnings(await dryRunApply(stringify(deployment), namespace), 1);

  // Enforce mode applies to Pods: the pod the Deployment would create is admitted (its
  // ServiceAccount exists, as the chart creates it: a control plane with the ServiceAccount
  // admission plugin refuses a Pod of a missing one)...
  const serviceAccount = only<Manifest>(await render(namespace), 'ServiceAccount');
  const createdAccount = await kubectl(['apply', '--namespace', namespace, '-f', '-'], stringify(serviceAccount));
  assert.is(createdAccount.code, 0, createdAccount.stderr);
  const template = deployment.spec.template;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'operator', labels: template.metadata.labels },
    spec: template.spec,
  };
  assertAcceptedWithoutWarnings(await dryRunApply(stringify(pod), namespace), 1);

  // ...and the same pod without its security contexts is denied, which shows the PodSecurity
  // admission plugin is on in this API server, so the two passes above mean something.
  const containers = template.spec.containers.map(({ securityContext: _dropped, ...rest }) => rest);
  const { securityContext: _dropped, ...bareSpec } = template.spec;
  const bare = { ...pod, spec: { ...bareSpec, containers } };
  const denied = await dryRunApply(stringify(bare), namespace);
  assert.is.not(denied.code, 0, 'a pod without securityContext must be denied');
  assert.match(denied.stderr, /violates PodSecurity "restricted:latest"/);
  const unsafe = await dryRunApply(
    stringify({ ...deployment, spec: { ...deployment.spec, template: { ...template, spec: bare.spec } } }),
    namespace,
  );
  assert.is(unsafe.code, 0, unsafe.stderr);
  assert.match(unsafe.stderr, /would violate PodSecurity "restricted:latest"/);
});

test('every sample in config/samples is accepted by the API server with the CRD installed', async () => {
  await installCrd();
  const namespace = await createNamespace('deploy-samples');
  const samples = readdirSync(samplesDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();
  assert.equal(samples, ['adopt.yaml', 'application.yaml', 'full.yaml', 'minimal.yaml']);
  for (const sample of samples) {
    const text = readFileSync(join(samplesDir, sample), 'utf8');
    const documents = parseAllDocuments(text).map((doc) => doc.toJS() as Manifest);
    assert.ok(
      documents.every((doc) => ['InfluxOnboarding', 'InfluxBucket', 'InfluxToken'].includes(doc.kind)),
      `${sample}: resources of the operator only`,
    );
    const result = await dryRunApply(text, namespace);
    assert.is(result.code, 0, `${sample} rejected:\n${result.stderr}`);
    for (const doc of documents)
      assert.match(
        result.stdout,
        new RegExp(`${doc.kind.toLowerCase()}\\.influxdb\\.onboarding\\.dev/\\S+ created \\(server dry run\\)`),
        sample,
      );
    assert.not.match(result.stderr, /Warning/i, `${sample}: ${result.stderr}`);
  }
  // The schema really is checked: a sample broken on purpose (reserved bucket name) is refused.
  const minimal = parseAllDocuments(readFileSync(join(samplesDir, 'minimal.yaml'), 'utf8'))[0]?.toJS() as Manifest & {
    spec: object;
  };
  const broken = await dryRunApply(
    stringify({ ...minimal, spec: { ...minimal.spec, bucket: '_monitoring' } }),
    namespace,
  );
  assert.is.not(broken.code, 0);
  assert.match(broken.stderr, /spec\.bucket/);
});

test('full.yaml sets every spec field of the CRD', () => {
  const crd = parseAllDocuments(readFileSync(join(root, 'crds', crdFile), 'utf8'))[0]?.toJS() as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: Schema } } } }> };
  };
  interface Schema {
    properties?: Record<string, Schema>;
  }
  /** Dotted paths of every leaf field of a schema. */
  const leaves = (schema: Schema, prefix: string): string[] =>
    Object.entries(schema.properties ?? {}).flatMap(([key, child]) =>
      child.properties ? leaves(child, `${prefix}${key}.`) : [`${prefix}${key}`],
    );
  const full = parseAllDocuments(readFileSync(join(samplesDir, 'full.yaml'), 'utf8'))[0]?.toJS() as {
    spec: Record<string, unknown>;
  };
  const get = (path: string): unknown =>
    path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], full.spec);
  const specSchema = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
  assert.ok(specSchema);
  const missing = leaves(specSchema, '').filter((path) => get(path) === undefined);
  assert.equal(missing, [], `full.yaml lacks: ${missing.join(', ')}`);
});

test.run();
