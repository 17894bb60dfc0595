// Mode SetupUser: a user, org and bucket added to an instance that is set up already, through
// /api/v2/setup/user with the token from spec.authTokenSecretRef (InfluxDB Cloud and OSS 2.0).
import { Reason, type EffectiveSpec } from '../../api/types.js';
import type { InfluxFailure } from '../../influx/index.js';
import { NONE } from '../../runtime/index.js';
import type { Step } from '../step.js';
import { desiredSecret, secretMatches } from './secret-data.js';
import {
  afterSetupAnswer,
  initialRotationRecord,
  postable,
  refusedBefore,
  setupRequest,
  successMessage,
  UNTIL_SPEC_CHANGES,
  type Accepted,
} from './setup-answer.js';
import {
  failureText,
  finish,
  nextCheck,
  notReached,
  referencedValue,
  type Situation,
  type Verdict,
} from './situation.js';

// The reasons this mode ends with, and their messages.
const verdicts = {
  // Waiting for someone else to set the instance up: asked again at the next drift check.
  notSetUpYet: (s: Situation): Verdict => ({
    reason: Reason.Progressing,
    message: `InfluxDB at ${s.spec.url} is not set up yet; mode SetupUser adds a user to an instance that is already set up`,
    requeue: nextCheck(s.facts),
  }),
  // Waiting for a person to give a valid token.
  tokenInvalid: (s: Situation, failure: InfluxFailure): Verdict => ({
    reason: Reason.TokenInvalid,
    message: `InfluxDB at ${s.spec.url} rejected the token in Secret ${s.spec.credentialsSecretName} (${failureText(failure)}); it was revoked or the instance was replaced`,
    requeue: nextCheck(s.facts),
  }),
  unsupported: (spec: EffectiveSpec, failure: Extract<InfluxFailure, { kind: 'rejected' }>): Verdict => {
    const refused = failure.status === 401 ? 'refused the token from spec.authTokenSecretRef for' : 'does not offer';
    return {
      reason: Reason.Unsupported,
      message: `InfluxDB at ${spec.url} ${refused} /api/v2/setup/user (${failureText(failure)}); OSS removed that route in v2.1. Use mode Setup on a fresh instance`,
      requeue: NONE,
    };
  },
  // Not a race as in mode Setup: the instance is set up, and a user, org or bucket of these names
  // exists on it. Posting again would get the same answer.
  namesTaken: (spec: EffectiveSpec, failure: InfluxFailure): Verdict => ({
    reason: Reason.SetupFailed,
    message: `InfluxDB at ${spec.url} refused to add user ${spec.username}, org ${spec.org} and bucket ${spec.bucket}: ${failureText(failure)}; that name exists on the instance already. Choose other names in the spec. ${UNTIL_SPEC_CHANGES}`,
    requeue: NONE,
  }),
};

/** Mode SetupUser: the known credentials' token check, else the user, org and bucket added with the Secret written first. */
export function setupUserMode(s: Situation): Step | Accepted {
  const { facts, spec } = s;
  if (facts.setupStatus?.ok === true && facts.setupStatus.value.allowed) return finish(facts, verdicts.notSetUpYet(s));
  const refused = refusedBefore(facts, [Reason.Unsupported, Reason.SetupFailed]);
  if (refused !== undefined) return refused;
  if (facts.setupAnswer === undefined && s.bound !== undefined) {
    const known = knownTokenWorks(s);
    // undefined: not onboarded yet, so the Secret was written before a request that never arrived.
    if (known !== undefined) return known;
  }
  const toSend = postable(facts, s.credentials);
  if (facts.setupAnswer === undefined) {
    const secret = desiredSecret(spec, toSend, initialRotationRecord(facts));
    if (!secretMatches(facts.secret, secret)) return { kind: 'writeSecret', secret, credentials: toSend };
    const authToken = referencedValue(facts.references.authToken) ?? '';
    return { kind: 'postSetupUser', request: setupRequest(spec, toSend), authToken };
  }
  const answer = facts.setupAnswer;
  if (!answer.ok && answer.failure.kind === 'rejected') {
    if ([401, 404, 405].includes(answer.failure.status))
      return finish(facts, verdicts.unsupported(spec, answer.failure));
    if (answer.failure.code === 'conflict') return finish(facts, verdicts.namesTaken(spec, answer.failure));
  }
  return afterSetupAnswer(s, toSend, false);
}

/** Known credentials are checked; undefined when their token was rejected before this resource ever onboarded. */
function knownTokenWorks(s: Situation): Step | Accepted | undefined {
  const { facts, spec, credentials } = s;
  if (facts.tokenCheck === undefined) return { kind: 'checkToken', token: credentials.token };
  if (facts.tokenCheck.ok) {
    const verdict = {
      reason: Reason.Onboarded,
      message: successMessage(Reason.Onboarded, spec),
      requeue: nextCheck(facts),
    };
    return { credentials, verdict };
  }
  const failure = facts.tokenCheck.failure;
  if (failure.kind !== 'rejected') return notReached(s, failure);
  const onboardedBefore = facts.resource.status?.onboardedAt !== undefined;
  return onboardedBefore ? finish(facts, verdicts.tokenInvalid(s, failure)) : undefined;
}
