import type { CoreV1Api, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import {
  API_VERSION,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_NAME_LABEL,
  type InfluxOnboarding,
} from '../api/types.js';
import type { CredentialsSecret, DesiredSecret } from '../api/credentials.js';
import { apiStatus, kubeCall } from './errors.js';

/** Finds a managed Secret in the operator's cache; undefined means "not cached", not "absent". */
export type SecretLookup = (namespace: string, name: string) => V1Secret | undefined;

/**
 * A Secret is this resource's when the operator labelled it for a resource of this name. The
 * name, not the UID, is what counts, so that a resource deleted with deletionPolicy Retain and
 * created again finds its retained credentials instead of calling them foreign.
 */
function isOwnedBy(secret: V1Secret, owner: InfluxOnboarding): boolean {
  const labels = secret.metadata?.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && labels[OWNER_NAME_LABEL] === owner.metadata.name;
}

function ownerReference(owner: InfluxOnboarding): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function isOurReference(reference: V1OwnerReference, owner: InfluxOnboarding): boolean {
  return reference.kind === KIND && reference.apiVersion === API_VERSION && reference.uid === owner.metadata.uid;
}

export function describeSecret(secret: V1Secret | undefined, owner: InfluxOnboarding): CredentialsSecret {
  if (secret === undefined) return { state: 'absent' };
  if (!isOwnedBy(secret, owner)) return { state: 'foreign' };
  const data: Record<string, string> = {};
  for (const [key, encoded] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(encoded, 'base64').toString('utf8');
  const garbageCollected = (secret.metadata?.ownerReferences ?? []).some((reference) => isOurReference(reference, owner));
  return { state: 'owned', data, garbageCollected };
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

function withDesired(existing: V1Secret | undefined, owner: InfluxOnboarding, desired: DesiredSecret): V1Secret {
  const others = (existing?.metadata?.ownerReferences ?? []).filter((reference) => !isOurReference(reference, owner));
  const ownerReferences = desired.garbageCollected ? [...others, ownerReference(owner)] : others;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: existing?.type ?? 'Opaque',
    metadata: {
      ...existing?.metadata,
      name: desired.name,
      namespace: owner.metadata.namespace,
      labels: { ...existing?.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_NAME_LABEL]: owner.metadata.name },
      ownerReferences,
    },
    data: { ...existing?.data, ...encode(desired.data) },
  };
}

/** Reads and writes the credentials Secret; never modifies a Secret it did not create. */
export class CredentialsSecrets {
  constructor(
    private readonly core: CoreV1Api,
    private readonly cached: SecretLookup,
  ) {}

  async read(owner: InfluxOnboarding, name: string): Promise<CredentialsSecret> {
    return describeSecret(await this.fetch(owner.metadata.namespace, name), owner);
  }

  /** Writes the desired Secret; 'foreign' when a Secret of that name belongs to someone else. */
  async write(owner: InfluxOnboarding, desired: DesiredSecret): Promise<'written' | 'foreign'> {
    const namespace = owner.metadata.namespace;
    const existing = await this.fetch(namespace, desired.name);
    if (existing !== undefined && !isOwnedBy(existing, owner)) return 'foreign';
    const body = withDesired(existing, owner, desired);
    if (existing === undefined) {
      try {
        await kubeCall(`create Secret ${namespace}/${desired.name}`, () => this.core.createNamespacedSecret({ namespace, body }));
        return 'written';
      } catch (error) {
        // Someone created it between our read and our create; look again rather than guess.
        if (apiStatus(error) === 409) return this.write(owner, desired);
        throw error;
      }
    }
    await kubeCall(`update Secret ${namespace}/${desired.name}`, () =>
      this.core.replaceNamespacedSecret({ namespace, name: desired.name, body }),
    );
    return 'written';
  }

  private async fetch(namespace: string, name: string): Promise<V1Secret | undefined> {
    const cached = this.cached(namespace, name);
    if (cached !== undefined) return cached;
    // Foreign Secrets carry none of our labels, so the cache never holds them: ask the server.
    try {
      return await kubeCall(`read Secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }
}
