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
  /** The Secret's state, and the version of an owned one (the Secret's own string, not a copy per resource). */
  secretState: CredentialsSecret['state'];
  secretVersion: string | undefined;
  references: References;
  duplicateOf: string | undefined;
  notPermitted: string | undefined;
}

/** What a resource without references holds: one object for all of them, not an empty one each. */
const NO_REFERENCES: References = Object.freeze({});

/** The inputs the facts were gathered from (the resource as it now is, the Secret as it now is). */
export function inputsOf(facts: Facts): CheckInputs {
  const { secret, references } = facts;
  return {
    resourceVersion: facts.resource.metadata.resourceVersion,
    secretState: secret.state,
    secretVersion: secret.state === 'owned' ? secret.resourceVersion : undefined,
    references: Object.keys(references).length === 0 ? NO_REFERENCES : references,
    duplicateOf: facts.duplicateOf,
    notPermitted: facts.notPermitted,
  };
}

/**
 * Which Secret a reconcile saw is known when it is not an owned one (its state says all) or is an
 * owned one with a version (one version of a Secret has one content). Inputs whose Secret is not
 * known never count as unchanged.
 */
function secretKnown(inputs: CheckInputs): boolean {
  return inputs.secretState !== 'owned' || inputs.secretVersion !== undefined;
}

/** A Ready resource's last check: its inputs and when the next is due, one object (one per Ready resource). */
interface LastReady extends CheckInputs {
  dueAt: number;
}

/**
 * What each Ready resource's last check decided on, and when its next drift check is due. The
 * events of the operator's own writes (the Secret it created, coming back through two informers)
 * and resyncs find the same inputs before then: checking again would only repeat the requests.
 */
export class DriftSchedule {
  private readonly lastReady = new Map<string, LastReady>();

  constructor(private readonly now: () => Date) {}

  /** When the resource is Ready and nothing it depends on changed since its last check: the time until its next one. */
  unchangedFor(key: string, inputs: CheckInputs): number | undefined {
    const last = this.lastReady.get(key);
    if (last === undefined || !secretKnown(inputs)) return undefined;
    const { dueAt, ...lastInputs } = last;
    if (!isDeepStrictEqual(lastInputs, inputs)) return undefined;
    const remaining = dueAt - this.now().getTime();
    return remaining > 0 ? remaining : undefined;
  }

  /** A check found the resource Ready on these inputs; the next is due in `dueInMs`. */
  checked(key: string, inputs: CheckInputs, dueInMs: number): void {
    const { resourceVersion, secretState, secretVersion, references, duplicateOf, notPermitted } = inputs;
    // Field by field in one literal: a spread and one more field would give each entry a slower, larger shape.
    this.lastReady.set(key, {
      resourceVersion,
      secretState,
      secretVersion,
      references,
      duplicateOf,
      notPermitted,
      dueAt: this.now().getTime() + dueInMs,
    });
  }

  forget(key: string): void {
    this.lastReady.delete(key);
  }
}
