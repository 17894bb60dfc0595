import type { Clock } from './clock.js';

export interface RateLimiterOptions {
  /** Delay after the first failure of a key; doubles per further failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Overall retries per second across all keys, and how many may go at once. */
  qps?: number;
  burst?: number;
}

/**
 * client-go's DefaultControllerRateLimiter: the larger of a per-key exponential backoff and an
 * overall token bucket. The per-key part keeps one failing object from hammering its backend;
 * the bucket keeps a mass failure (every object failing at once) from hammering everything.
 */
export class RetryRateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly clock: Clock,
    options: RateLimiterOptions = {},
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    this.tokens = this.burst;
    this.refilledAt = clock.now();
  }

  /** How long the key must wait before its next attempt; records one more failure. */
  when(key: string): number {
    return Math.max(this.perKeyDelay(key), this.bucketDelay());
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  private perKeyDelay(key: string): number {
    const previous = this.failures.get(key) ?? 0;
    this.failures.set(key, previous + 1);
    // Past 2^60 the product is beyond any sane maximum; capping the exponent avoids Infinity.
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(previous, 60));
  }

  /** Reserves one token, as golang.org/x/time/rate's Reserve: the debt is paid by waiting. */
  private bucketDelay(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.qps) / 1000);
    this.refilledAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
}
