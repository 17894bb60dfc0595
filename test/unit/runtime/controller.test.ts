import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { Controller, DEFAULT_LONG_RUNNING_AFTER_MS, ReconcileDeadlineError } from '../../../src/runtime/controller.js';
import type { ControllerMetrics, ResultLabel, Reconciler, Request, Result } from '../../../src/runtime/controller.js';
import { WorkQueue } from '../../../src/runtime/queue.js';

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', format: 'json', registry: new SecretRegistry(), stream }), lines };
}

function recordingMetrics(): ControllerMetrics & {
  outcomes: ResultLabel[];
  active: number[];
  longRunningCounts: number[];
  max: number;
} {
  const recorded = {
    outcomes: [] as ResultLabel[],
    active: [] as number[],
    longRunningCounts: [] as number[],
    max: 0,
    maxConcurrentReconciles(count: number) {
      recorded.max = count;
    },
    activeWorkers(count: number) {
      recorded.active.push(count);
    },
    longRunning(count: number) {
      recorded.longRunningCounts.push(count);
    },
    reconciled(outcome: ResultLabel) {
      recorded.outcomes.push(outcome);
    },
  };
  return recorded;
}

const settle = async (): Promise<void> => {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve));
};

interface Harness {
  clock: ManualClock;
  queue: WorkQueue;
  controller: Controller;
  metrics: ReturnType<typeof recordingMetrics>;
  lines: Array<Record<string, unknown>>;
  calls: Request[];
}

function harness(
  reconcile: (request: Request, signal: AbortSignal, call: number) => Promise<Result>,
  concurrency = 2,
  options: { maxInFlightPerFlow?: number; maxLongRunning?: number; reconcileTimeoutMs?: number } = {},
): Harness {
  const clock = new ManualClock();
  const queue = new WorkQueue({
    clock,
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    ...(options.maxInFlightPerFlow !== undefined && { maxInFlightPerFlow: options.maxInFlightPerFlow }),
  });
  const metrics = recordingMetrics();
  const { logger, lines } = capturedLogger();
  const calls: Request[] = [];
  const reconciler: Reconciler = (request, signal) => {
    calls.push(request);
    return reconcile(request, signal, calls.length);
  };
  const controller = new Controller({
    name: 'things',
    queue,
    reconciler,
    logger,
    concurrency,
    metrics,
    clock,
    ...(options.maxLongRunning !== undefined && { maxLongRunning: options.maxLongRunning }),
    ...(options.reconcileTimeoutMs !== undefined && { reconcileTimeoutMs: options.reconcileTimeoutMs }),
  });
  return { clock, queue, controller, metrics, lines, calls };
}

/** A reconciler of keys in namespaces named silent*: those wait until their signal aborts (a server that never answers). */
function silentOrQuick(done: string[]): (request: Request, signal: AbortSignal) => Promise<Result> {
  return async (request, signal) => {
    if (request.namespace.startsWith('silent')) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      throw new Error('aborted');
    }
    done.push(`${request.namespace}/${request.name}`);
    return {};
  };
}

test('a successful reconcile forgets the key and is counted as success', async () => {
  const { queue, controller, metrics, calls } = harness(async () => ({}));
  queue.add('ns/a');
  controller.start();
  await settle();
  assert.equal(calls, [{ namespace: 'ns', name: 'a' }]);
  assert.equal(metrics.outcomes, ['success']);
  assert.is(metrics.max, 2);
  assert.is(queue.numRequeues('ns/a'), 0);
  await controller.stop(0);
});

test('a rejected reconcile is logged by message, counted as error and retried after backoff', async () => {
  const { clock, queue, controller, metrics, lines, calls } = harness(async (_request, _signal, call) => {
    if (call === 1) throw new Error('backend unreachable');
    return {};
  });
  queue.add('ns/a');
  controller.start();
  await settle();
  assert.equal(metrics.outcomes, ['error']);
  assert.is(queue.numRequeues('ns/a'), 1);
  const logged = lines.find((line) => line.message === 'reconcile failed');
  assert.ok(logged);
  assert.is(logged.error, 'backend unreachable');
  assert.is(logged.name, 'a');
  await clock.advance(99);
  assert.is(calls.length, 1, 'not before the backoff');
  await clock.advance(1);
  assert.is(calls.length, 2);
  assert.equal(metrics.outcomes, ['error', 'success']);
  assert.is(queue.numRequeues('ns/a'), 0, 'success forgets the backoff');
  await controller.stop(0);
});

test('a synchronous throw or a rejection with a non-Error never escapes the controller', async () => {
  const { queue, controller, metrics } = harness((request) => {
    if (request.name === 'sync') throw new TypeError('boom');
    // A rejection that is not an Error, as code outside our control can make.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject('plain string');
  });
  queue.add('ns/sync');
  queue.add('ns/string');
  controller.start();
  await settle();
  assert.equal(metrics.outcomes, ['error', 'error']);
  assert.is(queue.numRequeues('ns/sync'), 1);
  assert.is(queue.numRequeues('ns/string'), 1);
  assert.ok(controller.isRunning);
  await controller.stop(0);
});

test('requeue: true backs off without counting an error; requeueAfterMs forgets and comes back on time', async () => {
  const { clock, queue, controller, metrics, calls } = harness(async (request, _signal, call) => {
    if (request.name === 'again' && call <= 2) return { requeue: true };
    if (request.name === 'later') return { requeueAfterMs: 5000, requeue: true };
    return {};
  });
  queue.add('ns/again');
  controller.start();
  await settle();
  assert.equal(metrics.outcomes, ['requeue']);
  await clock.advance(100);
  assert.equal(metrics.outcomes, ['requeue', 'requeue']);
  assert.is(queue.numRequeues('ns/again'), 2);
  await clock.advance(200);
  assert.equal(metrics.outcomes, ['requeue', 'requeue', 'success']);

  queue.addRateLimited('ns/later'); // pretend an earlier failure; requeueAfter must forget it
  await clock.advance(100);
  assert.is(metrics.outcomes.at(-1), 'requeue_after', 'requeueAfterMs wins over requeue');
  assert.is(queue.numRequeues('ns/later'), 0);
  const before = calls.length;
  await clock.advance(4999);
  assert.is(calls.length, before);
  await clock.advance(1);
  assert.is(calls.length, before + 1);
  await controller.stop(0);
});

test('the same key is never reconciled twice at once; different keys run in parallel', async () => {
  const running = new Set<string>();
  let overlap = false;
  let maxParallel = 0;
  const release: Array<() => void> = [];
  const { queue, controller, calls } = harness(async (request) => {
    const key = `${request.namespace}/${request.name}`;
    if (running.has(key)) overlap = true;
    running.add(key);
    maxParallel = Math.max(maxParallel, running.size);
    await new Promise<void>((resolve) => release.push(resolve));
    running.delete(key);
    return {};
  }, 3);
  controller.start();
  queue.add('ns/a');
  queue.add('ns/b');
  await settle();
  queue.add('ns/a');
  queue.add('ns/a');
  await settle();
  assert.is(calls.length, 2, 'the re-added key waits for its running reconcile');
  assert.is(maxParallel, 2);
  while (release.length > 0) {
    release.shift()?.();
    await settle();
  }
  assert.is(calls.length, 3, 'and then runs exactly once more');
  assert.is(overlap, false);
  await controller.stop(0);
});

test('stop waits for in-flight reconciles within its bound and takes no new keys', async () => {
  let finish: () => void = () => undefined;
  let sawAbort = false;
  const { clock, queue, controller, calls } = harness(async (_request, signal) => {
    signal.addEventListener('abort', () => (sawAbort = true));
    await new Promise<void>((resolve) => (finish = resolve));
    return {};
  }, 1);
  queue.add('ns/a');
  controller.start();
  await settle();
  let stopped = false;
  const stopping = controller.stop(10_000).then(() => (stopped = true));
  queue.add('ns/b');
  await clock.advance(5000);
  assert.is(stopped, false, 'still waiting for the running reconcile');
  finish();
  await stopping;
  assert.is(sawAbort, false, 'a reconcile that finishes in time is not aborted');
  assert.is(calls.length, 1, 'no new key was taken after stop');
  assert.is(queue.length, 1, 'the queued key stays for a later start');
});

test('stop aborts the reconcile signal once the bound passes, and a restart picks up queued keys', async () => {
  let aborted = false;
  const { clock, queue, controller, calls, metrics } = harness(async (request, signal) => {
    if (request.name === 'stuck') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted = signal.aborted;
      throw new Error('aborted');
    }
    return {};
  }, 1);
  queue.add('ns/stuck');
  controller.start();
  await settle();
  const stopping = controller.stop(3000);
  queue.add('ns/next');
  await clock.advance(3000);
  await stopping;
  await settle();
  assert.is(aborted, true);
  assert.is(controller.isRunning, false);
  assert.equal(metrics.active.at(-1), 0);

  controller.start();
  await clock.advance(200); // the aborted key's error backoff; it is stuck again now
  assert.ok(calls.some((call) => call.name === 'next'));
  const final = controller.stop(0);
  await clock.advance(0);
  await final;
});

const LONG = DEFAULT_LONG_RUNNING_AFTER_MS;

test('a reconcile still running after 2 s hands its worker to the next key and still counts until it ends', async () => {
  let finishSlow: () => void = () => undefined;
  const { clock, queue, controller, metrics, calls } = harness(async (_request, _signal, call) => {
    if (call === 1) await new Promise<void>((resolve) => (finishSlow = resolve));
    return {};
  }, 1);
  queue.add('a/slow');
  queue.add('b/next');
  controller.start();
  assert.is(LONG, 2000);
  await clock.advance(LONG - 1);
  assert.equal(
    calls.map((call) => call.name),
    ['slow'],
    'the one worker is held for the first 2 s',
  );
  await clock.advance(1);
  assert.equal(
    calls.map((call) => call.name),
    ['slow', 'next'],
  );
  assert.is(metrics.longRunningCounts.at(-1), 1);
  assert.is(controller.activeReconciles, 1, 'the long-running reconcile still counts');
  queue.add('a/slow');
  await clock.advance(0);
  assert.is(calls.length, 2, 'its key is not handed out again while it runs');
  finishSlow();
  await settle();
  assert.equal(metrics.longRunningCounts.slice(-2), [1, 0]);
  assert.is(calls.length, 3, 'its re-added key runs once it ended');
  assert.equal(metrics.outcomes, ['success', 'success', 'success']);
  assert.is(metrics.active.at(-1), 0);
  await controller.stop(0);
});

test('at most maxLongRunning reconciles hand their worker on; the next one keeps it', async () => {
  const done: string[] = [];
  const { clock, queue, controller, metrics, lines } = harness(silentOrQuick(done), 1, { maxLongRunning: 2 });
  for (const namespace of ['silent-1', 'silent-2', 'silent-3']) queue.add(`${namespace}/x`);
  queue.add('victim/x');
  controller.start();
  await clock.advance(LONG);
  assert.is(metrics.longRunningCounts.at(-1), 1);
  await clock.advance(LONG);
  assert.is(metrics.longRunningCounts.at(-1), 2);
  await clock.advance(60_000);
  assert.equal(done, [], 'the third silent reconcile kept the one worker');
  assert.ok(lines.some((line) => line.message === 'too many long-running reconciles; this one keeps its worker'));
  const stopping = controller.stop(0);
  await clock.advance(0);
  await stopping;
});

test("servers that never answer, 8 in one namespace or one in each of 8, keep another namespace's key waiting 2 s at most", async () => {
  for (const layout of ['one namespace', 'eight namespaces']) {
    const served = new Map<string, number>();
    let silentInFlight = 0;
    let mostSilentInFlight = 0;
    const clock = new ManualClock();
    // As the manager builds them: one namespace has at most as many keys in flight as there are workers.
    const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000, maxInFlightPerFlow: 4 });
    const controller = new Controller({
      name: 'things',
      queue,
      logger: capturedLogger().logger,
      concurrency: 4,
      clock,
      reconciler: async (request, signal) => {
        if (request.namespace !== 'victim') {
          silentInFlight++;
          mostSilentInFlight = Math.max(mostSilentInFlight, silentInFlight);
          // A request to a silent server ends at its timeout, here the reconcile's deadline.
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          silentInFlight--;
          throw new Error('timed out');
        }
        served.set(request.name, clock.now());
        return {};
      },
    });
    for (let index = 0; index < 8; index++)
      queue.add(layout === 'one namespace' ? `silent/k${index}` : `silent-${index}/k`);
    queue.add('victim/first');
    const attackStarted = clock.now();
    controller.start();
    await clock.advance(10_000);
    const firstWait = (served.get('first') ?? Infinity) - attackStarted;
    // A key that comes with the attack waits its turn among the silent keys nobody knows yet: a
    // round of 4 of them at most per 2 s.
    assert.ok(firstWait <= 2 * LONG, `${layout}: the key added with the attack waited ${firstWait} ms`);
    // Then, for as long as the attack lasts, keys arriving at any moment:
    await clock.advance(180_000);
    const added = new Map<string, number>();
    for (let index = 0; index < 40; index++) {
      added.set(`v${index}`, clock.now());
      queue.add(`victim/v${index}`);
      await clock.advance(1_300);
    }
    await clock.advance(10_000);
    const waits = [...added].map(([name, at]) => (served.get(name) ?? Infinity) - at);
    assert.ok(
      waits.every((wait) => wait <= LONG),
      `${layout}: every later key was served within 2 s: ${waits.join(', ')}`,
    );
    assert.ok(mostSilentInFlight >= 4, `${layout}: the attack held ${mostSilentInFlight} reconciles at once`);
    if (layout === 'one namespace') assert.is(mostSilentInFlight, 4, 'no more in flight than there are workers');
    const stopping = controller.stop(0);
    await clock.advance(0);
    await stopping;
  }
});

test('the deadline aborts the signal with ReconcileDeadlineError; the reconcile fails, is logged so and retried with backoff', async () => {
  let reason: unknown;
  const { clock, queue, controller, metrics, lines, calls } = harness(
    async (_request, signal, call) => {
      if (call > 1) return {};
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      reason = signal.reason;
      throw new Error('request aborted');
    },
    1,
    { reconcileTimeoutMs: 60_000 },
  );
  queue.add('ns/hung');
  controller.start();
  await clock.advance(59_999);
  assert.is(reason, undefined);
  await clock.advance(1);
  assert.instance(reason, ReconcileDeadlineError);
  assert.equal(metrics.outcomes, ['error']);
  const logged = lines.find((line) => line.message === 'reconcile failed');
  assert.match(String(logged?.error), 'did not finish within its deadline of 60000 ms');
  assert.is(queue.numRequeues('ns/hung'), 1);
  await clock.advance(100);
  assert.is(calls.length, 2, 'retried after the backoff');
  assert.equal(metrics.outcomes, ['error', 'success']);
  await controller.stop(0);
});

test('a reconcile that ends in time leaves no deadline timer behind; the default deadline is 2 minutes', async () => {
  let reason: unknown = 'not aborted';
  const { clock, queue, controller } = harness(async (request, signal) => {
    if (request.name === 'slow') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      reason = signal.reason;
    }
    return {};
  }, 1);
  queue.add('ns/quick');
  controller.start();
  await clock.advance(0);
  assert.is(clock.pendingTimers, 0, 'no timer once the quick reconcile ended and nothing waits');
  queue.add('ns/slow');
  await clock.advance(119_999);
  assert.is(reason, 'not aborted');
  await clock.advance(1);
  assert.instance(reason, ReconcileDeadlineError);
  await controller.stop(0);
});

test('stop waits for long-running reconciles too, and aborts them at its bound', async () => {
  let finish: () => void = () => undefined;
  const { clock, queue, controller } = harness(async (_request, signal) => {
    await new Promise<void>((resolve) => {
      finish = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return {};
  }, 1);
  queue.add('ns/long');
  controller.start();
  await clock.advance(LONG);
  assert.is(controller.activeReconciles, 1);
  let stopped = false;
  const stopping = controller.stop(10_000).then(() => (stopped = true));
  await clock.advance(9_999);
  assert.is(stopped, false, 'the long-running reconcile is waited for');
  finish();
  await stopping;
  assert.is(controller.activeReconciles, 0);
});

test('each reconcile gets its own signal; the term is one object per run, a new one after a restart', async () => {
  const seen: Array<{ signal: AbortSignal; term: object }> = [];
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const controller = new Controller({
    name: 'things',
    queue,
    logger: capturedLogger().logger,
    clock,
    reconciler: async (_request, signal, term) => {
      seen.push({ signal, term });
      return {};
    },
  });
  controller.start();
  queue.add('ns/a');
  queue.add('ns/b');
  await settle();
  await controller.stop(0);
  controller.start();
  queue.add('ns/a');
  await settle();
  await controller.stop(0);
  assert.is(seen.length, 3);
  const [first, second, third] = seen as [(typeof seen)[0], (typeof seen)[0], (typeof seen)[0]];
  assert.is.not(first.signal, second.signal);
  assert.is(first.term, second.term, 'one term for the reconciles of one run');
  assert.is.not(third.term, first.term, 'a new run, a new term');
});

test('stop(0) (leadership lost) aborts a running reconcile at once, before an answer it awaits can reach it', async () => {
  let answer: () => void = () => undefined;
  let abortedWhenAnswered: boolean | undefined;
  const { queue, controller } = harness(async (_request, signal) => {
    await new Promise<void>((resolve) => (answer = resolve));
    abortedWhenAnswered = signal.aborted;
    return {};
  }, 1);
  queue.add('ns/a');
  controller.start();
  await settle();
  const stopping = controller.stop(0);
  // The answer arrives in the same turn of the event loop as the loss, as after a pause (SIGSTOP) ends.
  answer();
  await stopping;
  await settle();
  assert.is(abortedWhenAnswered, true, 'the reconcile saw its signal aborted when its answer came');
});

test.run();
