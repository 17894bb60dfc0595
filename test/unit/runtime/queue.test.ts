import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../support/manual-clock.js';
import { WorkQueue } from '../../../src/runtime/queue.js';
import type { QueueGauges, QueueMetrics } from '../../../src/runtime/queue.js';
import { RetryRateLimiter } from '../../../src/runtime/rate-limiter.js';

function recordingMetrics(): QueueMetrics & {
  adds: number;
  retries: number;
  latencies: number[];
  works: number[];
  gauges: () => QueueGauges;
} {
  const recorded = {
    adds: 0,
    retries: 0,
    latencies: [] as number[],
    works: [] as number[],
    gauges: (): QueueGauges => ({ depth: -1, longestRunningProcessorSeconds: -1, unfinishedWorkSeconds: -1 }),
    added() {
      recorded.adds++;
    },
    retried() {
      recorded.retries++;
    },
    queueLatency(seconds: number) {
      recorded.latencies.push(seconds);
    },
    workDuration(seconds: number) {
      recorded.works.push(seconds);
    },
    readGaugesFrom(read: () => QueueGauges) {
      recorded.gauges = read;
    },
  };
  return recorded;
}

test('a key added several times before it is taken is handed out once', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a');
  queue.add('ns/a');
  queue.add('ns/b');
  queue.add('ns/a');
  assert.is(queue.length, 2);
  assert.is(await queue.get(), 'ns/a');
  assert.is(await queue.get(), 'ns/b');
  assert.is(queue.length, 0);
});

test('a key being processed is not handed to a second worker, and runs once more after done', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a');
  const first = await queue.get();
  assert.is(first, 'ns/a');
  queue.add('ns/a');
  queue.add('ns/a');
  assert.is(queue.length, 0, 'the key must wait while it is processed');

  const abort = new AbortController();
  const secondWorker = queue.get(abort.signal);
  let handedOut: string | undefined = 'nothing yet';
  void secondWorker.then((key) => (handedOut = key));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(handedOut, 'nothing yet');

  queue.done('ns/a');
  assert.is(await secondWorker, 'ns/a');
  queue.done('ns/a');
  assert.is(queue.length, 0, 'the adds during processing collapse into one re-run');
});

test('a key not re-added during processing is not re-queued by done', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('a');
  queue.done((await queue.get()) ?? '');
  assert.is(queue.length, 0);
});

test('a waiting worker gets a key as soon as one is added', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const waiting = queue.get();
  queue.add('ns/late');
  assert.is(await waiting, 'ns/late');
});

test('an aborted get resolves undefined and does not swallow a later key', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  const abort = new AbortController();
  const waiting = queue.get(abort.signal);
  abort.abort();
  assert.is(await waiting, undefined);
  queue.add('k');
  assert.is(queue.length, 1);
  assert.is(await queue.get(), 'k');
});

test('per-key backoff doubles from the base delay up to the maximum', () => {
  const clock = new ManualClock();
  const limiter = new RetryRateLimiter(clock, { baseDelayMs: 5, maxDelayMs: 1000, qps: 1e9, burst: 1e9 });
  const delays = Array.from({ length: 10 }, () => limiter.when('k'));
  assert.equal(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.is(limiter.numRequeues('k'), 10);
  assert.is(limiter.when('other'), 5, 'keys back off independently');
  limiter.forget('k');
  assert.is(limiter.numRequeues('k'), 0);
  assert.is(limiter.when('k'), 5, 'forget restarts the backoff');
});

test('default per-key backoff is 5 ms growing to 1000 s', () => {
  const limiter = new RetryRateLimiter(new ManualClock(), { qps: 1e9, burst: 1e9 });
  assert.is(limiter.when('k'), 5);
  for (let attempt = 0; attempt < 40; attempt++) limiter.when('k');
  assert.is(limiter.when('k'), 1_000_000);
});

test('the token bucket lets a burst through, then spaces retries at the qps', async () => {
  const clock = new ManualClock();
  const limiter = new RetryRateLimiter(clock, { baseDelayMs: 0, qps: 10, burst: 100 });
  const burst = Array.from({ length: 100 }, (_, index) => limiter.when(`k${index}`));
  assert.ok(
    burst.every((delay) => delay === 0),
    'the first 100 distinct keys pass at once',
  );
  assert.is(limiter.when('k100'), 100);
  assert.is(limiter.when('k101'), 200);
  await clock.advance(1000);
  // Ten tokens refilled in a second paid off the debt of two and left eight.
  const afterRefill = Array.from({ length: 9 }, (_, index) => limiter.when(`r${index}`));
  assert.equal(afterRefill.slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(afterRefill[8], 100);
});

test('addRateLimited waits the larger of per-key backoff and bucket delay', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, baseDelayMs: 50, maxDelayMs: 1000, qps: 10, burst: 1 });
  queue.addRateLimited('a'); // per-key 50 ms, bucket free
  queue.addRateLimited('b'); // per-key 50 ms, bucket debt 100 ms
  await clock.advance(49);
  assert.is(queue.length, 0);
  await clock.advance(1);
  assert.is(queue.length, 1);
  assert.is(await queue.get(), 'a');
  await clock.advance(50);
  assert.is(await queue.get(), 'b');
  assert.is(queue.numRequeues('a'), 1);
});

test('addAfter delivers the key after its delay, keeping the earliest of repeated requests', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter('k', 1000);
  queue.addAfter('k', 5000);
  queue.addAfter('k', 300);
  await clock.advance(299);
  assert.is(queue.length, 0);
  await clock.advance(1);
  assert.is(queue.length, 1);
  assert.is(await queue.get(), 'k');
  queue.done('k');
  await clock.advance(10_000);
  assert.is(queue.length, 0, 'the superseded later timers do not add the key again');
  queue.addAfter('now', 0);
  assert.is(queue.length, 1, 'a non-positive delay adds at once');
});

test('delayed keys share one timer and come out in time order, whatever order they were added in', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const delays = [700, 100, 900, 300, 500, 200, 800, 400, 600, 1000];
  for (const [index, delay] of delays.entries()) queue.addAfter(`k${index}`, delay);
  assert.is(clock.pendingTimers, 1, 'one timer, for the earliest key');
  const handedOut: string[] = [];
  for (let step = 0; step < delays.length; step++) {
    await clock.advance(100);
    assert.is(queue.length, 1, `one key due every 100 ms (step ${step})`);
    handedOut.push((await queue.get()) ?? '');
    assert.ok(clock.pendingTimers <= 1);
  }
  const byDelay = [...delays.keys()].sort((a, b) => (delays[a] ?? 0) - (delays[b] ?? 0)).map((index) => `k${index}`);
  assert.equal(handedOut, byDelay);
  assert.is(clock.pendingTimers, 0, 'no timer once nothing waits');
});

test('a thousand delayed keys at random times, some asked for again earlier or later, come out in time order', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  let seed = 11;
  const random = (below: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % below;
  };
  const due = new Map<string, number>();
  for (let step = 0; step < 1500; step++) {
    const key = `k${random(1000)}`;
    const delay = 1 + random(5000);
    queue.addAfter(key, delay);
    due.set(key, Math.min(due.get(key) ?? Infinity, delay));
  }
  const handedOut: Array<[string, number]> = [];
  for (let now = 1; now <= 5000; now++) {
    await clock.advance(1);
    while (queue.length > 0) {
      const key = (await queue.get()) ?? '';
      handedOut.push([key, now]);
      queue.done(key);
    }
  }
  assert.is(handedOut.length, due.size, 'each key once');
  for (const [key, at] of handedOut) assert.is(at, due.get(key), `${key} at its earliest time`);
});

test('a key asked for earlier comes then, and its superseded time adds nothing, even after it is delayed again', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter('k', 1000);
  queue.addAfter('other', 1000);
  queue.addAfter('k', 200);
  await clock.advance(200);
  assert.is(await queue.get(), 'k');
  queue.done('k');
  queue.addAfter('k', 1500); // due at 1700; its old entry (due at 1000) must not add it at 1000
  await clock.advance(800);
  assert.is(queue.length, 1);
  assert.is(await queue.get(), 'other');
  queue.done('other');
  await clock.advance(699);
  assert.is(queue.length, 0, 'k waits for its new time');
  await clock.advance(1);
  assert.is(await queue.get(), 'k');
});

test('shutDown wakes idle workers, drops delayed keys and ignores new ones', async () => {
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock });
  const idle = queue.get();
  queue.addAfter('later', 100);
  queue.shutDown();
  assert.is(await idle, undefined);
  queue.add('new');
  await clock.advance(1000);
  assert.is(queue.length, 0);
  assert.is(clock.pendingTimers, 0);
  assert.is(await queue.get(), undefined);
});

test('shutDownWithDrain resolves only after keys in progress are done; queued keys are still served', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('busy');
  queue.add('queued');
  const busy = await queue.get();
  let drained = false;
  const drain = queue.shutDownWithDrain().then(() => (drained = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(drained, false);
  assert.is(await queue.get(), 'queued', 'keys queued before shutdown are still handed out');
  queue.done(busy ?? '');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(drained, false, 'still one key in progress');
  queue.done('queued');
  await drain;
  assert.is(drained, true);
});

test('metrics: adds, retries, queue latency, work duration and gauges', async () => {
  const clock = new ManualClock();
  const metrics = recordingMetrics();
  const queue = new WorkQueue({ clock, metrics });
  queue.add('a');
  queue.add('a');
  queue.add('b');
  assert.is(metrics.adds, 2, 'a deduplicated add is not counted');
  assert.is(metrics.gauges().depth, 2);
  await clock.advance(2000);
  const key = await queue.get();
  assert.equal(metrics.latencies, [2]);
  await clock.advance(3000);
  const gauges = metrics.gauges();
  assert.is(gauges.longestRunningProcessorSeconds, 3);
  assert.is(gauges.unfinishedWorkSeconds, 3);
  queue.done(key ?? '');
  assert.equal(metrics.works, [3]);
  queue.addRateLimited('c');
  assert.is(metrics.retries, 1);
});

test('low-priority keys are handed out only when no normal one waits, each level in the order added', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/listed-1', 'low');
  queue.add('ns/listed-2', 'low');
  queue.add('ns/changed-1');
  queue.add('ns/listed-3', 'low');
  queue.add('ns/changed-2', 'normal');
  assert.is(queue.length, 5);
  const order: Array<string | undefined> = [];
  for (let index = 0; index < 5; index++) order.push(await queue.get());
  assert.equal(order, ['ns/changed-1', 'ns/changed-2', 'ns/listed-1', 'ns/listed-2', 'ns/listed-3']);
});

test('a waiting low key added again at normal priority moves up, once; added again at low it stays where it was', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a', 'low');
  queue.add('ns/b', 'low');
  queue.add('ns/c', 'low');
  queue.add('ns/c');
  queue.add('ns/a', 'low');
  queue.add('ns/c', 'low');
  assert.is(queue.length, 3);
  assert.is(await queue.get(), 'ns/c');
  assert.is(await queue.get(), 'ns/a');
  assert.is(await queue.get(), 'ns/b');
  assert.is(queue.length, 0);
});

test('a key added at normal priority while it is processed comes back at normal priority, ahead of low ones', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a', 'low');
  assert.is(await queue.get(), 'ns/a');
  queue.add('ns/b', 'low');
  queue.add('ns/a', 'low');
  queue.add('ns/a');
  assert.is(queue.length, 1, 'ns/a waits while processed');
  queue.done('ns/a');
  assert.is(queue.length, 2);
  assert.is(await queue.get(), 'ns/a');
  queue.done('ns/a');
  assert.is(await queue.get(), 'ns/b');
});

test('a key added only at low priority while processed comes back at low priority', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('ns/a');
  assert.is(await queue.get(), 'ns/a');
  queue.add('ns/a', 'low');
  queue.add('ns/b', 'low');
  queue.done('ns/a');
  assert.is(await queue.get(), 'ns/b');
  assert.is(await queue.get(), 'ns/a');
});

test('a waiting worker takes a low-priority key at once, and the depth gauge counts both levels', async () => {
  const metrics = recordingMetrics();
  const queue = new WorkQueue({ clock: new ManualClock(), metrics });
  const waiting = queue.get();
  queue.add('ns/a', 'low');
  assert.is(await waiting, 'ns/a');
  queue.add('ns/b', 'low');
  queue.add('ns/c');
  assert.is(metrics.gauges().depth, 2);
});

test("fairness: namespaces take turns, so one with many keys cannot push back another namespace's key", async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  for (let index = 1; index <= 4; index++) queue.add(`busy/k${index}`);
  queue.add('quiet/only');
  queue.add('other/x');
  queue.add('other/y');
  const order: Array<string | undefined> = [];
  for (let index = 0; index < 7; index++) order.push(await queue.get());
  assert.equal(order, ['busy/k1', 'quiet/only', 'other/x', 'busy/k2', 'other/y', 'busy/k3', 'busy/k4']);
});

test('fairness: a namespace at its in-flight limit is passed over until one of its keys is done', async () => {
  const queue = new WorkQueue({ clock: new ManualClock(), maxInFlightPerFlow: 2 });
  for (let index = 1; index <= 4; index++) queue.add(`busy/k${index}`);
  assert.is(await queue.get(), 'busy/k1');
  assert.is(await queue.get(), 'busy/k2');
  let third: string | undefined = 'nothing yet';
  const waiting = queue.get().then((key) => (third = key));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(third, 'nothing yet', 'two of busy are in flight: its other keys wait though they are ready');
  assert.is(queue.length, 2);
  queue.add('victim/new');
  await waiting;
  assert.is(third, 'victim/new', 'another namespace is served at once');
  queue.done('busy/k1');
  assert.is(await queue.get(), 'busy/k3', 'one done: busy may take one more');
  let fourth: string | undefined = 'nothing yet';
  void queue.get().then((key) => (fourth = key));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(fourth, 'nothing yet');
  queue.done('victim/new');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(fourth, 'nothing yet', "another namespace's done frees nothing for busy");
  queue.done('busy/k2');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(fourth, 'busy/k4');
});

test('fairness: a key re-added while processed counts against its namespace until done, then waits its turn', async () => {
  const queue = new WorkQueue({ clock: new ManualClock(), maxInFlightPerFlow: 1 });
  queue.add('a/1');
  assert.is(await queue.get(), 'a/1');
  queue.add('a/1');
  queue.add('a/2');
  queue.add('b/1');
  assert.is(await queue.get(), 'b/1', 'a is at its limit');
  queue.done('a/1');
  assert.is(await queue.get(), 'a/2', 'a/1 came back behind a/2, which waited longer');
  queue.done('a/2');
  assert.is(await queue.get(), 'a/1');
});

test('fairness holds within each priority, and a normal key of a namespace at its limit does not hold back low keys of others', async () => {
  const queue = new WorkQueue({ clock: new ManualClock(), maxInFlightPerFlow: 1 });
  queue.add('a/listed-1', 'low');
  queue.add('a/listed-2', 'low');
  queue.add('b/listed-1', 'low');
  queue.add('a/changed-1');
  queue.add('a/changed-2');
  assert.is(await queue.get(), 'a/changed-1');
  assert.is(await queue.get(), 'b/listed-1', 'a is at its limit: the low key of b comes before a/changed-2');
  queue.done('a/changed-1');
  queue.done('b/listed-1');
  assert.is(await queue.get(), 'a/changed-2');
  queue.done('a/changed-2');
  assert.is(await queue.get(), 'a/listed-1');
});

test('fairness: the flow of a key is the namespace by default, or what flowOf says; cluster-scoped keys share one flow', async () => {
  const byNamespace = new WorkQueue({ clock: new ManualClock(), maxInFlightPerFlow: 1 });
  byNamespace.add('cluster-a');
  byNamespace.add('cluster-b');
  byNamespace.add('ns/x');
  assert.is(await byNamespace.get(), 'cluster-a');
  assert.is(await byNamespace.get(), 'ns/x', 'cluster-scoped keys are one flow, at its limit');

  const byInstance = new WorkQueue({
    clock: new ManualClock(),
    maxInFlightPerFlow: 1,
    flowOf: (key) => (key.endsWith('@slow') ? 'slow' : key),
  });
  byInstance.add('a/1@slow');
  byInstance.add('b/1@slow');
  byInstance.add('c/1');
  assert.is(await byInstance.get(), 'a/1@slow');
  assert.is(await byInstance.get(), 'c/1', 'b/1@slow is in the flow of a/1@slow, across namespaces');
});

test('a key whose last run was long waits behind every other key, low ones too, until a run of it ends in time', async () => {
  const queue = new WorkQueue({ clock: new ManualClock() });
  queue.add('silent/a');
  assert.is(await queue.get(), 'silent/a');
  queue.add('silent/a');
  queue.done('silent/a', true);
  queue.add('quiet/listed', 'low');
  queue.add('victim/new');
  assert.equal([await queue.get(), await queue.get(), await queue.get()], ['victim/new', 'quiet/listed', 'silent/a']);
  queue.add('victim/new');
  queue.add('silent/a', 'normal');
  queue.done('silent/a', true);
  assert.is(queue.length, 1, 'silent/a waits: a normal add does not lift it');
  queue.done('victim/new');
  assert.equal([await queue.get(), await queue.get()], ['victim/new', 'silent/a']);
  queue.done('silent/a');
  queue.add('silent/a');
  queue.add('other/x');
  assert.is(await queue.get(), 'silent/a', 'a run that ended in time puts it back among the others');
});

test.run();
