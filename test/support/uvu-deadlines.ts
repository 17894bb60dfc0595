// What the test runner (test/run.ts) loads in place of 'uvu' for the test files: uvu's own suite,
// with a deadline on every test and hook, so that a wait that never ends fails its test by name
// and the run goes on; and hooks whose failures are kept with their messages (uvu swallows a
// before hook's error, and an after hook's error ends the whole run without a summary). The
// runner's module hook sends every import of 'uvu' here, except this file's own.
import { exec, suite as uvuSuite } from 'uvu';
import type { Callback, Test } from 'uvu';

export { exec };

/** Set by the runner before the test files load; 0 means no deadline. */
export const deadlines = { testMs: 0, hookMs: 0 };

/** One line per hook that failed or overran, for the runner's summary. */
export const hookFailures: string[] = [];

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

class DeadlineError extends Error {}

/** `callback`, failing with an error that names `what` once `ms` have passed (the callback itself cannot be stopped). */
function withDeadline<T>(what: string, ms: () => number, callback: Callback<T>): Callback<T> {
  return async (context) => {
    const limit = ms();
    if (limit <= 0) return callback(context);
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineError(`${what} did not finish within its deadline of ${limit / 1000} s`)),
        limit,
      );
    });
    try {
      await Promise.race([Promise.resolve(callback(context)), overran]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A hook that records its failure; `rethrow` for hooks whose failure must stop what follows (before). */
function recorded<T>(what: string, callback: Callback<T>, rethrow: boolean): Callback<T> {
  const bounded = withDeadline(what, () => deadlines.hookMs, callback);
  return async (context) => {
    try {
      await bounded(context);
    } catch (error) {
      hookFailures.push(error instanceof DeadlineError ? error.message : `${what} failed: ${messageOf(error)}`);
      if (rethrow) throw error;
    }
  };
}

export function suite<T = Record<string, unknown>>(title = '', context?: T): Test<T> {
  const inner = uvuSuite<T>(title, context);
  const label = title === '' ? 'a test' : `suite "${title}"`;
  const test = ((name: string, callback: Callback<T>) =>
    inner(
      name,
      withDeadline(`test "${name}"`, () => deadlines.testMs, callback),
    )) as Test<T>;
  test.only = (name, callback) =>
    inner.only(
      name,
      withDeadline(`test "${name}"`, () => deadlines.testMs, callback),
    );
  test.skip = (name, callback) => inner.skip(name, callback);
  const before = ((hook: Callback<T>) =>
    inner.before(recorded(`before hook of ${label}`, hook, true))) as Test<T>['before'];
  before.each = (hook) => inner.before.each(recorded(`before.each hook of ${label}`, hook, true));
  const after = ((hook: Callback<T>) =>
    inner.after(recorded(`after hook of ${label}`, hook, false))) as Test<T>['after'];
  after.each = (hook) => inner.after.each(recorded(`after.each hook of ${label}`, hook, false));
  test.before = before;
  test.after = after;
  test.run = () => inner.run();
  return test;
}

export const test = suite();
