// The drift check: a resource that is Ready and unchanged since its last full check is proven with
// ONE request instead of the whole check.
import type { Credentials } from '../../api/credentials.js';
import type { Reason } from '../../api/types.js';
import type { Step } from '../step.js';
import { passwordCheckDue, passwordRotationDue } from './password.js';
import { desiredSecret, secretMatches } from './secret-data.js';
import { finish, isSuccess, nextCheck, previousReady, type Situation } from './situation.js';
import { tokenRotationDue } from './token.js';

/** Day-two work the one-request check cannot do: a rotation asked for or half done (or not yet in status), a sign-in check due. */
function dayTwoDue(s: Situation, credentials: Credentials): boolean {
  const { facts } = s;
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  if (secret === undefined || secret.pendingPassword !== undefined || secret.replacedAuthorization !== undefined)
    return true;
  // A status write lost after a rotation: the full check records the Secret's authorization again.
  if (secret.authorizationID !== undefined && secret.authorizationID !== facts.resource.status?.authorizationID)
    return true;
  if (passwordRotationDue(s) !== undefined || tokenRotationDue(s) !== undefined) return true;
  return passwordCheckDue(facts, credentials);
}

/**
 * The bucket to check when the one-request check can stand for the full one: Ready, same
 * generation, the Secret holding what a full check would leave in it; else undefined.
 */
function bucketToCheck(s: Situation): string | undefined {
  const { facts, spec, inSecret, credentials } = s;
  const previous = previousReady(facts);
  const status = facts.resource.status ?? {};
  if (s.moving || inSecret === undefined || previous?.status !== 'True' || !isSuccess(previous.reason))
    return undefined;
  if (dayTwoDue(s, credentials) || status.observedGeneration !== facts.resource.metadata.generation) return undefined;
  if (status.orgID === undefined) return undefined;
  const held = desiredSecret(spec, { ...credentials, username: inSecret.credentials.username });
  return secretMatches(facts.secret, held) ? status.bucketID : undefined;
}

/**
 * GET /api/v2/buckets/{bucketID} with the Secret's token proves what Ready promises: the token
 * works (a deleted or inactive one gets 401), the bucket exists in the org recorded in status (a
 * deleted org takes its buckets with it) under its declared name and retention, and the version
 * in the answer's header is the one recorded. Ready again when it does; otherwise (a failure, any
 * difference, or not eligible) the full check runs: undefined.
 */
export function driftCheck(s: Situation): Step | undefined {
  const { facts, spec, credentials } = s;
  const bucketID = facts.setupStatus === undefined ? bucketToCheck(s) : undefined;
  if (bucketID === undefined) return undefined;
  const status = facts.resource.status ?? {};
  const check = facts.bucketCheck;
  if (check === undefined) return { kind: 'checkBucket', token: credentials.token, bucketID };
  if (!check.ok) return undefined;
  const bucket = check.value;
  const holds =
    bucket.name === spec.bucket &&
    bucket.orgID === status.orgID &&
    bucket.retentionSeconds === spec.retentionPeriodSeconds &&
    bucket.version === status.influxdbVersion;
  const previous = previousReady(facts);
  if (!holds || previous === undefined) return undefined;
  return finish(facts, { reason: previous.reason as Reason, message: previous.message, requeue: nextCheck(facts) });
}
