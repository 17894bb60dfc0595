import type { InfluxOnboarding, InfluxOnboardingStatus } from '../api/types.js';
import type { StatusWrite } from '../runtime/index.js';

// Records of earlier status writes each reconcile checks against the cache (dropCaughtUp): more
// than one, so that they are dropped faster than a burst of onboardings adds them.
const CAUGHT_UP_CHECKS_PER_RECONCILE = 2;

/**
 * The last status this process wrote to each resource, and every resourceVersion that write
 * (with the writes just before it) replaced. The cache can lag behind those writes (a reconcile
 * triggered by our own Secret write can start before the status update arrives); deciding on the
 * older copy would repeat what the write recorded as done, e.g. send InfluxDB a request it already
 * refused for good.
 */
export class StatusWrites {
  private readonly writes = new Map<string, { replaced: Array<string | undefined>; resource: InfluxOnboarding }>();

  constructor(
    private readonly cached: (namespace: string, name: string) => InfluxOnboarding | undefined,
    private readonly patchStatus: (resource: InfluxOnboarding, status: InfluxOnboardingStatus) => Promise<StatusWrite>,
  ) {}

  /** The cached resource, or what this process wrote over it when the cache has not caught up yet. */
  latest(key: string, cached: InfluxOnboarding): InfluxOnboarding {
    const own = this.writes.get(key);
    if (own === undefined) return cached;
    if (own.replaced.includes(cached.metadata.resourceVersion)) return own.resource;
    this.writes.delete(key);
    return cached;
  }

  /**
   * Drops the oldest records of status writes the cache has caught up with, a few per reconcile.
   * The cache catches up within moments, but only a reconcile of the same resource used to notice
   * (latest), and the next one may be a drift interval away: each record holds a whole copy of its
   * resource, so with thousands onboarded at once they would double what the cache holds.
   */
  dropCaughtUp(): void {
    let checked = 0;
    for (const [key, own] of this.writes) {
      if (checked++ === CAUGHT_UP_CHECKS_PER_RECONCILE) return;
      const { namespace, name } = own.resource.metadata;
      const cached = this.cached(namespace, name);
      if (cached === undefined) this.writes.delete(key);
      else this.latest(key, cached);
    }
  }

  /** Writes the status over the resource as read: the resource as written, or undefined when it changed since. */
  async write(
    key: string,
    resource: InfluxOnboarding,
    status: InfluxOnboardingStatus,
  ): Promise<InfluxOnboarding | undefined> {
    const written = await this.patchStatus(resource, status);
    if (written.kind === 'stale') return undefined;
    const updated = {
      ...resource,
      metadata: { ...resource.metadata, resourceVersion: written.resourceVersion },
      status,
    };
    const previous = this.writes.get(key);
    const chained =
      previous !== undefined && previous.resource.metadata.resourceVersion === resource.metadata.resourceVersion;
    this.writes.set(key, {
      replaced: [...(chained ? previous.replaced : []), resource.metadata.resourceVersion],
      resource: updated,
    });
    return updated;
  }

  forget(key: string): void {
    this.writes.delete(key);
  }
}
