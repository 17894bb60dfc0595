import type { KubernetesObject } from '@kubernetes/client-node';
import { requestKey } from './keys.js';
import type { Request } from './keys.js';

/** The collection an object belongs to, as the manager's ObjectType names it. */
export interface WrittenType {
  group: string;
  plural: string;
}

/** A write on its way: events of the object that reach the writer are held until it answers. */
interface Pending {
  kind: 'pending';
  writer: string;
  held: Array<{ resourceVersion: string | undefined; wake: () => void }>;
}

/** A write that answered, whose event has not come yet. */
interface Answered {
  kind: 'answered';
  writer: string;
  resourceVersion: string;
}

/**
 * The versions of objects a controller's reconciles wrote themselves (client-go's expectations in
 * their simplest form). The write's answer already told the reconcile what it wrote, so the
 * informer event carrying exactly that resourceVersion need not wake the writer again: it would
 * only wait its turn in the queue to find nothing to do. Only the writer is spared, and only that
 * version: the object at any other version (someone else's change, a later write, a failed write)
 * wakes it as before, and the event still reaches everyone else it concerns.
 *
 * The event can arrive before the write's answer is read; an event for the writer that comes while
 * its write is on the way is held, and wakes it once the answer shows a different version.
 */
export class OwnWrites {
  private readonly writes = new Map<string, Pending | Answered>();

  /** Runs `write` (by the reconcile of `writer`, to `object`) and records the version `versionOf` finds in its answer. */
  async write<T>(
    writer: Request,
    type: WrittenType,
    object: { namespace: string; name: string },
    write: () => Promise<T>,
    versionOf: (answer: T) => string | undefined,
  ): Promise<T> {
    const key = writtenKey(type, object.namespace, object.name);
    const pending: Pending = { kind: 'pending', writer: requestKey(writer), held: [] };
    this.writes.set(key, pending);
    let resourceVersion: string | undefined;
    try {
      const answer = await write();
      resourceVersion = versionOf(answer);
      return answer;
    } finally {
      const own = pending.held.some((event) => event.resourceVersion === resourceVersion);
      for (const event of pending.held) if (event.resourceVersion !== resourceVersion) event.wake();
      if (this.writes.get(key) === pending) {
        if (resourceVersion === undefined || own) this.writes.delete(key);
        else this.writes.set(key, { kind: 'answered', writer: pending.writer, resourceVersion });
      }
    }
  }

  /**
   * For an informer event showing `object` that would wake `writer` (a request key): true when
   * the event is the writer's own write (drop it) or is held until that write answers (`wake`
   * then runs if it was not); false when it must wake the writer now.
   */
  holds(type: WrittenType, object: KubernetesObject, writer: string, wake: () => void): boolean {
    const key = writtenKey(type, object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    const write = this.writes.get(key);
    if (write === undefined || write.writer !== writer) return false;
    const resourceVersion = object.metadata?.resourceVersion;
    if (write.kind === 'pending') {
      write.held.push({ resourceVersion, wake });
      return true;
    }
    if (write.resourceVersion !== resourceVersion) {
      this.writes.delete(key);
      return false;
    }
    // Every handler of one event asks in turn, at once; the record ends after the last of them.
    queueMicrotask(() => {
      if (this.writes.get(key) === write) this.writes.delete(key);
    });
    return true;
  }

  /** Writes whose event has not come yet. */
  get size(): number {
    return this.writes.size;
  }
}

function writtenKey(type: WrittenType, namespace: string, name: string): string {
  return `${type.plural}.${type.group}/${namespace}/${name}`;
}
