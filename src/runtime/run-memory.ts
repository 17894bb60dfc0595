/**
 * What a reconciler learns during one controller run (one leadership term), forgotten with it.
 * Every reconcile of one run gets the same signal (see Reconciler), and a new run a new one: after
 * a restart or a new term, another replica may have changed what was learnt.
 */
export class RunMemory<V> {
  private readonly runs = new WeakMap<AbortSignal, Map<string, V>>();

  /** The memory of the run `signal` belongs to, by key. */
  of(signal: AbortSignal): Map<string, V> {
    let memory = this.runs.get(signal);
    if (memory === undefined) this.runs.set(signal, (memory = new Map<string, V>()));
    return memory;
  }
}
