/**
 * Reads shared by every caller they are fresh enough for. A caller names the latest point it
 * must see past (a mark it took, say, before a change it made): it gets the newest read of its key
 * sent after that point, the one in flight or the last answer, and a new read only when there is
 * none. Points are marks in one sequence, so "sent after" never depends on a clock's resolution.
 *
 * For lists too large to send once per caller: N callers that each would list a collection of N
 * entries cost N^2; sharing what each may see costs a few lists.
 */
export class FreshReads<T> {
  private sequence = 0;
  private readonly latest = new Map<string, { sentAt: number; value: Promise<T> }>();

  /** A point in the sequence: a read asked for with it is sent after this call. */
  mark(): number {
    return ++this.sequence;
  }

  /**
   * The newest read of `key` sent after the point `after` (0: any read), else a new one from
   * `load`. A value that `reusable` refuses (a failure) serves the callers already waiting for
   * it, and no one after them.
   */
  read(key: string, after: number, load: () => Promise<T>, reusable: (value: T) => boolean): Promise<T> {
    const known = this.latest.get(key);
    if (known !== undefined && known.sentAt > after) return known.value;
    const sentAt = this.mark();
    const value = load();
    this.latest.set(key, { sentAt, value });
    const forget = (): void => {
      if (this.latest.get(key)?.value === value) this.latest.delete(key);
    };
    value.then((answer) => {
      if (!reusable(answer)) forget();
    }, forget);
    return value;
  }
}
