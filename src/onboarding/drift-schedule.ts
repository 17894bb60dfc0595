import { isDeepStrictEqual } from 'node:util';
import type { CredentialsSecret } from '../api/credentials.js';
import type { Facts, References } from './facts.js';

/**
 * Everything a reconcile decides on besides the clock and InfluxDB: the resource's version (its
 * spec, labels, annotations and status), the credentials Secret, the referenced Secrets, any
 * resource it collides with, and whether its namespace may target its instance. The Secret counts by its version, not by its decoded contents: these
 * are held for every Ready resource, and the credentials are held once already (CredentialMemory).
 */
export interface CheckInputs {
  resourceVersion: string | undefined;
  secret: string | undefined;
  references: References;
  duplicateOf: string | undefined;
  notPermitted: string | undefined;
}

/**
 * Which Secret a reconcile saw: one version of a Secret has one content. undefined when that is
 * not known (a Secret without a version), and such inputs never count as unchanged.
 */
function secretVersion(secret: CredentialsSecret): string | undefined {
  if (secret.state !== 'owned') return secret.state;
  return secret.resourceVersion === undefined ? undefined : `owned ${secret.resourceVersion}`;
}

/** The inputs the facts were gathered from (the resource as it now is, the Secret as it now is). */
export function inputsOf(facts: Facts): CheckInputs {
  return {
    resourceVersion: facts.resource.metadata.resourceVersion,
    secret: secretVersion(facts.secret),
    references: facts.references,
    duplicateOf: facts.duplicateOf,
    notPermitted: facts.notPermitted,
  };
}

/**
 * What each Ready resource's last check decided on, and when its next drift check is due. The
 * events of the operator's own writes (the Secret it created, coming back through two informers)
 * and resyncs find the same inputs before then: checking again would only repeat the requests.
 */
export class DriftSchedule {
  private readonly lastReady = new Map<string, { inputs: CheckInputs; dueAt: number }>();

  constructor(private readonly now: () => Date) {}

  /** When the resource is Ready and nothing it depends on changed since its last check: the time until its next one. */
  unchangedFor(key: string, inputs: CheckInputs): number | undefined {
    const last = this.lastReady.get(key);
    if (last === undefined || inputs.secret === undefined || !isDeepStrictEqual(last.inputs, inputs)) return undefined;
    const remaining = last.dueAt - this.now().getTime();
    return remaining > 0 ? remaining : undefined;
  }

  /** A check found the resource Ready on these inputs; the next is due in `dueInMs`. */
  checked(key: string, inputs: CheckInputs, dueInMs: number): void {
    this.lastReady.set(key, { inputs, dueAt: this.now().getTime() + dueInMs });
  }

  forget(key: string): void {
    this.lastReady.delete(key);
  }
}
