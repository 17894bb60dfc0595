import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { kubeCall } from './errors.js';
import { GROUP, PLURAL, VERSION, type InfluxOnboarding, type InfluxOnboardingStatus } from '../api/types.js';

/**
 * Writes the status through the /status subresource. The merge patch carries the whole status
 * (conditions is a list, and a merge patch replaces lists) and the resourceVersion the decision
 * was made on, so a status computed from a stale object is refused with 409 instead of landing.
 */
export async function patchStatus(api: CustomObjectsApi, resource: InfluxOnboarding, status: InfluxOnboardingStatus): Promise<void> {
  const { namespace, name } = resource.metadata;
  await kubeCall(`patch status of InfluxOnboarding ${namespace}/${name}`, () =>
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
  ));
}
