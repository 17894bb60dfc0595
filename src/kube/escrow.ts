import { createHash } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import {
  ESCROW_APPROVED_ANNOTATION,
  GROUP,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PENDING_PASSWORD_KEY,
  type InfluxOnboarding,
} from '../api/types.js';
import type { DesiredSecret, EscrowCopy, Escrowed } from '../api/credentials.js';
import { kubeCall } from './errors.js';
import { readSecret } from './own-secret.js';

const ESCROW_LABEL = `${GROUP}/escrow`;
const FOR_ANNOTATION = `${GROUP}/escrow-for`;
const UID_ANNOTATION = `${GROUP}/escrow-uid`;
const TLS_KEY = 'tls';

function decode(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * A copy of each resource's operator credentials in a Secret of the operator's own namespace, so
 * that they outlive the resource's namespace (deleting a namespace deletes every Secret in it,
 * Retain ones too, and InfluxDB 2.9+ never shows a token again). One Secret per namespace/name,
 * recording the UID of the resource it was taken from. It is break-glass, not inheritance: the
 * copy goes back automatically only to that resource (its Secret was deleted); a resource created
 * again under that name (another UID: whoever re-created the namespace) gets it only once an
 * administrator of the escrow namespace approves that UID with an annotation on the escrow Secret.
 */
export class CredentialsEscrow {
  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
  ) {}

  /** The resource an escrow Secret keeps a copy for (its namespace and name), undefined for any other Secret. */
  static ownerOf(secret: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  }): { namespace: string; name: string } | undefined {
    const owner = secret.metadata?.annotations?.[FOR_ANNOTATION];
    if (secret.metadata?.labels?.[ESCROW_LABEL] !== 'true' || owner === undefined) return undefined;
    const [namespace, name, ...rest] = owner.split('/');
    return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
  }

  /** The escrow Secret's name: a hash, since namespace and name together may exceed any name limit. */
  static nameFor(owner: InfluxOnboarding): string {
    const digest = createHash('sha256')
      .update(`${owner.metadata.namespace}/${owner.metadata.name}`)
      .digest('hex')
      .slice(0, 32);
    return `influx-onboarding-escrow-${digest}`;
  }

  async read(owner: InfluxOnboarding): Promise<EscrowCopy | undefined> {
    const name = CredentialsEscrow.nameFor(owner);
    const secret = await this.fetch(name);
    const annotations = secret?.metadata?.annotations ?? {};
    if (secret === undefined || annotations[FOR_ANNOTATION] !== `${owner.metadata.namespace}/${owner.metadata.name}`)
      return undefined;
    const escrowed = CredentialsEscrow.decodeCopy(secret);
    if (escrowed === undefined) return undefined;
    const { uid } = owner.metadata;
    // A copy without a recorded UID is from nobody known: it needs the approval too.
    const approved = annotations[UID_ANNOTATION] === uid || annotations[ESCROW_APPROVED_ANNOTATION] === uid;
    return approved
      ? { kind: 'restorable', escrowed }
      : { kind: 'approval-needed', secret: { namespace: this.namespace, name } };
  }

  private static decodeCopy(secret: V1Secret): Escrowed | undefined {
    const [url, tls, username, password, token] = ['url', TLS_KEY, 'username', 'password', 'token'].map((key) =>
      decode(secret, key),
    );
    if (!url || !tls || !username || !token) return undefined;
    // A rotation under way: the password InfluxDB may already have is the pending one, which the
    // restored Secret would not hold; the password check then reports it and a new request fixes it.
    return { credentials: { username, password: password ?? '', token }, target: { url, tls } };
  }

  /**
   * Written before the resource's Secret, so the copy is never behind what InfluxDB may have been
   * sent. Records the resource's UID; an approval is used up (the copy is now this resource's).
   */
  async write(owner: InfluxOnboarding, desired: DesiredSecret): Promise<void> {
    const name = CredentialsEscrow.nameFor(owner);
    const data: Record<string, string> = { ...desired.data, [TLS_KEY]: desired.tls };
    if (typeof desired.pendingPassword === 'string') data[PENDING_PASSWORD_KEY] = desired.pendingPassword;
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [ESCROW_LABEL]: 'true' },
        annotations: {
          [FOR_ANNOTATION]: `${owner.metadata.namespace}/${owner.metadata.name}`,
          [UID_ANNOTATION]: owner.metadata.uid,
        },
      },
      stringData: data,
    };
    const existing = await this.fetch(name);
    const where = `${this.namespace}/${name}`;
    if (existing === undefined) {
      await kubeCall(`create escrow Secret ${where}`, () =>
        this.core.createNamespacedSecret({ namespace: this.namespace, body }),
      );
      return;
    }
    const resourceVersion = existing.metadata?.resourceVersion;
    const replacement: V1Secret = {
      ...body,
      metadata: { ...body.metadata, ...(resourceVersion !== undefined && { resourceVersion }) },
    };
    await kubeCall(`update escrow Secret ${where}`, () =>
      this.core.replaceNamespacedSecret({ namespace: this.namespace, name, body: replacement }),
    );
  }

  private fetch(name: string): Promise<V1Secret | undefined> {
    return readSecret(this.core, this.namespace, name, 'escrow Secret');
  }
}
