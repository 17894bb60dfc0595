/**
 * At most one task per key at a time, without waiting: InfluxDB's setup has no lock of its own
 * (two concurrent POSTs can both pass its "allowed?" check), so everything aimed at one instance
 * runs under its key here. A task whose key is held does not run and does not wait either: its
 * caller comes back later, so a worker is never held by another resource's reconcile (one that
 * waits on a server that never answers, say).
 */
export class InstanceLocks {
  private readonly held = new Set<string>();

  /** Runs the task holding the key; undefined at once, without running it, while another task holds it. */
  tryRun<T>(key: string, task: () => Promise<T>): Promise<T> | undefined {
    if (this.held.has(key)) return undefined;
    this.held.add(key);
    const run = async (): Promise<T> => {
      try {
        return await task();
      } finally {
        this.held.delete(key);
      }
    };
    return run();
  }
}
