// The attacks of a hostile tenant on the operator's share of work and memory (issue 17 points 7
// and 8), on the control plane of test/support/onboarding.ts: the integration tests make them and
// assert the bounds, the benchmark (npm run bench -- tenants) makes them and prints the figures.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKEN_OWNER_LABEL } from '../../src/api/access-types.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL } from '../../src/api/types.js';
import { startInfluxStandin, type InfluxStandin } from './influx-standin.js';
import {
  consentTo,
  createOnboarding,
  createSecret,
  deleteSecret,
  getOnboarding,
  onboardingHarness,
  readyOf,
  updateSecretData,
  waitForReason,
} from './onboarding.js';
import { startOperator, type RunningOperator } from './operator.js';
import { memoryAfterGc, type MemoryAfterGc } from './process-memory.js';
import { freePorts } from './processes.js';
import { startSilentServer, type SilentServer } from './silent-server.js';
import { eventually } from './wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

// ------------------------------------------------------------------------------------------------
// Starving the others (point 7)

/** Connections the silent servers hold open right now: each is a reconcile waiting for an answer. */
export function waiting(servers: readonly SilentServer[]): number {
  return servers.reduce((sum, server) => sum + server.open(), 0);
}

/**
 * One InfluxOnboarding per namespace listed (a namespace listed twice gets two), each naming a
 * silent server of its own. Created until the API server takes it (a CRD just applied may need a
 * moment).
 */
export async function silentInstances(
  namespaces: readonly string[],
  requestTimeoutSeconds: number,
): Promise<SilentServer[]> {
  const servers = await Promise.all(namespaces.map(() => startSilentServer()));
  for (const [index, server] of servers.entries()) {
    await eventually(`silent-${index} created`, () =>
      createOnboarding(namespaces[index] ?? '', `silent-${index}`, {
        url: server.url,
        ...SPEC,
        requestTimeoutSeconds,
      }).then(() => true),
    );
  }
  return servers;
}

/** Waits until at least `workers` reconciles wait on the silent servers: every worker, without the fixes. */
export async function attackHolds(servers: readonly SilentServer[], workers: number): Promise<void> {
  await eventually('every worker to wait on a silent server', () => waiting(servers) >= workers, { timeoutMs: 30_000 });
}

/** Applies an onboarding of a stand-in and waits for Ready=True; the milliseconds from apply to Ready. */
export async function victimReadyMs(
  namespace: string,
  name: string,
  standins: InfluxStandin[],
  timeoutMs = 90_000,
): Promise<number> {
  const standin = await startInfluxStandin();
  standins.push(standin);
  const applied = performance.now();
  await createOnboarding(namespace, name, { url: standin.url, ...SPEC });
  await eventually(
    `${namespace}/${name} to be Ready`,
    async () => readyOf(await getOnboarding(namespace, name))?.status === 'True',
    { timeoutMs, intervalMs: 100 },
  );
  return performance.now() - applied;
}

// ------------------------------------------------------------------------------------------------
// Filling the operator's memory (point 8)

export const LABELLED_SECRETS = 60;
const LABELLED_BYTES = 0.9 * 1024 * 1024;
export const REPLACEMENTS = 300;
const REPLACEMENT_BYTES = 128 * 1024;
const REHEARSALS = 6;

/** Text of `bytes` characters that no compression or string sharing makes smaller. */
function noise(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}

/** The operator as the image runs it (the Dockerfile's MALLOC_ARENA_MAX), with its inspector for full collections. */
export async function operatorWithInspector(
  namespace: string,
  name: string,
): Promise<{ operator: RunningOperator; inspectorPort: number }> {
  const [inspectorPort = 0] = await freePorts(1);
  const { controlPlane } = await onboardingHarness();
  const operator = await startOperator({
    kubeconfigPath: controlPlane.kubeconfigPath,
    name,
    command: [process.execPath, `--inspect=127.0.0.1:${inspectorPort}`, '--import', 'tsx', join(root, 'src/main.ts')],
    env: { MALLOC_ARENA_MAX: '1', NODE_ENV: 'production' },
    args: [`--namespaces=${namespace}`],
  });
  await operator.waitForReady(60_000);
  return { operator, inspectorPort };
}

/** The operator's 'reconciled' records of one resource so far. */
export function reconciledCount(operator: RunningOperator, resource: string): number {
  return operator.records().filter((record) => record.message === 'reconciled' && record.resource === resource).length;
}

/**
 * Labelled as the operator labels what it writes: plainly, as a credentials Secret of the
 * InfluxOnboarding `app` (under names it does not use), and as an InfluxToken's.
 */
function labelsOf(index: number): Record<string, string> {
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  if (index % 3 === 1) return { ...labels, [OWNER_NAME_LABEL]: 'app' };
  if (index % 3 === 2) return { ...labels, [TOKEN_OWNER_LABEL]: 'app' };
  return labels;
}

/** Replaces the password `app` references with 128 KiB of noise and waits for the reconcile that reads it. */
async function replaceReferencedSecret(namespace: string, operator: RunningOperator, what: string): Promise<void> {
  const reconciled = reconciledCount(operator, `${namespace}/app`);
  await updateSecretData(namespace, 'app-password', { password: noise(REPLACEMENT_BYTES) });
  await eventually(`the reconcile after ${what}`, () => reconciledCount(operator, `${namespace}/app`) > reconciled, {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

export interface MemoryAttack {
  before: MemoryAfterGc;
  after: MemoryAfterGc;
}

/**
 * The InfluxOnboarding `app` with a referenced password, Onboarded; a rehearsal at a small scale
 * (so that the baseline has every code path of the attack compiled and its buffers grown: the
 * figure is what the attack leaves, not a first use); the memory after full collections; then 60
 * Secrets of 0.9 MiB labelled like the operator's and 300 replacements of the referenced Secret
 * with 128 KiB values, each reconciled; the memory after full collections again.
 */
export async function memoryAttack(
  namespace: string,
  standin: InfluxStandin,
  { operator, inspectorPort }: { operator: RunningOperator; inspectorPort: number },
): Promise<MemoryAttack> {
  await createSecret(namespace, 'app-password', { password: 'first-password-0' }, consentTo(standin.url));
  await createOnboarding(namespace, 'app', {
    url: standin.url,
    ...SPEC,
    passwordSecretRef: { name: 'app-password', key: 'password' },
  });
  await waitForReason(namespace, 'app', 'Onboarded');
  const hoard = (prefix: string, index: number) =>
    createSecret(namespace, `${prefix}-${index}`, { payload: noise(LABELLED_BYTES) }, { labels: labelsOf(index) });
  for (let index = 0; index < REHEARSALS; index++) {
    await hoard('rehearsal', index);
    await replaceReferencedSecret(namespace, operator, `rehearsal ${index}`);
  }
  for (let index = 0; index < REHEARSALS; index++) await deleteSecret(namespace, `rehearsal-${index}`);
  const before = await memoryAfterGc(operator.pid, inspectorPort);
  for (let index = 0; index < LABELLED_SECRETS; index++) await hoard('hoard', index);
  for (let round = 1; round <= REPLACEMENTS; round++)
    await replaceReferencedSecret(namespace, operator, `replacement ${round}`);
  return { before, after: await memoryAfterGc(operator.pid, inspectorPort) };
}

export function describeMemory(memory: MemoryAfterGc): string {
  const { heapUsed, heapTotal, external } = memory.usage;
  const young = memory.heapSpaces['new_space'];
  return `RSS ${memory.rssMiB} MiB (anonymous ${memory.rssAnonMiB}), heap used ${heapUsed} of ${heapTotal} MiB (young generation ${young}), external ${external} MiB`;
}
