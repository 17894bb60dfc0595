import { isDeepStrictEqual } from 'node:util';
import type { CredentialsSecret } from '../api/credentials.js';
import type { InfluxOnboarding } from '../api/types.js';
import type { SecretRegistry } from '../log.js';
import { credentialsIn } from './phases/secret-data.js';
import type { BoundCredentials } from './facts.js';

/**
 * What this process last saw in, or wrote to, each resource's Secret, and the instance it belongs
 * to: restores a deleted Secret with the same credentials, for that instance only. It is memory
 * of one resource (its uid), not of a name: a resource deleted and created again under the same
 * name gets nothing from it, even when its informer never showed the deletion (a relist after a
 * broken watch shows the new object as an update); only the escrow serves a new resource.
 */
export class CredentialMemory {
  private readonly remembered = new Map<string, { uid: string | undefined; bound: BoundCredentials }>();

  /** Every credential remembered is registered with `secrets`, so that no log line can carry it. */
  constructor(private readonly secrets: SecretRegistry) {}

  /** The credentials remembered for this very resource; another resource's under its name are forgotten. */
  of(key: string, resource: InfluxOnboarding): BoundCredentials | undefined {
    const entry = this.remembered.get(key);
    if (entry !== undefined && entry.uid !== resource.metadata.uid) this.remembered.delete(key);
    return this.remembered.get(key)?.bound;
  }

  remember(key: string, resource: InfluxOnboarding, bound: BoundCredentials): void {
    // Every reconcile decodes the Secret afresh: the first copy of equal credentials is kept (the
    // one the log redaction holds too), not one more copy per resource.
    if (isDeepStrictEqual(this.remembered.get(key)?.bound, bound)) return;
    this.remembered.set(key, { uid: resource.metadata.uid, bound });
    this.secrets.add(bound.credentials.password);
    this.secrets.add(bound.credentials.token);
  }

  /** Remembers what the Secret holds, when it holds credentials. */
  rememberSecret(key: string, resource: InfluxOnboarding, secret: CredentialsSecret): void {
    const bound = credentialsIn(secret);
    if (bound !== undefined) this.remember(key, resource, bound);
  }

  forget(key: string): void {
    this.remembered.delete(key);
  }
}
