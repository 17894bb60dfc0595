// Mode Setup: a fresh instance is set up with the credentials the Secret holds first; an instance
// set up before is reached with a token that works there (the Secret's, or one to adopt).
import { Reason } from '../../api/types.js';
import type { InfluxFailure } from '../../influx/index.js';
import type { Step } from '../step.js';
import { desiredSecret, secretMatches } from './secret-data.js';
import {
  afterSetupAnswer,
  initialRotationRecord,
  postable,
  refusedBefore,
  setupRequest,
  successMessage,
  successReason,
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
  instanceReset: (s: Situation): Verdict => ({
    reason: Reason.InstanceReset,
    message: `InfluxDB at ${s.spec.url} is not set up any more (its data was probably lost); resetPolicy Report leaves it alone. Set resetPolicy to Reonboard to set it up again with the credentials in Secret ${s.spec.credentialsSecretName}`,
    requeue: nextCheck(s.facts),
  }),
  // Waiting for a person to give the token (spec.tokenSecretRef, or the Secret restored): looked at
  // again when the resource or a Secret it names changes, and at the next drift check.
  noTokenKnown: (s: Situation, onboardedBefore: boolean): Verdict => ({
    reason: Reason.AlreadyOnboarded,
    message: onboardedBefore
      ? `InfluxDB at ${s.spec.url} was set up by this resource, but Secret ${s.spec.credentialsSecretName} is gone and the operator no longer knows the token. Restore the Secret, or put the operator token in a Secret and set spec.tokenSecretRef`
      : `InfluxDB at ${s.spec.url} was already set up and no token for it is known. To adopt it, put its operator token in a Secret and set spec.tokenSecretRef`,
    requeue: nextCheck(s.facts),
  }),
  tokenNeverWorked: (s: Situation, failure: InfluxFailure): Verdict => ({
    reason: Reason.AlreadyOnboarded,
    message: `InfluxDB at ${s.spec.url} was already set up and rejected the token from ${s.spec.tokenSecretRef ? `Secret ${s.spec.tokenSecretRef.name}` : `Secret ${s.spec.credentialsSecretName}`} (${failureText(failure)}). Put its operator token in a Secret and set spec.tokenSecretRef`,
    requeue: nextCheck(s.facts),
  }),
  /**
   * The setup this resource sent got no answer, and the instance is now set up without the token
   * it was to make: InfluxDB's setup is several writes (user, password, org, its buckets, the
   * owner mapping, the bucket, the token last), each its own transaction, and a stop between two
   * leaves the ones before. Nothing the Secret holds can finish it: a session of the user holds at
   * most the org's owner permissions, and InfluxDB grants no permission its requester lacks.
   */
  setupInterrupted: (s: Situation, sentAt: string, failure: InfluxFailure): Verdict => ({
    reason: Reason.SetupInterrupted,
    message: `InfluxDB at ${s.spec.url} is set up but rejects the token in Secret ${s.spec.credentialsSecretName} (${failureText(failure)}): the setup this resource sent at ${sentAt} got no answer, and InfluxDB stopped before it made the token (its setup is several separate writes). The Secret keeps the username, password and token that were sent. To finish: wipe the instance's data (it was fresh before this setup) and the operator sets it up again with them; or, only if \`influxd recovery org list\` shows org ${s.spec.org}, stop influxd, run \`influxd recovery auth create-operator --org ${s.spec.org} --username ${s.spec.username}\`, start it, and put the token it prints in a Secret named by spec.tokenSecretRef`,
    requeue: nextCheck(s.facts),
  }),
  /**
   * A token that worked once was rejected. A new one from spec.tokenSecretRef is only ever written
   * to the Secret once accepted, so the Secret may still hold the previous one: the message says
   * which token was rejected.
   */
  tokenInvalid: (s: Situation, replacing: boolean, failure: InfluxFailure): Verdict => ({
    reason: Reason.TokenInvalid,
    message: replacing
      ? `InfluxDB at ${s.spec.url} rejected the token from Secret ${s.spec.tokenSecretRef?.name} (${failureText(failure)}), so it did not replace the token in Secret ${s.spec.credentialsSecretName}. Put a valid operator token of this instance there`
      : `InfluxDB at ${s.spec.url} rejected the token in Secret ${s.spec.credentialsSecretName} (${failureText(failure)}); it was revoked or the instance was replaced. Put a valid operator token in spec.tokenSecretRef`,
    requeue: nextCheck(s.facts),
  }),
};

/** Mode Setup: the setup of a fresh instance, or the token check of one set up before. */
export function setupMode(s: Situation): Step | Accepted {
  const allowed = s.facts.setupStatus?.ok === true && s.facts.setupStatus.value.allowed;
  return allowed ? freshInstance(s) : setUpInstance(s);
}

/**
 * The instance is not set up. The Secret must hold exactly what the request sends before the
 * request can be sent: the response is the only copy of the token that InfluxDB will ever give out.
 */
function freshInstance(s: Situation): Step | Accepted {
  const { facts, spec, credentials } = s;
  const onboardedBefore = facts.resource.status?.onboardedAt !== undefined;
  if (facts.setupAnswer !== undefined) return afterSetupAnswer(s, credentials, onboardedBefore);
  const refused = refusedBefore(facts, [Reason.SetupFailed]);
  if (refused !== undefined) return refused;
  if (onboardedBefore && spec.resetPolicy === 'Report') return finish(facts, verdicts.instanceReset(s));
  const toSend = postable(facts, credentials);
  const sentAt = (facts.secret.state === 'owned' && facts.secret.setupSentAt) || facts.now;
  const secret = desiredSecret(spec, toSend, { ...initialRotationRecord(facts), setupSentAt: sentAt });
  if (!secretMatches(facts.secret, secret)) return { kind: 'writeSecret', secret, credentials: toSend };
  return { kind: 'postSetup', request: setupRequest(spec, toSend) };
}

/** The instance is set up: a known (or referenced) token must work there. */
function setUpInstance(s: Situation): Step | Accepted {
  const { facts, spec, credentials } = s;
  const known = s.bound?.credentials;
  const onboardedBefore = facts.resource.status?.onboardedAt !== undefined;
  if (known === undefined && referencedValue(facts.references.token) === undefined)
    return finish(facts, verdicts.noTokenKnown(s, onboardedBefore));
  if (facts.tokenCheck === undefined) return { kind: 'checkToken', token: credentials.token };
  if (facts.tokenCheck.ok) {
    const reason = successReason(s);
    return { credentials, verdict: { reason, message: successMessage(reason, spec), requeue: nextCheck(facts) } };
  }
  const failure = facts.tokenCheck.failure;
  if (failure.kind !== 'rejected') return notReached(s, failure);
  const sentAt = facts.secret.state === 'owned' ? facts.secret.setupSentAt : undefined;
  if (sentAt !== undefined) return finish(facts, verdicts.setupInterrupted(s, sentAt, failure));
  // Only a token that once worked can have been revoked; one that never did means someone else
  // set the instance up first.
  if (!onboardedBefore) return finish(facts, verdicts.tokenNeverWorked(s, failure));
  const replacing = spec.tokenSecretRef !== undefined && known !== undefined && known.token !== credentials.token;
  return finish(facts, verdicts.tokenInvalid(s, replacing, failure));
}
