import type { CoreV1Api } from '@kubernetes/client-node';
import { ALLOWED_URLS_ANNOTATION, type SecretKeySelector } from '../api/types.js';
import type { Reference } from '../api/credentials.js';
import { commaSeparated } from '../api/fields.js';
import { apiStatus, kubeCall } from './errors.js';

/**
 * Reads a key of a Secret that a resource names, with the URLs its annotation allows the value to
 * be sent to. The namespace is always the resource's own: a reference can never reach into
 * another namespace.
 */
export async function readReference(
  core: CoreV1Api,
  namespace: string,
  selector: SecretKeySelector,
): Promise<Reference> {
  try {
    const secret = await kubeCall(`read Secret ${namespace}/${selector.name}`, () =>
      core.readNamespacedSecret({ namespace, name: selector.name }),
    );
    const encoded = secret.data?.[selector.key];
    if (encoded === undefined) {
      return { found: false, problem: `Secret ${selector.name} has no key ${selector.key}` };
    }
    const allowedUrls = commaSeparated(secret.metadata?.annotations?.[ALLOWED_URLS_ANNOTATION] ?? '');
    return { found: true, value: Buffer.from(encoded, 'base64').toString('utf8'), allowedUrls };
  } catch (error) {
    const status = apiStatus(error);
    if (status === 404) return { found: false, problem: `Secret ${selector.name} not found in namespace ${namespace}` };
    if (status === 403) {
      return {
        found: false,
        problem: `the operator is not allowed to read Secret ${selector.name} in namespace ${namespace} (RBAC)`,
      };
    }
    throw error;
  }
}
