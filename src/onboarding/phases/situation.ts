// What every phase of the onboarding decision reads (the Situation: the facts, the checked spec,
// the credentials in play), how a phase ends the decision (finish), the reasons any phase that asks
// InfluxDB may end with, and the machinery that runs phases and hands what one settled to the next.
import type { Credentials, Reference } from '../../api/credentials.js';
import { readyFinish, type Readiness, type Verdict as ReadyVerdict } from '../../api/reconcile.js';
import {
  ONBOARD_FROM_ANNOTATION,
  READY,
  ROTATE_PASSWORD_ANNOTATION,
  ROTATE_TOKEN_ANNOTATION,
  Reason,
  type Condition,
  type EffectiveSpec,
  type InfluxOnboardingStatus,
} from '../../api/types.js';
import type { InfluxFailure } from '../../influx/index.js';
import { after, BACKOFF, NONE, type Requeue } from '../../runtime/index.js';
import type { BoundCredentials, Facts } from '../facts.js';
import type { Finish, Step } from '../step.js';
import { credentialsIn, sameTarget, targetOf } from './secret-data.js';

/** What every phase decides from: the facts, the spec with its defaults, and the credentials in play. */
export interface Situation {
  facts: Facts;
  spec: EffectiveSpec;
  /** The credentials the Secret holds, with the instance they belong to. */
  inSecret: BoundCredentials | undefined;
  /** The Secret's credentials, else those this process remembers, with their instance. */
  bound: BoundCredentials | undefined;
  /** The credentials to use: referenced ones first, then known ones, then generated ones. */
  credentials: Credentials;
  /** The known credentials belong to another instance than the spec names. */
  moving: boolean;
}

export function situation(facts: Facts, spec: EffectiveSpec): Situation {
  const inSecret = credentialsIn(facts.secret);
  const bound = inSecret ?? facts.remembered;
  const known = bound?.credentials;
  return {
    facts,
    spec,
    inSecret,
    bound,
    credentials: {
      username: spec.username,
      password: referencedValue(facts.references.password) ?? known?.password ?? '',
      token: referencedValue(facts.references.token) ?? known?.token ?? facts.generated.token,
    },
    moving: bound !== undefined && !sameTarget(bound.target, targetOf(spec)),
  };
}

/**
 * A phase owns one concern of the decision: it returns the step it still needs (a request, a
 * write, or a Finish that ends the decision), or, once its concern is settled, what it settled
 * (undefined when there is nothing to hand on), which later phases read with `settled`.
 */
export type Phase<T = undefined> = (s: Situation) => Step | T;

const results = new WeakMap<Situation, Map<Phase<unknown>, unknown>>();

/** The phase's answer in this situation, worked out once however many phases ask. */
export function run<T>(s: Situation, phase: Phase<T>): Step | T {
  let known = results.get(s);
  if (known === undefined) results.set(s, (known = new Map<Phase<unknown>, unknown>()));
  if (!known.has(phase)) known.set(phase, phase(s));
  return known.get(phase) as Step | T;
}

/** What an earlier phase settled; asking before it settled is a bug in the order of the phases. */
export function settled<T>(s: Situation, phase: Phase<T>): T {
  const result = run(s, phase);
  if (isStep(result)) throw new Error(`${phase.name} has not settled: it still needs ${result.kind}`);
  return result;
}

export function isStep(value: unknown): value is Step {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

/** What a phase concludes before it becomes a status: the reason, its message, when to come back. */
export type Verdict = ReadyVerdict<Reason, InfluxOnboardingStatus>;

// Ready True on success, Unknown (and no event) while progressing, else False with a Warning event
// when the reason first appears: every other reason's cause lies with the user or InfluxDB.
const READINESS: Readiness<Reason> = { success: [Reason.Onboarded, Reason.Adopted], quiet: [Reason.Progressing] };

export function finish(facts: Facts, verdict: Verdict): Finish {
  return readyFinish(facts.resource, facts.now, verdict, READINESS);
}

export function isSuccess(reason: string): reason is typeof Reason.Onboarded | typeof Reason.Adopted {
  return (READINESS.success as readonly string[]).includes(reason);
}

/**
 * Looked at again at the next drift check (--drift-check-interval), and at once when what it
 * depends on changes: the periodic check of a Ready resource, and the poll of one that waits for
 * something outside it (a Secret, another resource, a person). The rate limiter is for failures.
 */
export function nextCheck(facts: Facts): Requeue {
  return after(facts.driftCheckIntervalMs);
}

export function previousReady(facts: Facts): Condition | undefined {
  return facts.resource.status?.conditions?.find((condition) => condition.type === READY);
}

export function referencedValue(reference: Reference | undefined): string | undefined {
  return reference?.found ? reference.value : undefined;
}

/** The resource's rotate-password value, when it has one. */
export function passwordRotationRequested(facts: Facts): string | undefined {
  return facts.resource.metadata.annotations?.[ROTATE_PASSWORD_ANNOTATION];
}

/** The resource's rotate-token value, when it has one. */
export function tokenRotationRequested(facts: Facts): string | undefined {
  return facts.resource.metadata.annotations?.[ROTATE_TOKEN_ANNOTATION];
}

/**
 * A rotation request (an annotation's value) the Secret has not carried out yet: none without a
 * Secret (`handled` undefined), once the Secret records the value as handled, or while a
 * referenced Secret supplies the value instead.
 */
export function rotationDue(
  requested: string | undefined,
  handled: { value: string | undefined } | undefined,
  referenced: boolean,
): string | undefined {
  return !referenced && handled !== undefined && requested !== undefined && handled.value !== requested
    ? requested
    : undefined;
}

export function failureText(failure: InfluxFailure): string {
  return failure.kind === 'rejected' ? `${failure.code}: ${failure.message}` : failure.message;
}

// The reasons of an InfluxDB that could not be asked, whichever phase asked it.
type RefusalReason = Extract<InfluxFailure, { kind: 'refused' }>['reason'];
const REFUSALS: Record<RefusalReason, { reason: Reason; help: string }> = {
  'link-local': {
    reason: Reason.AddressRefused,
    help: 'Fix spec.url; only a cluster administrator can allow link-local addresses (--allow-link-local)',
  },
  'not-allowed': {
    reason: Reason.URLNotAllowed,
    help: "Fix spec.url, or ask a cluster administrator to add it to the operator's --allowed-urls",
  },
  // Where it resolves, at connect time (the text's owner was checked before: instanceOwned).
  'not-permitted': {
    reason: Reason.NotPermitted,
    help: `Fix spec.url, or have the owner of that Service let this namespace in by adding it to the annotation ${ONBOARD_FROM_ANNOTATION} on the Service (then name the Service in spec.url); what the operator's --allowed-urls reserves for another namespace only a cluster administrator can reserve for this one too`,
  },
};

/**
 * InfluxDB could not be asked. An outage is retried with backoff; an address the operator refuses
 * is a configuration error, which waits for the spec (or the operator's flags) to change.
 */
export function notReached(s: Situation, failure: InfluxFailure): Finish {
  const { url } = s.spec;
  if (failure.kind === 'refused') {
    const refusal = REFUSALS[failure.reason];
    return finish(s.facts, {
      reason: refusal.reason,
      message: `InfluxDB at ${url} was not contacted: ${failure.message}. ${refusal.help}; nothing is tried again until the spec or the operator's flags change`,
      requeue: NONE,
    });
  }
  return finish(s.facts, {
    reason: Reason.Unreachable,
    message: `InfluxDB at ${url} could not be reached: ${failureText(failure)}`,
    requeue: BACKOFF,
  });
}
