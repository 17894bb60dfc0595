import { createHash } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import {
  PERMISSIONS_ANNOTATION,
  PLAIN_SHAPE,
  RETIRING_ANNOTATION,
  TEMPLATE_METADATA_ANNOTATION,
  TOKEN_DIGEST_ANNOTATION,
  TOKEN_KIND,
  TOKEN_OWNER_LABEL,
  type InfluxToken,
  type DesiredTokenSecret,
  type RetiringAuthorization,
  type SecretShape,
  type TokenSecret,
  type V1InSecret,
  V1_AUTHORIZATION_ANNOTATION,
  V1_PERMISSIONS_ANNOTATION,
  V1_ROTATED_ANNOTATION,
} from '../api/access-types.js';
import { API_VERSION, AUTHORIZATION_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/types.js';
import { currentSecret, readSecret, writeOwnSecret, type ManagedSecretView } from './own-secret.js';
import { pick, readTemplateKeys, templated } from './secret-shape.js';

function isOwnedBy(secret: V1Secret, owner: InfluxToken): boolean {
  const labels = secret.metadata?.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && labels[TOKEN_OWNER_LABEL] === owner.metadata.name;
}

function digest(token: string | undefined): string {
  return token === undefined ? '' : createHash('sha256').update(token).digest('hex');
}

function readRetiring(text: string | undefined): RetiringAuthorization[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (entry): entry is RetiringAuthorization =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as RetiringAuthorization).id === 'string' &&
        typeof (entry as RetiringAuthorization).deleteAfter === 'string',
    );
  } catch {
    // A hand-edited annotation: the authorizations it named are orphans now and are deleted as such.
    return [];
  }
}

function shapeOf(secret: V1Secret): SecretShape {
  const labels = secret.metadata?.labels ?? {};
  const annotations = secret.metadata?.annotations ?? {};
  const keys = readTemplateKeys(annotations[TEMPLATE_METADATA_ANNOTATION]);
  return {
    type: secret.type ?? PLAIN_SHAPE.type,
    labels: pick(labels, keys.labels),
    annotations: pick(annotations, keys.annotations),
  };
}

const V1_ANNOTATIONS = [V1_AUTHORIZATION_ANNOTATION, V1_PERMISSIONS_ANNOTATION, V1_ROTATED_ANNOTATION];

/** The v1 credentials the Secret holds: its authorization in the annotations, username and passwords in the data. */
function v1Of(annotations: Record<string, string>, data: Record<string, string>): V1InSecret | undefined {
  const authorizationID = annotations[V1_AUTHORIZATION_ANNOTATION];
  const username = data['v1-username'];
  if (!authorizationID || !username) return undefined;
  const password = data['v1-password'];
  const pendingPassword = data['v1-pending-password'];
  return {
    username,
    authorizationID,
    permissions: annotations[V1_PERMISSIONS_ANNOTATION] ?? '',
    rotated: annotations[V1_ROTATED_ANNOTATION] ?? '',
    ...(password !== undefined && { password }),
    ...(pendingPassword !== undefined && { pendingPassword }),
  };
}

function describe(secret: V1Secret | undefined, owner: InfluxToken): TokenSecret {
  if (secret === undefined) return { state: 'absent' };
  if (!isOwnedBy(secret, owner)) return { state: 'foreign' };
  const data: Record<string, string> = {};
  for (const [key, encoded] of Object.entries(secret.data ?? {}))
    data[key] = Buffer.from(encoded, 'base64').toString('utf8');
  const annotations = secret.metadata?.annotations ?? {};
  // Empty after a revocation: no authorization belongs to the Secret any more.
  const authorizationID = annotations[AUTHORIZATION_ANNOTATION] || undefined;
  const permissions = annotations[PERMISSIONS_ANNOTATION] || undefined;
  const resourceVersion = secret.metadata?.resourceVersion;
  const v1 = v1Of(annotations, data);
  return {
    state: 'owned',
    data,
    retiring: readRetiring(annotations[RETIRING_ANNOTATION]),
    tokenIntact: data.token !== undefined && annotations[TOKEN_DIGEST_ANNOTATION] === digest(data.token),
    ...(authorizationID !== undefined && { authorizationID }),
    ...(permissions !== undefined && { permissions }),
    ...(resourceVersion !== undefined && { resourceVersion }),
    shape: shapeOf(secret),
    ...(v1 !== undefined && { v1 }),
  };
}

function body(owner: InfluxToken, desired: DesiredTokenSecret, existing?: V1Secret): V1Secret {
  const { namespace, name, uid } = owner.metadata;
  const previous = readTemplateKeys(existing?.metadata?.annotations?.[TEMPLATE_METADATA_ANNOTATION]);
  const shape = desired.shape ?? PLAIN_SHAPE;
  const labels = templated(existing?.metadata?.labels, previous.labels, shape.labels);
  // The v1 annotations go with the v1 keys: none without v1 credentials.
  const annotations = templated(
    existing?.metadata?.annotations,
    [...previous.annotations, ...V1_ANNOTATIONS],
    shape.annotations,
  );
  const { v1 } = desired;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    // Kubernetes never changes a type in place: the decision refuses a changed one before a write
    // with a token; a withdrawn token's Secret keeps its type.
    type: existing?.type ?? shape.type,
    metadata: {
      name: desired.name,
      namespace,
      labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TOKEN_OWNER_LABEL]: name },
      annotations: {
        ...annotations,
        [AUTHORIZATION_ANNOTATION]: desired.authorizationID,
        [PERMISSIONS_ANNOTATION]: desired.permissions,
        [RETIRING_ANNOTATION]: JSON.stringify(desired.retiring),
        [TOKEN_DIGEST_ANNOTATION]: digest(desired.data.token),
        ...(v1 && {
          [V1_AUTHORIZATION_ANNOTATION]: v1.authorizationID,
          [V1_PERMISSIONS_ANNOTATION]: v1.permissions,
          [V1_ROTATED_ANNOTATION]: v1.rotated,
        }),
        [TEMPLATE_METADATA_ANNOTATION]: JSON.stringify({
          labels: Object.keys(shape.labels),
          annotations: Object.keys(shape.annotations),
        }),
      },
      // Deleted with the InfluxToken (whose finalizer deletes the authorization first).
      ownerReferences: [
        { apiVersion: API_VERSION, kind: TOKEN_KIND, name, uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    // Replaced as a whole: a key from an earlier shape (bucket, or a key dropped from the template) must not linger.
    data: Object.fromEntries(
      Object.entries(desired.data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
    ),
  };
}

/**
 * The InfluxToken's Secret. The decision tells orphans from the live authorization by what the
 * Secret says: a routine check reads it through the operator's read-your-writes view (so the
 * token just written never looks like an orphan), and before anything is deleted or created in
 * InfluxDB the decision reads it again from the API server (readFromServer), where another
 * writer's change shows. Writes replace exactly the version read.
 */
export class TokenSecrets {
  constructor(
    private readonly core: CoreV1Api,
    private readonly view: ManagedSecretView,
  ) {}

  async read(owner: InfluxToken, name: string): Promise<TokenSecret> {
    return describe(await currentSecret(this.core, this.view, owner.metadata.namespace, name), owner);
  }

  async readFromServer(owner: InfluxToken, name: string): Promise<TokenSecret> {
    return describe(await readSecret(this.core, owner.metadata.namespace, name), owner);
  }

  async write(owner: InfluxToken, desired: DesiredTokenSecret, observed: TokenSecret): Promise<TokenSecret> {
    if (observed.state === 'foreign') return observed;
    const namespace = owner.metadata.namespace;
    const written = await writeOwnSecret(this.core, this.view, {
      namespace,
      name: desired.name,
      observed,
      current: () => readSecret(this.core, namespace, desired.name),
      isOwned: (secret) => isOwnedBy(secret, owner),
      body: (existing) => body(owner, desired, existing),
    });
    return describe(written, owner);
  }
}
