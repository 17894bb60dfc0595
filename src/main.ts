import { CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { Gauge, Histogram } from 'prom-client';
import { createBucketReconciler, createTokenReconciler, type AccessPorts } from './access/reconciler.js';
import { BUCKET_KIND, BUCKET_PLURAL, TOKEN_KIND, TOKEN_OWNER_LABEL, TOKEN_PLURAL, type InfluxBucket, type InfluxToken } from './api/access-types.js';
import { GROUP, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL, PLURAL, VERSION, type InfluxOnboarding } from './api/types.js';
import { defaultCredentialsSecretName } from './api/spec.js';
import { loadConfig, type Config } from './config.js';
import { InfluxClientPool } from './influx/pool.js';
import { CredentialsSecrets } from './kube/credentials-secret.js';
import { CredentialsEscrow } from './kube/escrow.js';
import { EventRecorder } from './kube/events.js';
import { readReference } from './kube/references.js';
import { patchFinalizers, patchStatus } from './kube/status.js';
import { TokenSecrets } from './kube/token-secret.js';
import { createLogger, SecretRegistry, type Logger } from './log.js';
import type { InfluxClient } from './influx/types.js';
import { createOnboardingReconciler, type InfluxTarget } from './onboarding/reconciler.js';
import { exitOnSignals, ignoreStatusOnlyUpdates, KubeConnection, Manager, type Cache, type ObjectType, type Request } from './runtime/index.js';
import { operatorVersion } from './version.js';

const CONTROLLER_NAME = 'influxonboarding';
const BUCKET_CONTROLLER = 'influxbucket';
const TOKEN_CONTROLLER = 'influxtoken';
const REPORTING_CONTROLLER = `${GROUP}/influx-onboarding-operator`;

/** The Secrets this operator writes (credentials Secrets and InfluxToken Secrets), whole. */
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

/** The names and labels of namespaces, for grants by spec.accessFrom.namespaceSelector (only with --namespace-label-grants). */
const NAMESPACE_LABELS: ObjectType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', metadataOnly: true, clusterScoped: true };

/** One of the operator's own kinds, restricted to the operator's shard (--label-selector). */
function ownKind(config: Config, kind: string, plural: string): ObjectType {
  return { group: GROUP, version: VERSION, kind, plural, ...(config.labelSelector !== undefined && { labelSelector: config.labelSelector }) };
}

function onboardingsOf(config: Config): ObjectType {
  return ownKind(config, KIND, PLURAL);
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

/** The InfluxDB clients every controller shares (one pool of connections per instance), timed by endpoint. */
function influxClients(manager: Manager, config: Config, version: string): (target: InfluxTarget) => InfluxClient {
  const influxRequests = new Histogram({
    name: 'influxdb_request_duration_seconds',
    help: 'Requests to InfluxDB by endpoint and status class',
    labelNames: ['endpoint', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [manager.metrics.registry],
  });
  const influx = new InfluxClientPool({
    allowLinkLocal: config.allowLinkLocal,
    allowedTargets: config.allowedUrls,
    userAgent: `influx-onboarding-operator/${version}`,
    onRequest: (sample) => influxRequests.observe({ endpoint: sample.endpoint, status_class: sample.statusClass }, sample.seconds),
  });
  manager.onStop(() => influx.closeAll());
  return (target) =>
    influx.get({
      baseUrl: target.url,
      timeoutMs: target.timeoutMs,
      insecureSkipVerify: target.insecureSkipVerify,
      ...(target.caPem !== undefined && { caPem: target.caPem }),
    });
}

/** Resources of one kind by the reason of their Ready condition; the returned map feeds it. */
function reasonGauge(manager: Manager, name: string, kind: string): Map<string, string> {
  const reasons = new Map<string, string>();
  new Gauge({
    name,
    help: `${kind} resources by the reason of their Ready condition`,
    labelNames: ['reason'] as const,
    registers: [manager.metrics.registry],
    collect() {
      this.reset();
      for (const reason of reasons.values()) this.inc({ reason });
    },
  });
  return reasons;
}

/** Keeps a reason map for a gauge: undefined removes a resource that is gone. */
function recordReason(reasons: Map<string, string>): (key: string, reason: string | undefined) => void {
  return (key, reason) => void (reason === undefined ? reasons.delete(key) : reasons.set(key, reason));
}

/** The InfluxOnboarding controller: its reconciler, its metrics, and what wakes it. */
function registerOnboardingController(manager: Manager, config: Config, logger: Logger, secrets: SecretRegistry, influx: (target: InfluxTarget) => InfluxClient): void {
  const reasons = reasonGauge(manager, 'influx_onboarding_resources', KIND);

  const onboardingType = onboardingsOf(config);
  // The informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
  // checkSpec checks the spec again before anything acts on it.
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType);
  const managedSecrets = manager.cache<V1Secret>(MANAGED_SECRETS);
  const { connection } = manager;
  const core = connection.makeApiClient(CoreV1Api);
  const credentials = new CredentialsSecrets(core, (namespace, name) => managedSecrets.get(namespace, name));
  const escrow = config.escrowNamespace === undefined ? undefined : new CredentialsEscrow(core, config.escrowNamespace);
  const events = new EventRecorder(connection.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, config.identity);
  const customObjects = connection.makeApiClient(CustomObjectsApi);
  const reconciler = createOnboardingReconciler(
    {
      resource: (namespace, name) => onboardings.get(namespace, name),
      resources: () => onboardings.list(),
      readSecret: (owner, name) => credentials.read(owner, name),
      writeSecret: (owner, desired, observed) => credentials.write(owner, desired, observed),
      ...(escrow && { escrow: { read: (owner) => escrow.read(owner), write: (owner, desired) => escrow.write(owner, desired) } }),
      readReference: (namespace, selector) => readReference(core, namespace, selector),
      patchStatus: (resource, status) => patchStatus(customObjects, resource, status),
      recordEvent: (resource, event) => events.record(resource, event),
      influx,
    },
    {
      driftCheckIntervalMs: config.driftCheckIntervalMs,
      passwordCheckIntervalMs: config.passwordCheckIntervalMs,
      requireSecretConsent: config.requireSecretConsent,
      logger,
      secrets,
      onReason: recordReason(reasons),
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

/** The onboarding an InfluxBucket or InfluxToken references (its namespace defaults to the resource's own). */
function referencedOnboarding(object: { metadata: { namespace: string }; spec?: { onboardingRef?: { name?: string; namespace?: string } } }): string | undefined {
  const ref = object.spec?.onboardingRef;
  return ref?.name === undefined ? undefined : `${ref.namespace ?? object.metadata.namespace}/${ref.name}`;
}

/** The resources (in any namespace) that reference the onboarding: its readiness or grant changed. */
function referencing<T extends InfluxBucket | InfluxToken>(resources: Cache<T>): (onboarding: KubernetesObject) => Request[] {
  return (onboarding) => {
    const key = `${onboarding.metadata?.namespace ?? ''}/${onboarding.metadata?.name ?? ''}`;
    return resources
      .list()
      .filter((resource) => referencedOnboarding(resource) === key)
      .map((resource) => ({ namespace: resource.metadata.namespace, name: resource.metadata.name }));
  };
}

/** Every resource in a namespace whose labels changed (grants by namespaceSelector). */
function inNamespace<T extends InfluxBucket | InfluxToken>(resources: Cache<T>): (namespace: KubernetesObject) => Request[] {
  return (namespace) => resources.list(namespace.metadata?.name ?? '').map((resource) => ({ namespace: resource.metadata.namespace, name: resource.metadata.name }));
}

/**
 * The InfluxBucket and InfluxToken controllers: an application's own bucket and token, through an
 * onboarding that grants its namespace. They read the onboarding and its Secret, never write them.
 */
function registerAccessControllers(manager: Manager, config: Config, logger: Logger, secrets: SecretRegistry, influx: (target: InfluxTarget) => InfluxClient): void {
  const onboardingType = onboardingsOf(config);
  const bucketType = ownKind(config, BUCKET_KIND, BUCKET_PLURAL);
  const tokenType = ownKind(config, TOKEN_KIND, TOKEN_PLURAL);
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType);
  const managedSecrets = manager.cache<V1Secret>(MANAGED_SECRETS);
  const buckets = manager.cache<InfluxBucket>(bucketType);
  const tokens = manager.cache<InfluxToken>(tokenType);
  const namespaces = config.namespaceLabelGrants ? manager.cache(NAMESPACE_LABELS) : undefined;
  const { connection } = manager;
  const core = connection.makeApiClient(CoreV1Api);
  const customObjects = connection.makeApiClient(CustomObjectsApi);
  const events = new EventRecorder(connection.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, config.identity);
  const credentials = new CredentialsSecrets(core, (namespace, name) => managedSecrets.get(namespace, name));
  const access: AccessPorts = {
    onboarding: (namespace, name) => onboardings.get(namespace, name),
    readCredentials: (onboarding, name) => credentials.read(onboarding, name),
    readReference: (namespace, selector) => readReference(core, namespace, selector),
    // Without --namespace-label-grants a selector grants nothing: the labels are never known.
    namespaceLabels: async (namespace) => namespaces && (namespaces.get('', namespace)?.metadata?.labels ?? {}),
    influx,
    recordEvent: (resource, event) => events.record(resource, event),
  };
  const options = { driftCheckIntervalMs: config.driftCheckIntervalMs, logger, secrets };
  const labelWatches = <T extends InfluxBucket | InfluxToken>(resources: Cache<T>) => (namespaces ? [{ type: NAMESPACE_LABELS, map: inNamespace(resources) }] : []);

  manager.register({
    name: BUCKET_CONTROLLER,
    for: { type: bucketType, predicates: [ignoreStatusOnlyUpdates] },
    watches: [{ type: onboardingType, map: referencing(buckets) }, ...labelWatches(buckets)],
    reconciler: createBucketReconciler(
      {
        ...access,
        resource: (namespace, name) => buckets.get(namespace, name),
        patchStatus: (resource, status) => patchStatus(customObjects, resource, status, BUCKET_PLURAL),
        patchFinalizers: (resource, finalizers) => patchFinalizers(customObjects, resource, finalizers, BUCKET_PLURAL),
      },
      { ...options, onReason: recordReason(reasonGauge(manager, 'influx_bucket_resources', BUCKET_KIND)) },
    ),
    concurrency: config.concurrency,
  });

  const tokenSecrets = new TokenSecrets(core);
  manager.register({
    name: TOKEN_CONTROLLER,
    for: { type: tokenType, predicates: [ignoreStatusOnlyUpdates] },
    // A deleted or edited token Secret is written again at once.
    owns: [{ type: MANAGED_SECRETS, ownerLabel: TOKEN_OWNER_LABEL }],
    watches: [
      { type: onboardingType, map: referencing(tokens) },
      // A bucket's status (its ID above all) concerns every token of its namespace whose permissions name it.
      {
        type: bucketType,
        map: (bucket) =>
          tokens
            .list(bucket.metadata?.namespace ?? '')
            .filter((token) => token.spec?.permissions?.some((permission) => permission.bucket === bucket.metadata?.name) === true)
            .map((token) => ({ namespace: token.metadata.namespace, name: token.metadata.name })),
      },
      ...labelWatches(tokens),
    ],
    reconciler: createTokenReconciler(
      {
        ...access,
        resource: (namespace, name) => tokens.get(namespace, name),
        bucket: (namespace, name) => buckets.get(namespace, name),
        patchStatus: (resource, status) => patchStatus(customObjects, resource, status, TOKEN_PLURAL),
        patchFinalizers: (resource, finalizers) => patchFinalizers(customObjects, resource, finalizers, TOKEN_PLURAL),
        readSecret: (owner, name) => tokenSecrets.read(owner, name),
        writeSecret: (owner, desired, observed) => tokenSecrets.write(owner, desired, observed),
      },
      { ...options, onReason: recordReason(reasonGauge(manager, 'influx_token_resources', TOKEN_KIND)) },
    ),
    concurrency: config.concurrency,
  });
}

async function run(config: Config, logger: Logger, secrets: SecretRegistry, version: string): Promise<void> {
  const manager = createManager(config, logger);
  manager.metrics.setBuildInfo('influx_onboarding_operator_build_info', { version, node_version: process.version });
  const influx = influxClients(manager, config, version);
  registerOnboardingController(manager, config, logger, secrets, influx);
  registerAccessControllers(manager, config, logger, secrets, influx);
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
