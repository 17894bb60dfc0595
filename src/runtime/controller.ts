import { sleep, systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { requestFromKey } from './keys.js';
import type { Request } from './keys.js';
import { type Logger, errorMessage } from '../log.js';
import type { WorkQueue } from './queue.js';

export type { Request } from './keys.js';

/** controller-runtime's reconcile.Result. */
export interface Result {
  /** Come back after the key's rate-limited backoff, without counting an error. */
  requeue?: boolean;
  /** Come back after this long; takes precedence over `requeue`. */
  requeueAfterMs?: number;
}

/**
 * Brings the world in line with the object named by the request. It reads the current state
 * itself (from the informer caches), so it must not depend on which event woke it. The signal
 * aborts when the controller stops or loses leadership, and when the reconcile's deadline
 * (reconcileTimeoutMs) passes; its reason says which. `term` is one opaque object per run of the
 * controller (one leadership term), the same for each of its reconciles: what a reconciler may
 * trust only while it alone has been writing can be kept by it (in a WeakMap).
 */
export type Reconciler = (request: Request, signal: AbortSignal, term: object) => Promise<Result>;

/** How a reconcile ended, as the `result` label of controller_runtime_reconcile_total names it. */
export type ResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Where the controller reports what it does (implemented by RuntimeMetrics.controllerMetrics). */
export interface ControllerMetrics {
  maxConcurrentReconciles(count: number): void;
  /** Reconciles holding a worker. */
  activeWorkers(count: number): void;
  /** Reconciles that ran past longRunningAfterMs and handed their worker on. */
  longRunning(count: number): void;
  reconciled(label: ResultLabel, seconds: number): void;
}

export const DEFAULT_CONCURRENCY = 4;
/** cert-manager's default context timeout of one sync (DefaultControllerContextTimeout). */
export const DEFAULT_RECONCILE_TIMEOUT_MS = 120_000;
/**
 * A reconcile running this long is waiting on something, as a rule: far longer than one that
 * works takes (tens of milliseconds), short enough that servers which never answer delay another
 * tenant's first reconcile by a few seconds only.
 */
export const DEFAULT_LONG_RUNNING_AFTER_MS = 2_000;
const LONG_RUNNING_PER_WORKER = 16;

interface ControllerOptions {
  name: string;
  queue: WorkQueue;
  reconciler: Reconciler;
  logger: Logger;
  /** Workers reconciling different keys at once; default 4. */
  concurrency?: number;
  /** The deadline of one reconcile: its signal aborts this long after it started. Default 2 min. */
  reconcileTimeoutMs?: number;
  /**
   * A reconcile still running after this long (waiting on a server that does not answer, as a
   * rule) hands its worker to the next key and finishes on its own. Default 2 s.
   */
  longRunningAfterMs?: number;
  /** At most this many reconciles at once do so; the next one keeps its worker. Default 16 per worker. */
  maxLongRunning?: number;
  metrics?: ControllerMetrics;
  clock?: Clock;
}

/** One started period of work, so workers of an earlier start never pick up keys for a later one. */
interface Run {
  readonly term: object;
  readonly stopTaking: AbortController;
  readonly abortReconciles: AbortController;
  readonly workers: Array<Promise<void>>;
  /** Reconciles that handed their worker on, until they end. */
  readonly longRunning: Set<Promise<void>>;
}

/** One reconcile's hold on a worker: set in the same turn as the counts, so they never drift. */
interface Seat {
  holdsWorker: boolean;
  /** It ran past longRunningAfterMs, whether it handed its worker on or not. */
  ranLong: boolean;
  ended: boolean;
}

/** The reason a reconcile's signal aborts with when its deadline passes. */
export class ReconcileDeadlineError extends Error {
  constructor(timeoutMs: number) {
    super(`reconcile did not finish within its deadline of ${timeoutMs} ms`);
    this.name = 'ReconcileDeadlineError';
  }
}

/**
 * Pulls keys from the queue and reconciles them, with controller-runtime's result semantics.
 *
 * A worker is held only by a reconcile that is working: one still running after
 * longRunningAfterMs is, as a rule, waiting on a server that does not answer, and its worker takes
 * the next key meanwhile (as a Go runtime hands a thread blocked in a system call's processor to
 * other work, and as the API server's max-in-flight filter does not count long-running requests).
 * So servers that never answer hold no worker for longer than that, however many there are, up
 * to maxLongRunning at once; how many of them one namespace can have is the queue's in-flight
 * limit per flow.
 */
export class Controller {
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly reconcileTimeoutMs: number;
  private readonly longRunningAfterMs: number;
  private readonly maxLongRunning: number;
  private readonly clock: Clock;
  private run: Run | undefined;
  private active = 0;
  private longRunning = 0;

  constructor(private readonly options: ControllerOptions) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(`controller ${options.name}: concurrency must be a positive integer`);
    }
    this.reconcileTimeoutMs = options.reconcileTimeoutMs ?? DEFAULT_RECONCILE_TIMEOUT_MS;
    this.longRunningAfterMs = options.longRunningAfterMs ?? DEFAULT_LONG_RUNNING_AFTER_MS;
    this.maxLongRunning = options.maxLongRunning ?? LONG_RUNNING_PER_WORKER * this.concurrency;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ controller: options.name });
    options.metrics?.maxConcurrentReconciles(this.concurrency);
    options.metrics?.activeWorkers(0);
    options.metrics?.longRunning(0);
  }

  get isRunning(): boolean {
    return this.run !== undefined;
  }

  /** Reconciles running, long-running ones included. */
  get activeReconciles(): number {
    return this.active + this.longRunning;
  }

  /** Starts the workers (on becoming leader); a no-op while already running. */
  start(): void {
    if (this.run) return;
    const run: Run = {
      term: Object.freeze({}),
      stopTaking: new AbortController(),
      abortReconciles: new AbortController(),
      workers: [],
      longRunning: new Set(),
    };
    for (let index = 0; index < this.concurrency; index++) run.workers.push(this.work(run));
    this.run = run;
    this.logger.info('controller started', { workers: this.concurrency });
  }

  /**
   * Stops taking keys and waits up to timeoutMs for running reconciles to finish, then aborts
   * their signal and returns without waiting further: a reconciler that ignores its signal
   * cannot hold up shutdown. With no time at all (leadership lost) they are aborted at once,
   * before any answer they wait for can reach them. Keys left in the queue stay for a later start.
   */
  async stop(timeoutMs: number): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    run.stopTaking.abort();
    let finished = this.activeReconciles === 0;
    if (timeoutMs > 0) {
      const deadline = new AbortController();
      const allDone = Promise.all(run.workers).then(() => Promise.all(run.longRunning));
      finished = await Promise.race([
        allDone.then(() => true),
        sleep(this.clock, timeoutMs, deadline.signal).then(() => false),
      ]);
      deadline.abort();
    }
    if (!finished) {
      this.logger.warn('reconciles still running at stop deadline; aborting them', {
        active: this.activeReconciles,
        timeoutMs,
      });
      run.abortReconciles.abort(new Error(`controller ${this.options.name} stopped`));
    }
    this.logger.info('controller stopped');
  }

  private async work(run: Run): Promise<void> {
    const { queue } = this.options;
    while (!run.stopTaking.signal.aborted) {
      const key = await queue.get(run.stopTaking.signal);
      if (key === undefined) return;
      const seat: Seat = { holdsWorker: true, ranLong: false, ended: false };
      const reconcile = this.reconcileKey(key, run, seat).finally(() => queue.done(key, seat.ranLong));
      seat.ranLong = (await this.runsLong(reconcile)) && !seat.ended;
      if (!seat.ranLong || run.stopTaking.signal.aborted) {
        await reconcile;
      } else if (this.longRunning >= this.maxLongRunning) {
        this.logger.warn('too many long-running reconciles; this one keeps its worker', {
          key,
          longRunning: this.longRunning,
        });
        await reconcile;
      } else {
        seat.holdsWorker = false;
        this.moveToLongRunning(run, reconcile);
      }
    }
  }

  /** Whether the reconcile is still running after longRunningAfterMs. */
  private async runsLong(reconcile: Promise<void>): Promise<boolean> {
    const finished = new AbortController();
    const ended = await Promise.race([
      reconcile.then(() => true),
      sleep(this.clock, this.longRunningAfterMs, finished.signal).then(() => false),
    ]);
    finished.abort();
    return !ended;
  }

  private moveToLongRunning(run: Run, reconcile: Promise<void>): void {
    const { metrics } = this.options;
    this.active--;
    this.longRunning++;
    metrics?.activeWorkers(this.active);
    metrics?.longRunning(this.longRunning);
    const tracked = reconcile.finally(() => {
      this.longRunning--;
      metrics?.longRunning(this.longRunning);
      run.longRunning.delete(tracked);
    });
    run.longRunning.add(tracked);
  }

  /**
   * The reconcile's own signal: aborts with the run's (stop, lost leadership) or at its deadline,
   * whichever comes first. `release` lets go of what it holds once the reconcile is over.
   */
  private reconcileSignal(runSignal: AbortSignal): { signal: AbortSignal; release: () => void } {
    const own = new AbortController();
    const onStop = (): void => own.abort(runSignal.reason);
    if (runSignal.aborted) onStop();
    else runSignal.addEventListener('abort', onStop, { once: true });
    const cancelDeadline = this.clock.schedule(this.reconcileTimeoutMs, () =>
      own.abort(new ReconcileDeadlineError(this.reconcileTimeoutMs)),
    );
    return {
      signal: own.signal,
      release: () => {
        cancelDeadline();
        runSignal.removeEventListener('abort', onStop);
      },
    };
  }

  private async reconcileKey(key: string, run: Run, seat: Seat): Promise<void> {
    const { queue, reconciler, metrics } = this.options;
    const request = requestFromKey(key);
    const startedAt = this.clock.now();
    const { signal, release } = this.reconcileSignal(run.abortReconciles.signal);
    this.active++;
    metrics?.activeWorkers(this.active);
    let label: ResultLabel;
    try {
      const result: Result | undefined = await reconciler(request, signal, run.term);
      const requeueAfterMs = result?.requeueAfterMs;
      if (requeueAfterMs !== undefined && Number.isFinite(requeueAfterMs) && requeueAfterMs > 0) {
        queue.forget(key);
        queue.addAfter(key, requeueAfterMs);
        label = 'requeue_after';
      } else if (result?.requeue === true) {
        queue.addRateLimited(key);
        label = 'requeue';
      } else {
        queue.forget(key);
        label = 'success';
      }
    } catch (error) {
      label = 'error';
      // Only the message: error objects from HTTP clients can carry request headers. A reconcile
      // that gave up at its deadline says so, whatever the error its reconciler ended with.
      const deadline = signal.reason instanceof ReconcileDeadlineError ? signal.reason : undefined;
      this.logger.error('reconcile failed', {
        namespace: request.namespace,
        name: request.name,
        error: errorMessage(deadline ?? error),
        retries: queue.numRequeues(key),
      });
      queue.addRateLimited(key);
    } finally {
      release();
      seat.ended = true;
      // A long-running reconcile gave its worker back already (moveToLongRunning).
      if (seat.holdsWorker) {
        this.active--;
        metrics?.activeWorkers(this.active);
      }
    }
    metrics?.reconciled(label, (this.clock.now() - startedAt) / 1000);
  }
}
