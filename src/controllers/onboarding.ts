import type { KubernetesObject } from '@kubernetes/client-node';
import { acceptedUrl, checkSpec, defaultCredentialsSecretName } from '../api/spec.js';
import { KIND, OWNER_NAME_LABEL, PLURAL, READY, Reason, type InfluxOnboarding } from '../api/types.js';
import { endpointFacts, serviceFacts } from '../kube/cluster-directory.js';
import { CredentialsEscrow } from '../kube/escrow.js';
import { readReference } from '../kube/references.js';
import {
  resolveInstance,
  rememberedReach,
  type Reach,
  targetKey,
  targetsOfEndpoints,
  targetsOfService,
} from '../onboarding/instance.js';
import { InstanceFiling } from '../onboarding/instance-filing.js';
import type { OnboardingPorts } from '../onboarding/ports.js';
import { createOnboardingReconciler } from '../onboarding/reconciler.js';
import {
  ignoreStatusOnlyUpdates,
  objectKey,
  WakeSuppression,
  requestFor,
  requestKey,
  type Cache,
  type Manager,
  type Request,
  type Watch,
} from '../runtime/index.js';
import {
  ENDPOINT_SLICES,
  MANAGED_SECRETS,
  SERVICES,
  UNMANAGED_SECRET_NAMES,
  onboardingsOf,
  reasonGauge,
  statusWriter,
  type ControllerDeps,
} from './shared.js';

/** The InfluxOnboarding controller: its reconciler, its metrics, and what wakes it. */
export function registerOnboardingController(manager: Manager, deps: ControllerDeps): void {
  const { config, cluster, instances } = deps;
  const onboardingType = onboardingsOf(config);
  const onboardings = onboardingCache(manager, deps);
  // Where each cached resource leads, kept until it or the cluster view changes (one per process).
  const reach = rememberedReach(cluster, instances);
  const filing = instanceFiling(onboardings, deps, reach);
  // The credentials Secret a reconcile writes comes back through the Secret watches; at the
  // version written it tells that reconcile nothing new.
  const wakeSuppression = new WakeSuppression();
  const reconciler = createOnboardingReconciler(onboardingPorts(manager, deps, wakeSuppression, reach, filing), {
    driftCheckIntervalMs: config.driftCheckIntervalMs,
    passwordCheckIntervalMs: config.passwordCheckIntervalMs,
    requireSecretConsent: config.requireSecretConsent,
    logger: deps.logger,
    secrets: deps.secrets,
    onReason: reasonGauge(manager, 'influx_onboarding_resources', KIND),
  });

  manager.register({
    name: 'influxonboarding',
    for: { type: onboardingType, predicates: [ignoreStatusOnlyUpdates] },
    // Credentials Secrets name their resource in a label, not an ownerReference: with deletionPolicy
    // Retain they outlive it.
    owns: [{ type: MANAGED_SECRETS, ownerLabel: OWNER_NAME_LABEL }],
    watches: onboardingWatches(deps, onboardings, filing),
    reconciler,
    wakeSuppression,
    concurrency: config.concurrency,
  });
}

/**
 * The host an accepted spec.url names (instance.ts' targetKey): the targets index's value. Only
 * the URL is checked, not the whole spec (a tenth of checkSpec's time, paid for every object
 * listed at start-up): whoever reads the index reads each resource's reach, which checks the
 * spec, or wakes it to be checked by its reconcile.
 */
function hostNamed(resource: InfluxOnboarding, clusterDomain: string): string | undefined {
  const url = acceptedUrl(resource.spec);
  return url === undefined ? undefined : targetKey(url, resource.metadata.namespace, clusterDomain);
}

/** The cached resources by the instance they reach, kept as the cache changes (one per process). */
function instanceFiling(
  onboardings: Cache<InfluxOnboarding>,
  deps: ControllerDeps,
  reach: (resource: InfluxOnboarding) => Reach | undefined,
): InstanceFiling {
  const filing = new InstanceFiling({
    onHost: (host) => onboardings.byIndex(TARGETS, host),
    get: (key) => onboardings.getByKey(key),
    keyOf: (resource) => requestKey({ namespace: resource.metadata.namespace, name: resource.metadata.name }),
    // The values the cache filed the change's objects under a moment before, not checked again.
    hostOf: (resource) => onboardings.indexValues(TARGETS, resource)[0],
    reach,
    version: () => deps.cluster.version(),
  });
  onboardings.addHandlers({
    onAdd: (resource) => filing.changed(undefined, resource),
    onUpdate: (previous, current) => {
      if (previous !== current) filing.changed(previous, current);
    },
    onDelete: (resource) => filing.changed(resource, undefined),
  });
  return filing;
}

/**
 * The InfluxOnboardings, indexed by the instance they target and the Secrets they name. The
 * informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
 * checkSpec checks the spec again before anything acts on it.
 */
function onboardingCache(manager: Manager, deps: ControllerDeps): Cache<InfluxOnboarding> {
  return manager.cache<InfluxOnboarding>(onboardingsOf(deps.config), {
    indexes: {
      [TARGETS]: (resource) => {
        const target = hostNamed(resource, deps.instances.clusterDomain);
        return target === undefined ? [] : [target];
      },
      [NAMES_SECRET]: namesSecrets,
    },
  });
}

/** What else wakes an InfluxOnboarding: the Secrets it names, resources of the same instance, the cluster's view of instances. */
function onboardingWatches(
  deps: ControllerDeps,
  onboardings: Cache<InfluxOnboarding>,
  filing: InstanceFiling,
): Watch[] {
  const { config, cluster, instances } = deps;
  const targeting = (keys: readonly string[]): Request[] => naming(onboardings, keys).map(requestFor);
  return [
    { type: UNMANAGED_SECRET_NAMES, map: referencingOnboardings(onboardings) },
    // A managed Secret may be referenced too, or stand in the way of another resource's credentials;
    // an escrow Secret's approval (when the escrow namespace is watched) wakes the resource it names.
    {
      type: MANAGED_SECRETS,
      map: (secret) => {
        const owner =
          secret.metadata?.namespace === config.escrowNamespace ? CredentialsEscrow.ownerOf(secret) : undefined;
        return [...referencingOnboardings(onboardings)(secret), ...(owner ? [owner] : [])];
      },
    },
    // A resource that gives an instance up (deleted, or its spec names another) lets the ones
    // waiting behind it (DuplicateTarget) go on at once, not at their next drift check.
    {
      type: onboardingsOf(config),
      map: (resource) => waitingBehind(filing, resource as InfluxOnboarding, deps),
      predicates: [ignoreStatusOnlyUpdates],
    },
    // Consent given or withdrawn, an address or endpoint moved: who owns an instance may have changed.
    { type: SERVICES, map: (service) => targeting(targetsOfService(serviceFacts(service), cluster, instances)) },
    {
      type: ENDPOINT_SLICES,
      map: (slice) => targeting(targetsOfEndpoints(endpointFacts(slice), cluster, instances)),
    },
  ];
}

/**
 * The resources that wait behind this one's instance: same instance (not just the same host: every
 * instance on one address with several ports would wake all the others, N²/2 reconciles for a burst
 * of N), permitted to target it, and reporting DuplicateTarget. The status only chooses whom to
 * wake: their own reconcile decides from the cluster, never from it.
 */
function waitingBehind(filing: InstanceFiling, resource: InfluxOnboarding, deps: ControllerDeps): Request[] {
  const { cluster, instances } = deps;
  const checked = checkSpec(resource);
  if (!checked.ok) return [];
  const mine = resolveInstance(checked.spec.url, resource.metadata.namespace, cluster, instances);
  return filing
    .at(mine.spellings, mine.key)
    .filter((other) => {
      if (other.metadata.uid === resource.metadata.uid) return false;
      const reason = other.status?.conditions?.find((condition) => condition.type === READY)?.reason;
      return reason === Reason.DuplicateTarget;
    })
    .map(requestFor);
}

/** The reconciler's ports: the resource through the read-your-writes view, its Secrets, the escrow, InfluxDB. */
function onboardingPorts(
  manager: Manager,
  deps: ControllerDeps,
  wakeSuppression: WakeSuppression,
  reach: (resource: InfluxOnboarding) => Reach | undefined,
  filing: InstanceFiling,
): OnboardingPorts {
  const { config, core, credentials, customObjects, events, cluster, instances } = deps;
  // The resource as this process last wrote its status, until the cache shows it.
  const resources = manager.readYourWrites<InfluxOnboarding>(onboardingsOf(config));
  const escrow = config.escrowNamespace === undefined ? undefined : new CredentialsEscrow(core, config.escrowNamespace);
  return {
    resource: (namespace, name) => resources.get(namespace, name),
    instance: (namespace, url) => resolveInstance(url, namespace, cluster, instances),
    atInstance: (spellings, key) => filing.at(spellings, key),
    reach,
    readSecret: (owner, name) => credentials.read(owner, name),
    writeSecret: (owner, desired, observed) =>
      wakeSuppression.write(
        requestFor(owner),
        MANAGED_SECRETS,
        { namespace: owner.metadata.namespace, name: desired.name },
        () => credentials.write(owner, desired, observed),
        (secret) => (secret.state === 'owned' ? secret.resourceVersion : undefined),
      ),
    ...(escrow && {
      escrow: { read: (owner) => escrow.read(owner), write: (owner, desired) => escrow.write(owner, desired) },
    }),
    readReference: (namespace, selector) => readReference(core, namespace, selector),
    patchStatus: statusWriter(resources, customObjects, PLURAL),
    recordEvent: events,
    influx: deps.influx,
  };
}

// The indexes of the onboarding cache: what each event looks up instead of scanning every resource.
/** The host a resource's URL names, as instance.ts' targetKey writes it: the resources reaching one instance, or one Service. */
const TARGETS = 'targets';
/** Every Secret a resource depends on, as `namespace/name`: a Secret's event wakes the resources naming it. */
const NAMES_SECRET = 'namesSecret';

function namesSecrets(resource: InfluxOnboarding): string[] {
  return referencedSecretNames(resource).map((name) => requestKey({ namespace: resource.metadata.namespace, name }));
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

/** The resources whose spec.url names one of these target keys (instance.ts' targetKey), each once. */
function naming(onboardings: Cache<InfluxOnboarding>, targets: readonly string[]): InfluxOnboarding[] {
  return [...new Set(targets.flatMap((target) => onboardings.byIndex(TARGETS, target)))];
}

/** The resources in the Secret's namespace that reference it by name. */
function referencingOnboardings(onboardings: Cache<InfluxOnboarding>): (secret: KubernetesObject) => Request[] {
  return (secret) => onboardings.byIndex(NAMES_SECRET, objectKey(secret)).map(requestFor);
}
