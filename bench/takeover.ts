// Leader takeover on a real control plane (etcd + kube-apiserver from test/support/controlplane.ts)
// between real operator processes with the default Lease timings: after kill -9 of the leader
// (the successor must wait for the lease to expire) and after SIGTERM (the leader releases it).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '../test/support/controlplane.js';
import type { ControlPlane } from '../test/support/controlplane.js';
import { startOperator } from '../test/support/operator.js';
import type { LogRecord, RunningOperator } from '../test/support/operator.js';
import { say, sleep, type Figure } from './util.js';

const LEASE_S = 15;
const RENEW_S = 10;
const RETRY_S = 2;

const startedLeading = (record: LogRecord): boolean => record.message === 'started leading';
const leads = (operator: RunningOperator): boolean => operator.records().some(startedLeading);
const timestamp = (record: LogRecord): number => Date.parse(String(record.timestamp));

export async function takeover(): Promise<Figure[]> {
  say(
    `\n## Leader takeover between operator processes on a real API server (lease ${LEASE_S} s, renew deadline ${RENEW_S} s, retry ${RETRY_S} s: the defaults)`,
  );
  // The test helpers unref their child processes; waiting on one alone would let the loop drain.
  const keepAlive = setInterval(() => undefined, 1000);
  const controlPlane: ControlPlane = await startControlPlane({ controllerManager: false, log: () => undefined });
  const operators: RunningOperator[] = [];
  try {
    const kubectl = async (...args: string[]): Promise<void> => {
      const result = await controlPlane.kubectl(args);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    };
    await kubectl('apply', '-f', fileURLToPath(new URL('../crds/', import.meta.url)));
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/influxonboardings.influxdb.onboarding.dev',
      '--timeout=60s',
    );
    await kubectl('create', 'namespace', 'bench');
    const leaseName = `bench-${randomBytes(3).toString('hex')}`;
    const candidate = async (name: string): Promise<RunningOperator> => {
      const operator = await startOperator({
        kubeconfigPath: controlPlane.kubeconfigPath,
        name,
        args: [
          '--namespaces=bench',
          '--leader-elect=true',
          '--leader-election-namespace=bench',
          `--leader-election-id=${leaseName}`,
          '--log-level=info',
        ],
      });
      operators.push(operator);
      await operator.waitForReady(60_000);
      return operator;
    };
    const [first, second] = await Promise.all([candidate('bench-operator-1'), candidate('bench-operator-2')]);
    if (!first || !second) throw new Error('operators did not start');
    const deadline = Date.now() + 60_000;
    while (!leads(first) && !leads(second)) {
      if (Date.now() > deadline) throw new Error('nobody leads after 60 s');
      await sleep(100);
    }
    let [leader, standby] = leads(first) ? [first, second] : [second, first];
    let names = 3;
    const summary = (values: number[]): string => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${sorted.map((value) => value.toFixed(2)).join(', ')} s`;
    };
    const trial = async (how: 'kill' | 'term'): Promise<number> => {
      // The standby has seen the leader renew a few times, as in a long-running deployment.
      await sleep(2 * RETRY_S * 1000 * 2.2);
      if (leads(standby)) throw new Error('the standby leads before the leader went away');
      const at = Date.now();
      const exit = how === 'kill' ? await leader.kill() : await leader.terminate();
      const took = await standby.waitForLog('started leading', startedLeading, 60_000);
      const seconds = (timestamp(took) - at) / 1000;
      say(
        `${how === 'kill' ? 'kill -9' : 'SIGTERM'} of the leader (${exit}) -> the standby started leading after ${seconds.toFixed(2)} s`,
      );
      leader = standby;
      standby = await candidate(`bench-operator-${names++}`);
      return seconds;
    };
    const kills = [await trial('kill'), await trial('kill')];
    const terms = [await trial('term'), await trial('term'), await trial('term')];
    say(
      `after kill -9: ${summary(kills)} (the lease, ${LEASE_S} s, must expire as the standby observes it, then its next retry, every ${RETRY_S}-${(RETRY_S * 2.2).toFixed(1)} s: expected within ${(LEASE_S + RETRY_S * 2.2).toFixed(1)} s; the integration test asserts only that it is not before the lease could expire)`,
    );
    say(
      `after SIGTERM: ${summary(terms)} (the Lease is released; the standby takes it at its next retry, every ${RETRY_S}-${(RETRY_S * 2.2).toFixed(1)} s: expected within ${(RETRY_S * 2.2).toFixed(1)} s, well under the lease; the integration test asserts the standby took a released Lease)`,
    );
    return [
      {
        name: 'takeover after kill -9 of the leader',
        value: summary(kills),
        how: `${kills.length} trials; lease ${LEASE_S} s / renew ${RENEW_S} s / retry ${RETRY_S} s; kill to the successor's 'started leading' log`,
      },
      {
        name: 'handover after SIGTERM of the leader',
        value: summary(terms),
        how: `${terms.length} trials; SIGTERM to the successor's 'started leading' log (Lease released)`,
      },
    ];
  } finally {
    await Promise.all(operators.map((operator) => operator.kill()));
    await controlPlane.stop();
    clearInterval(keepAlive);
  }
}
