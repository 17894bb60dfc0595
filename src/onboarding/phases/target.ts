// Target binding: credentials are used only with the instance (URL and TLS settings) they belong
// to. A move to another target needs the approval of whoever may edit the credentials Secret, and
// goes ahead only where the instance accepts their token; without a Secret to approve on, the
// credentials are first written back into it, bound to where they belong.
import type { CredentialsSecret, CredentialsTarget } from '../../api/credentials.js';
import { sameInstance } from '../../api/instance-identity.js';
import { RETARGET_ANNOTATION, Reason, type EffectiveSpec } from '../../api/types.js';
import type { InfluxFailure } from '../../influx/index.js';
import { NONE } from '../../runtime/index.js';
import type { Finish, Step } from '../step.js';
import { desiredSecret, targetOf } from './secret-data.js';
import { failureText, finish, nextCheck, type Situation, type Verdict } from './situation.js';

// The reason this concern ends with, and its messages.
const verdicts = {
  /** Moved without approval: nothing is sent to the new target. */
  changed: (spec: EffectiveSpec, bound: CredentialsTarget): Verdict => {
    const wanted = targetOf(spec);
    const name = spec.credentialsSecretName;
    const urlMoved = bound.url !== undefined && !sameInstance(bound.url, wanted.url);
    const created = urlMoved ? `for ${bound.url}` : `with TLS settings ${bound.tls}`;
    const named = urlMoved ? spec.url : `TLS settings ${wanted.tls}`;
    return {
      reason: Reason.TargetChanged,
      message: `The credentials in Secret ${name} were created ${created}, but this resource now names ${named}; nothing is sent there. If it is the same instance, annotate Secret ${name} with ${RETARGET_ANNOTATION}=${spec.url} to move them (their token is checked there first); to onboard a different instance, delete this resource and create it again with a new spec.credentialsSecret.name`,
      requeue: NONE,
      fields: {
        ...(bound.url !== undefined && { observedURL: bound.url }),
        ...(bound.tls !== undefined && { observedTLS: bound.tls }),
      },
    };
  },
  /** An approved move found no instance set up at the new URL: waiting for it to be restored there. */
  notSetUp: (s: Situation): Verdict => ({
    reason: Reason.TargetChanged,
    message: `InfluxDB at ${s.spec.url} is not set up, so it is not the instance the credentials in Secret ${s.spec.credentialsSecretName} belong to; nothing was sent to it. Restore that instance there, or delete this resource and create it again with a new spec.credentialsSecret.name to onboard this one`,
    requeue: nextCheck(s.facts),
  }),
  /** An approved move found an instance that rejects their token. */
  tokenRejected: (spec: EffectiveSpec, failure: InfluxFailure): Verdict => ({
    reason: Reason.TargetChanged,
    message: `InfluxDB at ${spec.url} rejected the operator token (${failureText(failure)}), so it is not the instance the credentials in Secret ${spec.credentialsSecretName} belong to; the Secret was left as it is`,
    requeue: NONE,
  }),
};

/** Whoever may edit the credentials Secret (and so could read its token anyway) approved moving it to spec.url. */
function retargetApproved(secret: CredentialsSecret, spec: EffectiveSpec): boolean {
  return secret.state === 'owned' && secret.retargetTo !== undefined && sameInstance(secret.retargetTo, spec.url);
}

/**
 * The credentials belong to the target the spec names, or their move there is approved. Otherwise
 * no request at all is sent (not even an unauthenticated one, so the new address learns nothing).
 * A Secret gone meanwhile took any approval with it: the credentials are written back as they
 * were, bound to the instance they belong to, so that there is a Secret to approve the move on
 * again (and an application that reads it finds where they work).
 */
export function targetBound(s: Situation): Step | undefined {
  const { facts, spec, bound, inSecret } = s;
  if (!s.moving || bound === undefined) return undefined;
  if (inSecret === undefined) {
    const secret = desiredSecret(spec, bound.credentials, {}, bound.target);
    return { kind: 'writeSecret', secret, credentials: bound.credentials };
  }
  if (retargetApproved(facts.secret, spec)) return undefined;
  return finish(facts, verdicts.changed(spec, bound.target));
}

/**
 * An approved move goes ahead only when the instance at the new target is the one the credentials
 * belong to: set up already, and accepting their token (checked by the setup or adoption phase).
 */
export function retargetVerified(s: Situation): Finish | undefined {
  const { facts, spec } = s;
  if (!s.moving || !facts.setupStatus?.ok) return undefined;
  if (facts.setupStatus.value.allowed) return finish(facts, verdicts.notSetUp(s));
  const check = facts.tokenCheck;
  if (check === undefined || check.ok || check.failure.kind !== 'rejected') return undefined;
  return finish(facts, verdicts.tokenRejected(spec, check.failure));
}
