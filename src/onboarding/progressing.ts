import type { InfluxOnboarding, InfluxOnboardingStatus } from '../api/types.js';

/** A first visit's Progressing status, written only if the reconcile is still running after a while. */
export interface Progressing {
  /** Stops the timer; the resource to conclude on: as that write left it, undefined when it was refused as stale, else the original. */
  settle(): Promise<InfluxOnboarding | undefined>;
  cancel(): void;
}

/**
 * Writes `status` (Ready Unknown, Progressing) after `afterMs` unless settled first, so that a
 * slow first visit (a request to an unreachable InfluxDB can take its whole timeout) shows it is
 * under way, and a fast one goes straight to its outcome with one status write.
 */
export function progressingIfSlow(
  resource: InfluxOnboarding,
  status: InfluxOnboardingStatus,
  afterMs: number,
  write: (resource: InfluxOnboarding, status: InfluxOnboardingStatus) => Promise<InfluxOnboarding | undefined>,
): Progressing {
  let written: Promise<InfluxOnboarding | undefined> | undefined;
  const timer = setTimeout(() => {
    written = write(resource, status);
    // Awaited by settle(); a reconcile that fails first must not leave it unhandled.
    written.catch(() => undefined);
  }, afterMs);
  return {
    settle: async () => {
      clearTimeout(timer);
      return written === undefined ? resource : await written;
    },
    cancel: () => clearTimeout(timer),
  };
}
