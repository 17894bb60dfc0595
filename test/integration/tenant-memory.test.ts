// End to end on a real control plane, as a hostile tenant would try it (issue 17 point 8): the
// operator's memory must not grow with what a tenant writes. The tenant labels 60 Secrets of
// 0.9 MiB like the operator's own (some as an InfluxOnboarding's credentials Secret, some as an
// InfluxToken's), then replaces the Secret its InfluxOnboarding references 300 times with values
// of 128 KiB: 54 MiB of data the operator would keep if it cached what it does not need. After
// full garbage collections (through its inspector) what the operator holds, V8's heap in use and
// the memory outside it (buffers), must grow by less than 10 MiB; the resident set by less than
// 30 MiB, since the allocator keeps freed pages (up to about 20 MiB seen on an idle run). The
// figures are printed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxStandin } from '../support/influx-standin.js';
import { startInfluxStandin } from '../support/influx-standin.js';
import { createNamespace, onboardingHarness } from '../support/onboarding.js';
import type { RunningOperator } from '../support/operator.js';
import {
  LABELLED_SECRETS,
  REPLACEMENTS,
  describeMemory,
  memoryAttack,
  operatorWithInspector,
  reconciledCount,
} from '../support/tenant-attacks.js';

interface Context {
  namespace: string;
  standin: InfluxStandin;
  operator: RunningOperator;
  inspectorPort: number;
}

const tests = suite<Context>('tenant memory: what a tenant writes does not stay in the operator', {} as Context);

const HELD_GROWTH_BOUND_MIB = 10;
const RSS_GROWTH_BOUND_MIB = 30;

tests.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('tenant-mem');
  context.standin = await startInfluxStandin();
  Object.assign(context, await operatorWithInspector(context.namespace, 'tenant-memory-operator'));
});

tests.after(async (context) => {
  await context.operator.terminate();
  await context.standin.close();
});

tests(
  "60 Secrets of 0.9 MiB labelled like the operator's and 300 replacements of a referenced Secret: the operator holds less than 10 MiB more",
  async (context) => {
    const { namespace, standin, operator } = context;
    const { before, after } = await memoryAttack(namespace, standin, context);
    const growth = after.rssMiB - before.rssMiB;
    process.stdout.write(
      `\n  figure: before the attack ${describeMemory(before)}; after ${LABELLED_SECRETS} labelled Secrets of 0.9 MiB and ${REPLACEMENTS} replacements of a referenced Secret ${describeMemory(after)}: RSS grew by ${growth.toFixed(1)} MiB\n`,
    );
    assert.ok(
      reconciledCount(operator, `${namespace}/app`) > REPLACEMENTS,
      'the operator reconciled every replacement',
    );
    assert.ok(growth < RSS_GROWTH_BOUND_MIB, `RSS grew by ${growth.toFixed(1)} MiB`);
    const held = (memory: typeof before): number => (memory.usage.heapUsed ?? 0) + (memory.usage.external ?? 0);
    const heldGrowth = held(after) - held(before);
    assert.ok(
      heldGrowth < HELD_GROWTH_BOUND_MIB,
      `the heap in use and external memory grew by ${heldGrowth.toFixed(1)} MiB`,
    );
  },
);

tests.run();
