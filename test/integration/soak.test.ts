// The soak's short run, in every `npm test`: a few rounds of seeded operations and overlapping
// faults against the real control plane, two replicas of the production build and real influxd
// v2.7.12 and v2.9.1 (test/support/soak), each round ended by a quiet point where the invariants
// are proven. The seed is fixed so CI replays the same schedule; `npm run soak` is the long run.
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { report, runSoak } from '../support/soak/run.js';

const SEED = 20_261_206;

const tests = suite('the soak, short run');

tests(`seed ${SEED}: faults overlap, every quiet point holds every invariant`, async () => {
  const result = await runSoak({
    minutes: 3,
    seed: SEED,
    historyDir: fileURLToPath(new URL('../../.soak', import.meta.url)),
  });
  for (const line of report(result)) process.stdout.write(`    ${line}\n`);
  assert.equal(result.violations, [], `history in ${result.historyDir}`);
  assert.ok(result.quietPoints >= 2, `${result.quietPoints} quiet points`);
  assert.ok(result.faults >= 10, `${result.faults} faults`);
  for (const kind of ['liveness', 'secret-works', 'stale-leader', 'secrecy', 'no-credential-lost', 'memory-after-gc'])
    assert.ok((result.checks[kind] ?? 0) > 0, `the ${kind} invariant was checked`);
});

tests.run();
