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
  secret: string;
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

/**
 * The inputs the facts were gathered from (the resource as it now is, the Secret as it now is);
 * undefined when the Secret's version is not known, so they never count as unchanged.
 */
export function inputsOf(facts: Facts): CheckInputs | undefined {
  const secret = secretVersion(facts.secret);
  if (secret === undefined) return undefined;
  return {
    resourceVersion: facts.resource.metadata.resourceVersion,
    secret,
    references: facts.references,
    duplicateOf: facts.duplicateOf,
    notPermitted: facts.notPermitted,
  };
}
