import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackgroundSender, type DropReason } from '../../../src/runtime/background.js';
import { ManualClock } from '../../support/manual-clock.js';

/** A receiver whose sends stay open until the test answers them. */
function heldReceiver() {
  const open: Array<{ item: string; answer: (error?: Error) => void }> = [];
  const sent: string[] = [];
  return {
    open,
    sent,
    send: (item: string) =>
      new Promise<void>((resolve, reject) => {
        open.push({
          item,
          answer: (error) => {
            if (error) reject(error);
            else {
              sent.push(item);
              resolve();
            }
          },
        });
      }),
    /** Answers the oldest open send. */
    async answerNext(error?: Error): Promise<void> {
      open.shift()?.answer(error);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

function droppedLog() {
  const dropped: Array<[string, DropReason, string | undefined]> = [];
  return {
    dropped,
    onDropped: (item: string, reason: DropReason, error?: unknown) =>
      void dropped.push([item, reason, error instanceof Error ? error.message : undefined]),
  };
}

test('enqueue returns at once; at most `concurrency` sends are open, the rest wait in order', async () => {
  const receiver = heldReceiver();
  const sender = new BackgroundSender({ send: receiver.send, concurrency: 2 });
  assert.ok(sender.enqueue('a'));
  assert.ok(sender.enqueue('b'));
  assert.ok(sender.enqueue('c'));
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['a', 'b'],
  );
  assert.is(sender.pending, 1);
  await receiver.answerNext();
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['b', 'c'],
  );
  await receiver.answerNext();
  await receiver.answerNext();
  assert.equal(receiver.sent, ['a', 'b', 'c']);
  assert.is(sender.pending, 0);
});

test('a full buffer drops the new item as overflow, and keeps what it holds', async () => {
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({ send: receiver.send, concurrency: 1, capacity: 2, onDropped: log.onDropped });
  sender.enqueue('sending');
  assert.ok(sender.enqueue('first'));
  assert.ok(sender.enqueue('second'));
  assert.not.ok(sender.enqueue('third'));
  assert.equal(log.dropped, [['third', 'overflow', undefined]]);
  for (let index = 0; index < 3; index++) await receiver.answerNext();
  assert.equal(receiver.sent, ['sending', 'first', 'second']);
});

test('a failed send is reported with its error and not retried; the next item is sent', async () => {
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({ send: receiver.send, concurrency: 1, onDropped: log.onDropped });
  sender.enqueue('refused');
  sender.enqueue('next');
  await receiver.answerNext(new Error('403 Forbidden'));
  assert.equal(log.dropped, [['refused', 'failed', '403 Forbidden']]);
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['next'],
  );
  await receiver.answerNext();
  assert.equal(receiver.sent, ['next']);
});

test('flush waits for everything queued to be sent, then takes no more items', async () => {
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({
    send: receiver.send,
    concurrency: 1,
    onDropped: log.onDropped,
    clock: new ManualClock(),
  });
  sender.enqueue('a');
  sender.enqueue('b');
  let flushed = false;
  const flushing = sender.flush(1000).then(() => void (flushed = true));
  await receiver.answerNext();
  assert.not.ok(flushed, 'b is still to be sent');
  await receiver.answerNext();
  await flushing;
  assert.equal(receiver.sent, ['a', 'b']);
  assert.not.ok(sender.enqueue('late'));
  assert.equal(log.dropped, [['late', 'shutdown', undefined]]);
});

test('flush gives up at its deadline and drops what still waits as shutdown', async () => {
  const clock = new ManualClock();
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({ send: receiver.send, concurrency: 1, onDropped: log.onDropped, clock });
  sender.enqueue('stuck');
  sender.enqueue('waiting');
  let flushed = false;
  const flushing = sender.flush(500).then(() => void (flushed = true));
  await clock.advance(499);
  assert.not.ok(flushed);
  await clock.advance(1);
  await flushing;
  assert.equal(log.dropped, [['waiting', 'shutdown', undefined]]);
  await receiver.answerNext();
  assert.equal(receiver.open, [], 'the dropped item is never sent');
});

test('flush of an idle sender returns at once, leaving no timer behind', async () => {
  const clock = new ManualClock();
  const sender = new BackgroundSender({ send: async () => undefined, clock });
  await sender.flush(1000);
  assert.is(clock.pendingTimers, 0);
});

test('held items are sent in the order queued, each no sooner than holdMs after it was queued', async () => {
  const clock = new ManualClock();
  const receiver = heldReceiver();
  const sender = new BackgroundSender({ send: receiver.send, holdMs: 100, clock });
  assert.ok(sender.enqueue('first'));
  await clock.advance(40);
  sender.enqueue('second');
  sender.enqueue('third');
  await clock.advance(59);
  assert.equal(receiver.open, [], 'nothing is sent while held');
  assert.is(sender.pending, 3);
  await clock.advance(1);
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['first'],
  );
  await clock.advance(39);
  assert.is(receiver.open.length, 1, 'the second is still held');
  await clock.advance(1);
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['first', 'second', 'third'],
  );
  for (let index = 0; index < 3; index++) await receiver.answerNext();
  assert.equal(receiver.sent, ['first', 'second', 'third']);
  assert.is(clock.pendingTimers, 0, 'no timer is left once nothing is held');
});

test('an item held past its time behind full send slots goes out, in order, as soon as a slot frees', async () => {
  const clock = new ManualClock();
  const receiver = heldReceiver();
  const sender = new BackgroundSender({ send: receiver.send, holdMs: 100, concurrency: 1, clock });
  sender.enqueue('slow');
  sender.enqueue('behind');
  await clock.advance(500);
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['slow'],
  );
  await receiver.answerNext();
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['behind'],
    'due long ago: sent without a second hold',
  );
  await receiver.answerNext();
  assert.equal(receiver.sent, ['slow', 'behind']);
});

test('a held item whose send fails is reported once and not retried; the items behind it keep their own hold', async () => {
  const clock = new ManualClock();
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({ send: receiver.send, holdMs: 100, onDropped: log.onDropped, clock });
  sender.enqueue('refused');
  await clock.advance(50);
  sender.enqueue('next');
  await clock.advance(50);
  await receiver.answerNext(new Error('403 Forbidden'));
  assert.equal(log.dropped, [['refused', 'failed', '403 Forbidden']]);
  assert.equal(receiver.open, [], 'next is held until its own time');
  await clock.advance(50);
  await receiver.answerNext();
  assert.equal(receiver.sent, ['next']);
  assert.equal(log.dropped, [['refused', 'failed', '403 Forbidden']]);
});

test('flush sends held items at once, in order, and returns when they are answered, leaving no timer', async () => {
  const clock = new ManualClock();
  const receiver = heldReceiver();
  const log = droppedLog();
  const sender = new BackgroundSender({
    send: receiver.send,
    holdMs: 100,
    concurrency: 1,
    onDropped: log.onDropped,
    clock,
  });
  sender.enqueue('a');
  sender.enqueue('b');
  let flushed = false;
  const flushing = sender.flush(1000).then(() => void (flushed = true));
  assert.equal(
    receiver.open.map(({ item }) => item),
    ['a'],
    'sent at once, not after the hold',
  );
  await receiver.answerNext();
  assert.not.ok(flushed);
  await receiver.answerNext();
  await flushing;
  assert.equal(receiver.sent, ['a', 'b']);
  assert.equal(log.dropped, []);
  assert.is(clock.pendingTimers, 0);
});

test('capacity and concurrency must be positive integers, holdMs 0 or more', () => {
  assert.throws(
    () => new BackgroundSender({ send: async () => undefined, capacity: 0 }),
    /capacity: must be a positive integer/,
  );
  assert.throws(
    () => new BackgroundSender({ send: async () => undefined, concurrency: 1.5 }),
    /concurrency: must be a positive integer/,
  );
  assert.throws(() => new BackgroundSender({ send: async () => undefined, holdMs: -1 }), /holdMs: must be a number/);
});

test.run();
