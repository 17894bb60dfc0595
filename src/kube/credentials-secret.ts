import type { CoreV1Api, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import {
  API_VERSION,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_NAME_LABEL,
  AUTHORIZATION_ANNOTATION,
  PASSWORD_ROTATION_ANNOTATION,
  PENDING_PASSWORD_KEY,
  REPLACED_AUTHORIZATION_ANNOTATION,
  SETUP_SENT_ANNOTATION,
  TOKEN_ROTATION_ANNOTATION,
  RETARGET_ANNOTATION,
  TLS_ANNOTATION,
  type InfluxOnboarding,
} from '../api/types.js';
import { sameInstance } from '../api/instance-identity.js';
import { TEMPLATE_METADATA_ANNOTATION } from '../api/access-types.js';
import type { CredentialsSecret, DesiredSecret, TemplatedSecret } from '../api/credentials.js';
import { currentSecret, writeOwnSecret, type ManagedSecretView } from './own-secret.js';
import { pick, readTemplateKeys, templated } from './secret-shape.js';

/** Whether the operator's cache of the names of the Secrets it did not write holds this one. */
type OtherSecretName = (namespace: string, name: string) => boolean;

/**
 * The operator's Secret for this resource: labelled with its name, and not bound by an
 * ownerReference to another InfluxOnboarding of that name (an earlier one, e.g. of a namespace
 * deleted and created again, that a cache behind the API server still shows): its credentials are
 * that resource's, and only the escrow's approval may hand them on. The name, not the UID, is
 * what the label names, so that a resource deleted with deletionPolicy Retain and created again
 * finds its retained credentials instead of calling them foreign.
 */
function isOwnedBy(secret: V1Secret, owner: InfluxOnboarding): boolean {
  const labels = secret.metadata?.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || labels[OWNER_NAME_LABEL] !== owner.metadata.name) return false;
  return !(secret.metadata?.ownerReferences ?? []).some(
    (reference) =>
      reference.kind === KIND && reference.apiVersion === API_VERSION && reference.uid !== owner.metadata.uid,
  );
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

function describeSecret(secret: V1Secret | undefined, owner: InfluxOnboarding): CredentialsSecret {
  if (secret === undefined) return { state: 'absent' };
  if (!isOwnedBy(secret, owner)) return { state: 'foreign' };
  const { [PENDING_PASSWORD_KEY]: pending, ...rest } = secret.data ?? {};
  const data: Record<string, string> = {};
  for (const [key, encoded] of Object.entries(rest)) data[key] = Buffer.from(encoded, 'base64').toString('utf8');
  const pendingPassword = pending === undefined ? undefined : Buffer.from(pending, 'base64').toString('utf8');
  const garbageCollected = (secret.metadata?.ownerReferences ?? []).some((reference) =>
    isOurReference(reference, owner),
  );
  const resourceVersion = secret.metadata?.resourceVersion;
  const annotations = secret.metadata?.annotations ?? {};
  const tls = annotations[TLS_ANNOTATION];
  const retargetTo = annotations[RETARGET_ANNOTATION];
  const passwordRotation = annotations[PASSWORD_ROTATION_ANNOTATION];
  const tokenRotation = annotations[TOKEN_ROTATION_ANNOTATION];
  const authorizationID = annotations[AUTHORIZATION_ANNOTATION];
  const replacedAuthorization = annotations[REPLACED_AUTHORIZATION_ANNOTATION];
  const setupSentAt = annotations[SETUP_SENT_ANNOTATION];
  const templateKeys = annotations[TEMPLATE_METADATA_ANNOTATION];
  const keys = readTemplateKeys(templateKeys);
  const templatedNow: TemplatedSecret | undefined =
    templateKeys === undefined
      ? undefined
      : {
          data: pick(data, keys.data),
          labels: pick(secret.metadata?.labels ?? {}, keys.labels),
          annotations: pick(annotations, keys.annotations),
        };
  return {
    state: 'owned',
    data,
    garbageCollected,
    ...(resourceVersion !== undefined && { resourceVersion }),
    ...(tls !== undefined && { tls }),
    ...(retargetTo !== undefined && { retargetTo }),
    ...(pendingPassword !== undefined && { pendingPassword }),
    ...(passwordRotation !== undefined && { passwordRotation }),
    ...(tokenRotation !== undefined && { tokenRotation }),
    ...(authorizationID !== undefined && { authorizationID }),
    ...(replacedAuthorization !== undefined && { replacedAuthorization }),
    ...(setupSentAt !== undefined && { setupSentAt }),
    ...(templatedNow !== undefined && { templated: templatedNow }),
  };
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
  );
}

function withDesired(existing: V1Secret | undefined, owner: InfluxOnboarding, desired: DesiredSecret): V1Secret {
  const others = (existing?.metadata?.ownerReferences ?? []).filter((reference) => !isOurReference(reference, owner));
  const ownerReferences = desired.garbageCollected ? [...others, ownerReference(owner)] : others;
  // An approval to move the credentials is used up once they are at that URL; one naming another
  // URL is kept for a move still to come.
  const { [RETARGET_ANNOTATION]: retargetTo, ...annotations }: Record<string, string> =
    existing?.metadata?.annotations ?? {};
  if (retargetTo !== undefined && !sameInstance(retargetTo, desired.data.url))
    annotations[RETARGET_ANNOTATION] = retargetTo;
  if (desired.passwordRotation !== undefined) annotations[PASSWORD_ROTATION_ANNOTATION] = desired.passwordRotation;
  if (desired.tokenRotation !== undefined) annotations[TOKEN_ROTATION_ANNOTATION] = desired.tokenRotation;
  // The authorization ID belongs to the token it was written with: another token drops it.
  const existingToken =
    existing?.data?.token === undefined ? undefined : Buffer.from(existing.data.token, 'base64').toString('utf8');
  if (typeof desired.authorizationID === 'string') annotations[AUTHORIZATION_ANNOTATION] = desired.authorizationID;
  else if (desired.authorizationID === null || existingToken !== desired.data.token)
    delete annotations[AUTHORIZATION_ANNOTATION];
  if (desired.replacedAuthorization === null) delete annotations[REPLACED_AUTHORIZATION_ANNOTATION];
  else if (desired.replacedAuthorization !== undefined)
    annotations[REPLACED_AUTHORIZATION_ANNOTATION] = desired.replacedAuthorization;
  if (desired.setupSentAt === null) delete annotations[SETUP_SENT_ANNOTATION];
  else if (desired.setupSentAt !== undefined) annotations[SETUP_SENT_ANNOTATION] = desired.setupSentAt;
  // What the template set last goes; what it sets now comes in (the data is merged, not replaced).
  const previous = readTemplateKeys(annotations[TEMPLATE_METADATA_ANNOTATION]);
  delete annotations[TEMPLATE_METADATA_ANNOTATION];
  const template = desired.templated ?? { data: {}, labels: {}, annotations: {} };
  const shapedAnnotations = templated(annotations, previous.annotations, template.annotations);
  if (desired.templated !== undefined)
    shapedAnnotations[TEMPLATE_METADATA_ANNOTATION] = JSON.stringify({
      labels: Object.keys(template.labels),
      annotations: Object.keys(template.annotations),
      data: Object.keys(template.data),
    });
  const { [PENDING_PASSWORD_KEY]: _dropped, ...withoutPending } = existing?.data ?? {};
  const kept = templated(desired.pendingPassword === null ? withoutPending : existing?.data, previous.data, {});
  const pending: Record<string, string> =
    typeof desired.pendingPassword === 'string' ? { [PENDING_PASSWORD_KEY]: desired.pendingPassword } : {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: existing?.type ?? 'Opaque',
    metadata: {
      ...existing?.metadata,
      name: desired.name,
      namespace: owner.metadata.namespace,
      labels: {
        ...templated(existing?.metadata?.labels, previous.labels, template.labels),
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [OWNER_NAME_LABEL]: owner.metadata.name,
      },
      annotations: { ...shapedAnnotations, [TLS_ANNOTATION]: desired.tls },
      ownerReferences,
    },
    data: { ...kept, ...encode({ ...template.data, ...desired.data, ...pending }) },
  };
}

/**
 * Reads and writes the credentials Secret; never modifies a Secret it did not create.
 *
 * A write creates the Secret only when the decision saw none, and replaces exactly the version
 * the decision read. Another operator process (a rolling update, a leadership hand-over) may have
 * written the Secret in between and already sent those credentials to InfluxDB, whose answer is
 * the only copy of its token: such a write fails with 409 instead, and the next reconcile decides
 * again from the Secret as it now is.
 *
 * Reads go through the operator's read-your-writes view of its Secrets, so a Secret this process
 * just wrote reads as written even before its event arrives. Reads happen only once both caches
 * have synced (controllers start after that), so a name in neither is absent without asking the
 * server: a Secret created elsewhere that the caches have not heard of yet makes the create fail
 * with 409 (AlreadyExists), never overwritten, and the next reconcile reads it.
 */
export class CredentialsSecrets {
  constructor(
    private readonly core: CoreV1Api,
    private readonly view: ManagedSecretView,
    private readonly isOtherSecret: OtherSecretName,
  ) {}

  async read(owner: InfluxOnboarding, name: string): Promise<CredentialsSecret> {
    const namespace = owner.metadata.namespace;
    if (this.view.get(namespace, name) === undefined && !this.isOtherSecret(namespace, name))
      return { state: 'absent' };
    return describeSecret(await currentSecret(this.core, this.view, namespace, name), owner);
  }

  /** Writes the desired Secret over the one observed; returns the Secret as it now is. */
  async write(
    owner: InfluxOnboarding,
    desired: DesiredSecret,
    observed: CredentialsSecret,
  ): Promise<CredentialsSecret> {
    if (observed.state === 'foreign') return observed;
    const namespace = owner.metadata.namespace;
    const written = await writeOwnSecret(this.core, this.view, {
      namespace,
      name: desired.name,
      observed,
      current: (version) => currentSecret(this.core, this.view, namespace, desired.name, version),
      isOwned: (secret) => isOwnedBy(secret, owner),
      body: (existing) => withDesired(existing, owner, desired),
    });
    return describeSecret(written, owner);
  }
}
