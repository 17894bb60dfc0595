/**
 * What a reconciler learns during one controller run (one leadership term), forgotten with it.
 * Every reconcile of one run gets the same term (see Reconciler), and a new run a new one: after
 * a restart or a new term, another replica may have changed what was learnt.
 */
export class RunMemory<V> {
  private readonly runs = new WeakMap<object, Map<string, V>>();

  /** The memory of the run `term` names, by key. */
  of(term: object): Map<string, V> {
    let memory = this.runs.get(term);
    if (memory === undefined) this.runs.set(term, (memory = new Map<string, V>()));
    return memory;
  }
}
