// The soak's world, every part real: a control plane (etcd, kube-apiserver with an audit log,
// kube-controller-manager), two operator replicas as production runs them (`node dist/main.js`
// from `npm run build`, the image's Node options and environment, leader election, escrow), each
// reaching the API server through a tap of its own (its faults are cut there), and several real
// influxd v2.7.12 and v2.9.1, each behind two recording proxies (two addresses of one instance,
// for retargets) that tell the replicas apart by the process owning each connection.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ALLOWED_URLS_ANNOTATION, GROUP, PLURAL } from '../../../src/api/types.js';
import { startApiTap, type ApiTap } from '../api-tap.js';
import { startControlPlane, type ControlPlane } from '../controlplane.js';
import { shippedProcess } from '../dockerfile.js';
import { influxRequest } from '../influx-http.js';
import { startInfluxProxy, type InfluxProxy } from '../influx-proxy.js';
import { startInfluxd, type InfluxServer } from '../influxdb.js';
import { startOperator, type RunningOperator } from '../operator.js';
import { freePorts } from '../processes.js';
import { socketOwner } from '../socket-owner.js';
import {
  INSTANCES,
  REPLICAS,
  SYSTEM_NAMESPACE,
  TENANTS,
  type Address,
  type InstancePlan,
  type Replica,
} from './plan.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

/** The operator's timing in the soak: short, so that faults and hand-overs fit in a round. */
export const LEASE_SECONDS = 6;
export const OPERATOR_FLAGS = [
  `--namespaces=${TENANTS.join(',')}`,
  '--leader-elect=true',
  `--leader-election-namespace=${SYSTEM_NAMESPACE}`,
  '--leader-election-id=soak-operator',
  `--lease-duration=${LEASE_SECONDS}s`,
  '--renew-deadline=4s',
  '--retry-period=1s',
  `--escrow-namespace=${SYSTEM_NAMESPACE}`,
  '--drift-check-interval=15s',
  '--password-check-interval=30s',
  '--backoff-max=8s',
  '--shutdown-timeout=10s',
  '--log-level=info',
];

// Who wrote what: every write with its user, and Lease writes with their body (the holder).
// Reads and watches would make the log large and say nothing about who changed what; Secrets and
// everything else only at Metadata, so the log holds no credential.
const AUDIT_POLICY = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'None', verbs: ['get', 'list', 'watch'] },
    { level: 'Request', resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }] },
    { level: 'Metadata' },
  ],
};

export interface SoakInstance {
  plan: InstancePlan;
  server: InfluxServer;
  proxies: Record<Address, InfluxProxy>;
  /** Date.now() of each wipe: an incarnation ends there. */
  wipes: number[];
  /** The driver's own setup of an adopted instance. */
  adoptedToken?: string;
}

export interface ReplicaHandle {
  readonly name: Replica;
  readonly tap: ApiTap;
  /** The running process, if any. */
  current?: RunningOperator;
  /** Every process this replica ran, the current one last. */
  readonly processes: RunningOperator[];
  /** The audit log's username of this replica. */
  readonly user: string;
  /** Lease identities this replica used (one per process). */
  readonly identities: Set<string>;
  inspectorPort: number;
  start(): Promise<RunningOperator>;
}

export interface SoakWorld {
  readonly controlPlane: ControlPlane;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly instances: Map<string, SoakInstance>;
  readonly replicas: Map<Replica, ReplicaHandle>;
  /** The process names the proxies attribute connections to. */
  readonly pids: Map<string, number>;
  urlOf(instance: string, address: Address): string;
  /** Which instance a URL reaches, if any of ours. */
  instanceAt(url: string): string | undefined;
  stop(): Promise<void>;
}

async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } }).catch((error: unknown) => {
    if ((error as { code?: number }).code !== 409) throw error;
  });
}

/** A ServiceAccount token that outlives the run (TokenRequest), for one replica. */
async function replicaToken(core: CoreV1Api, name: string, seconds: number): Promise<string> {
  await core
    .createNamespacedServiceAccount({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name } } })
    .catch((error: unknown) => {
      if ((error as { code?: number }).code !== 409) throw error;
    });
  const answer = await core.createNamespacedServiceAccountToken({
    namespace: SYSTEM_NAMESPACE,
    name,
    body: { spec: { expirationSeconds: seconds, audiences: [] } },
  });
  return answer.status?.token ?? '';
}

export interface WorldOptions {
  /** How long the replicas' tokens must last. */
  seconds: number;
  log: (line: string) => void;
}

export async function startWorld(options: WorldOptions): Promise<SoakWorld> {
  const { log } = options;
  log('building dist/main.js (npm run build)');
  await run('npm', ['run', 'build'], { cwd: root, maxBuffer: 1 << 24 });
  const controlPlane = await startControlPlane({ controllerManager: true, auditPolicy: AUDIT_POLICY, log });
  const stops: Array<() => Promise<void>> = [() => controlPlane.stop()];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await controlPlane.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
    await controlPlane.kubectl(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
    for (const namespace of [SYSTEM_NAMESPACE, ...TENANTS]) await ensureNamespace(core, namespace);

    const pids = new Map<string, number>([['soak', process.pid]]);
    const instances = new Map<string, SoakInstance>();
    for (const plan of INSTANCES) {
      const server = await startInfluxd(plan.version);
      stops.push(() => server.stop());
      const proxies = {} as Record<Address, InfluxProxy>;
      for (const address of ['p', 'q'] as const) {
        let port = 0;
        const proxy = await startInfluxProxy(server.url, {
          attribute: socketOwner(
            () => port,
            () => pids,
          ),
        });
        port = Number(new URL(proxy.url).port);
        stops.push(() => proxy.close());
        proxies[address] = proxy;
      }
      instances.set(plan.id, { plan, server, proxies, wipes: [] });
      log(`influxd ${plan.version} ${plan.id} at ${server.url} (proxies ${proxies.p.url}, ${proxies.q.url})`);
    }
    const urlOf = (instance: string, address: Address): string => {
      const found = instances.get(instance);
      if (found === undefined) throw new Error(`no instance ${instance}`);
      return found.proxies[address].url;
    };
    const instanceAt = (url: string): string | undefined => {
      for (const [id, instance] of instances)
        if (Object.values(instance.proxies).some((proxy) => proxy.url === url.replace(/\/+$/, ''))) return id;
      return undefined;
    };

    // Adopted instances are set up by "someone else" first, and their token given in a consenting Secret.
    for (const instance of instances.values()) {
      if (!instance.plan.adopted) continue;
      const token = randomBytes(32).toString('base64url');
      const answer = await influxRequest(instance.proxies.p.url, {
        method: 'POST',
        path: '/api/v2/setup',
        body: {
          username: 'owner',
          password: randomBytes(12).toString('base64url'),
          org: 'preexisting',
          bucket: 'preexisting',
          token,
        },
      });
      if (answer.status !== 201) throw new Error(`setting up ${instance.plan.id}: ${answer.status} ${answer.text}`);
      instance.adoptedToken = token;
      await core.createNamespacedSecret({
        namespace: instance.plan.namespace,
        body: {
          metadata: {
            name: `adopt-${instance.plan.id}`,
            annotations: {
              [ALLOWED_URLS_ANNOTATION]: `${urlOf(instance.plan.id, 'p')},${urlOf(instance.plan.id, 'q')}`,
            },
          },
          stringData: { token },
        },
      });
    }

    // The replicas: a ServiceAccount each (so the audit log tells them apart), allowed everything.
    const shipped = shippedProcess(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const replicas = new Map<Replica, ReplicaHandle>();
    for (const name of REPLICAS) {
      const token = await replicaToken(core, name, options.seconds + 3600);
      await rbac
        .createClusterRoleBinding({
          body: {
            metadata: { name: `soak-${name}` },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }],
          },
        })
        .catch((error: unknown) => {
          if ((error as { code?: number }).code !== 409) throw error;
        });
      const tap = await startApiTap({ upstream: controlPlane.server, upstreamCaPem: controlPlane.caPem, token });
      stops.push(() => tap.close());
      const handle: ReplicaHandle = {
        name,
        tap,
        processes: [],
        user: `system:serviceaccount:${SYSTEM_NAMESPACE}:${name}`,
        identities: new Set(),
        inspectorPort: 0,
        async start() {
          const [inspectorPort] = await freePorts(1);
          const identity = `${name}-${handle.processes.length + 1}`;
          handle.identities.add(identity);
          handle.inspectorPort = inspectorPort ?? 0;
          const operator = await startOperator({
            kubeconfigPath: tap.kubeconfigPath,
            name: identity,
            command: [
              process.execPath,
              ...shipped.nodeOptions,
              `--inspect=127.0.0.1:${inspectorPort}`,
              join(root, 'dist/main.js'),
            ],
            env: { ...shipped.env, POD_NAME: identity },
            args: OPERATOR_FLAGS,
          });
          handle.processes.push(operator);
          handle.current = operator;
          pids.set(name, operator.pid);
          return operator;
        },
      };
      replicas.set(name, handle);
      stops.push(async () => {
        await handle.current?.kill();
      });
    }
    for (const handle of replicas.values()) await handle.start();
    for (const handle of replicas.values()) await handle.current?.waitForReady(60_000);
    log(`replicas ${[...replicas.keys()].join(', ')} ready`);
    return { controlPlane, core, custom, instances, replicas, pids, urlOf, instanceAt, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The chart's memory limit for the operator container, in bytes. */
export function chartMemoryLimitBytes(): number {
  const values = parse(readFileSync(join(root, 'deploy/influx-onboarding-operator/values.yaml'), 'utf8')) as {
    resources?: { limits?: { memory?: string } };
  };
  const limit = values.resources?.limits?.memory ?? '';
  const match = /^(\d+)(Mi|Gi)$/.exec(limit);
  if (match === null) throw new Error(`the chart's resources.limits.memory is not in Mi or Gi: ${limit}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 ** 3 : 1024 ** 2);
}
