import { isDeepStrictEqual } from 'node:util';
import { redactionOwner, validCredentials, type CredentialsSecret } from '../api/credentials.js';
import { KIND, type InfluxOnboarding } from '../api/types.js';
import type { SecretRegistry } from '../log.js';
import { credentialsIn } from './phases/secret-data.js';
import type { BoundCredentials, References } from './facts.js';

/** One resource's remembered credentials and their instance, flat: one object per resource, not four. */
interface Remembered {
  uid: string | undefined;
  username: string;
  password: string;
  token: string;
  url: string | undefined;
  tls: string | undefined;
}

function boundOf({ username, password, token, url, tls }: Remembered): BoundCredentials {
  return {
    credentials: { username, password, token },
    target: { ...(url !== undefined && { url }), ...(tls !== undefined && { tls }) },
  };
}

/**
 * What this process last saw in, or wrote to, each resource's Secret, and the instance it belongs
 * to: restores a deleted Secret with the same credentials, for that instance only. It is memory
 * of one resource (its uid), not of a name: a resource deleted and created again under the same
 * name gets nothing from it, even when its informer never showed the deletion (a relist after a
 * broken watch shows the new object as an update); only the escrow serves a new resource.
 *
 * It also holds, for the log redaction, every credential value each resource uses now, in parts
 * (its credentials, a password being rotated to, its references, a token just created): a part
 * read again replaces what it held, and a resource forgotten releases all, so the redaction
 * forgets what no resource uses any more. Only valid values are held (validCredentials).
 */
export class CredentialMemory {
  private readonly remembered = new Map<string, Remembered>();

  constructor(private readonly secrets: SecretRegistry) {}

  /** The credentials remembered for this very resource; another resource's under its name are forgotten. */
  of(key: string, resource: InfluxOnboarding): BoundCredentials | undefined {
    const entry = this.remembered.get(key);
    if (entry !== undefined && entry.uid !== resource.metadata.uid) {
      this.remembered.delete(key);
      this.hold(key, 'credentials', []);
    }
    const remembered = this.remembered.get(key);
    return remembered === undefined ? undefined : boundOf(remembered);
  }

  remember(key: string, resource: InfluxOnboarding, bound: BoundCredentials): void {
    // Every reconcile decodes the Secret afresh: the first copy of equal credentials is kept (the
    // one the log redaction holds too), not one more copy per resource.
    const known = this.remembered.get(key);
    if (known !== undefined && isDeepStrictEqual(boundOf(known), bound)) return;
    const { username, password, token } = bound.credentials;
    const { tls } = bound.target;
    // The spec's own string when it names the same URL: one copy per resource, not two.
    const url = bound.target.url === resource.spec.url ? resource.spec.url : bound.target.url;
    this.remembered.set(key, { uid: resource.metadata.uid, username, password, token, url, tls });
    this.hold(key, 'credentials', validCredentials({ password, tokens: [token] }));
  }

  /** Remembers what the Secret holds, when it holds credentials, and the password a rotation moves to. */
  rememberSecret(key: string, resource: InfluxOnboarding, secret: CredentialsSecret): void {
    const bound = credentialsIn(secret);
    if (bound !== undefined) this.remember(key, resource, bound);
    this.holdPending(key, secret.state === 'owned' ? secret.pendingPassword : undefined);
  }

  /** A generated password being rotated to, while the Secret carries one. */
  holdPending(key: string, password: string | undefined): void {
    this.hold(key, 'pending', validCredentials({ password }));
  }

  /** What the references hold now (never the CA: it is public). */
  holdReferences(key: string, references: References): void {
    const value = (reference: References[keyof References]) => (reference?.found ? reference.value : undefined);
    const { password, token, authToken } = references;
    this.hold(
      key,
      'references',
      validCredentials({ password: value(password), tokens: [value(token), value(authToken)] }),
    );
  }

  /** A token InfluxDB just issued, until the next one (it is in the Secret, and so remembered, once written). */
  holdCreated(key: string, token: string): void {
    this.hold(key, 'created', validCredentials({ tokens: [token] }));
  }

  forget(key: string): void {
    this.remembered.delete(key);
    this.secrets.release(redactionOwner(KIND, key));
  }

  private hold(key: string, part: string, values: string[]): void {
    this.secrets.hold(redactionOwner(KIND, key), part, values);
  }
}
