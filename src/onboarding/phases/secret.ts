// The Secret: once InfluxDB accepted the credentials (and any rotation is done), the credentials
// Secret holds them, with the name of the user the token belongs to and the authorization it is.
import type { DesiredSecret } from '../../api/credentials.js';
import type { Step } from '../step.js';
import { passwordRotation } from './password.js';
import { credentialsIn, desiredSecret, secretMatches } from './secret-data.js';
import { settled, type Situation } from './situation.js';

/** The Secret as it must be now. */
export function settledSecret(s: Situation): DesiredSecret {
  const { facts, spec } = s;
  const { credentials, record } = settled(s, passwordRotation);
  // The authorization recorded with the Secret's token is gone (the instance was set up again with
  // that token), or belongs to the token a new tokenSecretRef replaces.
  const setUpNow = facts.setupAnswer?.ok ? facts.setupAnswer.value.authorizationID : undefined;
  const recorded = facts.secret.state === 'owned' ? facts.secret.authorizationID : undefined;
  const referenceReplaces =
    spec.tokenSecretRef !== undefined && credentialsIn(facts.secret)?.credentials.token !== credentials.token;
  const reset =
    recorded === undefined
      ? {}
      : setUpNow !== undefined && recorded !== setUpNow
        ? { authorizationID: setUpNow }
        : referenceReplaces
          ? { authorizationID: null }
          : {};
  // Accepted credentials: no setup is under way any more.
  const setupSent = facts.secret.state === 'owned' && facts.secret.setupSentAt !== undefined;
  return desiredSecret(spec, credentials, { ...record, ...reset, ...(setupSent && { setupSentAt: null }) });
}

/** The Secret holds the settled credentials: written when it does not. */
export function secretHolds(s: Situation): Step | undefined {
  const secret = settledSecret(s);
  if (secretMatches(s.facts.secret, secret)) return undefined;
  return { kind: 'writeSecret', secret, credentials: settled(s, passwordRotation).credentials };
}

/** A token from a new tokenSecretRef, written over another this reconcile: the authorization recorded in status is the old token's. */
export function tokenReplaced(s: Situation): boolean {
  const { facts, spec } = s;
  return (
    spec.tokenSecretRef !== undefined &&
    facts.secretWritten === true &&
    facts.remembered?.credentials.token !== settled(s, passwordRotation).credentials.token
  );
}
