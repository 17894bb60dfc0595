// The read-your-writes view: what this process wrote, until the cache shows it or moves on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadYourWrites, withStatus } from '../../../src/runtime/read-your-writes.js';
import { RunMemory } from '../../../src/runtime/run-memory.js';

type Thing = { metadata: { namespace: string; name: string; resourceVersion: string }; status?: { phase: string } };

function thing(resourceVersion: string, phase?: string): Thing {
  return { metadata: { namespace: 'ns', name: 'a', resourceVersion }, ...(phase && { status: { phase } }) };
}

/** A cache the test moves by hand, and the view in front of it. */
function viewOf(initial?: Thing) {
  let cached = initial;
  const view = new ReadYourWrites<Thing>({ get: () => cached });
  const handlers = view.handlers();
  return {
    view,
    /** The cache catches up to `next` (undefined: the object is gone), with the informer's event. */
    show(next: Thing | undefined) {
      const previous = cached;
      cached = next;
      if (next === undefined) {
        if (previous) handlers.onDelete?.(previous);
      } else if (previous === undefined) handlers.onAdd?.(next, false);
      else handlers.onUpdate?.(previous, next);
    },
    /** The cache catches up without an event reaching the view (a reader asks first). */
    set(next: Thing | undefined) {
      cached = next;
    },
  };
}

test('a status write is read back while the cache still shows the version it replaced; its event ends the record', () => {
  const { view, show } = viewOf(thing('1'));
  const written = withStatus(thing('1'), { phase: 'Ready' }, '2');
  view.wrote(thing('1'), written);
  assert.equal(view.get('ns', 'a'), written);
  show(thing('2', 'Ready'));
  assert.is(view.size, 0, 'the event of the write itself ends the record');
  assert.equal(view.get('ns', 'a'), thing('2', 'Ready'));
});

test("another writer's later version is the cache's answer, and the record goes", () => {
  const { view, set } = viewOf(thing('1'));
  view.wrote(thing('1'), thing('2', 'Ours'));
  set(thing('3', 'Theirs'));
  assert.equal(view.get('ns', 'a'), thing('3', 'Theirs'));
  assert.is(view.size, 0);
});

test('an event at the version the write replaced keeps the record (the cache has not caught up)', () => {
  const { view, show } = viewOf(thing('1'));
  view.wrote(thing('1'), thing('2', 'Ours'));
  show(thing('1'));
  assert.equal(view.get('ns', 'a'), thing('2', 'Ours'));
});

test('writes one after another before the cache catches up: the last is read while the cache shows any version they replaced', () => {
  const { view, set } = viewOf(thing('1'));
  view.wrote(thing('1'), thing('2', 'first'));
  view.wrote(thing('2', 'first'), thing('3', 'second'));
  assert.equal(view.get('ns', 'a'), thing('3', 'second'));
  set(thing('2', 'first'));
  assert.equal(view.get('ns', 'a'), thing('3', 'second'), 'the cache caught up with the first write only');
  set(thing('3', 'second'));
  assert.equal(view.get('ns', 'a'), thing('3', 'second'));
  assert.is(view.size, 0);
});

test('an object this process created is read before the cache has it; no object never matches a version', () => {
  const { view, show } = viewOf(undefined);
  view.wrote(undefined, thing('5', 'created'));
  assert.equal(view.get('ns', 'a'), thing('5', 'created'));
  show(thing('5', 'created'));
  assert.is(view.size, 0);

  const updated = viewOf(thing('1'));
  updated.view.wrote(thing('1'), thing('2', 'Ours'));
  updated.set(undefined);
  assert.is(updated.view.get('ns', 'a'), undefined, 'deleted since: the write replaced an object, not none');
});

test("a write whose event came before its answer keeps no record: the cache's answer is the write", () => {
  const { view, show } = viewOf(thing('1'));
  const written = withStatus(thing('1'), { phase: 'Ready' }, '2');
  show(written);
  view.wrote(thing('1'), written);
  assert.is(view.size, 0, 'nothing held until the next read');
  assert.equal(view.get('ns', 'a'), written);
  // A write the cache has not shown yet is recorded as before.
  view.wrote(written, withStatus(written, { phase: 'Later' }, '3'));
  assert.is(view.size, 1);
});

test('a deletion event ends the record', () => {
  const { view, show } = viewOf(thing('1'));
  view.wrote(thing('1'), thing('2', 'Ours'));
  show(undefined);
  assert.is(view.size, 0);
  assert.is(view.get('ns', 'a'), undefined);
});

test('what the view keeps of a written object is what the cache keeps of any (its transform)', () => {
  const trimmed = new ReadYourWrites<Thing>({ get: () => thing('1') }, (object) => ({ metadata: object.metadata }));
  trimmed.wrote(thing('1'), thing('2', 'Ours'));
  assert.equal(trimmed.get('ns', 'a'), { metadata: thing('2').metadata });
});

test('run memory: one map per controller run, a new run starts empty', () => {
  const memory = new RunMemory<number>();
  const first = new AbortController();
  memory.of(first.signal).set('ns/a', 1);
  assert.is(memory.of(first.signal).get('ns/a'), 1);
  assert.is(memory.of(new AbortController().signal).get('ns/a'), undefined);
});

test.run();
