// The password of the user the operator token belongs to: rotated (from spec.passwordSecretRef, or
// on request without one) so that a crash at any point leaves it known, and proven by a sign-in
// every --password-check-interval.
import type { Credentials } from '../../api/credentials.js';
import { ROTATE_PASSWORD_ANNOTATION, Reason, type EffectiveSpec } from '../../api/types.js';
import type { InfluxFailure, TokenOwner } from '../../influx/index.js';
import type { Facts } from '../facts.js';
import type { Step } from '../step.js';
import { desiredSecret, type RotationRecord } from './secret-data.js';
import {
  failureText,
  finish,
  nextCheck,
  notReached,
  passwordRotationRequested,
  rotationDue,
  settled,
  type Situation,
  type Verdict,
} from './situation.js';
import { operatorToken } from './token.js';

/** How the credentials are settled once a password rotation, if one was due, is done. */
export interface Rotated {
  credentials: Credentials;
  record: RotationRecord;
  /** Where the new password came from, for the event; undefined when none was set. */
  source?: string;
}

// The reasons this concern ends with, their messages, and the event of a rotation.
const verdicts = {
  notSet: (facts: Facts, spec: EffectiveSpec, owner: TokenOwner, failure: InfluxFailure): Verdict => ({
    reason: Reason.PasswordNotSet,
    message: `InfluxDB at ${spec.url} refused to set the new password of user ${owner.userName} with the operator token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); the Secret keeps the password InfluxDB has. Checked again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the spec changes`,
    requeue: nextCheck(facts),
  }),
  invalid: (facts: Facts, spec: EffectiveSpec, username: string, failure: InfluxFailure): Verdict => {
    const fix =
      spec.passwordSecretRef === undefined
        ? `annotate this resource with ${ROTATE_PASSWORD_ANNOTATION}=<a new value> to have a new password set`
        : `put the user's current password in Secret ${spec.passwordSecretRef.name} key ${spec.passwordSecretRef.key}`;
    return {
      reason: Reason.PasswordInvalid,
      message: `The password in Secret ${spec.credentialsSecretName} does not sign in to InfluxDB at ${spec.url} as user ${username} (${failureText(failure)}); the token works. To fix it, ${fix}`,
      requeue: nextCheck(facts),
    };
  },
};
const sources = {
  referenced: (spec: EffectiveSpec) => `from Secret ${spec.passwordSecretRef?.name}`,
  requested: (requested: string | undefined) => `on request (${ROTATE_PASSWORD_ANNOTATION}: ${requested ?? 'none'})`,
};
export function passwordRotatedMessage(s: Situation, username: string, source: string): string {
  return `The password of user ${username} at ${s.spec.url} was changed ${source}; Secret ${s.spec.credentialsSecretName} holds it`;
}

/** The rotate-password request the Secret has not carried out yet; none while spec.passwordSecretRef supplies the password. */
export function passwordRotationDue(s: Situation): string | undefined {
  const { facts, spec } = s;
  const handled = facts.secret.state === 'owned' ? { value: facts.secret.passwordRotation } : undefined;
  return rotationDue(passwordRotationRequested(facts), handled, spec.passwordSecretRef !== undefined);
}

/** A password to prove whose last sign-in check is older than --password-check-interval (or never was). */
export function passwordCheckDue(facts: Facts, credentials: Credentials): boolean {
  const checkedAt = facts.resource.status?.passwordCheckedAt;
  return (
    credentials.password !== '' &&
    (checkedAt === undefined || Date.parse(facts.now) - Date.parse(checkedAt) >= facts.passwordCheckIntervalMs)
  );
}

/** The password the Secret (or, while it is gone, memory) held when this reconcile began, if any. */
function heldPassword(s: Situation): string | undefined {
  const held = s.bound?.credentials.password;
  return held === '' ? undefined : held;
}

/**
 * Password rotation, for the user the token belongs to. InfluxDB is asked to set the new password
 * only while some Secret already holds it, so that a crash at any point leaves it known and the
 * next reconcile repeats the request:
 * - from spec.passwordSecretRef (the referenced Secret holds it): set, then written to the Secret;
 *   applied when it differs from a password the Secret held (an adopted instance's unknown
 *   password is never overwritten; the sign-in check proves the one given);
 * - on request (rotate-password annotation, without passwordSecretRef): a generated password is
 *   written to the Secret's pending key first, then set, then promoted to `password` together
 *   with the request's value, so each request is done once.
 */
export function passwordRotation(s: Situation): Step | Rotated {
  const { credentials, owner } = settled(s, operatorToken);
  if (owner === undefined) return { credentials, record: {} };
  const { facts, spec } = s;
  const requested = passwordRotationRequested(facts);
  const referenced = spec.passwordSecretRef !== undefined;
  const set = facts.passwordSet;
  if (set !== undefined) {
    if (!set.outcome.ok) return notSet(s, owner, set.outcome.failure);
    return {
      credentials: { ...credentials, password: set.password },
      record: { pendingPassword: null, ...(!referenced && requested !== undefined && { passwordRotation: requested }) },
      source: referenced ? sources.referenced(spec) : sources.requested(requested),
    };
  }
  const setPassword = (password: string): Step => ({
    kind: 'setPassword',
    token: credentials.token,
    userID: owner.userID,
    password,
  });
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  if (referenced) {
    // A pending password InfluxDB may already have is replaced by the referenced one, never just dropped.
    const held = heldPassword(s);
    const differs = (held !== undefined && held !== credentials.password) || secret?.pendingPassword !== undefined;
    return differs ? setPassword(credentials.password) : { credentials, record: {} };
  }
  if (secret?.pendingPassword !== undefined) return setPassword(secret.pendingPassword);
  if (passwordRotationDue(s) === undefined) return { credentials, record: {} };
  return {
    kind: 'writeSecret',
    secret: desiredSecret(spec, credentials, { pendingPassword: facts.generated.password }),
    credentials,
  };
}

function notSet(s: Situation, owner: TokenOwner, failure: InfluxFailure): Step {
  if (failure.kind !== 'rejected') return notReached(s, failure);
  return finish(s.facts, verdicts.notSet(s.facts, s.spec, owner, failure));
}

/**
 * The Secret's password is proven by a sign-in (signed out again) every --password-check-interval,
 * and at once when it never was (a new or newly known password) or was just set. Settles with the
 * time of a sign-in made now (none: none was due). A setup this reconcile made (answered 201)
 * created the user with exactly this password: that answer proves it as a sign-in would, so it
 * counts as the first check (the next one comes after the interval like any other).
 */
export function passwordProven(s: Situation): Step | { checkedAt?: string } {
  const { facts, spec } = s;
  const rotation = settled(s, passwordRotation);
  const { credentials } = rotation;
  const rotated = rotation.source !== undefined;
  if (credentials.password === '') return {};
  if (!rotated && !passwordCheckDue(facts, credentials)) return {};
  if (!rotated && facts.setupAnswer?.ok) return { checkedAt: facts.now };
  const check = facts.passwordCheck;
  if (check === undefined)
    return { kind: 'checkPassword', username: credentials.username, password: credentials.password };
  if (check.ok) return { checkedAt: facts.now };
  if (check.failure.kind !== 'rejected') return notReached(s, check.failure);
  return finish(facts, verdicts.invalid(facts, spec, credentials.username, check.failure));
}
