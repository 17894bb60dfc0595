import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import type { StatusWrite } from '../runtime/index.js';
import { apiStatus, kubeCall } from './errors.js';
import { GROUP, PLURAL, VERSION, type ObjectMeta } from '../api/types.js';

/** What a patch answers with that the caller reads: the version it made. */
type Versioned = { metadata?: { resourceVersion?: string } };

/**
 * Writes the status through the /status subresource. The merge patch carries the whole status
 * (conditions is a list, and a merge patch replaces lists) and the resourceVersion the decision
 * was made on, so a status computed from a stale object is refused instead of landing: that is
 * 'stale', an ordinary outcome (the cache had not caught up yet), not an error. A field set to
 * undefined is sent as null, which removes it (RFC 7386).
 */
export async function patchStatus<S extends object>(
  api: CustomObjectsApi,
  resource: { kind: string; metadata: ObjectMeta },
  status: S,
  plural: string = PLURAL,
): Promise<StatusWrite> {
  const { namespace, name } = resource.metadata;
  try {
    const patched = await kubeCall<Versioned>(`patch status of ${resource.kind} ${namespace}/${name}`, () =>
      api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          plural,
          namespace,
          name,
          body: { metadata: { resourceVersion: resource.metadata.resourceVersion }, status: withRemovals(status) },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    return { kind: 'patched', resourceVersion: patched.metadata?.resourceVersion ?? '' };
  } catch (error) {
    if (apiStatus(error) === 409) return { kind: 'stale' };
    throw error;
  }
}

/** JSON drops undefined; a merge patch removes a field only when it is null. */
function withRemovals(status: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(status).map(([field, value]: [string, unknown]) => [field, value === undefined ? null : value]),
  );
}

/**
 * Sets the resource's finalizers, on exactly the version read (a merge patch replaces the whole
 * list): 'stale' when it changed since.
 */
export async function patchFinalizers(
  api: CustomObjectsApi,
  resource: { kind: string; metadata: ObjectMeta },
  finalizers: string[],
  plural: string,
): Promise<StatusWrite> {
  const { namespace, name } = resource.metadata;
  try {
    const patched = await kubeCall<Versioned>(`patch finalizers of ${resource.kind} ${namespace}/${name}`, () =>
      api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          plural,
          namespace,
          name,
          body: { metadata: { resourceVersion: resource.metadata.resourceVersion, finalizers } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    return { kind: 'patched', resourceVersion: patched.metadata?.resourceVersion ?? '' };
  } catch (error) {
    const code = apiStatus(error);
    // 404: the resource is gone already, which is what removing the last finalizer was for.
    if (code === 409 || code === 404) return { kind: 'stale' };
    throw error;
  }
}

/** Whether the API server (not a cache) has the resource, with the same UID: one created again under its name is another. */
export async function existsOnServer(
  api: CustomObjectsApi,
  resource: { kind: string; metadata: ObjectMeta },
  plural: string,
): Promise<boolean> {
  const { namespace, name, uid } = resource.metadata;
  try {
    const current = await kubeCall<{ metadata?: { uid?: string } }>(`read ${resource.kind} ${namespace}/${name}`, () =>
      api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace, name }),
    );
    return current.metadata?.uid === uid;
  } catch (error) {
    if (apiStatus(error) === 404) return false;
    throw error;
  }
}
