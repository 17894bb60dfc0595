import type { Cancel, Clock } from '../../src/runtime/clock.js';

interface ManualTimer {
  at: number;
  sequence: number;
  callback: () => void;
}

/** Lets queued promise continuations (and the I/O callbacks they trigger) run before time moves on. */
async function letPendingWorkRun(): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A Clock whose time only moves when `advance` is called; timers fire in time order. */
export class ManualClock implements Clock {
  private current: number;
  private sequence = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  schedule(delayMs: number, callback: () => void): Cancel {
    const timer: ManualTimer = { at: this.current + Math.max(0, delayMs), sequence: this.sequence++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((candidate) => candidate !== timer);
    };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward without firing any timer, as for a process that was stopped (SIGSTOP): its timers fire later. */
  jump(ms: number): void {
    this.current += ms;
  }

  /** Moves time forward, firing due timers one by one and letting the work they start settle. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await letPendingWorkRun();
      const due = this.timers
        .filter((timer) => timer.at <= target)
        .sort((a, b) => a.at - b.at || a.sequence - b.sequence)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = target;
    await letPendingWorkRun();
  }
}
