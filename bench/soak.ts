// `npm run soak -- --minutes N --seed S [--keep-history]`: the soak's long run (test/support/soak).
// Prints the seed, the counts and, on a violation, where the history is; exits 1 on any violation.
// A random seed is drawn (and printed) when none is given; the same seed replays the same schedule.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { report, runSoak } from '../test/support/soak/run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string' },
    'keep-history': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!(minutes > 0) || !Number.isInteger(seed) || seed < 0) {
  process.stderr.write(
    'usage: npm run soak -- --minutes <positive number> [--seed <non-negative integer>] [--keep-history]\n',
  );
  process.exit(2);
}
const result = await runSoak({
  minutes,
  seed,
  historyDir: fileURLToPath(new URL('../.soak', import.meta.url)),
  keepHistory: values['keep-history'],
  log: values.quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
});
for (const line of report(result)) process.stdout.write(`${line}\n`);
process.exit(result.violations.length > 0 ? 1 : 0);
