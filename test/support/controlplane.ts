// A real Kubernetes control plane for tests, without Docker: etcd + kube-apiserver (+ optionally
// kube-controller-manager for garbage collection and namespace deletion), built from the Go
// modules pinned in test/controlplane and run as local processes on 127.0.0.1 with real TLS,
// RBAC and service-account tokens. This is what controller-runtime's envtest does, plus the
// controller manager, because the operator relies on owner-reference garbage collection.
// With `full` it is the control plane of a real cluster, for a node to join (test/support/node.ts).
import { spawn } from 'node:child_process';
import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { clusterCa } from './cluster-ca.js';
import { ProcessScope, freePorts, runBuildScript } from './processes.js';
import type { GroupProcess } from './processes.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collector and namespace controller). Default false. */
  controllerManager?: boolean;
  /**
   * The control plane of a real cluster, for a node to join (implies controllerManager):
   * kube-scheduler; every default controller of kube-controller-manager, each with a
   * ServiceAccount of its own; the ServiceAccount and NodeRestriction admission plugins; Node,RBAC
   * authorization; an audit log of every write; a CA of its own that signs the API server's
   * certificate; identities for the node's kubelet and kube-proxy. Without it: what envtest runs.
   */
  full?: FullControlPlaneOptions;
  /** Folder in which a fresh scratch folder is created (and removed on stop). Default: os.tmpdir(). */
  dir?: string;
  /** Receives progress lines (start-up timing, failures). Default: written to stderr. */
  log?: (message: string) => void;
  /**
   * An audit policy (audit.k8s.io/v1 Policy): the API server then keeps an audit log, JSON lines at
   * `auditLogPath`. Default: none, or with `full` one of every write.
   */
  auditPolicy?: Record<string, unknown>;
}

/** The processes a fault can kill (SIGKILL) and start again. */
export type KillableComponent = 'etcd' | 'kube-apiserver';

export interface FullControlPlaneOptions {
  /** The node whose kubelet gets an identity (system:node:<name>, group system:nodes). */
  nodeName: string;
  /** Where the processes run. Default: here, on 127.0.0.1. */
  network?: ControlPlaneNetwork;
}

/** A network namespace the control plane runs in (the node's), reached from here by forwarded ports. */
export interface ControlPlaneNetwork {
  /** What the API server advertises (the `kubernetes` Service's endpoint): an address in the namespace. */
  readonly advertiseAddress: string;
  /** The command line that runs `command args` inside the namespace. */
  wrap(command: string, args: string[]): [string, string[]];
  /** Makes 127.0.0.1:port inside the namespace reachable at 127.0.0.1:port here; resolves once it is. */
  forward(port: number): Promise<void>;
}

/** What a node needs to join a full control plane. */
export interface ClusterFacts {
  /** The cluster CA (PEM file): it signed the API server's certificate and its kubelet client certificate. */
  readonly caFile: string;
  readonly kubeletKubeconfig: string;
  readonly kubeProxyKubeconfig: string;
  /** The Service address range; its first address is the `kubernetes` Service's. */
  readonly serviceClusterIpRange: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Admin kubeconfig (bearer token in group system:masters, CA-verified TLS). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** The CA that signed the API server's serving certificate. */
  readonly caPem: string;
  readonly adminToken: string;
  readonly binDir: string;
  /** http://127.0.0.1:<port>, etcd's client URL (its v3 JSON gateway answers here too). */
  readonly etcdUrl: string;
  /** Scratch folder: etcd data, certificates, keys, kubeconfigs and logs/<component>.log. */
  readonly dir: string;
  /** The API server's audit log (JSON lines), with `full` or an `auditPolicy`. */
  readonly auditLogPath?: string;
  /** With `full`: what a node needs to join. */
  readonly cluster?: ClusterFacts;
  /** Runs the harness's kubectl against this control plane (KUBECONFIG is set for it). */
  kubectl(args: string[], options?: { input?: string }): Promise<KubectlResult>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves when ready. */
  restartApiServer(): Promise<void>;
  /** SIGKILL to one component: no shutdown code runs. It stays down until started again. */
  kill(component: KillableComponent): Promise<void>;
  /** Starts a killed component again with the same flags, data and port; resolves once it is ready. */
  start(component: KillableComponent): Promise<void>;
  /** Compacts etcd at its current revision, so older resourceVersions are gone; returns it. */
  compactEtcd(): Promise<number>;
  /**
   * A token for the ServiceAccount from the TokenRequest API (the ServiceAccount is created if
   * it does not exist; the namespace must). Nothing grants it any permission.
   */
  mintServiceAccountToken(namespace: string, name: string): Promise<string>;
  /** Stops every process and removes the scratch folder. Idempotent. */
  stop(): Promise<void>;
}

const buildScript = fileURLToPath(new URL('../controlplane/build.sh', import.meta.url));
const serviceClusterIpRange = '10.0.0.0/24';
const pollMs = 100;
const apiServerReadyTimeoutMs = 120_000;
const etcdReadyTimeoutMs = 30_000;
const controllerManagerReadyTimeoutMs = 60_000;
// clusterrole-aggregation: the chart's tenant roles are aggregated into Kubernetes' admin, edit and view.
const controllers = ['garbage-collector-controller', 'namespace-controller', 'clusterrole-aggregation-controller'];
// With `full` every default controller runs (--controllers=*); these are the ones a node's
// workloads need, waited for before the control plane counts as ready.
const fullControllers = [
  ...controllers,
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
];
const schedulerReadyTimeoutMs = 60_000;
// Writes only: reads and watches would make the log large and say nothing about who changed what.
const writesOnlyAuditPolicy = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [{ level: 'None', verbs: ['get', 'list', 'watch'] }, { level: 'Metadata' }],
};

const defaultLog = (message: string): void => {
  process.stderr.write(`[controlplane] ${message}\n`);
};

/**
 * Builds the binaries on first use (build.sh is a no-op on a warm cache); returns the bin dir.
 * `binaries`: which ones (build.sh's names); default the control plane's.
 */
export function ensureBinaries(binaries: string[] = []): Promise<string> {
  return runBuildScript(buildScript, binaries);
}

interface HttpResponse {
  status: number;
  body: string;
}

/** One HTTP(S) request without connection reuse (no sockets linger after a test). */
function send(
  url: string,
  init: { method?: string; ca?: string; token?: string; body?: unknown } = {},
): Promise<HttpResponse> {
  const target = new URL(url);
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  const requestFn = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requestFn(
      target,
      { method: init.method ?? 'GET', headers, agent: false, ...(init.ca ? { ca: init.ca } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${init.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The self-signed CA from a cert file written by a Kubernetes component into its --cert-dir: the
 * file holds the serving certificate followed by the CA that signed it.
 */
function caFromCertFile(path: string): string {
  const blocks = readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const ca = blocks.find((pem) => new X509Certificate(pem).ca);
  if (!ca) throw new Error(`no CA certificate in ${path}`);
  return `${ca}\n`;
}

/** The last `lines` lines of a log file, for a failure message. */
export function tail(path: string, lines = 40): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function kubeconfig(server: string, caPem: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'controlplane',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'controlplane', context: { cluster: 'controlplane', user, namespace: 'default' } }],
    'current-context': 'controlplane',
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? defaultLog;
  const { full } = options;
  const network = full?.network;
  const t0 = performance.now();
  const binDir = await ensureBinaries();
  const tBinaries = performance.now();

  let stopping: Promise<void> | undefined;
  const scope = new ProcessScope('controlplane-', () => stop(), options.dir);
  const dir = scope.dir;
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const harnessLog = join(logDir, 'controlplane.log');
  const note = (message: string): void => {
    log(message);
    appendFileSync(harnessLog, `${new Date().toISOString()} ${message}\n`);
  };
  // The live process of each component, by binary name; stopped in `stopOrder`.
  const procs = new Map<string, GroupProcess>();
  const stopOrder = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  const logFile = (name: string) => join(logDir, `${name}.log`);
  // Components whose log tail was already shown (when they died), so a failed start-up does not repeat it.
  const shown = new Set<string>();

  const launch = (name: string, args: string[]): GroupProcess => {
    const [command, commandArgs] = network?.wrap(join(binDir, name), args) ?? [join(binDir, name), args];
    const proc = scope.spawn(name, command, commandArgs, logFile(name));
    procs.set(name, proc);
    void proc.exited.then((reason) => {
      if (!stopping && procs.get(name) === proc) {
        shown.add(name);
        note(`${name} exited unexpectedly (${reason}); last lines of ${logFile(name)}:\n${tail(logFile(name))}`);
      }
    });
    return proc;
  };

  /** Polls `probe` until it returns true; fails early when `proc` dies. */
  const waitFor = async (proc: GroupProcess, what: string, timeoutMs: number, probe: () => Promise<boolean>) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (proc.hasExited()) throw new Error(`${proc.name} exited before it was ${what}`);
      if (await probe().catch(() => false)) return;
      if (performance.now() > deadline) throw new Error(`${proc.name} not ${what} after ${timeoutMs / 1000}s`);
      await sleep(pollMs);
    }
  };

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      // Clients before the API server, the API server before its storage.
      for (const name of stopOrder) await procs.get(name)?.stop();
      scope.dispose();
    })();
    return stopping;
  }

  try {
    const [etcdClientPort, etcdPeerPort, apiPort, kcmPort, schedulerPort] = await freePorts(5);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    // Inside a namespace, every port the harness talks to is forwarded to the same port here, so
    // one URL serves both sides.
    if (network)
      await Promise.all([etcdClientPort, apiPort, kcmPort, schedulerPort].map((port) => network.forward(port)));

    const tEtcd = performance.now();
    const etcdArgs = [
      '--name=controlplane',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=controlplane=${peerUrl}`,
      // Throwaway data: durability costs time and buys nothing here.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ];
    const etcdHealthy = async () => {
      const res = await send(`${etcdUrl}/health`);
      return res.status === 200 && JSON.parse(res.body).health === 'true';
    };
    const etcd = launch('etcd', etcdArgs);

    // Service-account token signing keys, made while etcd starts.
    const keys = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    const saPublicKey = join(dir, 'sa.pub');
    const saPrivateKey = join(dir, 'sa.key');
    writeFileSync(saPublicKey, keys.publicKey);
    writeFileSync(saPrivateKey, keys.privateKey, { mode: 0o600 });

    const adminToken = randomBytes(24).toString('hex');
    const kcmToken = randomBytes(24).toString('hex');
    // Static tokens (user, uid, groups) stand in for the client certificates kubeadm issues; the
    // Node authorizer and NodeRestriction go by the user name and group, however authenticated.
    const identities = {
      scheduler: { token: randomBytes(24).toString('hex'), user: 'system:kube-scheduler', groups: '' },
      kubelet: {
        token: randomBytes(24).toString('hex'),
        user: `system:node:${full?.nodeName}`,
        groups: 'system:nodes',
      },
      kubeProxy: { token: randomBytes(24).toString('hex'), user: 'system:kube-proxy', groups: '' },
    };
    writeFileSync(
      join(dir, 'tokens.csv'),
      `${adminToken},admin,admin,"system:masters"\n` +
        `${kcmToken},system:kube-controller-manager,kube-controller-manager,"system:masters"\n` +
        (full
          ? Object.values(identities)
              .map(({ token, user, groups }) => `${token},${user},${user},"${groups}"\n`)
              .join('')
          : ''),
      { mode: 0o600 },
    );
    // The full control plane's own CA: its API server certificate is valid on the node's address
    // and the `kubernetes` Service's too, which the self-signed one of --cert-dir is not.
    const serviceIp = serviceClusterIpRange.replace(/0\/\d+$/, '1');
    const caFile = join(dir, 'ca.crt');
    const tls = full && (await clusterCa('influx-onboarding-operator test cluster'));
    if (tls) {
      writeFileSync(caFile, tls.certPem);
      const serving = await tls.server('kube-apiserver', [
        '127.0.0.1',
        'localhost',
        serviceIp,
        ...(network ? [network.advertiseAddress] : []),
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ]);
      // The API server's client certificate towards the kubelet (logs, exec, port-forward), as kubeadm's.
      const kubeletClient = await tls.client('kube-apiserver-kubelet-client', ['system:masters']);
      for (const [name, pem] of Object.entries({
        'apiserver.crt': serving.certPem,
        'apiserver.key': serving.keyPem,
        'apiserver-kubelet-client.crt': kubeletClient.certPem,
        'apiserver-kubelet-client.key': kubeletClient.keyPem,
      }))
        writeFileSync(join(dir, name), pem, { mode: 0o600 });
    }

    await waitFor(etcd, 'healthy', etcdReadyTimeoutMs, etcdHealthy);
    note(`etcd ready in ${Math.round(performance.now() - tEtcd)} ms`);

    const apiCertDir = join(dir, 'apiserver-certs');
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saPublicKey}`,
      `--service-account-signing-key-file=${saPrivateKey}`,
      ...(full
        ? [
            // Pods reach it through the `kubernetes` Service, whose endpoint is the advertised address.
            `--bind-address=${network ? '0.0.0.0' : '127.0.0.1'}`,
            ...(network ? [`--advertise-address=${network.advertiseAddress}`] : []),
            `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
            `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
            '--authorization-mode=Node,RBAC',
            // ServiceAccount is on by default; NodeRestriction keeps a kubelet to its own Node and Pods.
            '--enable-admission-plugins=NodeRestriction',
            `--kubelet-client-certificate=${join(dir, 'apiserver-kubelet-client.crt')}`,
            `--kubelet-client-key=${join(dir, 'apiserver-kubelet-client.key')}`,
            '--kubelet-preferred-address-types=InternalIP',
          ]
        : [
            '--bind-address=127.0.0.1',
            // Without --tls-cert-file the API server makes a CA and a serving cert for its bind address
            // here, and reuses them when restarted, so the kubeconfig stays valid across restarts.
            `--cert-dir=${apiCertDir}`,
            '--authorization-mode=RBAC',
            // No controller creates `default` ServiceAccounts here, so Pods would be refused by it.
            '--disable-admission-plugins=ServiceAccount',
          ]),
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--allow-privileged=true',
      // Close open watches when told to stop; by default shutdown waits for them up to the 60 s
      // request timeout, so every restart with a controller manager attached would take that long.
      '--shutdown-watch-termination-grace-period=2s',
    ];
    const auditPolicy = options.auditPolicy ?? (full ? writesOnlyAuditPolicy : undefined);
    const auditLogPath = auditPolicy && join(logDir, 'audit.log');
    if (auditPolicy && auditLogPath) {
      writeFileSync(join(dir, 'audit-policy.yaml'), stringify(auditPolicy));
      apiServerArgs.push(
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${auditLogPath}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--audit-log-maxsize=0',
      );
    }
    const apiServerCa = () => (tls ? tls.certPem : caFromCertFile(join(apiCertDir, 'apiserver.crt')));
    const readyz = async () => {
      if (!tls && !existsSync(join(apiCertDir, 'apiserver.crt'))) return false;
      const res = await send(`${server}/readyz`, { ca: apiServerCa(), token: adminToken });
      return res.status === 200;
    };

    const tApi = performance.now();
    let apiServer = launch('kube-apiserver', apiServerArgs);
    await waitFor(apiServer, 'ready', apiServerReadyTimeoutMs, readyz);
    note(`kube-apiserver ready in ${Math.round(performance.now() - tApi)} ms`);
    const caPem = apiServerCa();

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, caPem, 'admin', adminToken), { mode: 0o600 });

    const componentKubeconfig = (name: string, identity: { user: string; token: string }) => {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(path, kubeconfig(server, caPem, identity.user, identity.token), { mode: 0o600 });
      return path;
    };
    /**
     * kube-controller-manager or kube-scheduler: its kubeconfig for everything, no leader
     * election, its own self-signed serving certificate; ready when `/healthz?verbose` lists
     * every check in `checks` as ok.
     */
    const startComponent = async (
      name: string,
      kubeconfigFile: string,
      port: number,
      args: string[],
      checks: string[],
      timeoutMs: number,
    ) => {
      const certDir = join(dir, `${name}-certs`);
      const t = performance.now();
      const proc = launch(name, [
        `--kubeconfig=${kubeconfigFile}`,
        `--authentication-kubeconfig=${kubeconfigFile}`,
        `--authorization-kubeconfig=${kubeconfigFile}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        // Served only so we can see when it is running (/healthz lists each check).
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        ...args,
      ]);
      await waitFor(proc, 'ready', timeoutMs, async () => {
        const certFile = join(certDir, `${name}.crt`);
        if (!existsSync(certFile)) return false;
        const res = await send(`https://127.0.0.1:${port}/healthz?verbose`, { ca: caFromCertFile(certFile) });
        return res.status === 200 && checks.every((check) => res.body.includes(`[+]${check} ok`));
      });
      note(`${name} ready in ${Math.round(performance.now() - t)} ms`);
    };

    if (options.controllerManager || full) {
      await startComponent(
        'kube-controller-manager',
        componentKubeconfig('kube-controller-manager', { user: 'kube-controller-manager', token: kcmToken }),
        kcmPort,
        [
          ...(full
            ? [
                '--controllers=*',
                // Each controller acts as a ServiceAccount of its own, under its own RBAC, as in kubeadm.
                '--use-service-account-credentials=true',
                // Published as the kube-root-ca.crt ConfigMap in every namespace, which Pods' projected tokens carry.
                `--root-ca-file=${caFile}`,
              ]
            : [`--controllers=${controllers.join(',')}`]),
          // Same signing key as the API server: the serviceaccount-token-controller needs it.
          `--service-account-private-key-file=${saPrivateKey}`,
        ],
        full ? fullControllers : controllers,
        controllerManagerReadyTimeoutMs,
      );
    }
    if (full) {
      const schedulerKubeconfig = componentKubeconfig('kube-scheduler', identities.scheduler);
      await startComponent('kube-scheduler', schedulerKubeconfig, schedulerPort, [], ['ping'], schedulerReadyTimeoutMs);
    }
    const cluster: ClusterFacts | undefined = full && {
      caFile,
      kubeletKubeconfig: componentKubeconfig('kubelet', identities.kubelet),
      kubeProxyKubeconfig: componentKubeconfig('kube-proxy', identities.kubeProxy),
      serviceClusterIpRange,
    };
    note(
      `control plane ready in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(binaries ${((tBinaries - t0) / 1000).toFixed(1)} s, processes ${((performance.now() - tBinaries) / 1000).toFixed(1)} s); ` +
        `${server}, scratch ${dir}`,
    );

    const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
      send(`${server}${path}`, { ...init, ca: caPem, token: adminToken });

    return {
      kubeconfigPath,
      server,
      caPem,
      adminToken,
      binDir,
      etcdUrl,
      dir,
      ...(auditLogPath && { auditLogPath }),
      ...(cluster ? { cluster } : {}),

      kubectl(args, kubectlOptions = {}) {
        const child = spawn(join(binDir, 'kubectl'), args, {
          env: { ...process.env, KUBECONFIG: kubeconfigPath },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        // kubectl may exit without reading its input (e.g. on a bad flag); its exit code and stderr
        // report that, the EPIPE on our end must not crash the test process.
        child.stdin.on('error', () => {});
        child.stdin.end(kubectlOptions.input);
        return new Promise((resolve, reject) => {
          child.once('error', reject);
          child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
        });
      },

      async restartApiServer() {
        const t = performance.now();
        procs.delete('kube-apiserver');
        await apiServer.stop();
        const stopped = performance.now();
        appendFileSync(logFile('kube-apiserver'), `\n----- restarted by the test harness -----\n`);
        apiServer = launch('kube-apiserver', apiServerArgs);
        await waitFor(apiServer, 'ready', apiServerReadyTimeoutMs, readyz);
        note(
          `kube-apiserver restarted: stopped in ${Math.round(stopped - t)} ms, ` +
            `ready again in ${Math.round(performance.now() - stopped)} ms`,
        );
      },

      async kill(component) {
        const proc = procs.get(component);
        procs.delete(component);
        await proc?.signal('SIGKILL');
        note(`${component} killed (SIGKILL)`);
      },

      async start(component) {
        if (procs.has(component)) throw new Error(`${component} is running`);
        const t = performance.now();
        appendFileSync(logFile(component), `\n----- started again by the test harness -----\n`);
        if (component === 'etcd') {
          await waitFor(launch('etcd', etcdArgs), 'healthy', etcdReadyTimeoutMs, etcdHealthy);
        } else {
          apiServer = launch('kube-apiserver', apiServerArgs);
          await waitFor(apiServer, 'ready', apiServerReadyTimeoutMs, readyz);
        }
        note(`${component} started again, ready in ${Math.round(performance.now() - t)} ms`);
      },

      async compactEtcd() {
        // Any range read reports the store's current revision in its header.
        const range = await send(`${etcdUrl}/v3/kv/range`, {
          method: 'POST',
          body: { key: Buffer.from('\0').toString('base64') },
        });
        if (range.status !== 200) throw new Error(`etcd range: ${range.status} ${range.body}`);
        const revision = Number(JSON.parse(range.body).header.revision);
        const compaction = await send(`${etcdUrl}/v3/kv/compaction`, {
          method: 'POST',
          body: { revision, physical: true },
        });
        // Compacting at an already compacted revision is refused; the outcome is the same.
        if (compaction.status !== 200 && !compaction.body.includes('required revision has been compacted')) {
          throw new Error(`etcd compaction: ${compaction.status} ${compaction.body}`);
        }
        return revision;
      },

      async mintServiceAccountToken(namespace, name) {
        const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`;
        const created = await api(base, {
          method: 'POST',
          body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
        });
        if (created.status !== 201 && created.status !== 409) {
          throw new Error(`create ServiceAccount ${namespace}/${name}: ${created.status} ${created.body}`);
        }
        const res = await api(`${base}/${encodeURIComponent(name)}/token`, {
          method: 'POST',
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
        });
        if (res.status !== 201) throw new Error(`TokenRequest for ${namespace}/${name}: ${res.status} ${res.body}`);
        return JSON.parse(res.body).status.token as string;
      },

      stop,
    };
  } catch (err) {
    note(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    for (const name of procs.keys())
      if (!shown.has(name)) note(`last lines of ${logFile(name)}:\n${tail(logFile(name))}`);
    await stop();
    throw err;
  }
}
