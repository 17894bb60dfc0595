// The Ready condition every resource of ours shows, whichever kind it is.
import { READY, type Condition, type ConditionStatus } from './types.js';

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
