import type { KubernetesObject } from '@kubernetes/client-node';
import { systemClock } from './clock.js';
import type { Cancel, Clock } from './clock.js';
import type { ApiGetter } from './connection.js';
import { objectKey, requestKey } from './keys.js';
import { type Logger, errorMessage } from '../log.js';
import { dropBookkeeping, keepIdentity } from './cached-object.js';
import { Reflector } from './reflector.js';
import type { InformerMetrics, ReflectorAccept, ReflectorStore, ReflectorTiming } from './reflector.js';

/** Which collection to list and watch; group '' is the core API (/api/v1). */
interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

/**
 * The values an object is filed under in one index of a cache, as client-go's IndexFunc: e.g.
 * every Secret it names, as `namespace/name`. Must depend on the object alone: an update
 * computes the values of the object it replaces again to take them out.
 */
export type IndexFunction<T> = (object: T) => readonly string[];

/**
 * One index: its function and, per value, the keys of the cached objects filed under it. `recent`
 * holds the values of the last objects the function was run on (the one replaced and the one
 * filed by the last change), for readers that derive from the same values right after the change
 * (indexValues); one entry per cached object would cost more memory than computing them again.
 */
interface Index<T> {
  name: string;
  indexFunction: IndexFunction<T>;
  /** A value that files one key holds it bare: most values (a Secret a resource names) file one, and a Set each would triple the index. */
  keys: Map<string, string | Set<string>>;
  recent: Array<{ object: T; values: readonly string[] }>;
}

/** The objects whose values an index remembers: an update's replaced object and its successor. */
const RECENT = 2;

/**
 * Notifications about cache changes. Use them to decide which keys to enqueue, nothing more:
 * a reconciler reads the current object from the cache, never from the event.
 */
export interface EventHandlers<T> {
  /** isInInitialList: the object came with the first list of its namespace (client-go's OnAdd flag), not as a change. */
  onAdd?(object: T, isInInitialList: boolean): void;
  /** Also called with previous === current on every periodic resync. */
  onUpdate?(previous: T, current: T): void;
  /** Gets the last object the cache knew. */
  onDelete?(lastKnown: T): void;
}

export interface InformerOptions<T> extends ReflectorTiming {
  getter: ApiGetter;
  resource: ResourceType;
  /** Watch only these namespaces (one list/watch each); absent or empty means cluster-wide. */
  namespaces?: readonly string[];
  labelSelector?: string;
  logger: Logger;
  /** Re-deliver every cached object to onUpdate this often; 0 disables. Default 10 h, as controller-runtime. */
  resyncPeriodMs?: number;
  /**
   * Cache only metadata (PartialObjectMetadata), as controller-runtime's metadata-only watches
   * do: for resources whose names and labels matter but whose contents must not be held, such
   * as every Secret of a namespace.
   */
  metadataOnly?: boolean;
  /** Applied to every object before it is cached; default dropBookkeeping (keepIdentity when metadataOnly). */
  transform?: (object: T) => T;
  metrics?: InformerMetrics;
  clock?: Clock;
  random?: () => number;
}

const METADATA_ONLY: ReflectorAccept = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
};

function collectionPath(resource: ResourceType, namespace: string | undefined): string {
  const base = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${base}${scope}/${resource.plural}`;
}

/**
 * A cache of one resource type kept current by list+watch (one reflector per namespace),
 * with client-go's informer notifications and periodic resync.
 */
export class Informer<T extends KubernetesObject = KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();
  private readonly handlers: Array<EventHandlers<T>> = [];
  private readonly reflectors: Array<Reflector<T>>;
  private readonly logger: Logger;
  private readonly resourceName: string;
  private readonly clock: Clock;
  private syncWaiters: Array<() => void> = [];
  private changeCount = 0;
  private running: { abort: AbortController; loops: Array<Promise<void>>; cancelResync: Cancel } | undefined;
  /** What the cache keeps of an object (the transform, or dropBookkeeping, or keepIdentity). */
  readonly prepare: (object: T) => T;

  constructor(private readonly options: InformerOptions<T>) {
    this.clock = options.clock ?? systemClock;
    this.resourceName = options.resource.group
      ? `${options.resource.plural}.${options.resource.group}`
      : options.resource.plural;
    this.logger = options.logger.child({ resource: this.resourceName });
    const scopes: Array<string | undefined> = options.namespaces?.length
      ? [...new Set(options.namespaces)]
      : [undefined];
    const transform = options.transform ?? (options.metadataOnly ? keepIdentity : dropBookkeeping);
    this.prepare = transform;
    this.reflectors = scopes.map(
      (namespace) =>
        new Reflector<T>({
          ...options,
          path: collectionPath(options.resource, namespace),
          store: this.scopedStore(),
          prepare: transform,
          ...(options.metadataOnly && { accept: METADATA_ONLY }),
          logger: namespace === undefined ? this.logger : this.logger.child({ namespace }),
          clock: this.clock,
          random: options.random ?? Math.random,
        }),
    );
  }

  /**
   * Adds indexes, filing what the cache already holds. Declaring a name again with the same
   * function changes nothing; with another function it is refused: two readers would each get
   * answers meant for the other.
   */
  addIndexes(indexes: Readonly<Record<string, IndexFunction<T>>>): void {
    // All are checked before any is added: a refused declaration leaves the cache as it was.
    for (const [name, indexFunction] of Object.entries(indexes)) {
      const known = this.indexes.get(name);
      if (known && known.indexFunction !== indexFunction) {
        throw new Error(
          `${this.resourceName}: index ${JSON.stringify(name)} declared with two different functions; one name files objects one way`,
        );
      }
    }
    for (const [name, indexFunction] of Object.entries(indexes)) {
      if (this.indexes.has(name)) continue;
      const index: Index<T> = { name, indexFunction, keys: new Map(), recent: [] };
      this.indexes.set(name, index);
      for (const [key, object] of this.cache) this.fileUnder(index, key, object);
    }
  }

  /** The cached objects an index files under `value` (client-go's ByIndex); throws for an index never declared. */
  byIndex(name: string, value: string): T[] {
    const index = this.index(name);
    const objects: T[] = [];
    const filed = index.keys.get(value);
    for (const key of typeof filed === 'string' ? [filed] : (filed ?? [])) {
      const object = this.cache.get(key);
      if (object !== undefined) objects.push(object);
    }
    return objects;
  }

  /**
   * The values an index files `object` under (client-go's IndexFunc run on it): for the objects
   * of the change being delivered, the values the cache computed to file them, not computed again.
   */
  indexValues(name: string, object: T): readonly string[] {
    const index = this.index(name);
    return this.valuesOf(index, objectKey(object), object);
  }

  addHandlers(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
  }

  start(): void {
    if (this.running) return;
    const abort = new AbortController();
    const loops = this.reflectors.map((reflector) => reflector.run(abort.signal));
    this.running = { abort, loops, cancelResync: this.scheduleResync() };
  }

  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.cancelResync();
    running.abort.abort();
    await Promise.all(running.loops);
  }

  /** True once every namespace has been listed at least once. */
  hasSynced(): boolean {
    return this.reflectors.every((reflector) => reflector.hasSynced);
  }

  /** Resolves true once synced, or false if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.syncWaiters = this.syncWaiters.filter((waiter) => waiter !== onSynced);
        resolve(false);
      };
      const onSynced = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(onSynced);
    });
  }

  /** False when some list/watch loop has stopped making progress (for /healthz). */
  isHealthy(): boolean {
    return !this.running || this.reflectors.every((reflector) => !reflector.isWedged());
  }

  /** How many times the cache's contents changed: what is computed from them holds while it stays. */
  get changes(): number {
    return this.changeCount;
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(requestKey({ namespace, name }));
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const objects = [...this.cache.values()];
    return namespace === undefined ? objects : objects.filter((object) => object.metadata?.namespace === namespace);
  }

  /**
   * A store for one reflector, so a relist only deletes objects of that reflector's namespace.
   * The first list of the scope files each page as it arrives (nothing reads the cache before it
   * has synced, and filing while the next page is on its way takes the work off the start-up's
   * path); a relist files all its pages at once at its end, so readers never see a cache that is
   * half the new list and half the old.
   */
  private scopedStore(): ReflectorStore<T> {
    const owned = new Set<string>();
    let listed = false;
    let attempted = false;
    const upsert = (object: T, isInInitialList = false): void => {
      const key = objectKey(object);
      const previous = this.cache.get(key);
      this.cache.set(key, object);
      this.changeCount++;
      for (const index of this.indexes.values()) {
        if (previous) this.unfile(index, key, previous);
        this.fileUnder(index, key, object);
      }
      owned.add(key);
      if (!previous) this.notify((handlers) => handlers.onAdd?.(object, isInInitialList));
      else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        this.notify((handlers) => handlers.onUpdate?.(previous, object));
      }
    };
    const removeKey = (key: string, fallback: T): void => {
      const cached = this.cache.get(key);
      const lastKnown = cached ?? fallback;
      this.cache.delete(key);
      this.changeCount++;
      if (cached) for (const index of this.indexes.values()) this.unfile(index, key, cached);
      owned.delete(key);
      this.notify((handlers) => handlers.onDelete?.(lastKnown));
    };
    /** Removes what the list did not name: gone while no watch ran (or filed by a list that failed). */
    const removeUnlisted = (keys: ReadonlySet<string>): void => {
      for (const key of owned) {
        const cached = this.cache.get(key);
        if (!keys.has(key) && cached) removeKey(key, cached);
      }
    };
    return {
      upsert: (object) => upsert(object),
      remove: (object) => removeKey(objectKey(object), object),
      startList: () => {
        const initial = !listed;
        // The scope's very first list finds the cache empty: nothing in it can be unlisted, and
        // 50,000 keys need not be collected to learn that. A list after a failed one may.
        const keys = attempted ? new Set<string>() : undefined;
        attempted = true;
        const held: T[] = [];
        return {
          page: (objects) => {
            for (const object of objects) {
              keys?.add(objectKey(object));
              if (initial) upsert(object, true);
              else held.push(object);
            }
          },
          end: () => {
            if (keys !== undefined) removeUnlisted(keys);
            for (const object of held) upsert(object);
            listed = true;
            this.resolveSyncWaiters();
          },
        };
      },
    };
  }

  /** Files the key under each value the index gives the object (once: a function may give one value twice). */
  private fileUnder(index: Index<T>, key: string, object: T): void {
    for (const value of this.valuesOf(index, key, object)) {
      const filed = index.keys.get(value);
      if (filed === undefined || filed === key) index.keys.set(value, key);
      else if (typeof filed === 'string') index.keys.set(value, new Set([filed, key]));
      else filed.add(key);
    }
  }

  private unfile(index: Index<T>, key: string, object: T): void {
    for (const value of this.valuesOf(index, key, object)) {
      const filed = index.keys.get(value);
      // A value no object gives any more is dropped: the index holds only what the cache holds.
      if (filed === key) index.keys.delete(value);
      else if (filed !== undefined && typeof filed !== 'string') {
        filed.delete(key);
        const [only] = filed;
        if (filed.size === 1 && only !== undefined) index.keys.set(value, only);
      }
    }
  }

  /**
   * An object its index function fails on is filed under nothing (and logged) rather than stop
   * the list/watch loop; the function fails on it again when it is replaced, so nothing is left behind.
   */
  private valuesOf(index: Index<T>, key: string, object: T): readonly string[] {
    const at = index.recent.findIndex((entry) => entry.object === object);
    const known = index.recent[at];
    if (known !== undefined) {
      // The most recent first: an update unfiles the replaced object (filed earlier) and files its successor.
      index.recent.splice(at, 1);
      index.recent.unshift(known);
      return known.values;
    }
    let values: readonly string[];
    try {
      values = index.indexFunction(object);
    } catch (error) {
      this.logger.error('index function failed', { index: index.name, object: key, error: errorMessage(error) });
      values = [];
    }
    // The values depend on the object alone (IndexFunction), and a cached object is never changed in place.
    index.recent.unshift({ object, values });
    if (index.recent.length > RECENT) index.recent.pop();
    return values;
  }

  private index(name: string): Index<T> {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`${this.resourceName}: no index named ${JSON.stringify(name)} was declared`);
    return index;
  }

  private notify(deliver: (handlers: EventHandlers<T>) => void): void {
    for (const handlers of this.handlers) {
      try {
        deliver(handlers);
      } catch (error) {
        this.logger.error('event handler failed', { error: errorMessage(error) });
      }
    }
  }

  private resolveSyncWaiters(): void {
    if (!this.hasSynced()) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scheduleResync(): Cancel {
    const period = this.options.resyncPeriodMs ?? 10 * 60 * 60_000;
    if (period <= 0) return () => undefined;
    let cancel: Cancel;
    const tick = (): void => {
      if (this.hasSynced()) {
        for (const object of this.cache.values()) this.notify((handlers) => handlers.onUpdate?.(object, object));
      }
      cancel = this.clock.schedule(period, tick);
    };
    cancel = this.clock.schedule(period, tick);
    return () => cancel();
  }
}
