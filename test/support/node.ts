// A real Kubernetes cluster on this machine without Docker or a VM: the full control plane
// (test/support/controlplane.ts) and one node (kubelet, kube-proxy in iptables mode, containerd
// with runc, Debian's CNI bridge plugin, CoreDNS as a Deployment), all built from Go modules
// (test/controlplane/build.sh, test/node/build.sh).
//
// Everything runs inside one network namespace and one mount namespace of the run's own, held
// open by a `sleep` that `unshare` started: the node's iptables rules, bridge, veths and Pods'
// network namespaces, and every mount containerd and the kubelet make, stay there and vanish with
// it. The control plane runs there too, so Pods reach the API server directly through the
// `kubernetes` Service and it sees their own addresses (its audit log names the Pod that wrote);
// the harness reaches it through ports forwarded to 127.0.0.1 here. Every process of the run is
// in its own process group, carries the run ID (processes.ts) and lives in the run's cgroup
// `influx-operator-node-<run ID>` (the kubelet's cgroupRoot, so the Pods are there too): stop()
// and, when the test process died, its watchdog or the next start (test/node/cleanup.sh) kill
// what is left and remove the cgroups. Nothing touches this machine's own iptables, routes or
// mounts.
import { execFile } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ensureBinaries, startControlPlane, tail } from './controlplane.js';
import type { ControlPlane, ControlPlaneNetwork } from './controlplane.js';
import { ProcessScope, RUN_ID_VARIABLE, isRunAlive, runBuildScript, runId } from './processes.js';
import type { GroupProcess } from './processes.js';

export interface Cluster {
  readonly controlPlane: ControlPlane;
  readonly nodeName: string;
  /** The node's address in the namespace: the kubelet's, the API server's advertised one. */
  readonly nodeIp: string;
  /** The Pods' addresses (the CNI bridge's subnet). */
  readonly podCidr: string;
  /** The kube-dns Service's address. */
  readonly dnsIp: string;
  /** The run's cgroup (the kubelet's cgroupRoot, without the leading slash). */
  readonly cgroupRoot: string;
  /** Scratch folder: the control plane's, the node's state and logs/<component>.log. */
  readonly dir: string;
  /** Runs `command args` inside the node's namespaces; resolves with stdout, rejects on failure. */
  run(command: string, args: string[]): Promise<string>;
  /** Makes 127.0.0.1:port here reachable from Pods at nodeIp:port. */
  exposeHostPort(port: number): Promise<void>;
  /** Imports an OCI archive into the node's containerd, where the kubelet finds its images. */
  importImage(archive: string): Promise<void>;
  /** Drops every packet from a Pod to the API server until the returned function heals the cut. */
  cutPodsFromApiServer(): Promise<() => Promise<void>>;
  /** Stops every process, removes the run's cgroups and the scratch folder. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Receives progress lines (start-up timing, failures). Default: written to stderr. */
  log?: (message: string) => void;
}

const nodeBuildScript = fileURLToPath(new URL('../node/build.sh', import.meta.url));
const cleanupScript = fileURLToPath(new URL('../node/cleanup.sh', import.meta.url));
const corednsManifest = fileURLToPath(new URL('../node/coredns.yaml', import.meta.url));
const cniPluginDir = '/usr/lib/cni';
const nodeName = 'node-1';
const nodeIp = '10.10.0.2';
const clusterCidr = '10.244.0.0/16';
const podCidr = '10.244.0.0/24';
const clusterDomain = 'cluster.local';
const cgroupPrefix = 'influx-operator-node-';
const scratchPrefix = 'influx-operator-node-';
const pollMs = 200;

const defaultLog = (message: string): void => {
  process.stderr.write(`[node] ${message}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const exec = promisify(execFile);

/** Builds containerd, runc, CoreDNS and the pause image on first use; returns the cache folder. */
const ensureNodeBuild = (): Promise<string> => runBuildScript(nodeBuildScript);

/** The cgroup v1 hierarchies (and cgroup v2's, in a hybrid layout) mounted under /sys/fs/cgroup. */
function cgroupHierarchies(): string[] {
  return readdirSync('/sys/fs/cgroup')
    .map((name) => join('/sys/fs/cgroup', name))
    .filter((path) => existsSync(join(path, 'cgroup.procs')));
}

/** The processes whose environment carries the tag of a run that is gone (processes.ts). */
function processesOfDeadRuns(): number[] {
  const tag = new RegExp(`(?:^|\0)${RUN_ID_VARIABLE}=(\\d+-\\d+)(?:\0|$)`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environment: string;
    try {
      environment = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const run = tag.exec(environment)?.[1];
    if (run !== undefined && !isRunAlive(run)) found.push(Number(entry));
  }
  return found;
}

/**
 * What runs that are gone left behind, when even their watchdogs died: the processes they
 * tagged (the ones here, outside the node's namespaces, included), their cgroups with whatever
 * runs in them, then their scratch folders.
 */
async function removeDeadRuns(log: (message: string) => void): Promise<void> {
  for (const pid of processesOfDeadRuns()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: it ended meanwhile.
    }
  }
  const dead = new Set<string>();
  for (const hierarchy of cgroupHierarchies())
    for (const name of readdirSync(hierarchy))
      if (name.startsWith(cgroupPrefix) && !isRunAlive(name.slice(cgroupPrefix.length))) dead.add(name);
  for (const name of dead) {
    log(`removing the leftovers of dead run ${name}`);
    await exec('bash', [cleanupScript, name]);
  }
  for (const name of readdirSync(tmpdir())) {
    const run = /^influx-operator-node-(\d+-\d+)-/.exec(name)?.[1];
    if (run !== undefined && !isRunAlive(run)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const log = options.log ?? defaultLog;
  const t0 = performance.now();
  await removeDeadRuns(log);
  const [kubeBin, nodeBuild] = await Promise.all([ensureBinaries(['kubelet', 'kube-proxy']), ensureNodeBuild()]);
  const nodeBin = join(nodeBuild, 'bin');
  const versions = Object.fromEntries(
    readFileSync(join(nodeBuild, 'versions'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  );
  const tBinaries = performance.now();

  const cgroup = `${cgroupPrefix}${runId}`;
  let stopping: Promise<void> | undefined;
  let controlPlane: ControlPlane | undefined;
  const scope = new ProcessScope(`${scratchPrefix}${runId}-`, () => stop(), tmpdir(), ['bash', cleanupScript, cgroup]);
  const dir = scope.dir;
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const note = (message: string): void => {
    log(message);
    appendFileSync(join(logDir, 'node.log'), `${new Date().toISOString()} ${message}\n`);
  };
  const procs = new Map<string, GroupProcess>();
  const logFile = (name: string) => join(logDir, `${name}.log`);

  // The run's cgroup in every hierarchy, with `node` below it for the daemons; the kubelet puts
  // the Pods beside it (cgroupRoot). A new cpuset cgroup starts with no CPUs and no memory nodes.
  for (const hierarchy of cgroupHierarchies()) {
    for (const path of [join(hierarchy, cgroup), join(hierarchy, cgroup, 'node')]) {
      mkdirSync(path, { recursive: true });
      if (hierarchy.endsWith('/cpuset'))
        for (const file of ['cpuset.cpus', 'cpuset.mems'])
          writeFileSync(join(path, file), readFileSync(join(hierarchy, file), 'utf8'));
    }
  }

  let holder: GroupProcess | undefined;
  /** `command args` joined to the run's cgroup and, once the holder runs, to its namespaces. */
  const enter = (command: string, args: string[]): [string, string[]] => [
    'sh',
    [
      '-c',
      'cg=$1; shift; for h in /sys/fs/cgroup/*/; do if [ -f "$h$cg/cgroup.procs" ]; then echo $$ >"$h$cg/cgroup.procs"; fi; done; exec "$@"',
      'enter',
      `${cgroup}/node`,
      ...(holder ? ['nsenter', `--target=${holder.pid}`, '--net', '--mount', '--'] : []),
      command,
      ...args,
    ],
  ];
  const launch = (name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): GroupProcess => {
    const proc = scope.spawn(name, ...enter(command, args), logFile(name), env);
    procs.set(name, proc);
    void proc.exited.then((reason) => {
      if (!stopping) note(`${name} exited unexpectedly (${reason}); last lines of its log:\n${tail(logFile(name))}`);
    });
    return proc;
  };
  const run = async (command: string, args: string[]): Promise<string> => {
    const [wrapped, wrappedArgs] = enter(command, args);
    return (await exec(wrapped, wrappedArgs, { maxBuffer: 1 << 24 })).stdout;
  };
  const waitFor = async (what: string, timeoutMs: number, probe: () => Promise<boolean>, proc?: GroupProcess) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (proc?.hasExited()) throw new Error(`${proc.name} exited before ${what}; see ${logFile(proc.name)}`);
      if (await probe().catch(() => false)) return;
      if (performance.now() > deadline) throw new Error(`not ${what} after ${timeoutMs / 1000}s`);
      await sleep(pollMs);
    }
  };
  const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      for (const name of ['kube-proxy', 'kubelet', 'containerd']) await procs.get(name)?.stop();
      await controlPlane?.stop();
      // Containers, shims and the holder: whatever is left in the run's cgroups.
      await exec('bash', [cleanupScript, cgroup]).catch((err: Error) => note(`clean-up: ${err.message}`));
      scope.dispose();
    })();
    return stopping;
  }

  try {
    // The namespaces. The holder is what keeps them; /run, /var/log and /var/lib/cni (libcni's
    // cache, which containerd does not let us move) get a tmpfs of their own in there, so shim
    // sockets, runc state, Pods' netns pins, the iptables lock and the kubelet's log links stay
    // in the run.
    const ready = join(dir, 'namespaces-ready');
    holder = launch('namespaces', 'unshare', [
      '--net',
      '--mount',
      '--propagation=private',
      'sh',
      '-ec',
      [
        'ip link set lo up',
        // The node's address on a bridge with no port: the default route points there, so
        // components that look for one find it, and whatever would leave the node finds no
        // neighbour and is dropped.
        'ip link add node0 type bridge',
        `ip addr add ${nodeIp}/24 dev node0`,
        'ip link set node0 up',
        'ip route add default dev node0',
        'sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1',
        'mount -t tmpfs -o mode=0755 tmpfs /run',
        'mount -t tmpfs -o mode=0755 tmpfs /var/log',
        'mkdir -p /var/lib/cni && mount -t tmpfs -o mode=0755 tmpfs /var/lib/cni',
        `touch ${ready}`,
        'exec sleep infinity',
      ].join('\n'),
    ]);
    await waitFor('holding the namespaces', 10_000, async () => existsSync(ready), holder);

    const forward = async (port: number, from: 'host' | 'node'): Promise<void> => {
      const socket = join(dir, `${from === 'host' ? 'expose' : 'forward'}-${port}.sock`);
      if (from === 'node') {
        // 127.0.0.1:port in the namespace -> a unix socket (visible on both sides) -> 127.0.0.1:port here.
        launch(`forward-${port}-node`, 'socat', [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${port}`]);
        await waitFor(`forwarding port ${port}`, 10_000, async () => existsSync(socket));
        scope.spawn(
          `forward-${port}-host`,
          'socat',
          [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socket}`],
          logFile(`forward-${port}-host`),
        );
        await waitFor(`forwarding port ${port}`, 10_000, () => listening(port));
      } else {
        scope.spawn(
          `expose-${port}-host`,
          'socat',
          [`UNIX-LISTEN:${socket},fork`, `TCP:127.0.0.1:${port}`],
          logFile(`expose-${port}-host`),
        );
        await waitFor(`exposing port ${port}`, 10_000, async () => existsSync(socket));
        launch(`expose-${port}-node`, 'socat', [
          `TCP-LISTEN:${port},bind=${nodeIp},reuseaddr,fork`,
          `UNIX-CONNECT:${socket}`,
        ]);
        await waitFor(`exposing port ${port}`, 10_000, async () =>
          (await run('ss', ['-Hltn', `sport = :${port}`])).includes(`${nodeIp}:${port}`),
        );
      }
    };
    const network: ControlPlaneNetwork = {
      advertiseAddress: nodeIp,
      wrap: (command, args) => enter(command, args),
      forward: (port) => forward(port, 'node'),
    };
    controlPlane = await startControlPlane({ full: { nodeName, network }, dir, log });
    const facts = controlPlane.cluster;
    if (!facts) throw new Error('the control plane has no node identities');
    const serviceBase = facts.serviceClusterIpRange.replace(/0\/\d+$/, '');
    const dnsIp = `${serviceBase}10`;

    // containerd with runc, Debian's CNI plugins and the pause image pinned (nothing is pulled).
    const tNode = performance.now();
    const containerdDir = join(dir, 'containerd');
    const cniConfDir = join(dir, 'cni');
    mkdirSync(cniConfDir, { recursive: true });
    writeFileSync(
      join(cniConfDir, '10-node.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'node',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: podCidr }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(dir, 'cni-ipam'),
            },
          },
        ],
      }),
    );
    const socket = join(containerdDir, 'containerd.sock');
    writeFileSync(join(dir, 'containerd.toml'), containerdConfig(containerdDir, socket, nodeBin, cniConfDir, versions));
    const containerd = launch('containerd', join(nodeBin, 'containerd'), ['--config', join(dir, 'containerd.toml')], {
      ...process.env,
      // containerd starts its shim (containerd-shim-runc-v2) from PATH.
      PATH: `${nodeBin}:${process.env.PATH ?? ''}`,
    });
    const ctr = (...args: string[]) =>
      exec(join(nodeBin, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 1 << 24 });
    await waitFor('containerd serving', 30_000, async () => (await ctr('version'), true), containerd);
    const importImage = async (archive: string) => {
      await ctr('images', 'import', '--platform', 'linux/amd64', archive);
    };
    await importImage(join(nodeBuild, 'images/pause.tar'));
    await importImage(join(nodeBuild, 'images/coredns.tar'));
    note(`containerd ready with the pause and CoreDNS images in ${Math.round(performance.now() - tNode)} ms`);

    const tKubelet = performance.now();
    const kubeletDir = join(dir, 'kubelet');
    mkdirSync(kubeletDir, { recursive: true });
    // Pods with dnsPolicy Default (CoreDNS itself) get this; nothing answers there, and nothing
    // of this machine's resolver configuration reaches a Pod.
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${nodeIp}\n`);
    copyFileSync(facts.caFile, join(dir, 'kubelet-client-ca.crt'));
    writeFileSync(
      join(dir, 'kubelet.yaml'),
      stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        containerRuntimeEndpoint: `unix://${socket}`,
        // The API server shows a client certificate from the cluster CA for logs and exec; the
        // kubelet asks it (SubjectAccessReview) whether that user may.
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: join(dir, 'kubelet-client-ca.crt') },
        },
        authorization: { mode: 'Webhook' },
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        // This machine mounts cgroup v1 (a hybrid layout), which the kubelet runs on only when told.
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        cgroupRoot: `/${cgroup}`,
        // No node-allocatable cgroup of its own, no swap check: the node shares the machine.
        enforceNodeAllocatable: [],
        failSwapOn: false,
        clusterDNS: [dnsIp],
        clusterDomain,
        resolvConf: join(dir, 'resolv.conf'),
        podLogsDir: join(dir, 'pod-logs'),
        volumePluginDir: join(dir, 'volume-plugins'),
        // The disk is shared with everything else on the machine: never evict or collect images
        // because of what others use.
        evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        maxPods: 30,
      }),
    );
    const kubelet = launch('kubelet', join(kubeBin, 'kubelet'), [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${facts.kubeletKubeconfig}`,
      `--root-dir=${kubeletDir}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${nodeIp}`,
    ]);
    const kubectl = controlPlane.kubectl;
    await waitFor(
      'the node Ready',
      120_000,
      async () => {
        const { stdout } = await kubectl([
          'get',
          'node',
          nodeName,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return stdout.trim() === 'True';
      },
      kubelet,
    );
    note(`kubelet: node ${nodeName} Ready in ${Math.round(performance.now() - tKubelet)} ms`);

    const tProxy = performance.now();
    writeFileSync(
      join(dir, 'kube-proxy.yaml'),
      stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: facts.kubeProxyKubeconfig },
        hostnameOverride: nodeName,
        clusterCIDR: clusterCidr,
        healthzBindAddress: '127.0.0.1:10256',
        metricsBindAddress: '127.0.0.1:10249',
        // Conntrack's table size is the machine's, not the namespace's: leave it and the timeouts be.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
        iptables: { localhostNodePorts: false },
      }),
    );
    const kubeProxy = launch('kube-proxy', join(kubeBin, 'kube-proxy'), [`--config=${join(dir, 'kube-proxy.yaml')}`]);
    await waitFor(
      'kube-proxy routing the kubernetes Service',
      60_000,
      async () => (await run('iptables', ['-t', 'nat', '-S', 'KUBE-SERVICES'])).includes('default/kubernetes:https'),
      kubeProxy,
    );
    note(`kube-proxy synced in ${Math.round(performance.now() - tProxy)} ms`);

    const tDns = performance.now();
    const applied = await kubectl(['apply', '-f', '-'], {
      input: readFileSync(corednsManifest, 'utf8')
        .replaceAll('${IMAGE}', versions.coredns ?? '')
        .replaceAll('${DNS_IP}', dnsIp)
        .replaceAll('${CLUSTER_DOMAIN}', clusterDomain),
    });
    if (applied.code !== 0) throw new Error(`CoreDNS: kubectl apply: ${applied.stderr}`);
    const rolledOut = await kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s']);
    if (rolledOut.code !== 0) throw new Error(`CoreDNS did not become available: ${rolledOut.stderr}`);
    note(`CoreDNS available in ${Math.round(performance.now() - tDns)} ms`);
    note(
      `cluster ready in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(binaries ${((tBinaries - t0) / 1000).toFixed(1)} s); node ${nodeName} at ${nodeIp}, scratch ${dir}`,
    );

    const apiPort = new URL(controlPlane.server).port;
    const cutRule = ['INPUT', '-s', podCidr, '-d', nodeIp, '-p', 'tcp', '--dport', apiPort, '-j', 'DROP'];
    return {
      controlPlane,
      nodeName,
      nodeIp,
      podCidr,
      dnsIp,
      cgroupRoot: cgroup,
      dir,
      run,
      exposeHostPort: (port) => forward(port, 'host'),
      importImage,
      async cutPodsFromApiServer() {
        await run('iptables', ['-I', ...cutRule]);
        return async () => void (await run('iptables', ['-D', ...cutRule]));
      },
      stop,
    };
  } catch (err) {
    note(`start-up failed: ${err instanceof Error ? err.message : String(err)}; logs in ${logDir}`);
    await stop();
    throw err;
  }
}

/** containerd 2.x's configuration (version 3) for this node: everything under `root`. */
function containerdConfig(
  root: string,
  socket: string,
  bin: string,
  cniConfDir: string,
  versions: Record<string, string>,
): string {
  const toml = (value: string) => JSON.stringify(value);
  return `version = 3
root = ${toml(join(root, 'root'))}
state = ${toml(join(root, 'state'))}
# Plugins that would reach outside the run (/opt, NRI's socket, tracing) or need what this
# machine lacks (btrfs, zfs, devmapper).
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
]

[grpc]
  address = ${toml(socket)}

[ttrpc]
  address = ${toml(`${socket}.ttrpc`)}

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      # Built locally (test/node/build.sh) and imported: nothing can be pulled here.
      sandbox = ${toml(versions.pause ?? '')}

  [plugins.'io.containerd.cri.v1.runtime']
    # This machine withholds CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: runc's
    # -998 for the sandbox would fail every Pod.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${toml(join(bin, 'runc'))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${toml(cniPluginDir)}]
      conf_dir = ${toml(cniConfDir)}

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
`;
}

let shared: Cluster | undefined;

/** Hands the node tier's cluster (started by test/run.ts) to its tests. */
export function setCluster(cluster: Cluster): void {
  shared = cluster;
}

/** The node tier's cluster; only test/run.ts's `e2e` tier starts one. */
export function getCluster(): Cluster {
  if (!shared) throw new Error('no cluster: run the node tier with `npx tsx test/run.ts e2e`');
  return shared;
}
