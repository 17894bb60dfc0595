// How phases are run: each answer worked out once per decision, and read by later phases only
// once settled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, settled, type Phase } from '../../../../src/onboarding/phases/situation.js';
import { facts, situationOf } from '../../../support/facts.js';

test('run: a phase is asked once per situation, however many phases read it', () => {
  let asked = 0;
  const counting: Phase<{ value: number }> = () => ({ value: ++asked });
  const s = situationOf(facts());
  assert.equal(run(s, counting), { value: 1 });
  assert.equal(settled(s, counting), { value: 1 });
  assert.is(asked, 1);
  assert.equal(run(situationOf(facts()), counting), { value: 2 }, 'a new decision asks again');
});

test('settled: reading a phase that still needs a step is a bug in the order of the phases', () => {
  const needing: Phase<{ value: number }> = function needsTheSetupStatus() {
    return { kind: 'checkSetupStatus' };
  };
  assert.throws(
    () => settled(situationOf(facts()), needing),
    /needsTheSetupStatus has not settled: it still needs checkSetupStatus/,
  );
});

test.run();
