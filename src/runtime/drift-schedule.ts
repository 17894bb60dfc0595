import { isDeepStrictEqual } from 'node:util';

/**
 * What each Ready resource's last check decided on, and when its next drift check is due. Events
 * that change none of those inputs (the operator's own writes coming back through its informers,
 * a resync, an event of something the resource only depends on in part) find the same inputs
 * before then: checking again would only repeat the requests to the outside system.
 * `Inputs` is everything a reconcile decides on besides the clock and that system; undefined
 * inputs (not known well enough to compare) never count as unchanged.
 */
export class DriftSchedule<Inputs> {
  private readonly lastReady = new Map<string, { inputs: Inputs; dueAt: number }>();

  constructor(private readonly now: () => Date) {}

  /** When the resource is Ready and nothing it depends on changed since its last check: the time until its next one. */
  unchangedFor(key: string, inputs: Inputs | undefined): number | undefined {
    const last = this.lastReady.get(key);
    if (last === undefined || inputs === undefined || !isDeepStrictEqual(last.inputs, inputs)) return undefined;
    const remaining = last.dueAt - this.now().getTime();
    return remaining > 0 ? remaining : undefined;
  }

  /** A check found the resource Ready on these inputs; the next is due in `dueInMs`. */
  checked(key: string, inputs: Inputs | undefined, dueInMs: number): void {
    if (inputs === undefined) this.lastReady.delete(key);
    else this.lastReady.set(key, { inputs, dueAt: this.now().getTime() + dueInMs });
  }

  forget(key: string): void {
    this.lastReady.delete(key);
  }
}
