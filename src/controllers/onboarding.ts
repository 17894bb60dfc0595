import type { KubernetesObject } from '@kubernetes/client-node';
import { checkSpec, defaultCredentialsSecretName } from '../api/spec.js';
import { KIND, OWNER_NAME_LABEL, type InfluxOnboarding } from '../api/types.js';
import { CredentialsEscrow } from '../kube/escrow.js';
import { readReference } from '../kube/references.js';
import { patchStatus } from '../kube/status.js';
import { endpointFacts, serviceFacts } from '../kube/cluster-directory.js';
import { resolveInstance, serviceSpellings, targetKey } from '../onboarding/instance.js';
import { createOnboardingReconciler } from '../onboarding/reconciler.js';
import {
  ignoreStatusOnlyUpdates,
  objectKey,
  OwnWrites,
  requestFor,
  requestKey,
  type Cache,
  type Manager,
  type Request,
} from '../runtime/index.js';
import {
  ENDPOINT_SLICES,
  MANAGED_SECRETS,
  SERVICES,
  UNMANAGED_SECRET_NAMES,
  onboardingsOf,
  reasonGauge,
  type ControllerDeps,
} from './shared.js';

/** The InfluxOnboarding controller: its reconciler, its metrics, and what wakes it. */
export function registerOnboardingController(manager: Manager, deps: ControllerDeps): void {
  const { config, core, credentials, customObjects, events, cluster, instances } = deps;
  const onboardingType = onboardingsOf(config);
  const targets = (resource: InfluxOnboarding): string[] => {
    const checked = checkSpec(resource);
    const target = checked.ok
      ? targetKey(checked.spec.url, resource.metadata.namespace, instances.clusterDomain)
      : undefined;
    return target === undefined ? [] : [target];
  };
  // The informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
  // checkSpec checks the spec again before anything acts on it.
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType, {
    indexes: { [TARGETS]: targets, [NAMES_SECRET]: namesSecrets },
  });
  const targeting = (keys: readonly string[]): InfluxOnboarding[] => [
    ...new Set(keys.flatMap((key) => onboardings.byIndex(TARGETS, key))),
  ];
  // The credentials Secret a reconcile writes comes back through the Secret watches; at the
  // version written it tells that reconcile nothing new.
  const ownWrites = new OwnWrites();
  const escrow = config.escrowNamespace === undefined ? undefined : new CredentialsEscrow(core, config.escrowNamespace);
  const reconciler = createOnboardingReconciler(
    {
      resource: (namespace, name) => onboardings.get(namespace, name),
      instance: (namespace, url) => resolveInstance(url, namespace, cluster, instances),
      targeting,
      readSecret: (owner, name) => credentials.read(owner, name),
      writeSecret: (owner, desired, observed) =>
        ownWrites.write(
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
      patchStatus: (resource, status) => patchStatus(customObjects, resource, status),
      recordEvent: events,
      influx: deps.influx,
    },
    {
      driftCheckIntervalMs: config.driftCheckIntervalMs,
      passwordCheckIntervalMs: config.passwordCheckIntervalMs,
      requireSecretConsent: config.requireSecretConsent,
      logger: deps.logger,
      secrets: deps.secrets,
      onReason: reasonGauge(manager, 'influx_onboarding_resources', KIND),
    },
  );

  manager.register({
    name: 'influxonboarding',
    for: { type: onboardingType, predicates: [ignoreStatusOnlyUpdates] },
    // Credentials Secrets name their resource in a label, not an ownerReference: with deletionPolicy
    // Retain they outlive it.
    owns: [{ type: MANAGED_SECRETS, ownerLabel: OWNER_NAME_LABEL }],
    watches: [
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
      // Consent given or withdrawn, an address or endpoint moved: who owns the instance may have changed.
      {
        type: SERVICES,
        map: (service) => {
          const { namespace, name, addresses } = serviceFacts(service);
          return targeting([
            ...serviceSpellings(namespace, name, cluster, instances),
            ...addresses.map((address) => `address:${address}`),
          ]).map(requestFor);
        },
      },
      {
        type: ENDPOINT_SLICES,
        // Every Service with an endpoint at one of the slice's addresses (its own, and any that
        // forwards to the same Pods), each once: a slice can list hundreds of Pods.
        map: (slice) => {
          const own = endpointFacts(slice);
          const addresses = [...new Set(own.map((endpoint) => endpoint.address))];
          const services = new Set(
            [...own, ...addresses.flatMap((address) => cluster.endpointsAt(address))].map(
              (endpoint) => `${endpoint.namespace}/${endpoint.service}`,
            ),
          );
          return targeting([
            ...addresses.map((address) => `address:${address}`),
            ...[...services].flatMap((key) => {
              const [namespace = '', name = ''] = key.split('/');
              return serviceSpellings(namespace, name, cluster, instances);
            }),
          ]).map(requestFor);
        },
      },
    ],
    reconciler,
    ownWrites,
    concurrency: config.concurrency,
  });
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

/** The resources in the Secret's namespace that reference it by name. */
function referencingOnboardings(onboardings: Cache<InfluxOnboarding>): (secret: KubernetesObject) => Request[] {
  return (secret) => onboardings.byIndex(NAMES_SECRET, objectKey(secret)).map(requestFor);
}
