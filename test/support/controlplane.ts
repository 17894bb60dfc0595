// A real Kubernetes control plane for tests, without Docker: etcd + kube-apiserver (+ optionally
// kube-controller-manager for garbage collection and namespace deletion), built from the Go
// modules pinned in test/controlplane and run as local processes on 127.0.0.1 with real TLS,
// RBAC and service-account tokens. This is what controller-runtime's envtest does, plus the
// controller manager, because the operator relies on owner-reference garbage collection.
import { spawn } from 'node:child_process';
import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ProcessScope, freePorts, runBuildScript } from './processes.js';
import type { GroupProcess } from './processes.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collector and namespace controller). Default false. */
  controllerManager?: boolean;
  /** Folder in which a fresh scratch folder is created (and removed on stop). Default: os.tmpdir(). */
  dir?: string;
  /** Receives progress lines (start-up timing, failures). Default: written to stderr. */
  log?: (message: string) => void;
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
  /** Runs the harness's kubectl against this control plane (KUBECONFIG is set for it). */
  kubectl(args: string[], options?: { input?: string }): Promise<KubectlResult>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves when ready. */
  restartApiServer(): Promise<void>;
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
const controllers = ['garbage-collector-controller', 'namespace-controller'];

const defaultLog = (message: string): void => {
  process.stderr.write(`[controlplane] ${message}\n`);
};

/** Builds the binaries on first use (build.sh is a no-op on a warm cache); returns the bin dir. */
export function ensureBinaries(): Promise<string> {
  return runBuildScript(buildScript);
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

function tail(path: string, lines = 40): string {
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
  const stopOrder = ['kube-controller-manager', 'kube-apiserver', 'etcd'];
  const logFile = (name: string) => join(logDir, `${name}.log`);
  // Components whose log tail was already shown (when they died), so a failed start-up does not repeat it.
  const shown = new Set<string>();

  const launch = (name: string, args: string[]): GroupProcess => {
    const proc = scope.spawn(name, join(binDir, name), args, logFile(name));
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
    const [etcdClientPort, etcdPeerPort, apiPort, kcmPort] = await freePorts(4);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const server = `https://127.0.0.1:${apiPort}`;

    const tEtcd = performance.now();
    const etcd = launch('etcd', [
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
    ]);

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
    writeFileSync(
      join(dir, 'tokens.csv'),
      `${adminToken},admin,admin,"system:masters"\n` +
        `${kcmToken},system:kube-controller-manager,kube-controller-manager,"system:masters"\n`,
      { mode: 0o600 },
    );

    await waitFor(etcd, 'healthy', etcdReadyTimeoutMs, async () => {
      const res = await send(`${etcdUrl}/health`);
      return res.status === 200 && JSON.parse(res.body).health === 'true';
    });
    note(`etcd ready in ${Math.round(performance.now() - tEtcd)} ms`);

    const apiCertDir = join(dir, 'apiserver-certs');
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      // Without --tls-cert-file the API server makes a CA and a serving cert for its bind address
      // here, and reuses them when restarted, so the kubeconfig stays valid across restarts.
      `--cert-dir=${apiCertDir}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saPublicKey}`,
      `--service-account-signing-key-file=${saPrivateKey}`,
      // No controller creates `default` ServiceAccounts here, so Pods would be refused by it.
      '--disable-admission-plugins=ServiceAccount',
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--allow-privileged=true',
      // Close open watches when told to stop; by default shutdown waits for them up to the 60 s
      // request timeout, so every restart with a controller manager attached would take that long.
      '--shutdown-watch-termination-grace-period=2s',
    ];
    const readyz = async () => {
      const certFile = join(apiCertDir, 'apiserver.crt');
      if (!existsSync(certFile)) return false;
      const res = await send(`${server}/readyz`, { ca: caFromCertFile(certFile), token: adminToken });
      return res.status === 200;
    };

    const tApi = performance.now();
    let apiServer = launch('kube-apiserver', apiServerArgs);
    await waitFor(apiServer, 'ready', apiServerReadyTimeoutMs, readyz);
    note(`kube-apiserver ready in ${Math.round(performance.now() - tApi)} ms`);
    const caPem = caFromCertFile(join(apiCertDir, 'apiserver.crt'));

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, caPem, 'admin', adminToken), { mode: 0o600 });

    if (options.controllerManager) {
      const kcmKubeconfig = join(dir, 'kube-controller-manager.kubeconfig');
      writeFileSync(kcmKubeconfig, kubeconfig(server, caPem, 'kube-controller-manager', kcmToken), { mode: 0o600 });
      const kcmCertDir = join(dir, 'kube-controller-manager-certs');
      const tKcm = performance.now();
      const kcm = launch('kube-controller-manager', [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        `--controllers=${controllers.join(',')}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        // Served only so we can see when the controllers are running (/healthz lists each one).
        `--secure-port=${kcmPort}`,
        `--cert-dir=${kcmCertDir}`,
        // Same signing key as the API server, so enabling serviceaccount-token-controller later
        // needs no further wiring.
        `--service-account-private-key-file=${saPrivateKey}`,
      ]);
      await waitFor(kcm, 'running its controllers', controllerManagerReadyTimeoutMs, async () => {
        const certFile = join(kcmCertDir, 'kube-controller-manager.crt');
        if (!existsSync(certFile)) return false;
        const res = await send(`https://127.0.0.1:${kcmPort}/healthz?verbose`, { ca: caFromCertFile(certFile) });
        return res.status === 200 && controllers.every((name) => res.body.includes(`[+]${name} ok`));
      });
      note(`kube-controller-manager ready in ${Math.round(performance.now() - tKcm)} ms`);
    }
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
