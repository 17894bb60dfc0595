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
 * aborts when the controller stops or loses leadership; every reconcile of one run (one leadership
 * term) gets the same signal, and a new run a new one.
 */
export type Reconciler = (request: Request, signal: AbortSignal) => Promise<Result>;

/** How a reconcile ended, as the `result` label of controller_runtime_reconcile_total names it. */
export type ResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Where the controller reports what it does (implemented by RuntimeMetrics.controllerMetrics). */
export interface ControllerMetrics {
  maxConcurrentReconciles(count: number): void;
  activeWorkers(count: number): void;
  reconciled(label: ResultLabel, seconds: number): void;
}

interface ControllerOptions {
  name: string;
  queue: WorkQueue;
  reconciler: Reconciler;
  logger: Logger;
  /** Workers reconciling different keys at once; default 4. */
  concurrency?: number;
  metrics?: ControllerMetrics;
  clock?: Clock;
}

/** One started period of work, so workers of an earlier start never pick up keys for a later one. */
interface Run {
  readonly stopTaking: AbortController;
  readonly abortReconciles: AbortController;
  readonly workers: Array<Promise<void>>;
}

/** Pulls keys from the queue and reconciles them, with controller-runtime's result semantics. */
export class Controller {
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private run: Run | undefined;
  private active = 0;

  constructor(private readonly options: ControllerOptions) {
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(`controller ${options.name}: concurrency must be a positive integer`);
    }
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger.child({ controller: options.name });
    options.metrics?.maxConcurrentReconciles(this.concurrency);
    options.metrics?.activeWorkers(0);
  }

  get isRunning(): boolean {
    return this.run !== undefined;
  }

  get activeReconciles(): number {
    return this.active;
  }

  /** Starts the workers (on becoming leader); a no-op while already running. */
  start(): void {
    if (this.run) return;
    const run: Run = { stopTaking: new AbortController(), abortReconciles: new AbortController(), workers: [] };
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
    let finished = this.active === 0;
    if (timeoutMs > 0) {
      const deadline = new AbortController();
      finished = await Promise.race([
        Promise.all(run.workers).then(() => true),
        sleep(this.clock, timeoutMs, deadline.signal).then(() => false),
      ]);
      deadline.abort();
    }
    if (!finished) {
      this.logger.warn('reconciles still running at stop deadline; aborting them', { active: this.active, timeoutMs });
      run.abortReconciles.abort(new Error(`controller ${this.options.name} stopped`));
    }
    this.logger.info('controller stopped');
  }

  private async work(run: Run): Promise<void> {
    const { queue } = this.options;
    while (!run.stopTaking.signal.aborted) {
      const key = await queue.get(run.stopTaking.signal);
      if (key === undefined) return;
      try {
        await this.reconcileKey(key, run.abortReconciles.signal);
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string, signal: AbortSignal): Promise<void> {
    const { queue, reconciler, metrics } = this.options;
    const request = requestFromKey(key);
    const startedAt = this.clock.now();
    this.active++;
    metrics?.activeWorkers(this.active);
    let label: ResultLabel;
    try {
      const result: Result | undefined = await reconciler(request, signal);
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
      // Only the message: error objects from HTTP clients can carry request headers.
      this.logger.error('reconcile failed', {
        namespace: request.namespace,
        name: request.name,
        error: errorMessage(error),
        retries: queue.numRequeues(key),
      });
      queue.addRateLimited(key);
    } finally {
      this.active--;
      metrics?.activeWorkers(this.active);
    }
    metrics?.reconciled(label, (this.clock.now() - startedAt) / 1000);
  }
}
