interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /**
   * Each delay is stretched by up to this fraction (0.5 -> 1x..1.5x) so that many clients
   * failing together do not retry in lockstep. Jitter only lengthens, never shortens, a delay.
   */
  jitter?: number;
  random?: () => number;
}

/** Exponential backoff: initial, doubling per failure up to max, reset after a success. */
export class Backoff {
  private failures = 0;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.jitter = options.jitter ?? 0.5;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures, 52));
    this.failures++;
    return base * (1 + this.jitter * this.random());
  }

  reset(): void {
    this.failures = 0;
  }
}
