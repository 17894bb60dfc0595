/** DriftSchedule: a wake that changes none of a Ready resource's inputs waits for its check; anything else checks now. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DriftSchedule } from '../../../src/runtime/drift-schedule.js';

test('the same inputs before the check is due: the time left; other inputs, unknown inputs, past due or forgotten: undefined', () => {
  let now = 0;
  const schedule = new DriftSchedule<{ version: string; depends: string[] }>(() => new Date(now));
  const inputs = { version: '7', depends: ['a', 'b'] };
  assert.is(schedule.unchangedFor('ns/x', inputs), undefined, 'never checked');
  schedule.checked('ns/x', inputs, 300_000);
  now = 120_000;
  assert.is(
    schedule.unchangedFor('ns/x', { version: '7', depends: ['a', 'b'] }),
    180_000,
    'equal, not the same object',
  );
  assert.is(schedule.unchangedFor('ns/x', { version: '8', depends: ['a', 'b'] }), undefined);
  assert.is(schedule.unchangedFor('ns/x', { version: '7', depends: ['a'] }), undefined);
  assert.is(schedule.unchangedFor('ns/x', undefined), undefined);
  assert.is(schedule.unchangedFor('ns/y', inputs), undefined, 'per key');
  now = 300_000;
  assert.is(schedule.unchangedFor('ns/x', inputs), undefined, 'due');
  schedule.checked('ns/x', inputs, 300_000);
  schedule.checked('ns/x', undefined, 300_000);
  assert.is(schedule.unchangedFor('ns/x', inputs), undefined, 'checked on unknown inputs: forgotten');
  schedule.checked('ns/x', inputs, 300_000);
  schedule.forget('ns/x');
  assert.is(schedule.unchangedFor('ns/x', inputs), undefined);
});

test.run();
