// End to end on a real control plane, as a hostile tenant would try it (issue 17 point 8): the
// operator's memory must not grow with what a tenant writes. The tenant labels 60 Secrets of
// 0.9 MiB like the operator's own (some as an InfluxOnboarding's credentials Secret, some as an
// InfluxToken's), then replaces the Secret its InfluxOnboarding references 300 times with values
// of 128 KiB. The operator's resident set after full garbage collections (through its inspector)
// must grow by less than 10 MiB: the attack's success criterion; the figures are printed.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL } from '../../src/api/types.js';
import { TOKEN_OWNER_LABEL } from '../../src/api/access-types.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import {
  consentTo,
  createNamespace,
  createOnboarding,
  createSecret,
  deleteSecret,
  onboardingHarness,
  updateSecretData,
  waitForReason,
} from '../support/onboarding.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { memoryAfterGc, type MemoryAfterGc } from '../support/process-memory.js';
import { freePorts } from '../support/processes.js';
import { eventually } from '../support/wait.js';

interface Context {
  namespace: string;
  standin: InfluxStandin;
  operator: RunningOperator;
  inspectorPort: number;
}

const tests = suite<Context>('tenant memory: what a tenant writes does not stay in the operator', {} as Context);

const root = fileURLToPath(new URL('../..', import.meta.url));
const LABELLED_SECRETS = 60;
const LABELLED_BYTES = 0.9 * 1024 * 1024;
const REPLACEMENTS = 300;
const REPLACEMENT_BYTES = 128 * 1024;
const GROWTH_BOUND_MIB = 10;
const WARM_UP = 6;

/** Text of `bytes` characters that no compression or string sharing makes smaller. */
function noise(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}

tests.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('tenant-mem');
  context.standin = await startInfluxStandin();
  const [inspectorPort = 0] = await freePorts(1);
  context.inspectorPort = inspectorPort;
  const { controlPlane } = await onboardingHarness();
  // As the image runs it (the Dockerfile's MALLOC_ARENA_MAX), with its inspector for the collections.
  context.operator = await startOperator({
    kubeconfigPath: controlPlane.kubeconfigPath,
    name: 'tenant-memory-operator',
    command: [process.execPath, `--inspect=127.0.0.1:${inspectorPort}`, '--import', 'tsx', join(root, 'src/main.ts')],
    env: { MALLOC_ARENA_MAX: '1', NODE_ENV: 'production' },
    args: [`--namespaces=${context.namespace}`],
  });
  await context.operator.waitForReady(60_000);
});

tests.after(async (context) => {
  await context.operator.terminate();
  await context.standin.close();
});

/** The operator's 'reconciled' records of one resource so far. */
function reconciledCount(operator: RunningOperator, resource: string): number {
  return operator.records().filter((record) => record.message === 'reconciled' && record.resource === resource).length;
}

/**
 * Labelled as the operator labels what it writes: plainly, as a credentials Secret of the
 * InfluxOnboarding (under names it does not use), and as an InfluxToken's.
 */
function labelsOf(index: number): Record<string, string> {
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  if (index % 3 === 1) return { ...labels, [OWNER_NAME_LABEL]: 'app' };
  if (index % 3 === 2) return { ...labels, [TOKEN_OWNER_LABEL]: 'app' };
  return labels;
}

/** Replaces the referenced password with 128 KiB of noise and waits for the reconcile that reads it. */
async function replaceReferencedSecret({ namespace, operator }: Context, what: string): Promise<void> {
  const reconciled = reconciledCount(operator, `${namespace}/app`);
  await updateSecretData(namespace, 'app-password', { password: noise(REPLACEMENT_BYTES) });
  await eventually(`the reconcile after ${what}`, () => reconciledCount(operator, `${namespace}/app`) > reconciled, {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

function describe(memory: MemoryAfterGc): string {
  return `RSS ${memory.rssMiB} MiB (anonymous ${memory.rssAnonMiB}), heap used ${memory.usage.heapUsed} MiB`;
}

tests(
  "60 Secrets of 0.9 MiB labelled like the operator's and 300 replacements of a referenced Secret: RSS grows by less than 10 MiB",
  async (context) => {
    const { namespace, standin, operator, inspectorPort } = context;
    await createSecret(namespace, 'app-password', { password: 'first-password-0' }, consentTo(standin.url));
    await createOnboarding(namespace, 'app', {
      url: standin.url,
      username: 'admin',
      org: 'acme',
      bucket: 'metrics',
      passwordSecretRef: { name: 'app-password', key: 'password' },
    });
    await waitForReason(namespace, 'app', 'Onboarded');
    // A rehearsal at a small scale first, so that the baseline has every code path of the attack
    // compiled and its buffers grown: the figure is what the attack leaves, not a first use.
    for (let index = 0; index < WARM_UP; index++) {
      await createSecret(
        namespace,
        `rehearsal-${index}`,
        { payload: noise(LABELLED_BYTES) },
        { labels: labelsOf(index) },
      );
      await replaceReferencedSecret(context, `rehearsal ${index}`);
    }
    for (let index = 0; index < WARM_UP; index++) await deleteSecret(namespace, `rehearsal-${index}`);
    const before = await memoryAfterGc(operator.pid, inspectorPort);

    for (let index = 0; index < LABELLED_SECRETS; index++) {
      await createSecret(namespace, `hoard-${index}`, { payload: noise(LABELLED_BYTES) }, { labels: labelsOf(index) });
    }
    for (let round = 1; round <= REPLACEMENTS; round++) await replaceReferencedSecret(context, `replacement ${round}`);
    const after = await memoryAfterGc(operator.pid, inspectorPort);
    const growth = after.rssMiB - before.rssMiB;
    process.stdout.write(
      `\n  figure: before the attack ${describe(before)}; after ${LABELLED_SECRETS} labelled Secrets of 0.9 MiB and ${REPLACEMENTS} replacements of a referenced Secret ${describe(after)}: RSS grew by ${growth.toFixed(1)} MiB\n`,
    );
    assert.ok(
      reconciledCount(operator, `${namespace}/app`) > REPLACEMENTS,
      'the operator reconciled every replacement',
    );
    assert.ok(growth < GROWTH_BOUND_MIB, `RSS grew by ${growth.toFixed(1)} MiB`);
  },
);

tests.run();
