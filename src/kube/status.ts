import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { apiStatus, kubeCall } from './errors.js';
import { GROUP, PLURAL, VERSION, type InfluxOnboarding, type InfluxOnboardingStatus } from '../api/types.js';

/** 'stale': the resource changed since it was read, and nothing was written. */
export type StatusWrite = { kind: 'patched'; resourceVersion: string } | { kind: 'stale' };

/**
 * Writes the status through the /status subresource. The merge patch carries the whole status
 * (conditions is a list, and a merge patch replaces lists) and the resourceVersion the decision
 * was made on, so a status computed from a stale object is refused instead of landing: that is
 * 'stale', an ordinary outcome (the cache had not caught up yet), not an error.
 */
export async function patchStatus(
  api: CustomObjectsApi,
  resource: InfluxOnboarding,
  status: InfluxOnboardingStatus,
): Promise<StatusWrite> {
  const { namespace, name } = resource.metadata;
  try {
    const patched: { metadata?: { resourceVersion?: string } } = await kubeCall(`patch status of InfluxOnboarding ${namespace}/${name}`, () =>
      api.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          name,
          body: { metadata: { resourceVersion: resource.metadata.resourceVersion }, status },
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
