// What every reconciler of ours shares, whichever kind it reconciles: the Ready condition, the
// events it records, when it comes back, and its request and outcome in controller-runtime's terms.
import { READY, type Condition, type ConditionStatus } from './types.js';

/** An event to record on the resource being reconciled. */
export interface ResourceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** When to look at the resource again. `none`: only a change of the resource (or a resync) brings it back. */
export type Requeue = { kind: 'none' } | { kind: 'backoff' } | { kind: 'after'; ms: number };
export const BACKOFF: Requeue = { kind: 'backoff' };
export const NONE: Requeue = { kind: 'none' };

export interface ReconcileRequest {
  namespace: string;
  name: string;
}

/**
 * The owner a resource's credential values are held under in the log redaction (SecretRegistry),
 * released when the resource is gone; `key` is its `namespace/name`.
 */
export function redactionOwner(kind: string, key: string): string {
  return `${kind} ${key}`;
}

/** controller-runtime's Result: requeue with backoff, or after a delay. */
export interface ReconcileOutcome {
  requeue?: boolean;
  requeueAfterMs?: number;
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
