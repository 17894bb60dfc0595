// The vocabulary a reconciler decides in, before the runtime turns it into a Result: when to look
// at the object again, and the event to record on it.

/**
 * When to look at the object again once a decision is made: only on its next change (`none`),
 * after a failure through the rate limiter's backoff (`backoff`), or after a delay (`after`:
 * waiting for something outside the object, or the next periodic check).
 */
export type Requeue = { kind: 'none' } | { kind: 'backoff' } | { kind: 'after'; ms: number };
export const NONE: Requeue = { kind: 'none' };
export const BACKOFF: Requeue = { kind: 'backoff' };
export function after(ms: number): Requeue {
  return { kind: 'after', ms };
}

/** An event to record on the object being reconciled. */
export interface ResourceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
