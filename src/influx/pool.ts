import { createHash } from 'node:crypto';
import { createInfluxClient } from './client.js';
import type { InfluxClient, InfluxClientOptions } from './types.js';

/** What identifies a client: everything that changes how it connects (the address policy is the pool's, shared by all). */
type PoolKeyOptions = Omit<InfluxClientOptions, 'onRequest' | 'userAgent' | 'allowLinkLocal' | 'allowedTargets'>;

/**
 * Keeps one client (and so one keep-alive connection pool) per InfluxDB target, so that
 * reconciles reuse sockets instead of opening new ones each time. The least recently used
 * client is closed once there are more than `capacity`.
 */
export class InfluxClientPool {
  private readonly clients = new Map<string, InfluxClient>();

  constructor(
    private readonly shared: Pick<InfluxClientOptions, 'onRequest' | 'userAgent' | 'allowLinkLocal' | 'allowedTargets'>,
    private readonly capacity = 256,
  ) {}

  get(options: PoolKeyOptions): InfluxClient {
    const merged = { ...options, ...this.shared };
    const key = createHash('sha256')
      .update(
        JSON.stringify([merged.baseUrl, merged.timeoutMs, merged.caPem ?? '', merged.insecureSkipVerify === true]),
      )
      .digest('hex');
    const existing = this.clients.get(key);
    if (existing !== undefined) {
      // Re-insert so Map order is least-recently-used first.
      this.clients.delete(key);
      this.clients.set(key, existing);
      return existing;
    }
    const client = createInfluxClient(merged);
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
