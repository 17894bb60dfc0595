import { sleep, systemClock } from './clock.js';
import type { Clock } from './clock.js';
import { type Logger, errorMessage } from '../log.js';

/** The leader-election fields of a coordination.k8s.io/v1 Lease spec. */
export interface LeaseRecord {
  /** '' when nobody holds the lease (after a release). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** One named Lease. `update` must fail unless resourceVersion is still current (409 Conflict). */
export interface LeaseStore {
  get(signal: AbortSignal): Promise<StoredLease | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease>;
}

export interface LeaderMetrics {
  leading(isLeader: boolean): void;
}

interface LeadershipCallbacks {
  onStartedLeading?: () => void;
  /** Called when leadership ends for any reason: lost, failed to renew, released. */
  onStoppedLeading?: () => void;
  metrics?: LeaderMetrics;
}

interface LeaderElectorOptions extends LeadershipCallbacks {
  store: LeaseStore;
  identity: string;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
}

/** What the rest of the program needs from leader election, with or without a Lease. */
export interface LeaderElection {
  start(): void;
  /** Leading, by the clock now: a Lease not renewed within the renew deadline ends leadership at once. */
  isLeader(): boolean;
  /** Stops campaigning; if leading, stops leading and frees the lease for a successor at once. */
  release(): Promise<void>;
}

// client-go's JitterFactor for retries while not leading, so candidates do not retry in step.
const ACQUIRE_JITTER = 1.2;

/** Resolves once the signal aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function invoke(callback: (() => void) | undefined, logger: Logger, name: string): void {
  try {
    callback?.();
  } catch (error) {
    logger.error('leader election callback failed', { callback: name, error: errorMessage(error) });
  }
}

/**
 * client-go's Lease-based leader election. Expiry is judged the client-go way: not by comparing
 * the holder's renewTime with our clock (clocks differ between nodes) but by when *we* last saw
 * the record change, plus its leaseDurationSeconds. A leader that has not renewed within
 * renewDeadline of its last successful renew stops leading; since renewDeadline is shorter than
 * the lease duration, it stops before any other candidate can consider the lease expired.
 */
export class LeaderElector implements LeaderElection {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private leading = false;
  private lastRenewAt = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > ACQUIRE_JITTER * this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > 1.2 * retryPeriod');
    }
    this.logger = options.logger.child({ identity: options.identity });
  }

  start(): void {
    this.loop ??= this.run();
  }

  isLeader(): boolean {
    // The renew loop notices a lapse only when its timer fires; a process that was paused (or
    // starved) past the deadline must not act on the way there.
    if (this.leading && this.clock.now() >= this.lastRenewAt + this.renewDeadlineMs) {
      this.logger.warn('leader lease not renewed within the renew deadline', { renewDeadlineMs: this.renewDeadlineMs });
      this.setLeading(false);
    }
    return this.leading;
  }

  async release(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    if (!this.leading) return;
    this.setLeading(false);
    const abort = new AbortController();
    const cancelDeadline = this.clock.schedule(this.renewDeadlineMs, () => abort.abort());
    const signal = abort.signal;
    try {
      const current = await this.options.store.get(signal);
      if (current?.record.holderIdentity !== this.options.identity) return;
      const now = new Date(this.clock.now());
      await this.options.store.update(
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: current.record.leaseTransitions,
        },
        current.resourceVersion,
        signal,
      );
      this.logger.info('released leader lease');
    } catch (error) {
      this.logger.warn('could not release leader lease; it will expire on its own', { error: errorMessage(error) });
    } finally {
      cancelDeadline();
    }
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const startedAt = this.clock.now();
      if (await this.attempt(startedAt + this.renewDeadlineMs)) {
        this.lastRenewAt = startedAt;
        this.setLeading(true);
        await this.renewWhileLeading(stop);
        if (stop.aborted) return;
        this.setLeading(false);
      } else {
        await sleep(this.clock, this.retryPeriodMs * (1 + ACQUIRE_JITTER * this.random()), stop);
      }
    }
  }

  /** Returns when leadership is lost (or on stop); never lets a lapse outlast renewDeadline. */
  private async renewWhileLeading(stop: AbortSignal): Promise<void> {
    for (;;) {
      await sleep(this.clock, this.retryPeriodMs, stop);
      const deadline = this.lastRenewAt + this.renewDeadlineMs;
      for (;;) {
        if (stop.aborted) return;
        const startedAt = this.clock.now();
        if (startedAt >= deadline) {
          this.logger.warn('failed to renew leader lease within the renew deadline', {
            renewDeadlineMs: this.renewDeadlineMs,
          });
          return;
        }
        if (await this.attempt(deadline)) {
          // Leadership already ended by the clock (isLeader): start over as a candidate.
          if (!this.leading) return;
          this.lastRenewAt = startedAt;
          break;
        }
        if (this.heldByOther()) {
          this.logger.warn('leader lease taken over', { holder: this.observed?.record.holderIdentity });
          return;
        }
        await sleep(this.clock, Math.min(this.retryPeriodMs, deadline - this.clock.now()), stop);
      }
    }
  }

  /** One tryAcquireOrRenew, abandoned at the deadline or on stop; never rejects. */
  private async attempt(deadline: number): Promise<boolean> {
    const abort = new AbortController();
    const cancelDeadline = this.clock.schedule(deadline - this.clock.now(), () => abort.abort());
    const onStop = (): void => abort.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    try {
      return await Promise.race([
        this.tryAcquireOrRenew(abort.signal).catch((error: unknown) => {
          this.logger.debug('leader lease attempt failed', { error: errorMessage(error) });
          return false;
        }),
        aborted(abort.signal).then(() => false),
      ]);
    } finally {
      cancelDeadline();
      this.stopping.signal.removeEventListener('abort', onStop);
      abort.abort();
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { store, identity } = this.options;
    const now = this.clock.now();
    const current = await store.get(signal);
    if (signal.aborted) return false;
    if (!current) {
      const created = await store.create(this.desiredRecord(undefined, now), signal);
      if (signal.aborted) return false;
      this.observe(created, now);
      return true;
    }
    if (this.observed?.resourceVersion !== current.resourceVersion) this.observe(current, this.clock.now());
    if (this.heldByOther()) return false;
    const updated = await store.update(this.desiredRecord(current.record, now), current.resourceVersion, signal);
    if (signal.aborted) return false;
    this.observe(updated, now);
    if (current.record.holderIdentity !== identity) {
      this.logger.info('acquired leader lease', { previousHolder: current.record.holderIdentity });
    }
    return true;
  }

  /** True while another identity holds a lease that has not expired by our own observation. */
  private heldByOther(): boolean {
    const record = this.observed?.record;
    if (!record || record.holderIdentity === '' || record.holderIdentity === this.options.identity) return false;
    const durationMs = record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds * 1000 : this.leaseDurationMs;
    return this.observedAt + durationMs > this.clock.now();
  }

  private observe(lease: StoredLease, at: number): void {
    this.observed = lease;
    this.observedAt = at;
  }

  private desiredRecord(previous: LeaseRecord | undefined, now: number): LeaseRecord {
    const ours = previous?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: ours ? (previous.acquireTime ?? new Date(now)) : new Date(now),
      renewTime: new Date(now),
      leaseTransitions: previous ? previous.leaseTransitions + (ours ? 0 : 1) : 0,
    };
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.options.metrics?.leading(leading);
    if (leading) {
      this.logger.info('started leading');
      invoke(this.options.onStartedLeading, this.logger, 'onStartedLeading');
    } else {
      this.logger.info('stopped leading');
      invoke(this.options.onStoppedLeading, this.logger, 'onStoppedLeading');
    }
  }
}

/** For --leader-elect=false: leads from start() until release(). */
export class AlwaysLeader implements LeaderElection {
  private leading = false;

  constructor(
    private readonly callbacks: LeadershipCallbacks,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.leading) return;
    this.leading = true;
    this.callbacks.metrics?.leading(true);
    invoke(this.callbacks.onStartedLeading, this.logger, 'onStartedLeading');
  }

  isLeader(): boolean {
    return this.leading;
  }

  release(): Promise<void> {
    if (this.leading) {
      this.leading = false;
      this.callbacks.metrics?.leading(false);
      invoke(this.callbacks.onStoppedLeading, this.logger, 'onStoppedLeading');
    }
    return Promise.resolve();
  }
}
