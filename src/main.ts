import { hostname } from 'node:os';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { Gauge, Histogram } from 'prom-client';
import { GROUP, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL, PLURAL, VERSION, type InfluxOnboarding, type Reason } from './api/types.js';
import { defaultCredentialsSecretName } from './api/spec.js';
import { loadConfig, type Config } from './config.js';
import { InfluxClientPool } from './influx/pool.js';
import { CredentialsSecrets } from './kube/credentials-secret.js';
import { CredentialsEscrow } from './kube/escrow.js';
import { EventRecorder } from './kube/events.js';
import { readReference } from './kube/references.js';
import { patchStatus } from './kube/status.js';
import { createLogger, SecretRegistry, type Logger } from './log.js';
import { createOnboardingReconciler } from './onboarding/reconciler.js';
import {
  AlwaysLeader,
  cacheAccess,
  certificateDirectory,
  Controller,
  enqueueMapped,
  exitOnSignals,
  Informer,
  KubeConnection,
  kubernetesLeaseStore,
  LeaderElector,
  kubernetesAccessReview,
  Probes,
  RuntimeMetrics,
  selfSigned,
  WorkQueue,
  requestFor,
  requestKey,
  type BoundServer,
  type EventHandlers,
  type KeyQueue,
  type SecureServing,
} from './runtime/index.js';
import { operatorVersion } from './version.js';

const CONTROLLER_NAME = 'influxonboarding';
const REPORTING_CONTROLLER = `${GROUP}/influx-onboarding-operator`;

function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  // loadFromDefault prefers KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * A status-only change (our own status patch) must not wake the reconciler again: only spec
 * changes (generation), deletion, label or annotation changes and periodic resyncs do.
 */
function enqueueOnboarding(queue: KeyQueue): EventHandlers<KubernetesObject> {
  const add = (resource: KubernetesObject): void => queue.add(requestKey(requestFor(resource)));
  return {
    onAdd: add,
    onDelete: add,
    onUpdate: (previous, current) => {
      const before = previous.metadata ?? {};
      const after = current.metadata ?? {};
      const changed =
        previous === current ||
        before.generation !== after.generation ||
        String(before.deletionTimestamp) !== String(after.deletionTimestamp) ||
        JSON.stringify(before.labels) !== JSON.stringify(after.labels) ||
        JSON.stringify(before.annotations) !== JSON.stringify(after.annotations);
      if (changed) add(current);
    },
  };
}

/**
 * The informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
 * checkSpec checks the spec again before anything acts on it.
 */
function asOnboarding(object: KubernetesObject): InfluxOnboarding {
  return object as unknown as InfluxOnboarding;
}

/** Every Secret name a resource depends on: its references and the name of its credentials Secret. */
function referencedSecretNames(resource: InfluxOnboarding): string[] {
  const { spec, metadata } = resource;
  return [
    spec.passwordSecretRef?.name,
    spec.tokenSecretRef?.name,
    spec.authTokenSecretRef?.name,
    spec.tls?.caSecretRef?.name,
    spec.credentialsSecret?.name ?? defaultCredentialsSecretName(metadata.name),
  ].filter((name): name is string => name !== undefined);
}

/** A managed Secret concerns the InfluxOnboarding named in its owner label (set with either deletion policy). */
function secretOwner(secret: V1Secret): Array<{ namespace: string; name: string }> {
  const owner = secret.metadata?.labels?.[OWNER_NAME_LABEL];
  const namespace = secret.metadata?.namespace;
  return owner && namespace ? [{ namespace, name: owner }] : [];
}

/** HTTPS and token reviews for /metrics, unless --metrics-secure=false. */
function secureMetrics(config: Config, connection: KubeConnection): SecureServing | undefined {
  if (!config.metricsSecure) return undefined;
  return {
    certificates:
      config.metricsCertDir !== undefined
        ? certificateDirectory(config.metricsCertDir)
        : selfSigned('influx-onboarding-operator-metrics', ['localhost', '127.0.0.1', hostname()]),
    review: cacheAccess(
      kubernetesAccessReview(connection.makeApiClient(AuthenticationV1Api), connection.makeApiClient(AuthorizationV1Api), { path: '/metrics', verb: 'get' }),
    ),
  };
}

async function run(config: Config, logger: Logger, secrets: SecretRegistry, version: string): Promise<void> {
  const connection = new KubeConnection(loadKubeConfig());
  const core = connection.makeApiClient(CoreV1Api);
  const metrics = new RuntimeMetrics();
  metrics.setBuildInfo('influx_onboarding_operator_build_info', { version, node_version: process.version });
  const influxRequests = new Histogram({
    name: 'influxdb_request_duration_seconds',
    help: 'Requests to InfluxDB by endpoint and status class',
    labelNames: ['endpoint', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [metrics.registry],
  });
  const reasons = new Map<string, Reason>();
  new Gauge({
    name: 'influx_onboarding_resources',
    help: 'InfluxOnboarding resources by the reason of their Ready condition',
    labelNames: ['reason'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const reason of reasons.values()) this.inc({ reason });
    },
  });

  const namespaces = config.namespaces;
  const onboardings = new Informer<KubernetesObject>({
    getter: connection,
    resource: { group: GROUP, version: VERSION, plural: PLURAL },
    namespaces,
    ...(config.labelSelector !== undefined && { labelSelector: config.labelSelector }),
    resyncPeriodMs: config.resyncPeriodMs,
    logger,
    metrics: metrics.informerMetrics(PLURAL),
  });
  const managedSecrets = new Informer<V1Secret>({
    getter: connection,
    resource: { group: '', version: 'v1', plural: 'secrets' },
    namespaces,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    resyncPeriodMs: 0,
    logger,
    metrics: metrics.informerMetrics('secrets'),
  });

  // Names of every Secret in the watched namespaces, without their data: a Secret that a resource
  // references (or that stands in the way of its credentials Secret) may appear, change or go at
  // any time, and the resource must hear of it then, not at its next backoff retry.
  const secretNames = new Informer<KubernetesObject>({
    getter: connection,
    resource: { group: '', version: 'v1', plural: 'secrets' },
    namespaces,
    metadataOnly: true,
    resyncPeriodMs: 0,
    logger,
    metrics: metrics.informerMetrics('secrets-metadata'),
  });

  const queue = new WorkQueue({ baseDelayMs: config.backoffBaseMs, maxDelayMs: config.backoffMaxMs, metrics: metrics.queueMetrics(CONTROLLER_NAME) });
  onboardings.addHandlers(enqueueOnboarding(queue));
  managedSecrets.addHandlers(enqueueMapped(queue, secretOwner));
  secretNames.addHandlers(
    enqueueMapped(queue, (secret: KubernetesObject) => {
      const namespace = secret.metadata?.namespace ?? '';
      const name = secret.metadata?.name ?? '';
      return onboardings
        .list(namespace)
        .map(asOnboarding)
        .filter((resource) => referencedSecretNames(resource).includes(name))
        .map((resource) => ({ namespace, name: resource.metadata.name }));
    }),
  );

  const credentials = new CredentialsSecrets(core, (namespace, name) => managedSecrets.get(namespace, name));
  const escrow = config.escrowNamespace === undefined ? undefined : new CredentialsEscrow(core, config.escrowNamespace);
  const events = new EventRecorder(connection.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, config.identity);
  const customObjects = connection.makeApiClient(CustomObjectsApi);
  const influx = new InfluxClientPool({
    allowLinkLocal: config.allowLinkLocal,
    allowedTargets: config.allowedUrls,
    userAgent: `influx-onboarding-operator/${version}`,
    onRequest: (sample) => influxRequests.observe({ endpoint: sample.endpoint, status_class: sample.statusClass }, sample.seconds),
  });
  const reconciler = createOnboardingReconciler(
    {
      resource: (namespace, name) => {
        const object = onboardings.get(namespace, name);
        return object && asOnboarding(object);
      },
      resources: () => onboardings.list().map(asOnboarding),
      readSecret: (owner, name) => credentials.read(owner, name),
      writeSecret: (owner, desired, observed) => credentials.write(owner, desired, observed),
      ...(escrow && { escrow: { read: (owner) => escrow.read(owner), write: (owner, desired) => escrow.write(owner, desired) } }),
      readReference: (namespace, selector) => readReference(core, namespace, selector),
      patchStatus: (resource, status) => patchStatus(customObjects, resource, status),
      recordEvent: (resource, event) => events.record(resource, event),
      influx: (target) =>
        influx.get({
          baseUrl: target.url,
          timeoutMs: target.timeoutMs,
          insecureSkipVerify: target.insecureSkipVerify,
          ...(target.caPem !== undefined && { caPem: target.caPem }),
        }),
    },
    {
      driftCheckIntervalMs: config.driftCheckIntervalMs,
      passwordCheckIntervalMs: config.passwordCheckIntervalMs,
      requireSecretConsent: config.requireSecretConsent,
      logger,
      secrets,
      onReason: (key, reason) => (reason === undefined ? reasons.delete(key) : reasons.set(key, reason)),
    },
  );
  const controller = new Controller({
    name: CONTROLLER_NAME,
    queue,
    reconciler,
    logger,
    concurrency: config.concurrency,
    metrics: metrics.controllerMetrics(CONTROLLER_NAME),
  });

  const leadership = {
    onStartedLeading: () => {
      // Everything known is queued again: the previous leader may have left work unfinished.
      for (const resource of onboardings.list()) queue.add(requestKey(requestFor(resource)));
      controller.start();
    },
    // A successor may start soon after we stop leading: abort running reconciles at once rather
    // than let two replicas write to the same resources.
    onStoppedLeading: () => void controller.stop(0),
    metrics: metrics.leaderMetrics(config.leaderElectionId),
  };
  const election =
    config.leaderElect && config.leaderElectionNamespace !== undefined
      ? new LeaderElector({
          ...leadership,
          logger,
          identity: config.identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          store: kubernetesLeaseStore(connection.makeApiClient(CoordinationV1Api), config.leaderElectionNamespace, config.leaderElectionId),
        })
      : new AlwaysLeader(leadership, logger);

  const probes = new Probes();
  const informers = [onboardings, managedSecrets, secretNames];
  probes.addReadyCheck('informers', () => informers.every((informer) => informer.hasSynced()));
  probes.addHealthCheck('informers', () => informers.every((informer) => informer.isHealthy()));
  const servers: BoundServer[] = [];
  if (config.healthProbeBindAddress !== '0') servers.push(await probes.listen(config.healthProbeBindAddress, logger));
  if (config.metricsBindAddress !== '0') servers.push(await metrics.listen(config.metricsBindAddress, logger, secureMetrics(config, connection)));

  exitOnSignals({
    logger,
    timeoutMs: config.shutdownTimeoutMs + 5_000,
    shutdown: async () => {
      await controller.stop(config.shutdownTimeoutMs);
      await election.release();
      queue.shutDown();
      await Promise.all(informers.map((informer) => informer.stop()));
      influx.closeAll();
      connection.close();
      await Promise.all(servers.map((server) => server.close()));
      logger.info('stopped');
    },
  });

  logger.info('starting', {
    version,
    namespaces: namespaces.length > 0 ? namespaces : 'all',
    leaderElect: config.leaderElect,
    concurrency: config.concurrency,
    allowedUrls: config.allowedUrls.length > 0 ? config.allowedUrls : 'any',
    requireSecretConsent: config.requireSecretConsent,
  });
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((informer) => informer.waitForSync()));
  logger.info('caches synced', { influxonboardings: onboardings.list().length, managedSecretCount: managedSecrets.list().length });
  election.start();
}

async function main(): Promise<void> {
  const version = operatorVersion();
  const loaded = loadConfig(process.argv.slice(2), process.env);
  if (loaded.kind === 'help') {
    process.stdout.write(`${loaded.text}\n`);
    return;
  }
  if (loaded.kind === 'version') {
    process.stdout.write(`influx-onboarding-operator ${version}\n`);
    return;
  }
  if (loaded.kind === 'invalid') {
    for (const problem of loaded.problems) process.stderr.write(`error: ${problem}\n`);
    process.exitCode = 2;
    return;
  }
  const secrets = new SecretRegistry();
  const logger = createLogger({ level: loaded.config.logLevel, format: loaded.config.logFormat, registry: secrets });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
  });
  try {
    await run(loaded.config, logger, secrets, version);
  } catch (error) {
    logger.error('failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    // Open sockets and servers would keep a failed start alive forever.
    setTimeout(() => process.exit(1), 100).unref();
  }
}

await main();
