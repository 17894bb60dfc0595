import { sleep, systemClock } from './clock.js';
import type { Clock } from './clock.js';

/** Why an item was never sent: the buffer was full, the send failed, or shutdown's deadline came first. */
export type DropReason = 'overflow' | 'failed' | 'shutdown';

interface BackgroundSenderOptions<T> {
  send(item: T): Promise<void>;
  /** Items waiting to be sent at most; a new item finding the buffer full is dropped. Default 1000, client-go's event queue. */
  capacity?: number;
  /** Sends in flight at once; default 4. */
  concurrency?: number;
  /** Told of every item that is not sent, with the send's error for 'failed'. */
  onDropped?(item: T, reason: DropReason, error?: unknown): void;
  clock?: Clock;
}

/**
 * Sends items in the background, as client-go's event broadcaster does: the caller hands an item
 * over and goes on at once, never waiting for (or failing with) the send. The buffer is bounded,
 * so a slow or unreachable receiver costs dropped items, never memory or the caller's time.
 */
export class BackgroundSender<T> {
  private readonly buffer: T[] = [];
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: BackgroundSenderOptions<T>) {
    this.capacity = options.capacity ?? 1000;
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error('capacity: must be a positive integer');
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error('concurrency: must be a positive integer');
    this.clock = options.clock ?? systemClock;
  }

  /** Items waiting, not counting those being sent. */
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
    this.buffer.push(item);
    this.pump();
    return true;
  }

  /**
   * Takes no more items and waits until everything queued is sent, or deadlineMs has passed:
   * then the items still waiting are dropped ('shutdown'), and sends in flight are left to end
   * on their own.
   */
  async flush(deadlineMs: number): Promise<void> {
    this.closed = true;
    const deadline = new AbortController();
    await Promise.race([this.idle(), sleep(this.clock, deadlineMs, deadline.signal)]);
    deadline.abort();
    for (const item of this.buffer.splice(0)) this.options.onDropped?.(item, 'shutdown');
  }

  private idle(): Promise<void> {
    if (this.buffer.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.buffer.length > 0) {
      const item = this.buffer.shift() as T;
      this.inFlight++;
      void this.sendOne(item);
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
