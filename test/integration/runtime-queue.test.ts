// The work queue as the operator runs it against the real API server: a key changed many times
// while it is being reconciled is reconciled once more, not once per change; a key that keeps
// failing is retried with growing delays.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxStandin } from '../support/influx-standin.js';
import type { RunningOperator } from '../support/operator.js';
import {
  createResource,
  metricSum,
  patchLabels,
  reconciledRecords,
  recordTime,
  scrape,
  startRuntimeOperator,
  startStandins,
  waitForReconciled,
  assertNoStandinCredentialLeaked,
} from '../support/runtime-env.js';
import { createNamespace, gaps, onboardingHarness } from '../support/onboarding.js';
import { eventually, sleep } from '../support/wait.js';

const CONTROLLER = { controller: 'influxonboarding' };
const BACKOFF_BASE_MS = 250;

interface Context {
  namespace: string;
  standins: InfluxStandin[];
  operator: RunningOperator;
}

const queue = suite<Context>('runtime: work queue deduplication and per-key backoff');

queue.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('rt-queue');
  context.standins = await startStandins(2);
  context.operator = await startRuntimeOperator(context.namespace, {
    name: 'queue-operator',
    args: [`--backoff-base=${BACKOFF_BASE_MS}ms`, '--backoff-max=60s'],
  });
});

queue.after(async (context) => {
  await context.operator?.terminate();
  await Promise.all((context.standins ?? []).map((standin) => standin.close()));
});

queue('a key changed ten times during its reconcile is reconciled once more, not ten times', async (context) => {
  const { namespace, operator, standins } = context;
  const [slow] = standins;
  assert.ok(slow);
  const key = `${namespace}/busy`;
  await createResource(namespace, 'busy', slow);
  await eventually('busy to be onboarded', () =>
    reconciledRecords(operator, key).some((record) => record.reason === 'Onboarded'),
  );
  await sleep(500);

  // Every InfluxDB answer now takes two seconds: a steady-state reconcile of a Ready resource (one
  // request, the drift check's GET /api/v2/buckets/{id}) takes that long.
  slow.knobs.latencyMs = 2000;
  const before = await scrape(operator);
  const start = Date.now();
  const requestsBefore = slow.requests.length;
  await patchLabels(namespace, 'busy', { change: '0' });
  await eventually('the reconcile to be talking to InfluxDB', () => slow.requests.length > requestsBefore, {
    intervalMs: 20,
  });
  for (let change = 1; change <= 10; change++) await patchLabels(namespace, 'busy', { change: String(change) });
  const lastChange = Date.now();
  assert.is(
    reconciledRecords(operator, key).filter((record) => recordTime(record) >= start).length,
    0,
    'the first reconcile was still running during the changes',
  );

  await waitForReconciled(operator, key, lastChange, 30_000);
  // The first reconcile ends after the changes; the one they queued follows it.
  await eventually(
    'the reconcile queued by the changes',
    () => reconciledRecords(operator, key).filter((record) => recordTime(record) >= start).length >= 2,
    {
      timeoutMs: 30_000,
    },
  );
  // Quiet for longer than another reconcile would take: no further reconcile may come.
  await sleep(4000);
  const reconciles = reconciledRecords(operator, key).filter((record) => recordTime(record) >= start);
  const after = await scrape(operator);
  const counted =
    metricSum(after, 'controller_runtime_reconcile_total', CONTROLLER) -
    metricSum(before, 'controller_runtime_reconcile_total', CONTROLLER);
  const adds =
    metricSum(after, 'workqueue_adds_total', { name: 'influxonboarding' }) -
    metricSum(before, 'workqueue_adds_total', { name: 'influxonboarding' });
  process.stdout.write(
    `    11 changes: ${reconciles.length} reconciles, ${counted} counted by controller_runtime_reconcile_total, ${adds} queue adds\n`,
  );
  assert.is(reconciles.length, 2, 'the running reconcile, then one more for all ten changes made during it');
  assert.is(counted, 2);
  assert.ok(adds <= 2, `${adds} queue adds: changes to a key already waiting are not queued again`);
  const last = reconciles[reconciles.length - 1];
  assert.ok(last && recordTime(last) >= lastChange, 'the second reconcile ran after the last change');
  slow.knobs.latencyMs = 0;
});

queue('a failing key is retried with growing delays', async (context) => {
  const { namespace, operator, standins } = context;
  const [, failing] = standins;
  assert.ok(failing);
  const key = `${namespace}/failing`;
  failing.knobs.failNext(1000, '503');
  const start = Date.now();
  await createResource(namespace, 'failing', failing);
  await eventually('six failed reconciles', () => reconciledRecords(operator, key).length >= 6, { timeoutMs: 30_000 });
  const records = reconciledRecords(operator, key).filter((record) => recordTime(record) >= start);
  for (const record of records) {
    assert.is(record.reason, 'Unreachable');
    assert.is(record.requeue, 'backoff');
  }
  const delays = gaps(records.slice(0, 6).map(recordTime));
  process.stdout.write(`    gaps between retries: ${delays.join(', ')} ms (base ${BACKOFF_BASE_MS} ms)\n`);
  for (let index = 1; index < delays.length; index++) {
    const [previous, current] = [delays[index - 1] ?? 0, delays[index] ?? 0];
    assert.ok(
      current > previous,
      `gap ${index + 1} (${current} ms) is longer than gap ${index} (${previous} ms): ${delays.join(', ')}`,
    );
  }
  assert.ok(
    (delays[delays.length - 1] ?? 0) > 2 * (delays[0] ?? 0),
    `the delays grow geometrically: ${delays.join(', ')}`,
  );
  const samples = await scrape(operator);
  assert.ok(
    metricSum(samples, 'workqueue_retries_total', { name: 'influxonboarding' }) >= 5,
    'workqueue_retries_total counts the retries',
  );
  assert.ok(metricSum(samples, 'controller_runtime_reconcile_total', { ...CONTROLLER, result: 'requeue' }) >= 6);
});

queue(
  'secrecy: no password or token of its stand-ins or Secrets in the operator output, any Event or any status',
  (context) => assertNoStandinCredentialLeaked([context.operator], context.namespace, context.standins, 2),
);

queue.run();
