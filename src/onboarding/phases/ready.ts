// Ready: with everything settled, the version InfluxDB runs is known, and the resource shows what
// it found (IDs, the user, when the password was proven or rotated, the target) with one event.
import type { CredentialsTarget } from '../../api/credentials.js';
import { Reason, type EffectiveSpec, type InfluxOnboardingStatus } from '../../api/types.js';
import type { ResourceEvent } from '../../runtime/index.js';
import type { Finish, Step } from '../step.js';
import { setupOrAdoption } from './instance.js';
import { orgAndBucket } from './org-bucket.js';
import { passwordProven, passwordRotatedMessage, passwordRotation } from './password.js';
import { tokenReplaced } from './secret.js';
import { describeTarget, sameTarget, targetOf } from './secret-data.js';
import { finish, previousReady, settled, type Situation } from './situation.js';
import { operatorToken, tokenRotatedMessage } from './token.js';

// What the Ready message adds, and the events a success may bring.
const notes = {
  /** spec.username is not the user the token belongs to. */
  username: (spec: EffectiveSpec, username: string): string =>
    username === spec.username
      ? ''
      : `. The token belongs to user ${username}, not spec.username ${spec.username}: the Secret names ${username}; spec.username is not applied to an instance that was set up before`,
  repairs: (repairs: readonly string[]): string => (repairs.length === 0 ? '' : ` (${repairs.join('; ')})`),
};
const events = {
  repaired: (spec: EffectiveSpec, repairs: readonly string[]): ResourceEvent => ({
    type: 'Normal',
    reason: 'Repaired',
    message: `InfluxDB at ${spec.url}: ${repairs.join('; ')}`,
  }),
  retargeted: (spec: EffectiveSpec, observed: CredentialsTarget, repairNote: string): ResourceEvent => ({
    type: 'Normal',
    reason: 'Retargeted',
    message: `The credentials in Secret ${spec.credentialsSecretName} now belong to ${describeTarget(targetOf(spec))}, where their token was accepted; before, they belonged to ${describeTarget(observed)}${repairNote}`,
  }),
};

/** The version InfluxDB runs: stamped on every answer, so /health is asked only when that header was missing. */
export function versionKnown(s: Situation): Step | { version?: string } {
  const { facts } = s;
  const stamped = facts.setupStatus?.ok ? facts.setupStatus.value.version : undefined;
  if (stamped !== undefined) return { version: stamped };
  if (facts.health === undefined) return { kind: 'checkHealth' };
  return facts.health.ok && facts.health.value.version !== undefined ? { version: facts.health.value.version } : {};
}

/** What the status records of this success besides the Ready condition. */
function readyFields(s: Situation): Partial<InfluxOnboardingStatus> {
  const { facts, spec } = s;
  const { verdict } = settled(s, setupOrAdoption);
  const token = settled(s, operatorToken);
  const rotation = settled(s, passwordRotation);
  const ensured = settled(s, orgAndBucket);
  const status = facts.resource.status ?? {};
  const authorizationKnown = status.authorizationID !== undefined && !tokenReplaced(s);
  const fields: Partial<InfluxOnboardingStatus> = {
    ...verdict.fields,
    // Undefined removes the field from the status (see patchStatus).
    ...(tokenReplaced(s) && status.authorizationID !== undefined && { authorizationID: undefined }),
    secretName: spec.credentialsSecretName,
    username: rotation.credentials.username,
    adopted: verdict.reason === Reason.Adopted,
    ...(token.owner !== undefined && { userID: token.owner.userID }),
    ...(ensured.orgID !== undefined && { orgID: ensured.orgID }),
    ...(ensured.bucketID !== undefined && { bucketID: ensured.bucketID }),
    ...(ensured.authorizationID !== undefined && !authorizationKnown && { authorizationID: ensured.authorizationID }),
  };
  const { checkedAt } = settled(s, passwordProven);
  if (checkedAt !== undefined) fields.passwordCheckedAt = checkedAt;
  if (rotation.source !== undefined) fields.passwordRotatedAt = facts.now;
  if (token.rotatedTo !== undefined) fields.tokenRotatedAt = facts.now;
  // Recorded with the token, so it is right even when a status write was lost; a setup made now answered with a newer one.
  if (facts.secret.state === 'owned' && facts.secret.authorizationID !== undefined && !facts.setupAnswer?.ok)
    fields.authorizationID = facts.secret.authorizationID;
  const { version } = settled(s, versionKnown);
  if (version !== undefined) fields.influxdbVersion = version;
  if (status.onboardedAt === undefined && fields.onboardedAt === undefined) fields.onboardedAt = facts.now;
  const wanted = targetOf(spec);
  fields.observedURL = wanted.url;
  fields.observedTLS = wanted.tls;
  return fields;
}

/**
 * The one event of a success, if any: a rotation's, else what was repaired (on a first success it
 * says so in the reason's own event; later repairs have their own). A move to a new target tells
 * that instead.
 */
function readyEvent(s: Situation, message: string, observed: CredentialsTarget): ResourceEvent | undefined {
  const { facts, spec } = s;
  const { verdict } = settled(s, setupOrAdoption);
  const token = settled(s, operatorToken);
  const rotation = settled(s, passwordRotation);
  const { username } = rotation.credentials;
  const repairs = facts.repairs ?? [];
  const repairNote = notes.repairs(repairs);
  if (!sameTarget(observed, targetOf(spec))) return events.retargeted(spec, observed, repairNote);
  if (verdict.event !== undefined) return verdict.event;
  if (token.rotatedTo !== undefined)
    return {
      type: 'Normal',
      reason: 'TokenRotated',
      message: tokenRotatedMessage(s, token.rotatedTo, username) + repairNote,
    };
  if (rotation.source !== undefined)
    return {
      type: 'Normal',
      reason: 'PasswordRotated',
      message: passwordRotatedMessage(s, username, rotation.source) + repairNote,
    };
  if (repairs.length === 0) return undefined;
  const transition = previousReady(facts)?.reason !== verdict.reason;
  return transition
    ? { type: 'Normal', reason: verdict.reason, message: message + repairNote }
    : events.repaired(spec, repairs);
}

/** Ready with the credentials InfluxDB accepted: the verdict the setup or adoption phase settled, shown with all the others found. */
export function ready(s: Situation): Finish {
  const { facts, spec } = s;
  const { verdict } = settled(s, setupOrAdoption);
  const status = facts.resource.status ?? {};
  const observed: CredentialsTarget = {
    ...(status.observedURL !== undefined && { url: status.observedURL }),
    ...(status.observedTLS !== undefined && { tls: status.observedTLS }),
  };
  const message = verdict.message + notes.username(spec, settled(s, passwordRotation).credentials.username);
  const event = readyEvent(s, message, observed);
  return finish(facts, { ...verdict, message, fields: readyFields(s), ...(event && { event }) });
}
