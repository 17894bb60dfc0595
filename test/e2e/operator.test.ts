// The operator as users run it: deploy/install.yaml and the Helm chart installed on a real cluster
// (test/support/node.ts: the full control plane, a kubelet with containerd and runc, kube-proxy,
// CoreDNS), the image `npm run image` builds running as the Deployment's Pods, placed by the
// scheduler, with ServiceAccount tokens the kubelet mounts, against a real influxd v2.9.1 that
// Pods reach through a Service. Each step is what the README promises of an installation:
// install, security as deployed, metrics through the Service, probes through an API cut and an
// InfluxDB restart, leader hand-over, a rolling upgrade with never two leaders writing (from the
// API server's audit log), and uninstall. The tests run in order and share one installation at a
// time: two operators watching every namespace would both reconcile the same resources.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { adminKubeConfig } from '../support/cluster.js';
import { ensureHelm } from '../support/helm.js';
import { ONBOARD_FROM_ANNOTATION } from '../../src/api/types.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import { startInfluxd } from '../support/influxdb.js';
import { getCluster, type Cluster } from '../support/node.js';
import { chartDefaultImage } from '../support/operator-image.js';
import { eventually, sleep } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = join(root, 'deploy/influx-onboarding-operator');
const installFile = join(root, 'deploy/install.yaml');
const exec = promisify(execFile);
const GROUP = 'influxdb.onboarding.dev';
const CRDS = ['influxonboardings', 'influxbuckets', 'influxtokens'].map((plural) => `${plural}.${GROUP}`);
const INFLUX_NAMESPACE = 'e2e-influxdb';

/** Where an installation lives: its namespace, its objects' name (the Lease's too) and its Pods' labels. */
interface Installation {
  namespace: string;
  fullname: string;
  selector: string;
}
const manifestInstall: Installation = {
  namespace: 'influx-onboarding',
  fullname: 'influx-onboarding-operator',
  selector: 'app.kubernetes.io/instance=influx-onboarding-operator',
};
const helmInstall: Installation = {
  namespace: 'e2e-operator',
  fullname: 'e2e-influx-onboarding-operator',
  selector: 'app.kubernetes.io/instance=e2e',
};
const release = 'e2e';

type Influxd = Awaited<ReturnType<typeof startInfluxd>>;
interface Context {
  cluster: Cluster;
  helm: string;
  image: string;
  influxd: Influxd;
  /** The influxd's URL as Pods see it (a Service in front of the node's forwarded port). */
  influxdUrl: string;
  standins: InfluxStandin[];
}

const tests = suite<Context>('the operator on a node', {} as Context);

// ---- helpers ------------------------------------------------------------------------------------

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await getCluster().controlPlane.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}
const apply = (...objects: object[]) =>
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
const getJson = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

async function helm(context: Context, args: string[]): Promise<string> {
  const { stdout } = await exec(context.helm, args, {
    env: { ...process.env, KUBECONFIG: context.cluster.controlPlane.kubeconfigPath },
    maxBuffer: 1 << 24,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`helm ${args.join(' ')}: ${err.stderr ?? err.message}`);
  });
  return stdout;
}

/** A Service (and its EndpointSlice) that sends Pods to `port` on this machine, exposed on the node. */
async function serveToPods(cluster: Cluster, name: string, port: number): Promise<string> {
  await cluster.exposeHostPort(port);
  await apply(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: INFLUX_NAMESPACE },
      spec: { ports: [{ name: 'http', port: 8086, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace: INFLUX_NAMESPACE,
        labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'e2e-tests' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [cluster.nodeIp] }],
      ports: [{ name: 'http', port, protocol: 'TCP' }],
    },
  );
  return `http://${name}.${INFLUX_NAMESPACE}.svc:8086`;
}

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  return name;
}

interface Onboarding {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Array<{ type: string; status: string; reason: string }> };
}

/** The owner of Service `owner`/`service` lets `namespace` onboard the InfluxDB behind it (its onboard-from annotation). */
async function consent(owner: string, service: string, namespace: string): Promise<void> {
  const current = await getJson<{ metadata: { annotations?: Record<string, string> } }>([
    'get',
    'service',
    '-n',
    owner,
    service,
  ]);
  const listed = (current.metadata.annotations?.[ONBOARD_FROM_ANNOTATION] ?? '').split(',').filter(Boolean);
  if (listed.includes(namespace)) return;
  await kubectl([
    'annotate',
    '--overwrite',
    'service',
    '-n',
    owner,
    service,
    `${ONBOARD_FROM_ANNOTATION}=${[...listed, namespace].join(',')}`,
  ]);
}

/**
 * Every owner of the instance `url` names lets `namespace` onboard it, as docs/tenants.md tells a
 * platform team to: the Service's namespace, and `default`, because the test's InfluxDB is reached
 * at the node's address, which the `kubernetes` Service's EndpointSlice lists too (the API server
 * advertises it).
 */
async function consentTo(namespace: string, url: string): Promise<void> {
  const [service = '', owner = ''] = new URL(url).hostname.split('.');
  if (owner !== namespace) await consent(owner, service, namespace);
  await consent('default', 'kubernetes', namespace);
}

/** Applies an InfluxOnboarding for `url` (a fresh instance, whose Service consents), not waiting. */
async function applyOnboarding(namespace: string, name: string, url: string): Promise<string> {
  await consentTo(namespace, url);
  return apply({
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'InfluxOnboarding',
    metadata: { name, namespace },
    spec: { url, username: 'admin', org: 'e2e', bucket: 'metrics' },
  });
}

async function waitOnboarded(namespace: string, name: string, timeoutMs = 90_000): Promise<void> {
  let last: Onboarding | undefined;
  await eventually(
    `${namespace}/${name} Ready`,
    async () => {
      last = await getJson<Onboarding>(['-n', namespace, 'get', 'influxonboarding', name]);
      const ready = last.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && last.status?.observedGeneration === last.metadata.generation;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last?.status)}`);
  });
}

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status: {
    phase: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      name: string;
      ready: boolean;
      restartCount: number;
      state: { terminated?: { exitCode: number; finishedAt: string; reason?: string } };
      lastState: { terminated?: { exitCode: number; reason?: string } };
    }>;
  };
}

const podsOf = async (install: Installation) =>
  (await getJson<{ items: Pod[] }>(['-n', install.namespace, 'get', 'pods', '-l', install.selector])).items;
const isReady = (pod: Pod) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const leaseHolder = async (install: Installation) =>
  (
    await kubectl(['-n', install.namespace, 'get', 'lease', install.fullname, '-o', 'jsonpath={.spec.holderIdentity}'])
  ).trim();

/** Waits for the Deployment's rollout and returns its Pods, every one Running and Ready. */
async function rolledOut(install: Installation, replicas = 2): Promise<Pod[]> {
  await kubectl(['-n', install.namespace, 'rollout', 'status', `deployment/${install.fullname}`, '--timeout=180s']);
  return eventually(
    `${replicas} Ready Pods of ${install.fullname}`,
    async () => {
      const pods = (await podsOf(install)).filter((pod) => !pod.metadata.deletionTimestamp);
      return pods.length === replicas && pods.every((pod) => pod.status.phase === 'Running' && isReady(pod)) && pods;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** Exactly one of `pods` holds the installation's Lease; returns its name. */
async function oneLeader(install: Installation, pods: Pod[]): Promise<string> {
  const names = pods.map((pod) => pod.metadata.name);
  return eventually(
    'one Pod holding the Lease',
    async () => {
      const holder = await leaseHolder(install);
      return names.includes(holder) && holder;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

const restricted = {
  pod: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
};

/**
 * Runs `script` (an ES module) with the image's Node in a Pod of its own, as an application would,
 * and returns what it printed last as JSON (it must exit 0).
 */
async function runInPod<T>(
  context: Context,
  namespace: string,
  name: string,
  script: string,
  pod: { serviceAccountName?: string; envFrom?: object[]; env?: object[] } = {},
): Promise<T> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      restartPolicy: 'Never',
      ...(pod.serviceAccountName && { serviceAccountName: pod.serviceAccountName }),
      securityContext: restricted.pod,
      containers: [
        {
          name: 'client',
          image: context.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/nodejs/bin/node', '--input-type=module', '-e', script],
          ...(pod.envFrom && { envFrom: pod.envFrom }),
          ...(pod.env && { env: pod.env }),
          securityContext: restricted.container,
        },
      ],
    },
  });
  const phase = await eventually(
    `Pod ${namespace}/${name} to finish`,
    async () => {
      const { status } = await getJson<Pod>(['-n', namespace, 'get', 'pod', name]);
      return (status.phase === 'Succeeded' || status.phase === 'Failed') && status.phase;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const logs = await kubectl(['-n', namespace, 'logs', name]);
  await kubectl(['-n', namespace, 'delete', 'pod', name, '--wait=false']);
  assert.is(phase, 'Succeeded', `Pod ${name} failed: ${logs}`);
  return JSON.parse(logs.trim().split('\n').pop() ?? 'null') as T;
}

/** An application's use of an onboarding's Secret from a Pod: a write and a Flux query with it. */
const useSecretScript = `
const { url, org, bucket, token } = process.env;
const probe = Math.random().toString(16).slice(2);
const auth = { Authorization: 'Token ' + token };
const write = await fetch(url + '/api/v2/write?precision=ms&org=' + encodeURIComponent(org) + '&bucket=' + encodeURIComponent(bucket), {
  method: 'POST', headers: auth, body: 'e2e_probe,probe=' + probe + ' value=1 ' + Date.now(),
});
const query = await fetch(url + '/api/v2/query?org=' + encodeURIComponent(org), {
  method: 'POST',
  headers: { ...auth, 'Content-Type': 'application/vnd.flux', Accept: 'application/csv' },
  body: 'from(bucket: "' + bucket + '") |> range(start: -1h) |> filter(fn: (r) => r.probe == "' + probe + '")',
});
const rows = (await query.text()).split('\\n').filter((line) => line.includes(probe)).length;
console.log(JSON.stringify({ url, write: write.status, query: query.status, rows }));
`;

async function provenFromPod(context: Context, namespace: string, secret: string): Promise<void> {
  const client = await createNamespace(`${namespace}-client`);
  const secretData = await getJson<{ data: Record<string, string> }>(['-n', namespace, 'get', 'secret', secret]);
  // The application's own copy of the Secret in its namespace, as it would be handed over.
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'influxdb', namespace: client },
    data: secretData.data,
  });
  const used = await runInPod<{ url: string; write: number; query: number; rows: number }>(
    context,
    client,
    'influx-client',
    useSecretScript,
    { envFrom: [{ secretRef: { name: 'influxdb' } }] },
  );
  assert.equal(used, { url: context.influxdUrl, write: 204, query: 200, rows: 1 }, 'the Secret writes and queries');
}

// ---- setup --------------------------------------------------------------------------------------

tests.before(async (context) => {
  context.cluster = getCluster();
  context.image = chartDefaultImage();
  context.helm = await ensureHelm();
  context.standins = [];
  context.influxd = await startInfluxd('v2.9.1');
  await createNamespace(INFLUX_NAMESPACE);
  context.influxdUrl = await serveToPods(context.cluster, 'influxdb', Number(new URL(context.influxd.url).port));
});

tests.after(async (context) => {
  await context.influxd?.stop();
  await Promise.all(context.standins.map((standin) => standin.close()));
});

/** A fresh stand-in InfluxDB that Pods reach at the returned URL (for resources that only need to be Ready). */
async function standinForPods(context: Context): Promise<string> {
  const standin = await startInfluxStandin({ version: 'v2.9.1', hashedTokens: true });
  context.standins.push(standin);
  return serveToPods(context.cluster, `standin-${context.standins.length}`, Number(new URL(standin.url).port));
}

// ---- the plain manifests --------------------------------------------------------------------------

tests(
  'deploy/install.yaml by server-side apply: 2 Pods Ready, one Lease holder, a resource Ready and its Secret used from a Pod',
  async (context) => {
    await kubectl(['apply', '--server-side', '-f', installFile]);
    const pods = await rolledOut(manifestInstall);
    const leader = await oneLeader(manifestInstall, pods);
    assert.ok(pods.some((pod) => pod.metadata.name === leader));

    await context.influxd.wipe();
    const app = await createNamespace('e2e-manifest-app');
    await applyOnboarding(app, 'influxdb', context.influxdUrl);
    await waitOnboarded(app, 'influxdb');
    await provenFromPod(context, app, 'influxdb-influxdb');
  },
);

tests(
  'kubectl delete -f deploy/install.yaml: no Pod, no Lease, and the CRDs gone with it (the documented policy)',
  async () => {
    await kubectl(['delete', '-f', installFile, '--wait=true', '--timeout=180s']);
    await eventually(
      'the namespace gone',
      async () =>
        (await kubectl(['get', 'namespace', manifestInstall.namespace, '--ignore-not-found', '-o', 'name'])) === '',
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const leftovers = await kubectl(['get', 'crd', ...CRDS, '--ignore-not-found', '-o', 'name']);
    assert.is(leftovers, '', 'deleting install.yaml deletes the CRDs');
  },
);

// ---- the chart ---------------------------------------------------------------------------------------

tests(
  'helm install with the chart defaults: 2 Pods Ready, exactly one holds the Lease, a resource Ready and its Secret used from a Pod in another namespace',
  async (context) => {
    // The namespace enforces the restricted Pod Security Standard: the ReplicaSet's Pods must pass it to exist at all.
    await createNamespace(helmInstall.namespace, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await helm(context, [
      'install',
      release,
      chart,
      '-n',
      helmInstall.namespace,
      '--create-namespace',
      '--wait',
      '--timeout=5m',
    ]);
    const pods = await rolledOut(helmInstall);
    assert.ok(pods.every((pod) => pod.status.containerStatuses?.every((c) => c.ready && c.restartCount === 0)));
    const leader = await oneLeader(helmInstall, pods);
    const standby = pods.find((pod) => pod.metadata.name !== leader);
    assert.ok(standby, 'the other replica waits');
    assert.ok(isReady(standby), 'a standby is Ready too (its caches are synced)');

    await context.influxd.wipe();
    const app = await createNamespace('e2e-helm-app');
    await applyOnboarding(app, 'influxdb', context.influxdUrl);
    await waitOnboarded(app, 'influxdb');
    await provenFromPod(context, app, 'influxdb-influxdb');
  },
);

/** What the operator's process is allowed, read from inside its container (the image has Node and nothing else). */
const securityScript = `
const fs = require('node:fs');
const status = (pid) => Object.fromEntries(
  fs.readFileSync('/proc/' + pid + '/status', 'utf8').split('\\n').filter(Boolean).map((line) => line.split(/:\\s+/)),
);
const operator = status(1);
const attempt = (write) => { try { write(); return 'written'; } catch (error) { return error.code; } };
console.log(JSON.stringify({
  command: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0').filter(Boolean),
  uid: operator.Uid.split('\\t'), gid: operator.Gid.split('\\t'), groups: operator.Groups,
  capabilities: [operator.CapInh, operator.CapPrm, operator.CapEff, operator.CapBnd, operator.CapAmb],
  noNewPrivs: operator.NoNewPrivs, seccomp: operator.Seccomp,
  cgroup: fs.readFileSync('/proc/1/cgroup', 'utf8'),
  rootWrite: attempt(() => fs.writeFileSync('/app/probe', 'x')),
  tmpWrite: attempt(() => { fs.writeFileSync('/tmp/probe', 'x'); fs.unlinkSync('/tmp/probe'); }),
}));
`;

tests(
  'pod security as deployed: user 65532, read-only root, no capability, no privilege gain, seccomp, the QoS cgroup; restricted admission takes it',
  async (context) => {
    const pods = await podsOf(helmInstall);
    assert.is(pods.length, 2);
    for (const pod of pods) {
      const seen = JSON.parse(
        await kubectl([
          '-n',
          helmInstall.namespace,
          'exec',
          pod.metadata.name,
          '-c',
          'operator',
          '--',
          '/nodejs/bin/node',
          '-e',
          securityScript,
        ]),
      ) as Record<string, unknown>;
      assert.equal(
        seen.command,
        ['/nodejs/bin/node', 'dist/main.js', ...(seen.command as string[]).slice(2)],
        'PID 1 is the operator',
      );
      assert.equal(seen.uid, ['65532', '65532', '65532', '65532'], 'real, effective, saved and filesystem UID');
      assert.equal(seen.gid, ['65532', '65532', '65532', '65532']);
      assert.equal(seen.capabilities, Array(5).fill('0000000000000000'), 'no capability in any set');
      assert.is(seen.noNewPrivs, '1', 'allowPrivilegeEscalation: false');
      assert.is(seen.seccomp, '2', 'a seccomp filter (RuntimeDefault)');
      assert.is(seen.rootWrite, 'EROFS', 'the root filesystem is read-only');
      assert.is(seen.tmpWrite, 'written', '/tmp is the writable emptyDir');
      // Requests below limits: the Burstable QoS class, in the kubelet's cgroup for it.
      assert.match(
        seen.cgroup as string,
        new RegExp(`:memory:/${context.cluster.cgroupRoot}/kubepods/burstable/pod${pod.metadata.uid}/`),
      );
    }
    // The API server's own verdict on the running Pods against the restricted level: no warning.
    const verdict = await context.cluster.controlPlane.kubectl([
      'label',
      '--dry-run=server',
      '--overwrite',
      'namespace',
      helmInstall.namespace,
      'pod-security.kubernetes.io/enforce=restricted',
    ]);
    assert.is(verdict.code, 0, verdict.stderr);
    assert.not.match(verdict.stderr, /violate|Warning/, verdict.stderr);
  },
);

/** A scrape of the metrics Service from a Pod with its ServiceAccount's token, as Prometheus does. */
const scrapeScript = `
import https from 'node:https';
import { readFileSync } from 'node:fs';
const token = readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8');
const scraped = await new Promise((resolve, reject) => {
  // The certificate is self-signed (the chart's default): Prometheus' ServiceMonitor skips verification too.
  https.get(process.env.TARGET, { headers: { Authorization: 'Bearer ' + token }, rejectUnauthorized: false }, (response) => {
    let body = '';
    response.on('data', (chunk) => (body += chunk));
    response.on('end', () => resolve({ status: response.statusCode, reconcileMetric: body.includes('controller_runtime_reconcile_total') }));
  }).on('error', reject);
});
console.log(JSON.stringify(scraped));
`;

tests(
  'metrics through the Service: a ServiceAccount bound to the metrics-reader role gets 200 at https://<service>:8443/metrics, one without the binding 403',
  async (context) => {
    const namespace = await createNamespace('e2e-monitoring');
    await apply(
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prometheus', namespace } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'stranger', namespace } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'e2e-prometheus-metrics-reader' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: `${helmInstall.fullname}-metrics-reader`,
        },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace }],
      },
    );
    const target = `https://${helmInstall.fullname}-metrics.${helmInstall.namespace}.svc:8443/metrics`;
    // The Service's endpoints are the Pods' metrics port.
    const slices = await getJson<{
      items: Array<{ endpoints: Array<{ addresses: string[] }>; ports: Array<{ port: number }> }>;
    }>([
      '-n',
      helmInstall.namespace,
      'get',
      'endpointslices',
      '-l',
      `kubernetes.io/service-name=${helmInstall.fullname}-metrics`,
    ]);
    const podIps = (await podsOf(helmInstall)).map((pod) => pod.status.podIP).sort();
    assert.equal(slices.items.flatMap((slice) => slice.endpoints.flatMap((e) => e.addresses)).sort(), podIps);
    assert.equal([...new Set(slices.items.flatMap((slice) => slice.ports.map((p) => p.port)))], [8443]);

    const env = [{ name: 'TARGET', value: target }];
    const allowed = await runInPod(context, namespace, 'scrape-allowed', scrapeScript, {
      serviceAccountName: 'prometheus',
      env,
    });
    assert.equal(allowed, { status: 200, reconcileMetric: true });
    const refused = await runInPod(context, namespace, 'scrape-refused', scrapeScript, {
      serviceAccountName: 'stranger',
      env,
    });
    assert.equal(refused, { status: 403, reconcileMetric: false });
  },
);

tests(
  'probes: a 60 s cut between the Pods and the API server and a silent InfluxDB restart restart no container, and the Pods are Ready within a probe period after the cut heals',
  async (context) => {
    const before = await podsOf(helmInstall);
    const restarts = (pods: Pod[]) =>
      Object.fromEntries(pods.map((pod) => [pod.metadata.name, pod.status.containerStatuses?.[0]?.restartCount]));
    const app = await createNamespace('e2e-cut');
    const url = await standinForPods(context);
    const heal = await context.cluster.cutPodsFromApiServer();
    const cutAt = performance.now();
    try {
      // Applied from here (the harness is not cut off): the operator cannot see it until the cut heals.
      await applyOnboarding(app, 'influxdb', url);
      await context.influxd.restart();
      // The kubelet keeps probing and reporting (it is not cut off): watch the containers through the cut.
      while (performance.now() - cutAt < 60_000) {
        assert.equal(restarts(await podsOf(helmInstall)), restarts(before), 'no container restarted during the cut');
        await sleep(5_000);
      }
      const unseen = await getJson<Onboarding>(['-n', app, 'get', 'influxonboarding', 'influxdb']);
      assert.is(unseen.status, undefined, 'the cut is real: no operator reached the resource');
    } finally {
      await heal();
    }
    const healedAt = performance.now();
    // readinessProbe.periodSeconds of the chart, plus the kubelet's status report.
    const readinessPeriodMs = 5_000;
    await eventually(
      'both Pods Ready after the cut',
      async () => {
        const pods = await podsOf(helmInstall);
        return pods.length === 2 && pods.every(isReady);
      },
      { timeoutMs: readinessPeriodMs + 2_000, intervalMs: 250 },
    );
    process.stdout.write(`probes: Pods Ready ${Math.round(performance.now() - healedAt)} ms after the cut healed\n`);
    const after = await podsOf(helmInstall);
    assert.equal(restarts(after), restarts(before), 'no container restarted');
    for (const pod of after) assert.is(pod.status.containerStatuses?.[0]?.lastState.terminated, undefined);
    // And a leader works again: the resource applied during the cut is onboarded.
    await waitOnboarded(app, 'influxdb');
    await oneLeader(helmInstall, after);
  },
);

tests(
  'hand-over: the leader Pod deleted, the other takes the Lease within the lease duration, a resource applied meanwhile is Ready, and the deleted Pod exited 0 within its grace period',
  async (context) => {
    const pods = await rolledOut(helmInstall);
    const leader = await oneLeader(helmInstall, pods);
    // Every state the leaving Pod goes through, its last status (the container terminated) included.
    const seen: V1Pod[] = [];
    const watching = await new Watch(await adminKubeConfig()).watch(
      `/api/v1/namespaces/${helmInstall.namespace}/pods`,
      { fieldSelector: `metadata.name=${leader}` },
      (_type, pod: V1Pod) => seen.push(pod),
      () => undefined,
    );
    const url = await standinForPods(context);
    try {
      const deletedAt = Date.now();
      await kubectl(['-n', helmInstall.namespace, 'delete', 'pod', leader, '--wait=false']);
      const app = await createNamespace('e2e-handover');
      await applyOnboarding(app, 'influxdb', url);
      const holder = await eventually(
        'another replica holding the Lease',
        async () => {
          const current = await leaseHolder(helmInstall);
          return current !== '' && current !== leader && current;
        },
        // The lease duration: what a successor waits at most when the leader vanishes without a word.
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      // The standby and the ReplicaSet's replacement race for the released Lease: either may win.
      const live = (await podsOf(helmInstall)).filter((pod) => !pod.metadata.deletionTimestamp);
      assert.ok(
        live.some((pod) => pod.metadata.name === holder),
        `${holder} is a running replica`,
      );
      const role = pods.some((pod) => pod.metadata.name === holder) ? 'the standby' : 'the replacement';
      process.stdout.write(`hand-over: ${role} ${holder} leads ${Date.now() - deletedAt} ms after the delete\n`);
      await waitOnboarded(app, 'influxdb');
      const terminated = await eventually(
        'the deleted Pod gone, its container terminated',
        () => {
          const state = seen.at(-1)?.status?.containerStatuses?.[0]?.state?.terminated;
          return state?.finishedAt && state;
        },
        { timeoutMs: 45_000, intervalMs: 200 },
      );
      assert.is(terminated.exitCode, 0, `exit code (reason ${terminated.reason})`);
      // The first deletionTimestamp is when the grace period ends (the kubelet's final delete
      // moves it to that moment): the process was gone before it. Both have whole seconds.
      const graceEnds = seen.find((pod) => pod.metadata?.deletionTimestamp)?.metadata?.deletionTimestamp;
      const grace = seen[0]?.spec?.terminationGracePeriodSeconds ?? 0;
      const finishedAt = new Date(terminated.finishedAt ?? 0).getTime();
      const deadline = new Date(graceEnds ?? 0).getTime();
      process.stdout.write(
        `hand-over: the old leader exited ${grace - (deadline - finishedAt) / 1000} s into its ${grace} s grace period\n`,
      );
      assert.ok(
        finishedAt <= deadline - 1000,
        `finished ${String(terminated.finishedAt)}, grace period over ${String(graceEnds)}`,
      );
    } finally {
      watching.abort();
    }
    await rolledOut(helmInstall);
  },
);

interface AuditEvent {
  verb: string;
  user: { username: string; extra?: Record<string, string[]> };
  sourceIPs: string[];
  objectRef?: { resource: string; namespace?: string; name?: string };
  requestReceivedTimestamp: string;
  responseStatus?: { code: number };
}

/** The Pods' logs, from each Pod that appears until stop(): what a rollout's leaving Pods said, too. */
function followLogs(install: Installation): { stop(): Promise<string> } {
  const { binDir, kubeconfigPath } = getCluster().controlPlane;
  const followed = new Map<string, { child: ChildProcess; output: Promise<string> }>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pod of await podsOf(install).catch(() => [])) {
        const name = pod.metadata.name;
        if (followed.has(name) || pod.status.phase !== 'Running') continue;
        const child = spawn(join(binDir, 'kubectl'), ['-n', install.namespace, 'logs', '-f', name], {
          env: { ...process.env, KUBECONFIG: kubeconfigPath },
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        followed.set(name, { child, output: new Promise((resolve) => child.once('close', () => resolve(output))) });
      }
      await sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      // The Pods still running log on; what they said so far is what counts.
      for (const { child } of followed.values()) child.kill();
      return (await Promise.all([...followed.values()].map(({ output }) => output))).join('\n');
    },
  };
}

tests(
  'helm upgrade to another log level rolls the Pods without two leaders writing (the audit log by source IP) and with no failed reconcile',
  async (context) => {
    const before = await rolledOut(helmInstall);
    const existing = await createNamespace('e2e-upgrade');
    await applyOnboarding(existing, 'before', await standinForPods(context));
    await waitOnboarded(existing, 'before');
    const urls = [await standinForPods(context), await standinForPods(context)];
    const auditPath = context.cluster.controlPlane.auditLogPath ?? '';
    const auditFrom = readFileSync(auditPath, 'utf8').length;
    const podIps = new Map(before.map((pod) => [pod.status.podIP ?? '', pod.metadata.name]));
    const logs = followLogs(helmInstall);

    const upgrading = helm(context, [
      'upgrade',
      release,
      chart,
      '-n',
      helmInstall.namespace,
      '--reuse-values',
      '--set',
      'logLevel=debug',
      '--wait',
      '--timeout=5m',
    ]);
    // Resources applied during the rollout, for the leaders to reconcile while they change.
    for (const [index, url] of urls.entries()) {
      await sleep(3_000);
      await applyOnboarding(existing, `during-${index}`, url);
    }
    await upgrading;
    const after = await rolledOut(helmInstall);
    for (const pod of after) podIps.set(pod.status.podIP ?? '', pod.metadata.name);
    assert.ok(
      after.every((pod) => !before.some((old) => old.metadata.name === pod.metadata.name)),
      'every Pod replaced',
    );
    for (const pod of after) {
      const { spec } = await getJson<{ spec: { containers: Array<{ args: string[] }> } }>([
        '-n',
        helmInstall.namespace,
        'get',
        'pod',
        pod.metadata.name,
      ]);
      assert.ok(spec.containers[0]?.args.includes('--log-level=debug'), 'the new value reached the Pods');
    }
    for (const name of ['before', 'during-0', 'during-1']) await waitOnboarded(existing, name);
    const newLeader = await oneLeader(helmInstall, after);
    // Let the new leader renew a few times after the last old Pod is gone.
    await sleep(5_000);
    const output = await logs.stop();

    const serviceAccount = `system:serviceaccount:${helmInstall.namespace}:${helmInstall.fullname}`;
    const writes = readFileSync(auditPath, 'utf8')
      .slice(auditFrom)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.user.username === serviceAccount && !['get', 'list', 'watch'].includes(event.verb));
    assert.ok(writes.length > 10, `the operator wrote during the rollout (${writes.length} writes)`);
    // Who wrote, by source address: every address is a Pod's, the one the token was bound to.
    const spans = new Map<string, { first: number; last: number; writes: number }>();
    for (const event of writes) {
      const ip = event.sourceIPs[0] ?? '';
      const pod = podIps.get(ip);
      assert.ok(pod, `a write from ${ip}, no Pod's address (${event.verb} ${event.objectRef?.resource})`);
      assert.equal(
        event.user.extra?.['authentication.kubernetes.io/pod-name'],
        [pod],
        'the token of the Pod at that address',
      );
      const at = new Date(event.requestReceivedTimestamp).getTime();
      const span = spans.get(pod) ?? { first: at, last: at, writes: 0 };
      spans.set(pod, { first: Math.min(span.first, at), last: Math.max(span.last, at), writes: span.writes + 1 });
    }
    const ordered = [...spans.entries()].sort(([, a], [, b]) => a.first - b.first);
    process.stdout.write(
      `upgrade: writers in turn ${ordered.map(([pod, span]) => `${pod} (${span.writes})`).join(' -> ')}\n`,
    );
    for (let i = 1; i < ordered.length; i++) {
      const [previous, earlier] = ordered[i - 1] as [string, { last: number }];
      const [next, later] = ordered[i] as [string, { first: number }];
      assert.ok(
        earlier.last < later.first,
        `${previous} wrote ${earlier.last - later.first} ms after ${next} began writing`,
      );
    }
    assert.is(ordered.at(-1)?.[0], newLeader, 'the last writer is the leader');
    // This test's resources: earlier tests' resources (their stand-ins, their cuts) are not its
    // subject; their failures are printed, not judged here.
    const failed = output.split('\n').filter((line) => line.includes('"reconcile failed"'));
    const ours = failed.filter((line) => line.includes(`"namespace":"${existing}"`));
    if (failed.length > ours.length) {
      process.stdout.write(`upgrade: failed reconciles of earlier tests' resources: ${failed.length - ours.length}\n`);
    }
    assert.equal(ours, [], 'no reconcile of this test failed');
  },
);

tests(
  'helm uninstall: no Pod, no Lease; the CRDs stay (Helm never deletes a CRD) with the resources in them',
  async (context) => {
    await helm(context, ['uninstall', release, '-n', helmInstall.namespace, '--wait', '--timeout=2m']);
    await eventually('no Pod left', async () => (await podsOf(helmInstall)).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const lease = await kubectl([
      '-n',
      helmInstall.namespace,
      'get',
      'lease',
      helmInstall.fullname,
      '--ignore-not-found',
      '-o',
      'name',
    ]);
    assert.is(lease, '', 'no Lease left behind');
    const crds = (await kubectl(['get', 'crd', ...CRDS, '-o', 'name'])).trim().split('\n');
    assert.is(crds.length, CRDS.length, 'every CRD stays');
    const kept = await kubectl(['get', 'influxonboardings', '-A', '-o', 'name']);
    assert.match(kept, /influxonboarding\.influxdb\.onboarding\.dev\/influxdb/, 'the resources stay too');
  },
);

tests.run();
