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

/**
 * The inputs the facts were gathered from (the resource as it now is, the Secret as it now is);
 * undefined when which Secret the reconcile saw is not known (an owned one without a version: one
 * version of a Secret has one content), so they never count as unchanged.
 */
export function inputsOf(facts: Facts): CheckInputs | undefined {
  const { secret, references } = facts;
  const secretVersion = secret.state === 'owned' ? secret.resourceVersion : undefined;
  if (secret.state === 'owned' && secretVersion === undefined) return undefined;
  return {
    resourceVersion: facts.resource.metadata.resourceVersion,
    secretState: secret.state,
    secretVersion,
    references: Object.keys(references).length === 0 ? NO_REFERENCES : references,
    duplicateOf: facts.duplicateOf,
    notPermitted: facts.notPermitted,
  };
}
