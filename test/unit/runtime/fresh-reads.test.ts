import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FreshReads } from '../../../src/runtime/fresh-reads.js';

/** A load whose answers the test gives, counting how often it was sent. */
function heldLoad() {
  const pending: Array<(value: string) => void> = [];
  return {
    pending,
    sent: () => pending.length,
    load: () => new Promise<string>((resolve) => pending.push(resolve)),
  };
}

const ok = (value: string): boolean => value !== 'failed';

test('callers with no point to see past share the read in flight, then its answer', async () => {
  const reads = new FreshReads<string>();
  const held = heldLoad();
  const first = reads.read('org', 0, held.load, ok);
  const second = reads.read('org', 0, held.load, ok);
  assert.is(held.sent(), 1);
  held.pending[0]?.('list-1');
  assert.equal(await Promise.all([first, second]), ['list-1', 'list-1']);
  assert.is(await reads.read('org', 0, held.load, ok), 'list-1');
  assert.is(held.sent(), 1, 'the answer serves later callers too');
});

test('a caller that marked a point gets only a read sent after it', async () => {
  const reads = new FreshReads<string>();
  const held = heldLoad();
  const before = reads.read('org', 0, held.load, ok);
  const changed = reads.mark(); // e.g. a create was sent after the read above
  const after = reads.read('org', changed, held.load, ok);
  assert.is(held.sent(), 2, 'the read in flight was sent before the point');
  held.pending[0]?.('list-1');
  held.pending[1]?.('list-2');
  assert.equal(await Promise.all([before, after]), ['list-1', 'list-2']);
  assert.is(await reads.read('org', changed, held.load, ok), 'list-2', 'the newer read serves it from now on');
  assert.is(await reads.read('org', 0, held.load, ok), 'list-2');
  assert.is(held.sent(), 2);
});

test('a failed read serves those waiting for it, and no one after them', async () => {
  const reads = new FreshReads<string>();
  const held = heldLoad();
  const waiting = reads.read('org', 0, held.load, ok);
  held.pending[0]?.('failed');
  assert.is(await waiting, 'failed');
  const again = reads.read('org', 0, held.load, ok);
  assert.is(held.sent(), 2, 'asked again');
  held.pending[1]?.('list-2');
  assert.is(await again, 'list-2');
});

test('a rejected read is not kept either', async () => {
  const reads = new FreshReads<string>();
  let calls = 0;
  const failing = () => {
    calls++;
    return Promise.reject(new Error('connection reset'));
  };
  await reads.read('org', 0, failing, ok).catch(() => undefined);
  await reads.read('org', 0, failing, ok).catch(() => undefined);
  assert.is(calls, 2);
});

test('keys are read apart', async () => {
  const reads = new FreshReads<string>();
  const held = heldLoad();
  void reads.read('org-a', 0, held.load, ok);
  void reads.read('org-b', 0, held.load, ok);
  assert.is(held.sent(), 2);
});

test.run();
