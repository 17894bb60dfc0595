// The step loop every reconciler runs: decide -> act -> status and events -> Result, and the
// vocabulary its decisions speak (when to come back, the event to record, how a decision ends).
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../log.js';
import type { Result } from './controller.js';

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

/** How a decision ends: the status to show, the event to record, and when to come back. */
export interface Finish<S, R extends string = string> {
  kind: 'finish';
  reason: R;
  message: string;
  status: S;
  event?: ResourceEvent;
  requeue: Requeue;
}

/** The end of a round before its decision finished (a finalizer removed, the object changed meanwhile). */
export interface Ended {
  ended: Result;
}

export function ended(result: Result): Ended {
  return { ended: result };
}

/**
 * One reconcile as controller-runtime's reconcilers are written, in rounds: decide the next step
 * from what is known (pure), act on it (one request or write, whose answer becomes a new fact),
 * until the decision finishes; conclude shows the finish (status, event) and says when to come back.
 */
export interface StepLoop<F, S extends { kind: string }, St, Why extends string = string> {
  decide(facts: F): S | Finish<St, Why>;
  /** The facts with the step's answer added, or the end of the round; `steps` so far, for its log. */
  act(step: S, facts: F, steps: readonly string[]): Promise<F | Ended>;
  conclude(finish: Finish<St, Why>, facts: F, steps: readonly string[]): Promise<Result>;
}

// A decision needs at most a handful of steps; more means a bug, and must not spin forever.
const MAX_STEPS = 24;

/** Runs the rounds of one reconcile; once `signal` aborts (the controller stops) it sends nothing more, no status either. */
export async function runSteps<F extends object, S extends { kind: string }, St, Why extends string>(
  loop: StepLoop<F, S, St, Why>,
  facts: F,
  signal: AbortSignal,
): Promise<Result> {
  const steps: string[] = [];
  let known = facts;
  for (let count = 0; count < MAX_STEPS; count++) {
    // Aborted (leadership lost, shutdown): nothing more is sent, not even the status of what was done.
    signal.throwIfAborted();
    const next = loop.decide(known);
    if (isFinish(next)) return loop.conclude(next, known, steps);
    steps.push(next.kind);
    const acted = await loop.act(next, known, steps);
    if ('ended' in acted) return acted.ended;
    known = acted;
  }
  throw new Error(`no decision after ${MAX_STEPS} steps (${steps.join(', ')})`);
}

function isFinish<S extends { kind: string }, F extends { kind: 'finish' }>(step: S | F): step is F {
  return step.kind === 'finish';
}

/** controller-runtime's Result for a Requeue: `after` jittered by `jitter` (a fraction, e.g. 0.1 for up to 10% later). */
export function resultOf(requeue: Requeue, jitter = 0, random: () => number = Math.random): Result {
  switch (requeue.kind) {
    case 'none':
      return {};
    case 'backoff':
      return { requeue: true };
    case 'after':
      return { requeueAfterMs: jitter === 0 ? requeue.ms : Math.round(requeue.ms * (1 + jitter * random())) };
  }
}

/** 'stale': the object changed since it was read, and nothing was written. */
export type StatusWrite = { kind: 'patched'; resourceVersion: string } | { kind: 'stale' };

/** What a reconciled object shows: enough to name it in logs and compare its status. */
export interface Reported<St> {
  kind: string;
  metadata: { namespace: string; name: string; generation?: number; deletionTimestamp?: string };
  status?: St;
}

/** Where a finish is shown. */
export interface Reporter<R extends Reported<St>, St, Why extends string = string> {
  /** Writes the status over the object as read: the object as written, or undefined when it changed since. */
  writeStatus(resource: R, status: St): Promise<R | undefined>;
  /** Queues the event; it is sent in the background and never fails the reconcile. */
  recordEvent(resource: R, event: ResourceEvent): void;
  /** Called with each object's reason (undefined once it is gone), for metrics. */
  onReason?: (key: string, reason: Why | undefined) => void;
  logger: Logger;
  /** How much later than asked an `after` requeue may come (a fraction), so that objects created together spread out. */
  jitter?: number;
  random?: () => number;
}

/**
 * Shows what a decision finished with: the status when it differs (never on an object being
 * deleted), the event, the reason for metrics, one `reconciled` log line; and when to come back.
 * `written`: the object as the status write left it, undefined when that write found it changed
 * (the decision was made on an outdated copy: decide again, quietly).
 */
export async function report<R extends Reported<St>, St, Why extends string>(
  reporter: Reporter<R, St, Why>,
  finish: Finish<St, Why>,
  resource: R,
  steps: readonly string[],
): Promise<{ result: Result; written: R | undefined }> {
  const { namespace, name, generation, deletionTimestamp } = resource.metadata;
  const key = `${namespace}/${name}`;
  let written: R | undefined = resource;
  if (deletionTimestamp === undefined && !isDeepStrictEqual(finish.status, resource.status ?? {})) {
    written = await reporter.writeStatus(resource, finish.status);
    if (written === undefined) {
      reporter.logger.debug('resource changed while reconciling; deciding again', {
        kind: resource.kind,
        resource: key,
      });
      return { result: { requeue: true }, written };
    }
  }
  if (finish.event) reporter.recordEvent(resource, finish.event);
  reporter.onReason?.(key, finish.reason);
  const result = resultOf(finish.requeue, reporter.jitter, reporter.random);
  reporter.logger.info('reconciled', {
    kind: resource.kind,
    resource: key,
    generation,
    reason: finish.reason,
    detail: finish.message,
    steps,
    requeue: finish.requeue.kind === 'after' ? `${Math.round(finish.requeue.ms / 1000)}s` : finish.requeue.kind,
  });
  return { result, written };
}
