import { CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { Gauge, Histogram } from 'prom-client';
import { GROUP, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL, PLURAL, VERSION, type InfluxOnboarding, type Reason } from './api/types.js';
import { defaultCredentialsSecretName } from './api/spec.js';
import { loadConfig, type Config } from './config.js';
import { InfluxClientPool } from './influx/pool.js';
import { CredentialsSecrets } from './kube/credentials-secret.js';
import { EventRecorder } from './kube/events.js';
import { readReference } from './kube/references.js';
import { patchStatus } from './kube/status.js';
import { createLogger, SecretRegistry, type Logger } from './log.js';
import { createOnboardingReconciler } from './onboarding/reconciler.js';
import { exitOnSignals, ignoreStatusOnlyUpdates, KubeConnection, Manager, type Cache, type ObjectType, type Request } from './runtime/index.js';
import { operatorVersion } from './version.js';

const CONTROLLER_NAME = 'influxonboarding';
const REPORTING_CONTROLLER = `${GROUP}/influx-onboarding-operator`;

/** The Secrets this operator writes (credentials Secrets), whole. */
const MANAGED_SECRETS: ObjectType = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
};

/**
 * Names of every Secret in the watched namespaces, without their data: a Secret that a resource
 * references (or that stands in the way of its credentials Secret) may appear, change or go at
 * any time, and the resource must hear of it then, not at its next backoff retry.
 */
const SECRET_NAMES: ObjectType = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', metadataOnly: true };

function onboardingsOf(config: Config): ObjectType {
  return { group: GROUP, version: VERSION, kind: KIND, plural: PLURAL, ...(config.labelSelector !== undefined && { labelSelector: config.labelSelector }) };
}

function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  // loadFromDefault prefers KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
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

/** The resources in the Secret's namespace that reference it by name. */
function referencingOnboardings(onboardings: Cache<InfluxOnboarding>): (secret: KubernetesObject) => Request[] {
  return (secret) => {
    const namespace = secret.metadata?.namespace ?? '';
    const name = secret.metadata?.name ?? '';
    return onboardings
      .list(namespace)
      .filter((resource) => referencedSecretNames(resource).includes(name))
      .map((resource) => ({ namespace, name: resource.metadata.name }));
  };
}

function createManager(config: Config, logger: Logger): Manager {
  return new Manager({
    connection: new KubeConnection(loadKubeConfig()),
    logger,
    namespaces: config.namespaces,
    resyncPeriodMs: config.resyncPeriodMs,
    backoff: { baseDelayMs: config.backoffBaseMs, maxDelayMs: config.backoffMaxMs },
    leaderElection: {
      id: config.leaderElectionId,
      ...(config.leaderElect &&
        config.leaderElectionNamespace !== undefined && {
          lease: {
            namespace: config.leaderElectionNamespace,
            identity: config.identity,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }),
    },
    healthProbeBindAddress: config.healthProbeBindAddress,
    metrics: {
      bindAddress: config.metricsBindAddress,
      ...(config.metricsSecure && {
        secure: {
          certificateName: 'influx-onboarding-operator-metrics',
          ...(config.metricsCertDir !== undefined && { certDir: config.metricsCertDir }),
        },
      }),
    },
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
}

/** The InfluxOnboarding controller: its reconciler, its InfluxDB clients and metrics, and what wakes it. */
function registerOnboardingController(manager: Manager, config: Config, logger: Logger, secrets: SecretRegistry, version: string): void {
  const registry = manager.metrics.registry;
  const influxRequests = new Histogram({
    name: 'influxdb_request_duration_seconds',
    help: 'Requests to InfluxDB by endpoint and status class',
    labelNames: ['endpoint', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const reasons = new Map<string, Reason>();
  new Gauge({
    name: 'influx_onboarding_resources',
    help: 'InfluxOnboarding resources by the reason of their Ready condition',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of reasons.values()) this.inc({ reason });
    },
  });

  const onboardingType = onboardingsOf(config);
  // The informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
  // checkSpec checks the spec again before anything acts on it.
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType);
  const managedSecrets = manager.cache<V1Secret>(MANAGED_SECRETS);
  const { connection } = manager;
  const core = connection.makeApiClient(CoreV1Api);
  const credentials = new CredentialsSecrets(core, (namespace, name) => managedSecrets.get(namespace, name));
  const events = new EventRecorder(connection.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, config.identity);
  const customObjects = connection.makeApiClient(CustomObjectsApi);
  const influx = new InfluxClientPool({
    allowLinkLocal: config.allowLinkLocal,
    allowedTargets: config.allowedUrls,
    userAgent: `influx-onboarding-operator/${version}`,
    onRequest: (sample) => influxRequests.observe({ endpoint: sample.endpoint, status_class: sample.statusClass }, sample.seconds),
  });
  manager.onStop(() => influx.closeAll());
  const reconciler = createOnboardingReconciler(
    {
      resource: (namespace, name) => onboardings.get(namespace, name),
      resources: () => onboardings.list(),
      readSecret: (owner, name) => credentials.read(owner, name),
      writeSecret: (owner, desired, observed) => credentials.write(owner, desired, observed),
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
      requireSecretConsent: config.requireSecretConsent,
      logger,
      secrets,
      onReason: (key, reason) => (reason === undefined ? reasons.delete(key) : reasons.set(key, reason)),
    },
  );

  manager.register({
    name: CONTROLLER_NAME,
    for: { type: onboardingType, predicates: [ignoreStatusOnlyUpdates] },
    // Credentials Secrets name their resource in a label, not an ownerReference: with deletionPolicy
    // Retain they outlive it.
    owns: [{ type: MANAGED_SECRETS, ownerLabel: OWNER_NAME_LABEL }],
    watches: [{ type: SECRET_NAMES, map: referencingOnboardings(onboardings) }],
    reconciler,
    concurrency: config.concurrency,
  });
}

async function run(config: Config, logger: Logger, secrets: SecretRegistry, version: string): Promise<void> {
  const manager = createManager(config, logger);
  manager.metrics.setBuildInfo('influx_onboarding_operator_build_info', { version, node_version: process.version });
  registerOnboardingController(manager, config, logger, secrets, version);
  exitOnSignals({ logger, timeoutMs: config.shutdownTimeoutMs + 5_000, shutdown: () => manager.stop() });
  logger.info('starting', {
    version,
    namespaces: config.namespaces.length > 0 ? config.namespaces : 'all',
    leaderElect: config.leaderElect,
    concurrency: config.concurrency,
    allowedUrls: config.allowedUrls.length > 0 ? config.allowedUrls : 'any',
    requireSecretConsent: config.requireSecretConsent,
  });
  await manager.start();
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
