import { createHash } from 'node:crypto';
import { createInfluxClient } from './client.js';
import { createTransport, type Transport } from './transport.js';
import type { ConnectGuard, InfluxClient, InfluxClientOptions } from './types.js';

type SharedOptions = 'onRequest' | 'userAgent' | 'allowLinkLocal' | 'allowedTargets' | 'refusal';

/** What identifies a client: everything that changes how it connects (the address policy is the pool's, shared by all). */
type PoolKeyOptions = Omit<InfluxClientOptions, SharedOptions | 'guard'>;

/** The pool's settings for every client, and the guard each client gets for its URL and tenant. */
export type PoolOptions = Pick<InfluxClientOptions, SharedOptions> & {
  guardFor?: (baseUrl: string, tenant: string | undefined) => ConnectGuard | undefined;
};

/**
 * Keeps one keep-alive connection pool (transport) per InfluxDB target, so that reconciles reuse
 * sockets instead of opening new ones each time; each get is a client over it with the caller's
 * signal. The least recently used transport is closed once there are more than `capacity`.
 */
export class InfluxClientPool {
  private readonly transports = new Map<string, Transport>();

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
    let transport = this.transports.get(key);
    if (transport !== undefined) {
      // Re-insert so Map order is least-recently-used first.
      this.transports.delete(key);
    } else {
      // The connections outlive this caller: its signal is the client's, never the transport's.
      const { signal: _callers, ...connection } = merged;
      // Made once per transport: the guard decides from live state each time it is asked.
      const guard = guardFor?.(merged.baseUrl, merged.tenant);
      transport = createTransport({ ...connection, ...(guard !== undefined && { guard }) });
      for (const [oldKey, oldTransport] of this.transports) {
        if (this.transports.size < this.capacity) break;
        oldTransport.close();
        this.transports.delete(oldKey);
      }
    }
    this.transports.set(key, transport);
    return createInfluxClient(merged, transport);
  }

  closeAll(): void {
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
  }

  get size(): number {
    return this.transports.size;
  }
}
