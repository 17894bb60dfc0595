import type { EventHandlers } from './informer.js';
import { requestFor, requestKey } from './keys.js';

/** Any object with a name and a version, whether typed by @kubernetes/client-node or by its own API types. */
export type Versioned = { metadata?: { namespace?: string; name?: string; resourceVersion?: string } };

const keyOf = (object: Versioned): string => requestKey(requestFor(object));

/** The reads of a cache the view stands in front of. */
interface CacheReader<T> {
  get(namespace: string, name: string): T | undefined;
}

/** What a write replaced: the object at a version, or no object (the write created it). */
const ABSENT = Symbol('absent');
type Replaced = string | undefined | typeof ABSENT;

/** A write of this process: what it left, and everything it (with the writes just before it) replaced. */
interface OwnWrite<T> {
  replaced: Replaced[];
  written: T;
}

function shown(object: Versioned | undefined): Replaced {
  return object === undefined ? ABSENT : object.metadata?.resourceVersion;
}

/**
 * Read-your-writes: a view of a cache that answers with this process's last write of an object
 * while the cache still shows the version that write replaced (or no object, when the write
 * created it). The cache lags behind every write by the time its event takes; a decision made on
 * the older copy would repeat what the write recorded as done. Any other version (the write's own,
 * or someone else's later one) is the cache's answer again, and the record goes; so does the
 * record of an object whose event (add, update or delete) shows the cache has moved on.
 *
 * What it does not do: tell this process about another writer's write the cache has not shown yet.
 * A read that decides a deletion or a credential's fate asks the API server.
 */
export class ReadYourWrites<T extends Versioned> {
  private readonly writes = new Map<string, OwnWrite<T>>();

  /** `prepare` keeps of a written object what the cache keeps of it. */
  constructor(
    private readonly cache: CacheReader<T>,
    private readonly prepare: (object: T) => T = (object) => object,
  ) {}

  /** The object as this process last saw or wrote it. */
  get(namespace: string, name: string): T | undefined {
    const key = requestKey({ namespace, name });
    const cached = this.cache.get(namespace, name);
    const own = this.writes.get(key);
    if (own === undefined) return cached;
    if (own.replaced.includes(shown(cached))) return own.written;
    this.writes.delete(key);
    return cached;
  }

  /** This process wrote `written` over `replaced` (undefined: it created the object). */
  wrote(replaced: Versioned | undefined, written: T): void {
    const key = keyOf(written);
    const previous = this.writes.get(key);
    const version = shown(replaced);
    // A write over this process's previous one replaced what that one replaced too: the cache may still show any of them.
    const chained = previous !== undefined && previous.written.metadata?.resourceVersion === version;
    // The write's event often comes before its answer is read: when the cache shows the written
    // version already, get answers from it, and no event would come to end a record, which would
    // hold a copy of the object (one per resource) until its next read.
    const { metadata } = written;
    const cached = this.cache.get(metadata?.namespace ?? '', metadata?.name ?? '');
    if (cached !== undefined && cached.metadata?.resourceVersion === metadata?.resourceVersion) {
      this.writes.delete(key);
      return;
    }
    this.writes.set(key, {
      replaced: [...(chained ? previous.replaced : []), version],
      written: this.prepare(written),
    });
  }

  /** The informer's events: each shows the cache at a version, which ends a record unless it is one the write replaced. */
  handlers(): EventHandlers<T> {
    const seen = (object: T): void => {
      const key = keyOf(object);
      const own = this.writes.get(key);
      if (own !== undefined && !own.replaced.includes(shown(object))) this.writes.delete(key);
    };
    return {
      onAdd: seen,
      onUpdate: (_previous, current) => seen(current),
      onDelete: (object) => this.writes.delete(keyOf(object)),
    };
  }

  /** Writes whose event has not come yet. */
  get size(): number {
    return this.writes.size;
  }
}

/** An object as a status write left it: the status written, at the version the write answered with. */
export function withStatus<T extends { metadata: { resourceVersion?: string }; status?: S }, S>(
  object: T,
  status: S,
  resourceVersion: string,
): T {
  return { ...object, metadata: { ...object.metadata, resourceVersion }, status };
}
