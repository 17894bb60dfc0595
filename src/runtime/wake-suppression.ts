import type { KubernetesObject } from '@kubernetes/client-node';
import { requestKey } from './keys.js';
import type { Request } from './keys.js';

/** The collection an object belongs to, as the manager's ObjectType names it. */
interface WrittenType {
  group: string;
  plural: string;
}

/**
 * One object's writes by one writer whose events have not come yet: the versions they returned,
 * in order, the writes still waiting for an answer, and the events held meanwhile.
 */
interface Writes {
  writer: string;
  versions: string[];
  inFlight: number;
  held: Array<{ resourceVersion: string | undefined; wake: () => void }>;
}

/**
 * Wake suppression: the operator's own write does not wake the resource that wrote it. It records
 * the versions of objects a controller's reconciles wrote themselves (client-go's expectations in
 * their simplest form). The write's answer already told the reconcile what it wrote, so the
 * informer event carrying exactly such a resourceVersion need not wake the writer again: it would
 * only wait its turn in the queue to find nothing to do. Only the writer is spared, and only those
 * versions: the object at any other version (someone else's change, a failed write) wakes it as
 * before, and the event still reaches everyone else it concerns.
 *
 * An event can arrive before the write's answer is read: events for the writer that come while a
 * write of the object is on the way are held, and wake it once the answers show another version.
 */
export class WakeSuppression {
  private readonly writes = new Map<string, Writes>();

  /** Runs `write` (by the reconcile of `writer`, to `object`) and records the version `versionOf` finds in its answer. */
  async write<T>(
    writer: Request,
    type: WrittenType,
    object: { namespace: string; name: string },
    write: () => Promise<T>,
    versionOf: (answer: T) => string | undefined,
  ): Promise<T> {
    const key = writtenKey(type, object.namespace, object.name);
    const writerKey = requestKey(writer);
    let writes = this.writes.get(key);
    if (writes === undefined || writes.writer !== writerKey) {
      writes = { writer: writerKey, versions: [], inFlight: 0, held: [] };
      this.writes.set(key, writes);
    }
    writes.inFlight++;
    try {
      const answer = await write();
      const resourceVersion = versionOf(answer);
      if (resourceVersion !== undefined) writes.versions.push(resourceVersion);
      return answer;
    } finally {
      writes.inFlight--;
      if (writes.inFlight === 0) this.release(key, writes);
    }
  }

  /**
   * For an informer event showing `object` that would wake `writer` (a request key): true when
   * the event is one of the writer's own writes (drop it) or is held until the writes on the way
   * answer (`wake` then runs if it was not one of them); false when it must wake the writer now.
   */
  holds(type: WrittenType, object: KubernetesObject, writer: string, wake: () => void): boolean {
    const key = writtenKey(type, object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    const writes = this.writes.get(key);
    if (writes === undefined || writes.writer !== writer) return false;
    const resourceVersion = object.metadata?.resourceVersion;
    if (writes.inFlight > 0) {
      writes.held.push({ resourceVersion, wake });
      return true;
    }
    if (resourceVersion === undefined || !writes.versions.includes(resourceVersion)) {
      this.writes.delete(key);
      return false;
    }
    // Every handler of one event asks in turn, at once; the version is used up after the last of them.
    queueMicrotask(() => this.seen(key, writes, resourceVersion));
    return true;
  }

  /** Writes whose events have not all come yet, by object. */
  get size(): number {
    return this.writes.size;
  }

  /** The writes have all answered: held events of other versions wake the writer; its own are used up. */
  private release(key: string, writes: Writes): void {
    const held = writes.held.splice(0);
    const own = held.filter(
      (event) => event.resourceVersion !== undefined && writes.versions.includes(event.resourceVersion),
    );
    for (const event of held) if (!own.includes(event)) event.wake();
    for (const event of own) this.seen(key, writes, event.resourceVersion as string);
    if (writes.versions.length === 0 && this.writes.get(key) === writes) this.writes.delete(key);
  }

  /** The event of this version came: it, and every version written before it, will not come again. */
  private seen(key: string, writes: Writes, resourceVersion: string): void {
    const index = writes.versions.indexOf(resourceVersion);
    if (index >= 0) writes.versions.splice(0, index + 1);
    if (writes.versions.length === 0 && writes.inFlight === 0 && this.writes.get(key) === writes)
      this.writes.delete(key);
  }
}

function writtenKey(type: WrittenType, namespace: string, name: string): string {
  return `${type.plural}.${type.group}/${namespace}/${name}`;
}
