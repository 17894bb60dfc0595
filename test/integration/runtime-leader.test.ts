// Lease leader election between real operator processes on the real API server: one replica
// reconciles; a SIGKILLed leader is replaced once its Lease expires (never before: the lease
// must run out), and a SIGTERMed leader releases the Lease so a standby takes over at once.
// The tests run in order on one pair of replicas: each starts from the leader and standby the
// one before it left.
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { adminKubeConfig } from '../support/cluster.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import type { LogRecord, RunningOperator } from '../support/operator.js';
import {
  createResource,
  metricSum,
  reconciledRecords,
  recordTime,
  scrape,
  leaderElectionArgs,
  startRuntimeOperator,
  startStandins,
  waitForReconciled,
  assertNoStandinCredentialLeaked,
} from '../support/runtime-env.js';
import { createNamespace, onboardingHarness } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

// Short durations so the test is quick; the ratios are the defaults' (15 s / 10 s / 2 s).
const LEASE_MS = 8000;
const RENEW_DEADLINE_MS = 5000;
const RETRY_MS = 1000;
// A candidate retries every retryPeriod stretched by up to 1.2 (client-go's jitter factor).
const RETRY_JITTER = 1.2;

interface Context {
  namespace: string;
  leaseName: string;
  standins: InfluxStandin[];
  operators: RunningOperator[];
}

const election = suite<Context>('runtime: leader election between operator processes');

election.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('rt-leader');
  context.leaseName = `influx-onboarding-${randomBytes(3).toString('hex')}`;
  context.standins = await startStandins(3);
  context.operators = [];
});

election.after(async (context) => {
  await Promise.all((context.operators ?? []).map((operator) => operator.kill()));
  await Promise.all((context.standins ?? []).map((standin) => standin.close()));
});

async function startCandidate(context: Context, name: string): Promise<RunningOperator> {
  const operator = await startRuntimeOperator(context.namespace, {
    name,
    args: leaderElectionArgs(context.namespace, context.leaseName, {
      leaseMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryMs: RETRY_MS,
    }),
  });
  context.operators.push(operator);
  return operator;
}

const startedLeading = (record: LogRecord): boolean => record.message === 'started leading';

async function leaderStatus(operator: RunningOperator, leaseName: string): Promise<number> {
  return metricSum(await scrape(operator), 'leader_election_master_status', { name: leaseName });
}

async function leaseHolder(namespace: string, name: string): Promise<string> {
  const leases = (await adminKubeConfig()).makeApiClient(CoordinationV1Api);
  return (await leases.readNamespacedLease({ namespace, name })).spec?.holderIdentity ?? '';
}

let leader: RunningOperator;
let standby: RunningOperator;

election('exactly one of two replicas leads and reconciles', async (context) => {
  const first = await startCandidate(context, 'candidate-1');
  const second = await startCandidate(context, 'candidate-2');
  const [forX] = context.standins;
  assert.ok(forX);
  await eventually(
    'one candidate to lead',
    () => first.records().some(startedLeading) || second.records().some(startedLeading),
  );
  [leader, standby] = first.records().some(startedLeading) ? [first, second] : [second, first];

  await createResource(context.namespace, 'x', forX);
  await waitForReconciled(leader, `${context.namespace}/x`);
  // The standby has had every chance (it watches the same resource and retries the Lease every second).
  await new Promise((resolve) => setTimeout(resolve, 2 * RETRY_MS * (1 + RETRY_JITTER)));
  assert.is(standby.records().some(startedLeading), false, 'the standby never started leading');
  assert.is(reconciledRecords(standby, `${context.namespace}/x`).length, 0, 'the standby reconciled nothing');
  assert.is(await leaderStatus(leader, context.leaseName), 1);
  assert.is(await leaderStatus(standby, context.leaseName), 0);
  // Both are ready: a standby's caches are synced, so a rollout does not wait for leadership.
  for (const operator of [leader, standby]) assert.is((await fetch(`${operator.probesUrl}/readyz`)).status, 200);
  const holder = await leaseHolder(context.namespace, context.leaseName);
  assert.ok(
    holder !== '' && leader.records().some((record) => record.identity === holder),
    `the Lease names the leader (${holder})`,
  );
});

election('a SIGKILLed leader is replaced once its lease has expired, and the successor reconciles', async (context) => {
  const [, forY] = context.standins;
  assert.ok(forY);
  const killedAt = Date.now();
  assert.is(await leader.kill(), 'SIGKILL');
  const took = await standby.waitForLog('started leading', startedLeading, LEASE_MS + 15_000);
  const takeoverMs = recordTime(took) - killedAt;
  process.stdout.write(`    takeover after SIGKILL: ${takeoverMs} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)\n`);
  // Not before the lease can have run out: the killed leader renewed at most renewDeadline before it died.
  assert.ok(
    takeoverMs >= LEASE_MS - RENEW_DEADLINE_MS,
    `took over after ${takeoverMs} ms, while the lease was still valid`,
  );
  // How fast is a figure of `npm run bench -- takeover`, not an assertion here.

  const since = Date.now();
  await createResource(context.namespace, 'y', forY);
  const reconciled = await waitForReconciled(standby, `${context.namespace}/y`, since);
  assert.is(reconciled.reason, 'Onboarded');
  assert.is(await leaderStatus(standby, context.leaseName), 1);
  leader = standby;
});

election('a SIGTERMed leader releases the lease and a standby takes over at once', async (context) => {
  const [, , forZ] = context.standins;
  assert.ok(forZ);
  standby = await startCandidate(context, 'candidate-3');
  // The new standby has seen the current leader's lease (and thus is a real candidate).
  await new Promise((resolve) => setTimeout(resolve, 2 * RETRY_MS * (1 + RETRY_JITTER)));
  assert.is(standby.records().some(startedLeading), false);

  const terminatedAt = Date.now();
  const exit = leader.terminate();
  const took = await standby.waitForLog('started leading', startedLeading, LEASE_MS + 15_000);
  const handoverMs = recordTime(took) - terminatedAt;
  assert.is(await exit, 'exit code 0');
  assert.ok(
    leader.records().some((record) => record.message === 'released leader lease'),
    'the leader released its lease',
  );
  process.stdout.write(`    handover after SIGTERM: ${handoverMs} ms (lease ${LEASE_MS} ms)\n`);
  // The standby took a released Lease (no holder), not one it waited to see expire.
  const acquired = standby.records().find((record) => record.message === 'acquired leader lease');
  assert.is(acquired?.previousHolder, '', 'the standby acquired the Lease from nobody: it had been released');

  const since = Date.now();
  await createResource(context.namespace, 'z', forZ);
  await waitForReconciled(standby, `${context.namespace}/z`, since);
});

election(
  'secrecy: no password or token of its stand-ins or Secrets in any replica output, any Event or any status',
  (context) => assertNoStandinCredentialLeaked(context.operators, context.namespace, context.standins, 6),
);

election.run();
