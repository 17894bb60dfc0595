import { createHash } from 'node:crypto';
import { createInfluxClient } from './client.js';
import type { ConnectGuard, InfluxClient, InfluxClientOptions } from './types.js';

type SharedOptions = 'onRequest' | 'userAgent' | 'allowLinkLocal' | 'allowedTargets' | 'refusal';

/** What identifies a client: everything that changes how it connects (the address policy is the pool's, shared by all). */
type PoolKeyOptions = Omit<InfluxClientOptions, SharedOptions | 'guard'>;

/** The pool's settings for every client, and the guard each client gets for its URL and tenant. */
export type PoolOptions = Pick<InfluxClientOptions, SharedOptions> & {
  guardFor?: (baseUrl: string, tenant: string | undefined) => ConnectGuard | undefined;
};

/**
 * Keeps one client (and so one keep-alive connection pool) per InfluxDB target, so that
 * reconciles reuse sockets instead of opening new ones each time. The least recently used
 * client is closed once there are more than `capacity`.
 */
export class InfluxClientPool {
  private readonly clients = new Map<string, InfluxClient>();

  constructor(
    private readonly shared: PoolOptions,
    private readonly capacity = 256,
  ) {}

  get(options: PoolKeyOptions): InfluxClient {
    const { guardFor, ...policy } = this.shared;
    const merged = { ...options, ...policy };
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          merged.baseUrl,
          merged.timeoutMs,
          merged.caPem ?? '',
          merged.insecureSkipVerify === true,
          merged.tenant ?? null,
        ]),
      )
      .digest('hex');
    const existing = this.clients.get(key);
    if (existing !== undefined) {
      // Re-insert so Map order is least-recently-used first.
      this.clients.delete(key);
      this.clients.set(key, existing);
      return existing;
    }
    // Made once per client: the guard decides from live state each time it is asked.
    const guard = guardFor?.(merged.baseUrl, merged.tenant);
    const client = createInfluxClient({ ...merged, ...(guard !== undefined && { guard }) });
    this.clients.set(key, client);
    for (const [oldKey, oldClient] of this.clients) {
      if (this.clients.size <= this.capacity) break;
      oldClient.close();
      this.clients.delete(oldKey);
    }
    return client;
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  get size(): number {
    return this.clients.size;
  }
}
