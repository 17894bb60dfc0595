import type { KubernetesObject } from '@kubernetes/client-node';
import type { AccessOptions, AccessPorts, KindPorts } from '../access/reconciler.js';
import type { InfluxBucket, InfluxToken } from '../api/access-types.js';
import type { InfluxOnboarding } from '../api/types.js';
import { readReference } from '../kube/references.js';
import { patchFinalizers } from '../kube/status.js';
import {
  objectKey,
  requestFor,
  type Cache,
  type CacheOptions,
  type Manager,
  type ObjectType,
  type Request,
  type Watch,
} from '../runtime/index.js';
import { onboardingsOf, reasonGauge, statusWriter, type ControllerDeps } from './shared.js';

/** The names and labels of namespaces, for grants by spec.accessFrom.namespaceSelector (only with --namespace-label-grants). */
const NAMESPACE_LABELS: ObjectType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  metadataOnly: true,
  clusterWide: true,
};

type AccessResource = InfluxBucket | InfluxToken;

/** The onboarding each resource references, as `namespace/name`: an onboarding's event wakes the resources naming it. */
const REFERENCES_ONBOARDING = 'referencesOnboarding';

/** How an InfluxBucket or InfluxToken cache is made: indexed by the onboarding each references. */
export const ACCESS_CACHE: CacheOptions<AccessResource> = {
  indexes: {
    [REFERENCES_ONBOARDING]: (resource) => {
      const onboarding = referencedOnboarding(resource);
      return onboarding === undefined ? [] : [onboarding];
    },
  },
};

/**
 * What the InfluxBucket and InfluxToken controllers share: an application's own bucket or token,
 * through an onboarding that grants its namespace. They read the onboarding and its Secret, never
 * write them, and keep their own status, finalizers and per-reason gauge. The watches wake a
 * resource when its onboarding, or the labels of its namespace, change.
 */
export function accessWiring<T extends AccessResource>(
  manager: Manager,
  deps: ControllerDeps,
  resources: Cache<T>,
  { type, kind, plural, reasonMetric }: { type: ObjectType; kind: string; plural: string; reasonMetric: string },
): {
  ports: AccessPorts & KindPorts<T, object>;
  options: AccessOptions;
  watches: Watch[];
} {
  const { config, core, credentials, customObjects, events } = deps;
  const onboardingType = onboardingsOf(config);
  const onboardings = manager.cache<InfluxOnboarding>(onboardingType);
  const namespaces = config.namespaceLabelGrants ? manager.cache(NAMESPACE_LABELS) : undefined;
  // Each resource as this process last wrote its status, until the cache shows it.
  const written = manager.readYourWrites<T>(type);
  return {
    ports: {
      onboarding: (namespace, name) => onboardings.get(namespace, name),
      readCredentials: (onboarding, name) => credentials.read(onboarding, name),
      readReference: (namespace, selector) => readReference(core, namespace, selector),
      // Without --namespace-label-grants a selector grants nothing: the labels are never known.
      namespaceLabels: (namespace) =>
        Promise.resolve(namespaces && (namespaces.get('', namespace)?.metadata?.labels ?? {})),
      influx: deps.influx,
      recordEvent: events,
      readRecord: (key) => deps.records.read(key),
      changeRecord: (key, change) => deps.records.change(key, change),
      resource: (namespace, name) => written.get(namespace, name),
      patchStatus: statusWriter(written, customObjects, plural),
      patchFinalizers: (resource, finalizers) => patchFinalizers(customObjects, resource, finalizers, plural),
    },
    options: {
      driftCheckIntervalMs: config.driftCheckIntervalMs,
      logger: deps.logger,
      secrets: deps.secrets,
      onReason: reasonGauge(manager, reasonMetric, kind),
    },
    watches: [
      { type: onboardingType, map: referencing(resources) },
      ...(namespaces ? [{ type: NAMESPACE_LABELS, map: inNamespace(resources) }] : []),
    ],
  };
}

/** The onboarding an InfluxBucket or InfluxToken references (its namespace defaults to the resource's own). */
export function referencedOnboarding(object: AccessResource): string | undefined {
  const ref = object.spec?.onboardingRef;
  return ref?.name === undefined ? undefined : `${ref.namespace ?? object.metadata.namespace}/${ref.name}`;
}

/** The resources (in any namespace) that reference the onboarding: its readiness or grant changed. */
function referencing(resources: Cache<AccessResource>): (onboarding: KubernetesObject) => Request[] {
  return (onboarding) => resources.byIndex(REFERENCES_ONBOARDING, objectKey(onboarding)).map(requestFor);
}

/** Every resource in a namespace whose labels changed (grants by namespaceSelector). */
function inNamespace(resources: Cache<AccessResource>): (namespace: KubernetesObject) => Request[] {
  return (namespace) => resources.list(namespace.metadata?.name ?? '').map(requestFor);
}
