import type { KubernetesObject } from '@kubernetes/client-node';

/** What a reconcile is about: one object, by name. Cluster-scoped objects have namespace ''. */
export interface Request {
  namespace: string;
  name: string;
}

/** The cache and queue key, as client-go's MetaNamespaceKeyFunc: "namespace/name" or "name". */
export function requestKey(request: Request): string {
  return request.namespace === '' ? request.name : `${request.namespace}/${request.name}`;
}

export function requestFromKey(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Any object with a name, whether typed by @kubernetes/client-node or by its own API types. */
export function requestFor(object: { metadata?: { namespace?: string; name?: string } }): Request {
  return { namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' };
}

export function objectKey(object: KubernetesObject): string {
  return requestKey(requestFor(object));
}
