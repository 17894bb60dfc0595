// The operator token: rotated on request (rotate-token annotation) without ever leaving the Secret
// with a token that was not proven to work.
import type { Credentials } from '../../api/credentials.js';
import { ROTATE_TOKEN_ANNOTATION, ROTATION_MARKER, Reason, type EffectiveSpec } from '../../api/types.js';
import type { Authorization, InfluxFailure, Outcome, TokenOwner } from '../../influx/index.js';
import type { Facts } from '../facts.js';
import type { Finish, Step } from '../step.js';
import { setupOrAdoption } from './instance.js';
import { desiredSecret } from './secret-data.js';
import {
  failureText,
  finish,
  nextCheck,
  notReached,
  rotationDue,
  settled,
  tokenRotationRequested,
  type Situation,
  type Verdict,
} from './situation.js';

/** The credentials once a token rotation, if one was due, is done, with the user the token belongs to. */
export interface TokenSettled {
  credentials: Credentials;
  /** The user the token belongs to (GET /api/v2/me), when a token check answered. */
  owner?: TokenOwner;
  /** The new token's authorization, when this reconcile replaced the token. */
  rotatedTo?: string;
}

// The reason this concern ends with, its messages, and the event of a rotation.
const verdicts = {
  notRotated: (facts: Facts, spec: EffectiveSpec, doing: string, failure: InfluxFailure): Verdict => ({
    reason: Reason.TokenNotRotated,
    message: `InfluxDB at ${spec.url} refused ${doing} with the operator token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); the Secret keeps its token, which works. Tried again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the resource changes`,
    requeue: nextCheck(facts),
  }),
  unknownAuthorization: (facts: Facts, spec: EffectiveSpec, owner: TokenOwner): Verdict => ({
    reason: Reason.TokenNotRotated,
    message: `The operator token in Secret ${spec.credentialsSecretName} cannot be rotated: InfluxDB at ${spec.url} does not show which of user ${owner.userName}'s authorizations it is (v2.9+ never shows a token again), so its permissions cannot be copied. Create a new operator token (influx auth create --operator) and set spec.tokenSecretRef`,
    requeue: nextCheck(facts),
  }),
};
const doing = {
  deleteReplaced: (id: string) => `to delete the replaced authorization ${id}`,
  list: (owner: TokenOwner) => `to list the authorizations of user ${owner.userName}`,
  deleteUnused: (id: string) => `to delete the unused authorization ${id} of an earlier attempt`,
  create: (owner: TokenOwner) => `to create a new authorization for user ${owner.userName}`,
  checkNew: (id: string) =>
    `the token of the new authorization ${id} (GET /api/v2/me; that authorization is deleted at the next attempt)`,
};
export function tokenRotatedMessage(s: Situation, rotatedTo: string, username: string): string {
  return `The operator token in Secret ${s.spec.credentialsSecretName} was replaced by a new authorization ${rotatedTo} of user ${username} with the same permissions (${ROTATE_TOKEN_ANNOTATION}: ${tokenRotationRequested(s.facts) ?? 'none'}); the authorization it replaced is deleted when this operator created it, and left alone otherwise`;
}

/** The rotate-token request the Secret has not carried out yet; none while spec.tokenSecretRef supplies the token. */
export function tokenRotationDue(s: Situation): string | undefined {
  const { facts, spec } = s;
  const handled = facts.secret.state === 'owned' ? { value: facts.secret.tokenRotation } : undefined;
  return rotationDue(tokenRotationRequested(facts), handled, spec.tokenSecretRef !== undefined);
}

/**
 * The operator token, named for the user it belongs to, rotated on request (rotate-token
 * annotation): a new authorization for the same user with exactly the permissions of the
 * Secret's, marked in its description; its token checked with /me; then written to the Secret
 * together with its authorization ID and the one it replaces; then the replaced one deleted and
 * the record of it dropped. The Secret never holds a token that was not proven to work. A crash
 * after the create leaves an orphan that carries the marker: the next attempt deletes every marked
 * authorization of the user that is not the Secret's before it creates one. The replaced
 * authorization is deleted only when the operator created it.
 */
export function operatorToken(s: Situation): Step | TokenSettled {
  const { credentials: accepted } = settled(s, setupOrAdoption);
  const check = s.facts.tokenCheck;
  if (check === undefined || !check.ok) return { credentials: accepted };
  const owner = check.value;
  const credentials = { ...accepted, username: owner.userName };
  const replaced = deleteReplaced(s, credentials);
  if (replaced !== undefined) return replaced;
  const created = s.facts.createdAuthorization?.ok ? s.facts.createdAuthorization.value : undefined;
  const secret = s.facts.secret.state === 'owned' ? s.facts.secret : undefined;
  const rotatedTo = created !== undefined && secret?.authorizationID === created.id ? created.id : undefined;
  const requested = tokenRotationDue(s);
  if (requested === undefined) return { credentials, owner, ...(rotatedTo !== undefined && { rotatedTo }) };
  return rotate(s, credentials, owner, requested);
}

/** The outcome of deleting `id` in this reconcile, if it was tried. */
function deletion(facts: Facts, id: string): Outcome<unknown> | undefined {
  return facts.authorizationsDeleted?.find((entry) => entry.id === id)?.outcome;
}

/** The authorization a rotation replaced is deleted, then forgotten by the Secret; undefined when there is none. */
function deleteReplaced(s: Situation, credentials: Credentials): Step | undefined {
  const { facts, spec } = s;
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const replaced = secret?.replacedAuthorization;
  if (replaced === undefined) return undefined;
  const forget: Step = {
    kind: 'writeSecret',
    secret: desiredSecret(spec, credentials, { replacedAuthorization: null }),
    credentials,
  };
  // Never the Secret's own (the instance was set up again since, and the ID came back with it).
  if (replaced === secret?.authorizationID) return forget;
  const outcome = deletion(facts, replaced);
  if (outcome === undefined) return { kind: 'deleteAuthorization', token: credentials.token, id: replaced };
  if (!outcome.ok) return notRotated(s, doing.deleteReplaced(replaced), outcome.failure);
  return forget;
}

function notRotated(s: Situation, what: string, failure: InfluxFailure): Finish {
  if (failure.kind !== 'rejected') return notReached(s, failure);
  return finish(s.facts, verdicts.notRotated(s.facts, s.spec, what, failure));
}

/** How every authorization a rotation creates for this resource is described, before the request's value. */
function rotationMarker(facts: Facts): string {
  return `${ROTATION_MARKER} ${facts.resource.metadata.uid} `;
}

/** A rotation due: the user's authorizations listed, orphans of earlier attempts deleted, a new one created, proven and written. */
function rotate(s: Situation, credentials: Credentials, owner: TokenOwner, requested: string): Step {
  const { facts, spec } = s;
  const listing = facts.authorizations;
  if (listing === undefined) return { kind: 'listAuthorizations', token: credentials.token, userID: owner.userID };
  if (!listing.ok) return notRotated(s, doing.list(owner), listing.failure);
  const current = currentAuthorization(s, listing.value, credentials.token, owner);
  if (current === undefined) return finish(facts, verdicts.unknownAuthorization(facts, spec, owner));
  const marker = rotationMarker(facts);
  const created = facts.createdAuthorization?.ok ? facts.createdAuthorization.value : undefined;
  const orphan = listing.value.find(
    (entry) =>
      entry.description.startsWith(marker) &&
      entry.id !== current.id &&
      entry.id !== created?.id &&
      deletion(facts, entry.id) === undefined,
  );
  if (orphan !== undefined) return { kind: 'deleteAuthorization', token: credentials.token, id: orphan.id };
  const failedDelete = facts.authorizationsDeleted?.find((entry) => !entry.outcome.ok);
  if (failedDelete !== undefined && !failedDelete.outcome.ok)
    return notRotated(s, doing.deleteUnused(failedDelete.id), failedDelete.outcome.failure);
  return replaceWithNew(s, credentials, owner, current, requested);
}

/** The new authorization: created with the current one's permissions, its token proven, then written over the old one. */
function replaceWithNew(
  s: Situation,
  credentials: Credentials,
  owner: TokenOwner,
  current: Authorization,
  requested: string,
): Step {
  const { facts, spec } = s;
  const marker = rotationMarker(facts);
  const creation = facts.createdAuthorization;
  if (creation === undefined) {
    const request = {
      orgID: current.orgID,
      userID: owner.userID,
      description: `${marker}${requested}`,
      permissions: current.permissions,
    };
    return { kind: 'createAuthorization', token: credentials.token, request };
  }
  if (!creation.ok) return notRotated(s, doing.create(owner), creation.failure);
  const check = facts.createdTokenCheck;
  if (check === undefined) return { kind: 'checkNewToken', token: creation.value.token };
  if (!check.ok) return notRotated(s, doing.checkNew(creation.value.id), check.failure);
  const next = { ...credentials, token: creation.value.token };
  // Created by this operator: by an earlier rotation (marked), or by this resource's own setup.
  const status = facts.resource.status ?? {};
  const ours =
    current.description.startsWith(marker) ||
    (status.adopted === false &&
      (current.id === status.authorizationID || current.description === `${owner.userName}'s Token`));
  const record = {
    tokenRotation: requested,
    authorizationID: creation.value.id,
    ...(ours && { replacedAuthorization: current.id }),
  };
  return { kind: 'writeSecret', secret: desiredSecret(spec, next, record), credentials: next };
}

/**
 * The authorization the Secret's token is: the one listed with that token (servers before v2.9),
 * else the one recorded with the token when the operator created it, else, for the token this
 * resource's own setup created, the ID the setup answered with, or (that answer lost in a crash)
 * the only authorization with the description a setup gives its token ("<username>'s Token").
 */
function currentAuthorization(
  s: Situation,
  listed: readonly Authorization[],
  token: string,
  owner: TokenOwner,
): Authorization | undefined {
  const { facts, spec } = s;
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const status = facts.resource.status ?? {};
  const listedWithToken = listed.find((entry) => entry.token === token);
  if (listedWithToken !== undefined) return listedWithToken;
  // A recorded ID that is not listed any more is from before the instance was set up again.
  const recorded = listed.find((entry) => entry.id === secret?.authorizationID);
  if (recorded !== undefined) return recorded;
  if (spec.tokenSecretRef !== undefined || status.adopted !== false) return undefined;
  const answered = listed.find((entry) => entry.id === status.authorizationID);
  if (answered !== undefined) return answered;
  const setupTokens = listed.filter((entry) => entry.description === `${owner.userName}'s Token`);
  return setupTokens.length === 1 ? setupTokens[0] : undefined;
}
