// The Ready condition every resource of ours shows, whichever kind it is, and how a decision's
// verdict becomes the status and event that show it.
import type { Finish, Requeue, ResourceEvent } from '../runtime/index.js';
import { READY, type Condition, type ConditionStatus, type ObjectMeta } from './types.js';

/** What a decision concludes: the reason, its message, when to come back, and what it adds to the status. */
export interface Verdict<R extends string, S> {
  reason: R;
  message: string;
  requeue: Requeue;
  fields?: Partial<S>;
  /** An event to record even when the reason does not change (e.g. Reonboarded). */
  event?: ResourceEvent;
}

/** Which reasons of a kind are success (Ready True) and which are quiet (Ready Unknown, no event). */
export interface Readiness<R extends string> {
  success: readonly R[];
  quiet: readonly R[];
}

interface StatusWithReady {
  observedGeneration?: number;
  conditions?: Condition[];
}

/**
 * The status to show and the event to record for a verdict: Ready True on success, Unknown while
 * quiet, else False; the generation it was decided on; an event when the reason changes (Normal on
 * success, Warning otherwise, none while quiet) unless the verdict brings its own.
 */
export function readyFinish<R extends string, S extends StatusWithReady>(
  resource: { metadata: Pick<ObjectMeta, 'generation'>; status?: S },
  now: string,
  verdict: Verdict<R, S>,
  readiness: Readiness<R>,
): Finish<S, R> {
  const success = readiness.success.includes(verdict.reason);
  const quiet = readiness.quiet.includes(verdict.reason);
  const generation = resource.metadata.generation;
  const previous = resource.status?.conditions?.find((condition) => condition.type === READY);
  const status: S = {
    ...resource.status,
    ...verdict.fields,
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions: withReady(
      resource.status?.conditions,
      {
        status: success ? 'True' : quiet ? 'Unknown' : 'False',
        reason: verdict.reason,
        message: verdict.message,
        ...(generation !== undefined && { observedGeneration: generation }),
      },
      now,
    ),
  } as S;
  const transition = previous?.reason !== verdict.reason;
  const event: ResourceEvent | undefined =
    verdict.event ??
    (transition && !quiet
      ? { type: success ? 'Normal' : 'Warning', reason: verdict.reason, message: verdict.message }
      : undefined);
  return {
    kind: 'finish',
    reason: verdict.reason,
    message: verdict.message,
    status,
    ...(event && { event }),
    requeue: verdict.requeue,
  };
}

/** Sets the Ready condition by type, keeping lastTransitionTime unless its status changes. */
export function withReady(
  conditions: readonly Condition[] | undefined,
  ready: { status: ConditionStatus; reason: string; message: string; observedGeneration?: number },
  now: string,
): Condition[] {
  const previous = conditions?.find((condition) => condition.type === READY);
  const next: Condition = {
    type: READY,
    status: ready.status,
    ...(ready.observedGeneration !== undefined && { observedGeneration: ready.observedGeneration }),
    lastTransitionTime: previous && previous.status === ready.status ? previous.lastTransitionTime : now,
    reason: ready.reason,
    message: ready.message,
  };
  const list = conditions ?? [];
  // Replaced in place: a reordered list would be a status change that is no change at all.
  return previous ? list.map((condition) => (condition.type === READY ? next : condition)) : [...list, next];
}
