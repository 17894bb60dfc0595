// A hostile tenant against the operator's share of work and memory (issue 17 points 7 and 8), on
// a real control plane with the chart's defaults: how long another namespace's onboarding takes to
// be Ready with no attack, with 8 silent InfluxDB instances in one namespace and with one in each
// of 8 namespaces (requestTimeoutSeconds 60, the maximum); and how much the operator's resident
// set grows after 60 Secrets of 0.9 MiB labelled like the operator's and 300 replacements of a
// referenced Secret. The attacks are those of test/integration/tenant-*.test.ts, which assert the
// bounds; here they are only measured.
import { getControlPlane } from '../test/support/cluster.js';
import type { InfluxStandin } from '../test/support/influx-standin.js';
import { startInfluxStandin } from '../test/support/influx-standin.js';
import { createNamespace, onboardingHarness, startFileOperator } from '../test/support/onboarding.js';
import type { RunningOperator } from '../test/support/operator.js';
import type { SilentServer } from '../test/support/silent-server.js';
import {
  LABELLED_SECRETS,
  REPLACEMENTS,
  attackHolds,
  describeMemory,
  memoryAttack,
  operatorWithInspector,
  silentInstances,
  victimReadyMs,
  waiting,
} from '../test/support/tenant-attacks.js';
import { say, type Figure } from './util.js';

const ATTACKERS = 8;
const WORKERS = 4;
const VICTIMS = 3;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function tenants(): Promise<Figure[]> {
  say('\n## Tenants: another namespace under attack (real control plane, the chart defaults: 4 workers, 2m deadline)');
  // The test helpers unref their child processes; waiting on one alone would let the loop drain.
  const keepAlive = setInterval(() => undefined, 1000);
  const standins: InfluxStandin[] = [];
  const silent: SilentServer[] = [];
  const operators: RunningOperator[] = [];
  try {
    await onboardingHarness();
    const victims = await createNamespace('bench-victim');
    const attackers: string[] = [];
    for (let index = 0; index <= ATTACKERS; index++) attackers.push(await createNamespace('bench-evil'));
    const operator = await startFileOperator([victims, ...attackers], [], 'bench-tenants');
    operators.push(operator);
    let victim = 0;
    /** Ready times of a few victims, one after the other, while the attack (if any) goes on. */
    const victimTimes = async (servers: SilentServer[]): Promise<string> => {
      const times: string[] = [];
      for (let round = 0; round < VICTIMS; round++) {
        const readyMs = await victimReadyMs(victims, `victim-${victim++}`, standins);
        times.push(`${seconds(readyMs)}${servers.length > 0 ? ` (${waiting(servers)} waiting)` : ''}`);
      }
      return times.join(', ');
    };
    const quiet = await victimTimes([]);
    say(`no attack: the victim was Ready ${quiet} after apply`);
    const oneNamespace = await silentInstances(Array<string>(ATTACKERS).fill(attackers[ATTACKERS] ?? ''), 60);
    silent.push(...oneNamespace);
    await attackHolds(oneNamespace, WORKERS);
    const underOne = await victimTimes(oneNamespace);
    say(
      `8 silent instances in one namespace: the victim was Ready ${underOne} after apply (requests to silent servers open then)`,
    );
    const eight = await silentInstances(attackers.slice(0, ATTACKERS), 60);
    silent.push(...eight);
    await attackHolds(eight, WORKERS);
    const underEight = await victimTimes(eight);
    say(`and one silent instance in each of 8 namespaces besides: the victim was Ready ${underEight} after apply`);

    const memoryNamespace = await createNamespace('bench-hoard');
    const standin = await startInfluxStandin();
    standins.push(standin);
    const inspected = await operatorWithInspector(memoryNamespace, 'bench-tenants-memory');
    operators.push(inspected.operator);
    const { before, after } = await memoryAttack(memoryNamespace, standin, inspected);
    const growth = after.rssMiB - before.rssMiB;
    say(`memory: before ${describeMemory(before)}; after ${describeMemory(after)}: RSS +${growth.toFixed(1)} MiB`);
    return [
      {
        name: 'victim Ready, no attack',
        value: quiet,
        how: `${VICTIMS} onboardings of a stand-in, apply to Ready=True`,
      },
      {
        name: 'victim Ready, 8 silent in one namespace',
        value: underOne,
        how: 'the same, while 8 InfluxOnboardings of one namespace name servers that never answer (timeout 60 s)',
      },
      {
        name: 'victim Ready, + 1 silent in each of 8 namespaces',
        value: underEight,
        how: 'the same, with one more silent instance in each of 8 further namespaces',
      },
      {
        name: 'RSS growth from a tenant hoarding Secrets',
        value: `${growth.toFixed(1)} MiB`,
        how: `after GC, before and after ${LABELLED_SECRETS} Secrets of 0.9 MiB with the operator's labels and ${REPLACEMENTS} replacements of a referenced Secret (128 KiB values)`,
      },
    ];
  } finally {
    await Promise.all(operators.map((running) => running.terminate()));
    await Promise.all([...standins, ...silent].map((server) => server.close()));
    await (await getControlPlane()).stop();
    clearInterval(keepAlive);
  }
}
