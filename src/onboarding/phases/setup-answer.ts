// What both setup modes share: the request and the Secret written before it, the setup's answer,
// and how accepted credentials are reported (Onboarded or Adopted).
import type { Credentials } from '../../api/credentials.js';
import { Reason, type EffectiveSpec } from '../../api/types.js';
import type { InfluxFailure, SetupRequest } from '../../influx/index.js';
import { BACKOFF, NONE } from '../../runtime/index.js';
import type { Facts } from '../facts.js';
import type { Finish, Step } from '../step.js';
import { desiredSecret, type RotationRecord } from './secret-data.js';
import {
  failureText,
  finish,
  isSuccess,
  nextCheck,
  notReached,
  passwordRotationRequested,
  previousReady,
  referencedValue,
  tokenRotationRequested,
  type Situation,
  type Verdict,
} from './situation.js';

/** Credentials InfluxDB accepted, and the verdict the rest of the decision reports them with once all else holds. */
export interface Accepted {
  credentials: Credentials;
  verdict: Verdict;
}

export const UNTIL_SPEC_CHANGES =
  'The same request would get the same answer: nothing is sent again until the spec changes';

// The reasons a setup's answer ends with, and their messages.
const verdicts = {
  onboarded: (facts: Facts, spec: EffectiveSpec, reonboarding: boolean, fields: Verdict['fields']): Verdict => ({
    reason: Reason.Onboarded,
    message: successMessage(Reason.Onboarded, spec),
    requeue: nextCheck(facts),
    fields,
    ...(reonboarding && {
      event: {
        type: 'Normal' as const,
        reason: 'Reonboarded',
        message: `InfluxDB at ${spec.url} was found fresh and set up again with the same credentials`,
      },
    }),
  }),
  setupRefused: (spec: EffectiveSpec, failure: InfluxFailure): Verdict => ({
    reason: Reason.SetupFailed,
    message: `InfluxDB at ${spec.url} refused the setup: ${failureText(failure)}. ${UNTIL_SPEC_CHANGES}`,
    requeue: NONE,
  }),
  conflictWithoutRace: (spec: EffectiveSpec, failure: InfluxFailure): Verdict => ({
    reason: Reason.SetupFailed,
    message: `InfluxDB at ${spec.url} refused the setup (${failureText(failure)}) but still reports that it is not set up, so it was not a race with another client. ${UNTIL_SPEC_CHANGES}`,
    requeue: NONE,
  }),
  // A race: the next round sees who set it up, as soon as the rate limiter lets it.
  setUpMeanwhile: (spec: EffectiveSpec): Verdict => ({
    reason: Reason.Progressing,
    message: `InfluxDB at ${spec.url} was set up by another client while this one tried; checking again`,
    requeue: BACKOFF,
  }),
};

export function successMessage(reason: Reason, spec: EffectiveSpec): string {
  return reason === Reason.Adopted
    ? `Adopted InfluxDB at ${spec.url} with the token from Secret ${spec.tokenSecretRef?.name}; credentials are in Secret ${spec.credentialsSecretName}`
    : `InfluxDB at ${spec.url} is onboarded; credentials are in Secret ${spec.credentialsSecretName}`;
}

/**
 * The reason a working token is reported with: kept once Ready, else how the token was obtained.
 * Credentials this very reconcile wrote do not count as known before: only what the Secret (or
 * memory) held when it began tells an earlier setup of ours from an adoption.
 */
export function successReason(s: Situation): Reason {
  const { facts } = s;
  const previous = previousReady(facts);
  if (previous && isSuccess(previous.reason)) return previous.reason;
  // After a failed check: status remembers how the instance was obtained.
  const adopted = facts.resource.status?.adopted;
  if (adopted !== undefined) return adopted ? Reason.Adopted : Reason.Onboarded;
  const knownBefore = facts.secretWritten ? facts.remembered?.credentials : s.bound?.credentials;
  return knownBefore === undefined && referencedValue(facts.references.token) !== undefined
    ? Reason.Adopted
    : Reason.Onboarded;
}

/** Credentials fit to send: a setup request needs a password, so an unknown one is generated. */
export function postable(facts: Facts, credentials: Credentials): Credentials {
  return credentials.password === '' ? { ...credentials, password: facts.generated.password } : credentials;
}

export function setupRequest(spec: EffectiveSpec, credentials: Credentials): SetupRequest {
  return {
    ...credentials,
    org: spec.org,
    bucket: spec.bucket,
    retentionPeriodSeconds: spec.retentionPeriodSeconds,
  };
}

/**
 * What the Secret records before a setup request. A Secret created now holds credentials nobody
 * asked to rotate yet: the resource's rotate-password and rotate-token values at that moment count
 * as handled. An existing Secret keeps its requests handled, but the authorizations it names are
 * from before the instance was (found) fresh: they are forgotten, so that none is ever deleted
 * under an ID the new setup may have given to another one.
 */
export function initialRotationRecord(facts: Facts): RotationRecord {
  if (facts.secret.state === 'owned') {
    const { authorizationID, replacedAuthorization } = facts.secret;
    return {
      ...(authorizationID !== undefined && { authorizationID: null }),
      ...(replacedAuthorization !== undefined && { replacedAuthorization: null }),
    };
  }
  const password = passwordRotationRequested(facts);
  const token = tokenRotationRequested(facts);
  return {
    ...(password !== undefined && { passwordRotation: password }),
    ...(token !== undefined && { tokenRotation: token }),
  };
}

/**
 * InfluxDB refused this generation's request for good (SetupFailed) or has no such route
 * (Unsupported): asking again before the spec changes would get the same answer, and every event
 * on the resource would send one more request.
 */
export function refusedBefore(facts: Facts, reasons: readonly Reason[]): Finish | undefined {
  const previous = previousReady(facts);
  const { status, metadata } = facts.resource;
  if (
    previous === undefined ||
    !(reasons as readonly string[]).includes(previous.reason) ||
    status?.observedGeneration !== metadata.generation
  )
    return undefined;
  return finish(facts, { reason: previous.reason as Reason, message: previous.message, requeue: NONE });
}

/** The setup's answer: the credentials it was sent are accepted, or it ends the decision. */
export function afterSetupAnswer(s: Situation, credentials: Credentials, reonboarding: boolean): Step | Accepted {
  const { facts, spec } = s;
  const answer = facts.setupAnswer;
  if (answer === undefined) throw new Error('afterSetupAnswer needs a setup answer');
  if (answer.ok) {
    const { userID, orgID, bucketID, authorizationID } = answer.value;
    const fields = { userID, orgID, bucketID, authorizationID, onboardedAt: facts.now };
    return { credentials, verdict: verdicts.onboarded(facts, spec, reonboarding, fields) };
  }
  const failure = answer.failure;
  if (failure.kind !== 'rejected') return notReached(s, failure);
  // InfluxDB answered: the setup ended, whatever it made; what follows is its refusal, not a cut.
  if (facts.secret.state === 'owned' && facts.secret.setupSentAt !== undefined)
    return { kind: 'writeSecret', secret: desiredSecret(spec, credentials, { setupSentAt: null }), credentials };
  if (failure.code === 'conflict') return afterSetupConflict(s, failure);
  return finish(facts, verdicts.setupRefused(spec, failure));
}

/**
 * A setup answered `conflict`. Usually someone set the instance up between our check and our
 * request, and the next round sees who. But an instance that still says it is not set up refused
 * for another reason that posting again will not change (e.g. something in front of InfluxDB):
 * that waits for a spec change like any other refusal.
 */
function afterSetupConflict(s: Situation, failure: InfluxFailure): Step {
  const { facts, spec } = s;
  const recheck = facts.setupRecheck;
  if (recheck === undefined) return { kind: 'recheckSetupStatus' };
  if (!recheck.ok) return notReached(s, recheck.failure);
  return finish(
    facts,
    recheck.value.allowed ? verdicts.conflictWithoutRace(spec, failure) : verdicts.setUpMeanwhile(spec),
  );
}
