import { systemClock } from './clock.js';
import type { Cancel, Clock } from './clock.js';
import { RetryRateLimiter } from './rate-limiter.js';
import type { RateLimiterOptions } from './rate-limiter.js';

/** Point-in-time readings of the queue, taken when metrics are scraped. */
export interface QueueGauges {
  depth: number;
  longestRunningProcessorSeconds: number;
  unfinishedWorkSeconds: number;
}

/** Where the queue reports what it does (implemented by RuntimeMetrics.queueMetrics). */
export interface QueueMetrics {
  added(): void;
  retried(): void;
  queueLatency(seconds: number): void;
  workDuration(seconds: number): void;
  /** Called once by the queue so gauges can be read at scrape time. */
  readGaugesFrom(read: () => QueueGauges): void;
}

interface WorkQueueOptions extends RateLimiterOptions {
  clock?: Clock;
  metrics?: QueueMetrics;
  /**
   * The flow a key belongs to, for fairness: keys are handed out round-robin across flows, and a
   * flow has at most maxInFlightPerFlow keys in processing. Default: the key's namespace.
   */
  flowOf?: (key: string) => string;
  /** Keys of one flow in processing at once; the flow's other keys wait. Default: no limit. */
  maxInFlightPerFlow?: number;
}

/**
 * controller-runtime's priority queue, reduced to the two levels its handlers use: keys of events
 * that only repeat what is known (the initial list, a resync) wait behind every change.
 */
export type Priority = 'normal' | 'low';

interface Waiter {
  resolve(key: string | undefined): void;
}

/** The namespace of a "namespace/name" key, '' for a cluster-scoped "name". */
function namespaceOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/**
 * The ready keys of one priority: a FIFO per flow, handed out round-robin across flows. This is
 * API Priority and Fairness' fair queuing where every key costs the same, so a flow with
 * thousands of keys waits its turn like a flow with one: its keys cannot push another flow's
 * key back. The Map's insertion order is the round: a flow served goes to the back.
 */
class FairLane {
  private readonly flows = new Map<string, string[]>();
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(flow: string, key: string): void {
    const keys = this.flows.get(flow);
    if (keys === undefined) this.flows.set(flow, [key]);
    else keys.push(key);
    this.count++;
  }

  remove(flow: string, key: string): void {
    const keys = this.flows.get(flow);
    const index = keys?.indexOf(key) ?? -1;
    if (keys === undefined || index < 0) return;
    keys.splice(index, 1);
    if (keys.length === 0) this.flows.delete(flow);
    this.count--;
  }

  /** The oldest key of the first flow in turn that may take one; that flow then goes to the back of the round. */
  take(mayTake: (flow: string) => boolean): string | undefined {
    for (const [flow, keys] of this.flows) {
      if (!mayTake(flow)) continue;
      const key = keys.shift();
      this.flows.delete(flow);
      if (keys.length > 0) this.flows.set(flow, keys);
      this.count--;
      return key;
    }
    return undefined;
  }
}

interface Delayed {
  key: string;
  readyAt: number;
}

/**
 * Keys waiting for their time, earliest first: a binary min-heap on readyAt. An entry whose key
 * was since asked for earlier stays in the heap until its time and is then skipped. The keys and
 * their times are kept in two arrays side by side, not as an object per entry: the heap holds one
 * entry per Ready resource (its drift check), and the times as unboxed doubles take 8 bytes each
 * where an object with its boxed time took about 60.
 */
class DelayHeap {
  private readonly keys: string[] = [];
  private readonly times: number[] = [];

  peek(): Delayed | undefined {
    const key = this.keys[0];
    const readyAt = this.times[0];
    return key === undefined || readyAt === undefined ? undefined : { key, readyAt };
  }

  push({ key, readyAt }: Delayed): void {
    const { keys, times } = this;
    let index = keys.length;
    keys.push(key);
    times.push(readyAt);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = times[parent];
      if (above <= readyAt) break;
      keys[index] = keys[parent];
      times[index] = above;
      index = parent;
    }
    keys[index] = key;
    times[index] = readyAt;
  }

  pop(): Delayed | undefined {
    const { keys, times } = this;
    const top = this.peek();
    const lastKey = keys.pop();
    const lastTime = times.pop();
    if (top === undefined || lastKey === undefined || lastTime === undefined || keys.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= keys.length) break;
      const right = left + 1;
      const child = right < keys.length && times[right] < times[left] ? right : left;
      const below = times[child];
      if (below >= lastTime) break;
      keys[index] = keys[child];
      times[index] = below;
      index = child;
    }
    keys[index] = lastKey;
    times[index] = lastTime;
    return top;
  }

  clear(): void {
    this.keys.length = 0;
    this.times.length = 0;
  }
}

/**
 * client-go's rate-limited work queue. A key is held at most once; a key being processed is
 * never handed out again until `done`, and if it was added meanwhile it is queued once more
 * at that point — so one object is never reconciled by two workers at once, and no change that
 * arrives during a reconcile is lost. Keys added at low priority are handed out only when no
 * normal one waits; adding a waiting low key at normal priority moves it up; keys whose last run
 * was long come last. Within each of these levels flows (namespaces) take turns, and a flow at its
 * in-flight limit is passed over until one of its keys is done.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly limiter: RetryRateLimiter;
  private readonly metrics: QueueMetrics | undefined;
  private readonly flowOf: (key: string) => string;
  private readonly maxInFlightPerFlow: number;
  private readonly ready = new FairLane();
  private readonly readyLow = new FairLane();
  private readonly readyRanLong = new FairLane();
  private readonly dirty = new Set<string>();
  /** The dirty keys whose every add so far was at low priority. */
  private readonly low = new Set<string>();
  /**
   * Keys whose last run was long (done with ranLong): a server that does not answer, as a rule.
   * This is API Priority and Fairness' work estimate, from the key's own history: a key expected
   * to hold a worker for long waits behind keys expected to be quick. A key leaves it with a run
   * that ends in time, a deleted object's among them.
   */
  private readonly ranLong = new Set<string>();
  private readonly processing = new Map<string, number>();
  /** Keys in processing per flow; a flow with none has no entry. */
  private readonly inFlight = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  // When each delayed key is due, and the keys in time order: one timer, set for the earliest,
  // serves them all, as client-go's delaying queue does. A timer per key would be thousands of
  // timers (one per Ready resource's drift check), each with its closures.
  private readonly delayed = new Map<string, number>();
  private readonly delays = new DelayHeap();
  private timer: { at: number; cancel: Cancel } | undefined;
  private waiters: Waiter[] = [];
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.limiter = new RetryRateLimiter(this.clock, options);
    this.metrics = options.metrics;
    this.flowOf = options.flowOf ?? namespaceOf;
    this.maxInFlightPerFlow = options.maxInFlightPerFlow ?? Infinity;
    this.metrics?.readGaugesFrom(() => this.gauges());
  }

  add(key: string, priority: Priority = 'normal'): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (priority === 'normal' && this.low.has(key)) {
        const waiting = !this.processing.has(key);
        if (waiting) this.laneOf(key).remove(this.flowOf(key), key);
        this.low.delete(key);
        if (waiting) this.pushReady(key);
      }
      return;
    }
    this.metrics?.added();
    this.dirty.add(key);
    if (priority === 'low') this.low.add(key);
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.pushReady(key);
    this.handOut();
  }

  /** Adds the key once delayMs has passed; an earlier pending time for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending <= readyAt) return;
    this.delayed.set(key, readyAt);
    this.delays.push({ key, readyAt });
    this.armTimer();
  }

  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    this.addAfter(key, this.limiter.when(key));
  }

  /** Ends the key's backoff; call when it was processed successfully. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting for one if the queue is empty. Resolves undefined once
   * the queue is shut down and empty, or when the signal aborts. Every key returned must be
   * passed to `done` afterwards.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    const key = this.takeReady();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Ends the processing of a key. `ranLong`: it ran so long that its worker was handed on (see
   * Controller); until one of its runs ends in time, it waits behind every other key.
   */
  done(key: string, ranLong = false): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    if (ranLong) this.ranLong.add(key);
    else this.ranLong.delete(key);
    const flow = this.flowOf(key);
    const inFlight = (this.inFlight.get(flow) ?? 1) - 1;
    if (inFlight > 0) this.inFlight.set(flow, inFlight);
    else this.inFlight.delete(flow);
    this.metrics?.workDuration((this.clock.now() - startedAt) / 1000);
    if (this.dirty.has(key)) this.pushReady(key);
    // Also without a re-queued key: the flow may have been at its limit with other keys waiting.
    this.handOut();
    if (this.processing.size === 0) this.resolveDrainWaiters();
  }

  get length(): number {
    return this.ready.length + this.readyLow.length + this.readyRanLong.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys and drops pending delays; idle `get` calls resolve undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.delayed.clear();
    this.delays.clear();
    // Waiters only exist while nothing is ready, so each of them would wait forever.
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve(undefined);
  }

  /** Shuts down, then resolves once no key is being processed any more. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private laneOf(key: string): FairLane {
    if (this.ranLong.has(key)) return this.readyRanLong;
    return this.low.has(key) ? this.readyLow : this.ready;
  }

  private pushReady(key: string): void {
    this.laneOf(key).push(this.flowOf(key), key);
  }

  /** Sets the one timer for the earliest delayed key, unless it is already set for that time or earlier. */
  private armTimer(): void {
    const next = this.delays.peek();
    if (next === undefined || (this.timer !== undefined && this.timer.at <= next.readyAt)) return;
    this.timer?.cancel();
    const at = next.readyAt;
    this.timer = { at, cancel: this.clock.schedule(at - this.clock.now(), () => this.addDue(at)) };
  }

  /** Adds every key whose time has come (`at` at the least: a timer may fire a little early), then sets the timer for the next. */
  private addDue(at: number): void {
    this.timer = undefined;
    const now = Math.max(this.clock.now(), at);
    for (let next = this.delays.peek(); next !== undefined && next.readyAt <= now; next = this.delays.peek()) {
      this.delays.pop();
      // Skipped when the key was since asked for earlier (that entry added it already, or will).
      if (this.delayed.get(next.key) !== next.readyAt) continue;
      this.delayed.delete(next.key);
      this.add(next.key);
    }
    this.armTimer();
  }

  private takeReady(): string | undefined {
    const mayTake = (flow: string): boolean => (this.inFlight.get(flow) ?? 0) < this.maxInFlightPerFlow;
    const key = this.ready.take(mayTake) ?? this.readyLow.take(mayTake) ?? this.readyRanLong.take(mayTake);
    if (key === undefined) return undefined;
    this.low.delete(key);
    const now = this.clock.now();
    const addedAt = this.addedAt.get(key);
    if (addedAt !== undefined) this.metrics?.queueLatency((now - addedAt) / 1000);
    this.addedAt.delete(key);
    this.dirty.delete(key);
    this.processing.set(key, now);
    const flow = this.flowOf(key);
    this.inFlight.set(flow, (this.inFlight.get(flow) ?? 0) + 1);
    return key;
  }

  private handOut(): void {
    while (this.waiters.length > 0) {
      const key = this.takeReady();
      if (key === undefined) return;
      this.waiters.shift()?.resolve(key);
    }
  }

  private resolveDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private gauges(): QueueGauges {
    const now = this.clock.now();
    let longest = 0;
    let total = 0;
    for (const startedAt of this.processing.values()) {
      const running = (now - startedAt) / 1000;
      longest = Math.max(longest, running);
      total += running;
    }
    return { depth: this.length, longestRunningProcessorSeconds: longest, unfinishedWorkSeconds: total };
  }
}
