import { createHash } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import {
  GROUP,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PENDING_PASSWORD_KEY,
  type InfluxOnboarding,
} from '../api/types.js';
import type { DesiredSecret } from '../api/credentials.js';
import { kubeCall } from './errors.js';
import { readSecret } from './own-secret.js';

/** Credentials kept in escrow, with the instance they belong to (as the reconciler remembers them). */
interface Escrowed {
  credentials: { username: string; password: string; token: string };
  target: { url: string; tls: string };
}

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
 * Retain ones too, and InfluxDB 2.9+ never shows a token again). One Secret per namespace/name:
 * a resource created again under that name, for the same instance, gets them back.
 */
export class CredentialsEscrow {
  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
  ) {}

  /** The escrow Secret's name: a hash, since namespace and name together may exceed any name limit. */
  static nameFor(owner: InfluxOnboarding): string {
    const digest = createHash('sha256')
      .update(`${owner.metadata.namespace}/${owner.metadata.name}`)
      .digest('hex')
      .slice(0, 32);
    return `influx-onboarding-escrow-${digest}`;
  }

  async read(owner: InfluxOnboarding): Promise<Escrowed | undefined> {
    const secret = await this.fetch(CredentialsEscrow.nameFor(owner));
    if (
      secret === undefined ||
      secret.metadata?.annotations?.[FOR_ANNOTATION] !== `${owner.metadata.namespace}/${owner.metadata.name}`
    )
      return undefined;
    const [url, tls, username, password, token] = ['url', TLS_KEY, 'username', 'password', 'token'].map((key) =>
      decode(secret, key),
    );
    if (!url || !tls || !username || !token) return undefined;
    // A rotation under way: the password InfluxDB may already have is the pending one, which the
    // restored Secret would not hold; the password check then reports it and a new request fixes it.
    return { credentials: { username, password: password ?? '', token }, target: { url, tls } };
  }

  /** Written before the resource's Secret, so the copy is never behind what InfluxDB may have been sent. */
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
