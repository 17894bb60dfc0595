import type { KubernetesObject } from '@kubernetes/client-node';
import { checkSpec, defaultCredentialsSecretName, setupInstance } from '../api/spec.js';
import { KIND, OWNER_NAME_LABEL, PLURAL, type InfluxOnboarding } from '../api/types.js';
import { CredentialsEscrow } from '../kube/escrow.js';
import { readReference } from '../kube/references.js';
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
} from '../runtime/index.js';
import {
  MANAGED_SECRETS,
  UNMANAGED_SECRET_NAMES,
  onboardingsOf,
  reasonGauge,
  statusWriter,
  type ControllerDeps,
} from './shared.js';

/** The InfluxOnboarding controller: its reconciler, its metrics, and what wakes it. */
export function registerOnboardingController(manager: Manager, deps: ControllerDeps): void {
  const { config } = deps;
  const onboardingType = onboardingsOf(config);
  // The informer holds the API server's JSON as it came; the CRD's schema guarantees its shape, and
  // checkSpec checks the spec again before anything acts on it.
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType, {
    indexes: { [SETS_UP]: setsUp, [NAMES_SECRET]: namesSecrets },
  });
  // The credentials Secret a reconcile writes comes back through the Secret watches; at the
  // version written it tells that reconcile nothing new.
  const wakeSuppression = new WakeSuppression();
  const reconciler = createOnboardingReconciler(onboardingPorts(manager, deps, onboardings, wakeSuppression), {
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
    watches: [
      { type: UNMANAGED_SECRET_NAMES, map: referencingOnboardings(onboardings) },
      // A managed Secret may be referenced too, or stand in the way of another resource's credentials.
      { type: MANAGED_SECRETS, map: referencingOnboardings(onboardings) },
      // A resource that gives an instance up (deleted, or its spec names another) lets the one
      // waiting behind it (DuplicateTarget) go on at once, not at its next drift check.
      { type: onboardingType, map: settingUpTheSame(onboardings), predicates: [ignoreStatusOnlyUpdates] },
    ],
    reconciler,
    wakeSuppression,
    concurrency: config.concurrency,
  });
}

/** The reconciler's ports: the resource through the read-your-writes view, its Secrets, the escrow, InfluxDB. */
function onboardingPorts(
  manager: Manager,
  deps: ControllerDeps,
  onboardings: Cache<InfluxOnboarding>,
  wakeSuppression: WakeSuppression,
): OnboardingPorts {
  const { config, core, credentials, customObjects, events } = deps;
  // The resource as this process last wrote its status, until the cache shows it.
  const resources = manager.readYourWrites<InfluxOnboarding>(onboardingsOf(config));
  const escrow = config.escrowNamespace === undefined ? undefined : new CredentialsEscrow(core, config.escrowNamespace);
  return {
    resource: (namespace, name) => resources.get(namespace, name),
    settingUp: (instance) => onboardings.byIndex(SETS_UP, instance),
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
/** The instance a resource sets up: a reconcile looks for another resource setting up the same one. */
const SETS_UP = 'setsUp';
/** Every Secret a resource depends on, as `namespace/name`: a Secret's event wakes the resources naming it. */
const NAMES_SECRET = 'namesSecret';

function setsUp(resource: InfluxOnboarding): string[] {
  const instance = setupInstance(checkSpec(resource));
  return instance === undefined ? [] : [instance];
}

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

/** The other resources that set up the instance this one sets up. */
function settingUpTheSame(onboardings: Cache<InfluxOnboarding>): (resource: KubernetesObject) => Request[] {
  return (resource) =>
    setsUp(resource as InfluxOnboarding)
      .flatMap((instance) => onboardings.byIndex(SETS_UP, instance))
      .filter((other) => other.metadata.uid !== resource.metadata?.uid)
      .map(requestFor);
}

/** The resources in the Secret's namespace that reference it by name. */
function referencingOnboardings(onboardings: Cache<InfluxOnboarding>): (secret: KubernetesObject) => Request[] {
  return (secret) => onboardings.byIndex(NAMES_SECRET, objectKey(secret)).map(requestFor);
}
