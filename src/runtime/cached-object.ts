// What the cache keeps of an object: the strings thousands of objects repeat shared, the
// bookkeeping no reconciler reads dropped, and for a metadata-only cache its identity alone.
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';

const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

// One copy of each string that cached objects repeat by the thousand: JSON.parse gives every
// object its own copy of any string longer than 10 characters, and ten thousand objects share a
// few namespaces, kinds and apiVersions. Only those fields are shared, so the table stays as
// small as the set of namespaces and kinds seen.
const commonStrings = new Map<string, string>();

function common(value: string): string {
  const known = commonStrings.get(value);
  if (known !== undefined) return known;
  commonStrings.set(value, value);
  return value;
}

/** Points an object's apiVersion, kind, namespace and its owners' apiVersion and kind at one shared copy of each. */
export function shareCommonStrings<T extends KubernetesObject>(object: T): T {
  if (object.apiVersion !== undefined) object.apiVersion = common(object.apiVersion);
  if (object.kind !== undefined) object.kind = common(object.kind);
  const metadata = object.metadata;
  if (!metadata) return object;
  if (metadata.namespace !== undefined) metadata.namespace = common(metadata.namespace);
  for (const owner of metadata.ownerReferences ?? []) {
    owner.apiVersion = common(owner.apiVersion);
    owner.kind = common(owner.kind);
  }
  return object;
}

/**
 * Drops what no reconciler reads but every object carries: managedFields and kubectl's
 * last-applied copy often make up most of an object's size, and the cache holds every object.
 */
export function dropBookkeeping<T extends KubernetesObject>(object: T): T {
  const metadata = shareCommonStrings(object).metadata;
  if (!metadata) return object;
  delete metadata.managedFields;
  if (metadata.annotations && LAST_APPLIED_ANNOTATION in metadata.annotations) {
    delete metadata.annotations[LAST_APPLIED_ANNOTATION];
  }
  return object;
}

/**
 * What a metadata-only cache keeps of each object: its name, version, labels and owner references
 * (what mapping an event to a request reads). Such caches hold every Secret of a namespace (or
 * every one a label selector leaves) only to learn which names exist and when they change;
 * annotations, uid and timestamps would make up much of each entry.
 */
export function keepIdentity<T extends KubernetesObject>(object: T): T {
  const metadata = shareCommonStrings(object).metadata;
  if (!metadata) return object;
  object.metadata = identityOf(metadata);
  return object;
}

/** The identity part of an object's metadata (name, namespace, version, labels, owners, deletion), a new object. */
export function identityOf(metadata: V1ObjectMeta): V1ObjectMeta {
  const { name, namespace, resourceVersion, labels, ownerReferences, deletionTimestamp } = metadata;
  // Built field by field in one order, so that every entry shares one hidden class.
  const kept: V1ObjectMeta = { name, namespace, resourceVersion };
  if (labels !== undefined) kept.labels = labels;
  if (ownerReferences !== undefined) kept.ownerReferences = ownerReferences;
  if (deletionTimestamp !== undefined) kept.deletionTimestamp = deletionTimestamp;
  return kept;
}
