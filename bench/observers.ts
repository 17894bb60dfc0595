// Readiness as the benchmark sees it, the same for the operator and the floor: a watch (every
// event of a namespace's collection as the API server sends it), or a list poll (the one resource
// awaited, listed again POLL_MS after each answer), the way an outside script would wait for it.
import { isReady, type Kube } from './kube.js';
import { sleep } from './util.js';

export type ObserverKind = 'watch' | 'poll';

const POLL_MS = 5;

/** When a resource was first seen Ready (performance.now()). */
export interface ReadyObserver {
  readonly kind: ObserverKind;
  readyAt(name: string, timeoutMs: number): Promise<number>;
  stop(): void;
}

/** A watch of a whole collection, which also tells when each resource first appeared. */
export interface ReadyWatch extends ReadyObserver {
  /** Set by whoever creates the resources: when each create was answered. */
  created: Map<string, number>;
  added: Map<string, number>;
  ready: Map<string, number>;
  /** When `count` resources had been seen Ready. */
  allReady(count: number, timeoutMs: number): Promise<number>;
}

/** `collectionPath`: e.g. /apis/<group>/<version>/namespaces/<ns>/influxonboardings. */
export function watchObserver(kube: Kube, collectionPath: string): ReadyWatch {
  const created = new Map<string, number>();
  const added = new Map<string, number>();
  const ready = new Map<string, number>();
  const waiters = new Set<{ done: () => boolean }>();
  let latest = 0;
  const stop = kube.watch(`${collectionPath}?watch=1`, ({ type, object }) => {
    const at = performance.now();
    const name = object.metadata.name;
    if (type === 'ADDED' && !added.has(name)) added.set(name, at);
    if (!ready.has(name) && isReady(object)) {
      ready.set(name, at);
      latest = at;
      for (const waiter of waiters) if (waiter.done()) waiters.delete(waiter);
    }
  });
  const until = (what: string, reached: () => number | undefined, timeoutMs: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const waiter = {
        done: (): boolean => {
          const at = reached();
          if (at === undefined) return false;
          clearTimeout(timer);
          resolve(at);
          return true;
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${what} after ${timeoutMs / 1000} s in ${collectionPath} (${ready.size} Ready)`));
      }, timeoutMs);
      if (!waiter.done()) waiters.add(waiter);
    });
  return {
    kind: 'watch',
    created,
    added,
    ready,
    readyAt: (name, timeoutMs) => until(`${name} not Ready`, () => ready.get(name), timeoutMs),
    allReady: (count, timeoutMs) =>
      until(`fewer than ${count} Ready`, () => (ready.size >= count ? latest : undefined), timeoutMs),
    stop: () => {
      stop();
      waiters.clear();
    },
  };
}

/** Lists the awaited resource (by a field selector on its name) again and again, POLL_MS after each answer. */
export function pollObserver(kube: Kube, collectionPath: string): ReadyObserver {
  let stopped = false;
  return {
    kind: 'poll',
    async readyAt(name, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      const path = `${collectionPath}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
      while (!stopped && performance.now() < deadline) {
        const { json } = await kube.call('GET', path);
        const at = performance.now();
        if (((json as { items?: Parameters<typeof isReady>[0][] }).items ?? []).some(isReady)) return at;
        await sleep(POLL_MS);
      }
      throw new Error(`${name} not Ready after ${timeoutMs / 1000} s in ${collectionPath} (list poll)`);
    },
    stop: () => {
      stopped = true;
    },
  };
}
