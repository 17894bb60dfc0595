import { sleep, systemClock } from './clock.js';
import type { Cancel, Clock } from './clock.js';

/** Why an item was never sent: the buffer was full, the send failed, or shutdown's deadline came first. */
export type DropReason = 'overflow' | 'failed' | 'shutdown';

interface BackgroundSenderOptions<T> {
  send(item: T): Promise<void>;
  /** Items waiting to be sent at most; a new item finding the buffer full is dropped. Default 1000, client-go's event queue. */
  capacity?: number;
  /** Sends in flight at once; default 4. */
  concurrency?: number;
  /** How long each item is held after it was queued before it is sent (flush() sends at once); default 0. */
  holdMs?: number;
  /** Told of every item that is not sent, with the send's error for 'failed'. */
  onDropped?(item: T, reason: DropReason, error?: unknown): void;
  clock?: Clock;
}

/**
 * Sends items in the background, as client-go's event broadcaster does: the caller hands an item
 * over and goes on at once, never waiting for (or failing with) the send. Items are sent in the
 * order they were queued, each no sooner than `holdMs` after. The buffer is bounded, so a slow or
 * unreachable receiver costs dropped items, never memory or the caller's time.
 */
export class BackgroundSender<T> {
  private readonly buffer: Array<{ item: T; dueAt: number }> = [];
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly holdMs: number;
  private readonly clock: Clock;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** The timer for the oldest item, while it is held. */
  private holding: Cancel | undefined;

  constructor(private readonly options: BackgroundSenderOptions<T>) {
    this.capacity = options.capacity ?? 1000;
    this.concurrency = options.concurrency ?? 4;
    this.holdMs = options.holdMs ?? 0;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error('capacity: must be a positive integer');
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error('concurrency: must be a positive integer');
    if (!Number.isFinite(this.holdMs) || this.holdMs < 0) throw new Error('holdMs: must be a number of ms, 0 or more');
    this.clock = options.clock ?? systemClock;
  }

  /** Items waiting (held or not yet due a send slot), not counting those being sent. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Queues the item for sending; false when it was dropped (buffer full, or flush() has begun). */
  enqueue(item: T): boolean {
    if (this.closed) {
      this.options.onDropped?.(item, 'shutdown');
      return false;
    }
    if (this.buffer.length >= this.capacity) {
      this.options.onDropped?.(item, 'overflow');
      return false;
    }
    this.buffer.push({ item, dueAt: this.clock.now() + this.holdMs });
    this.pump();
    return true;
  }

  /**
   * Takes no more items, sends the held ones at once and waits until everything queued is sent,
   * or deadlineMs has passed: then the items still waiting are dropped ('shutdown'), and sends in
   * flight are left to end on their own.
   */
  async flush(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.pump();
    const deadline = new AbortController();
    await Promise.race([this.idle(), sleep(this.clock, deadlineMs, deadline.signal)]);
    deadline.abort();
    this.holding?.();
    this.holding = undefined;
    for (const { item } of this.buffer.splice(0)) this.options.onDropped?.(item, 'shutdown');
  }

  private idle(): Promise<void> {
    if (this.buffer.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.concurrency) {
      const next = this.buffer[0];
      if (next === undefined) break;
      const heldFor = next.dueAt - this.clock.now();
      // Once flushing, nothing is held.
      if (heldFor > 0 && !this.closed) {
        this.holding ??= this.clock.schedule(heldFor, () => {
          this.holding = undefined;
          this.pump();
        });
        return;
      }
      this.buffer.shift();
      this.inFlight++;
      void this.sendOne(next.item);
    }
    if (this.buffer.length === 0 && this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async sendOne(item: T): Promise<void> {
    try {
      await this.options.send(item);
    } catch (error) {
      this.options.onDropped?.(item, 'failed', error);
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}
