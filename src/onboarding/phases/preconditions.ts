// Preconditions: what must hold before anything is sent anywhere. The spec is valid, the instance
// belongs to the resource's namespace (or lets it in), no other resource onboards the instance,
// every referenced Secret is readable, consents to spec.url and holds a usable value, the
// credentials Secret is the operator's own, and an escrow copy it would get is approved for it.
import { passwordProblem, tokenProblem, type Reference } from '../../api/credentials.js';
import { sameInstance } from '../../api/instance-identity.js';
import {
  ALLOWED_URLS_ANNOTATION,
  ESCROW_APPROVED_ANNOTATION,
  Reason,
  type EffectiveSpec,
  type SecretKeySelector,
} from '../../api/types.js';
import { NONE } from '../../runtime/index.js';
import type { Facts } from '../facts.js';
import type { Finish } from '../step.js';
import { finish, nextCheck, referencedValue, type Situation, type Verdict } from './situation.js';

// The reasons this concern ends with, and their messages. All but an invalid spec wait for
// something outside the resource (a Secret, another resource): they are looked at again when it
// changes, and at the next drift check; none is a failure to retry.
const verdicts = {
  invalidSpec: (problems: readonly string[]): Verdict => ({
    reason: Reason.InvalidSpec,
    message: problems.join('; '),
    requeue: NONE,
  }),
  // instance.ts words it: who owns the instance and how consent is given. Woken by the Service.
  notPermitted: (refusal: string): Verdict => ({ reason: Reason.NotPermitted, message: refusal, requeue: NONE }),
  // The command comes last, with nothing after it, so that it can be copied as it is.
  escrowApprovalRequired: (s: Situation, escrow: { namespace: string; name: string }): Verdict => {
    const { uid } = s.facts.resource.metadata;
    return {
      reason: Reason.EscrowApprovalRequired,
      message: `Secret ${s.spec.credentialsSecretName} is absent and the credentials escrow holds a copy taken from an earlier InfluxOnboarding of this name, not from this one (uid ${uid}); nothing from it is used and nothing is sent to ${s.spec.url} until an administrator of namespace ${escrow.namespace} approves this resource (or, to start afresh, deletes the escrow Secret). Checked again in ${Math.round(s.facts.driftCheckIntervalMs / 1000)} s, when the escrow Secret changes, or when this resource does. To approve: kubectl annotate secret -n ${escrow.namespace} ${escrow.name} ${ESCROW_APPROVED_ANNOTATION}=${uid}`,
      requeue: nextCheck(s.facts),
    };
  },
  duplicateTarget: (s: Situation, holder: string): Verdict => ({
    reason: Reason.DuplicateTarget,
    message: `InfluxOnboarding ${holder} already onboards ${s.spec.url}; the resource that onboarded it first, else the older one, keeps it`,
    requeue: nextCheck(s.facts),
  }),
  secretNotFound: (s: Situation, problems: readonly string[]): Verdict => ({
    reason: Reason.SecretNotFound,
    message: problems.join('; '),
    requeue: nextCheck(s.facts),
  }),
  secretNotPermitted: (s: Situation, problems: readonly string[]): Verdict => ({
    reason: Reason.SecretNotPermitted,
    message: problems.join('; '),
    requeue: nextCheck(s.facts),
  }),
  // The referenced Secret can be fixed without touching the resource.
  invalidReferencedValue: (s: Situation, problems: readonly string[]): Verdict => ({
    reason: Reason.InvalidSpec,
    message: problems.join('; '),
    requeue: nextCheck(s.facts),
  }),
  secretConflict: (s: Situation): Verdict => ({
    reason: Reason.SecretConflict,
    message: `Secret ${s.spec.credentialsSecretName} exists and was not created for this InfluxOnboarding; it is never overwritten. Delete or rename it, or set spec.credentialsSecret.name`,
    requeue: nextCheck(s.facts),
  }),
};
// The problems those messages join, one per Secret or value.
const problems = {
  notRead: 'a referenced Secret was not read',
  notSent: (spec: EffectiveSpec, selector: SecretKeySelector, allowedUrls: readonly string[]): string => {
    const allowed = allowedUrls.length === 0 ? 'no URL' : `only ${allowedUrls.join(', ')}`;
    return `Secret ${selector.name} allows ${allowed} in its annotation ${ALLOWED_URLS_ANNOTATION}, so nothing from it is sent to ${spec.url}; add that URL to the annotation if it may go there`;
  },
  // What is wrong with a referenced value, as passwordProblem and tokenProblem say.
  invalidValue: (selector: SecretKeySelector | undefined, problem: string): string => `${where(selector)}: ${problem}`,
};
const where = (selector: SecretKeySelector | undefined): string => `Secret ${selector?.name} key ${selector?.key}`;

/** The spec breaks a rule: nothing happens until it changes. */
export function invalidSpec(facts: Facts, problems: readonly string[]): Finish {
  return finish(facts, verdicts.invalidSpec(problems));
}

/**
 * The instance spec.url reaches belongs to the resource's namespace, or lets it in
 * (onboarding/instance.ts): otherwise nothing at all is sent to it, and nothing is tried again
 * until the spec, the Service or the operator's flags change.
 */
export function instanceOwned(s: Situation): Finish | undefined {
  const refusal = s.facts.notPermitted;
  return refusal === undefined ? undefined : finish(s.facts, verdicts.notPermitted(refusal));
}

/**
 * Escrow is break-glass, not inheritance: a copy taken from another resource of this name (another
 * UID) is used only once an administrator of the escrow namespace approves this UID, and until then
 * nothing is sent to InfluxDB either (a fresh setup would replace the copy with new credentials).
 */
export function escrowApproved(s: Situation): Finish | undefined {
  const escrow = s.facts.escrowApprovalNeeded;
  return escrow === undefined ? undefined : finish(s.facts, verdicts.escrowApprovalRequired(s, escrow));
}

/** No older resource (or the one that onboarded it) sets up the same instance. */
export function soleTarget(s: Situation): Finish | undefined {
  const holder = s.facts.duplicateOf;
  return holder === undefined ? undefined : finish(s.facts, verdicts.duplicateTarget(s, holder));
}

/** Every Secret the spec references could be read, with its key. */
export function referencesFound(s: Situation): Finish | undefined {
  const { facts, spec } = s;
  const wanted: Array<[Reference | undefined, boolean]> = [
    [facts.references.password, spec.passwordSecretRef !== undefined],
    [facts.references.token, spec.tokenSecretRef !== undefined],
    [facts.references.authToken, spec.authTokenSecretRef !== undefined],
    [facts.references.ca, spec.caSecretRef !== undefined],
  ];
  const missing = wanted.flatMap(([reference, needed]) =>
    !needed ? [] : reference === undefined ? [problems.notRead] : reference.found ? [] : [reference.problem],
  );
  return missing.length === 0 ? undefined : finish(facts, verdicts.secretNotFound(s, missing));
}

/**
 * Referenced credentials go only where their Secret says they may: its allowed-urls annotation
 * must name spec.url. Otherwise anyone allowed to edit the resource could have a token or
 * password they cannot read sent to a server of their choosing.
 */
export function referencesConsent(s: Situation): Finish | undefined {
  const { facts, spec } = s;
  if (!facts.requireSecretConsent) return undefined;
  const sent: Array<[Reference | undefined, SecretKeySelector | undefined]> = [
    [facts.references.password, spec.passwordSecretRef],
    [facts.references.token, spec.tokenSecretRef],
    [facts.references.authToken, spec.authTokenSecretRef],
  ];
  const refused = sent.flatMap(([reference, selector]) =>
    selector === undefined || !reference?.found || reference.allowedUrls.some((url) => sameInstance(url, spec.url))
      ? []
      : [problems.notSent(spec, selector, reference.allowedUrls)],
  );
  // Password and token often share one Secret: one problem each.
  return refused.length === 0 ? undefined : finish(facts, verdicts.secretNotPermitted(s, [...new Set(refused)]));
}

/** The referenced password fits InfluxDB's limits and the referenced tokens can travel in a header. */
export function referencedValuesValid(s: Situation): Finish | undefined {
  const { facts, spec } = s;
  const checks: Array<[string | undefined, SecretKeySelector | undefined, (value: string) => string | undefined]> = [
    [referencedValue(facts.references.password), spec.passwordSecretRef, passwordProblem],
    [referencedValue(facts.references.token), spec.tokenSecretRef, tokenProblem],
    [referencedValue(facts.references.authToken), spec.authTokenSecretRef, tokenProblem],
  ];
  const invalid = checks.flatMap(([value, selector, check]) => {
    const problem = value === undefined ? undefined : check(value);
    return problem === undefined ? [] : [problems.invalidValue(selector, problem)];
  });
  return invalid.length === 0 ? undefined : finish(facts, verdicts.invalidReferencedValue(s, invalid));
}

/** The credentials Secret is absent or the operator's own for this resource: a foreign one is never written. */
export function secretOurs(s: Situation): Finish | undefined {
  return s.facts.secret.state === 'foreign' ? finish(s.facts, verdicts.secretConflict(s)) : undefined;
}
