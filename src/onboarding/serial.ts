/**
 * Runs at most one task per key at a time. InfluxDB's setup has no lock of its own: two
 * concurrent POSTs can both pass its "allowed?" check, so everything aimed at one instance
 * goes through here.
 */
export class PerKeySerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  get activeKeys(): number {
    return this.tails.size;
  }
}
