import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { Controller } from '../../../src/runtime/controller.js';
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

function recordingMetrics(): ControllerMetrics & { outcomes: ResultLabel[]; active: number[]; max: number } {
  const recorded = {
    outcomes: [] as ResultLabel[],
    active: [] as number[],
    max: 0,
    maxConcurrentReconciles(count: number) {
      recorded.max = count;
    },
    activeWorkers(count: number) {
      recorded.active.push(count);
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
): Harness {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 10_000 });
  const metrics = recordingMetrics();
  const { logger, lines } = capturedLogger();
  const calls: Request[] = [];
  const reconciler: Reconciler = (request, signal) => {
    calls.push(request);
    return reconcile(request, signal, calls.length);
  };
  const controller = new Controller({ name: 'things', queue, reconciler, logger, concurrency, metrics, clock });
  return { clock, queue, controller, metrics, lines, calls };
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
