import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { KubeApiError, apiStatus, kubeCall } from './errors.js';

/** A Secret as the API server has it now; undefined when there is none. `what` names it in errors. */
export async function readSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
  what = 'Secret',
): Promise<V1Secret | undefined> {
  try {
    return await kubeCall(`read ${what} ${namespace}/${name}`, () => core.readNamespacedSecret({ namespace, name }));
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

/**
 * The operator's cache of the Secrets it writes, as a read-your-writes view (the runtime's
 * ReadYourWrites): what this process wrote until the cache shows it. undefined: not cached (the
 * Secret is absent, or not the operator's).
 */
export interface ManagedSecretView {
  get(namespace: string, name: string): V1Secret | undefined;
  /** This process wrote `written` over `replaced` (undefined: it created the Secret). */
  wrote(replaced: V1Secret | undefined, written: V1Secret): void;
}

/** A write of a Secret the operator keeps for one resource, over what the decision observed. */
interface OwnSecretWrite {
  namespace: string;
  name: string;
  /** What the decision read: no Secret, or the operator's own at this version. */
  observed: { state: 'absent' } | { state: 'owned'; resourceVersion?: string };
  /** The Secret as it is now (a cache may answer when it holds the observed version). */
  current(observedVersion: string | undefined): Promise<V1Secret | undefined>;
  /** Whether the operator wrote it for this resource. */
  isOwned(secret: V1Secret): boolean;
  /** The whole Secret to write, over the existing one when there is one. */
  body(existing: V1Secret | undefined): V1Secret;
}

/**
 * Creates the Secret only when the decision saw none (one created meanwhile fails the create with
 * 409 AlreadyExists); otherwise replaces it only while it is still the operator's for this
 * resource, and only at the version the decision read (the API server refuses any other with
 * 409). A Secret the operator did not create is never overwritten: the next reconcile decides
 * again from the Secret as it then is.
 */
export async function writeOwnSecret(
  core: CoreV1Api,
  view: ManagedSecretView,
  write: OwnSecretWrite,
): Promise<V1Secret> {
  const { namespace, name, observed } = write;
  const key = `${namespace}/${name}`;
  if (observed.state === 'absent') {
    const created = await kubeCall(`create Secret ${key}`, () =>
      core.createNamespacedSecret({ namespace, body: write.body(undefined) }),
    );
    view.wrote(undefined, created);
    return created;
  }
  const existing = await write.current(observed.resourceVersion);
  if (existing === undefined || !write.isOwned(existing)) {
    throw new KubeApiError(409, 'Conflict', `write Secret ${key}: it changed since it was read; deciding again`);
  }
  const body = write.body(existing);
  if (observed.resourceVersion !== undefined)
    body.metadata = { ...body.metadata, resourceVersion: observed.resourceVersion };
  const replaced = await kubeCall(`update Secret ${key}`, () =>
    core.replaceNamespacedSecret({ namespace, name, body }),
  );
  view.wrote(existing, replaced);
  return replaced;
}

/**
 * The Secret from the view when it holds the wanted version (or any, when none is wanted) with its
 * data, else from the API server (where a Secret the operator did not write is found: the view
 * never holds one; and one the cache keeps without data, see keepManagedSecret).
 */
export async function currentSecret(
  core: CoreV1Api,
  view: ManagedSecretView,
  namespace: string,
  name: string,
  version?: string,
): Promise<V1Secret | undefined> {
  const cached = view.get(namespace, name);
  const usable = cached?.data !== undefined && (version === undefined || cached.metadata?.resourceVersion === version);
  if (usable) return cached;
  return readSecret(core, namespace, name);
}
