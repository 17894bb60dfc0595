import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NONE, runSteps, type Finish, type StepLoop } from '../../../src/runtime/steps.js';

interface Facts {
  done: number;
}

/** A loop of two steps, then a finish; `during` runs inside each step's act (the answer it waits for). */
function twoSteps(during: (step: number) => void): { loop: StepLoop<Facts, { kind: string }, object>; log: string[] } {
  const log: string[] = [];
  const finish: Finish<object> = { kind: 'finish', reason: 'Done', message: '', status: {}, requeue: NONE };
  return {
    log,
    loop: {
      decide: (facts) => (facts.done < 2 ? { kind: `step${facts.done}` } : finish),
      act: async (step, facts) => {
        log.push(step.kind);
        during(facts.done);
        await Promise.resolve();
        return { done: facts.done + 1 };
      },
      conclude: async () => {
        log.push('conclude');
        return {};
      },
    },
  };
}

test('runs every step, then concludes', async () => {
  const { loop, log } = twoSteps(() => undefined);
  assert.equal(await runSteps(loop, { done: 0 }, new AbortController().signal), {});
  assert.equal(log, ['step0', 'step1', 'conclude']);
});

test('aborted while a step waits for its answer: no further step, and no status (conclude) either', async () => {
  const run = new AbortController();
  const { loop, log } = twoSteps((step) => {
    if (step === 1) run.abort(new Error('leadership lost'));
  });
  try {
    await runSteps(loop, { done: 0 }, run.signal);
    assert.unreachable('an aborted run must not finish');
  } catch (error) {
    assert.is((error as Error).message, 'leadership lost');
  }
  assert.equal(log, ['step0', 'step1'], 'the last step answered, nothing after it');
});

test('aborted before it starts: nothing at all', async () => {
  const run = new AbortController();
  run.abort(new Error('stopped'));
  const { loop, log } = twoSteps(() => undefined);
  let failed = false;
  await runSteps(loop, { done: 2 }, run.signal).catch(() => (failed = true));
  assert.ok(failed);
  assert.equal(log, []);
});

test.run();
