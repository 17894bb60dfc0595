// The operator process from start to exit: /readyz is 503 until its caches are synced (the API
// tap holds the LIST requests, so "before" is a state the test controls, not a race), /metrics
// carries the controller-runtime, workqueue, leader-election and operator metrics with values
// that agree with each other, and SIGTERM during a reconcile lets it finish, then exits 0.
// The tests run in order on the one operator the first test starts.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiTap } from '../support/api-tap.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import type { RunningOperator } from '../support/operator.js';
import {
  createResource,
  metricSum,
  parseMetrics,
  reconciledRecords,
  startRuntimeOperator,
  startStandins,
  startTap,
  waitForReconciled,
  assertNoStandinCredentialLeaked,
} from '../support/runtime-env.js';
import {
  SecretLedger,
  createNamespace,
  getOnboarding,
  onboardingHarness,
  readyOf,
  waitForReason,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const CONTROLLER = { controller: 'influxonboarding' };
const QUEUE = { name: 'influxonboarding' };
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface Context {
  namespace: string;
  tap: ApiTap;
  standins: InfluxStandin[];
  operator: RunningOperator;
}

const lifecycle = suite<Context>('runtime: probes, metrics and graceful shutdown of the operator process');

lifecycle.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('rt-life');
  context.standins = await startStandins(2);
  context.tap = await startTap();
});

lifecycle.after(async (context) => {
  context.tap?.holdLists(false);
  await context.operator?.kill();
  await context.tap?.close();
  await Promise.all((context.standins ?? []).map((standin) => standin.close()));
});

async function probe(operator: RunningOperator, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${operator.probesUrl}${path}`);
  return { status: response.status, body: await response.text() };
}

lifecycle('/readyz is 503 while the initial LIST is unanswered and 200 once the caches are synced', async (context) => {
  const { namespace, tap } = context;
  tap.holdLists(true);
  const operator = await startRuntimeOperator(namespace, {
    kubeconfigPath: tap.kubeconfigPath,
    name: 'lifecycle-operator',
    waitForReady: false,
  });
  context.operator = operator;
  // Both informers (InfluxOnboardings and managed Secrets) have asked for their LIST, and wait.
  await eventually('both initial LISTs to reach the tap', () => tap.heldLists >= 2, { timeoutMs: 30_000 });
  const notReady = await probe(operator, '/readyz');
  assert.is(notReady.status, 503);
  assert.match(notReady.body, '[-]informers failed');
  // Liveness is not readiness: an operator waiting for the API server must not be restarted for it.
  assert.is((await probe(operator, '/healthz')).status, 200);
  assert.is(
    operator.records().some((record) => record.message === 'caches synced'),
    false,
  );

  tap.holdLists(false);
  await operator.waitForReady(30_000);
  const ready = await probe(operator, '/readyz');
  assert.is(ready.status, 200);
  assert.match(ready.body, '[+]informers ok');
  assert.ok(operator.records().some((record) => record.message === 'caches synced'));
});

lifecycle('/metrics exposes the runtime and operator metrics with consistent values after a run', async (context) => {
  const { namespace, tap, operator, standins } = context;
  const [influx] = standins;
  assert.ok(influx);
  await createResource(namespace, 'observed', influx);
  await waitForReconciled(operator, `${namespace}/observed`);
  await waitForReason(namespace, 'observed', 'Onboarded');
  // One watch restart for the record: the tap drops every connection.
  tap.cutAll();
  let text = '';
  await eventually('the restart to be counted', async () => {
    text = await operator.metrics();
    return metricSum(parseMetrics(text), 'watch_restarts_total', { resource: 'influxonboardings' }) >= 1;
  });
  await eventually('the queue to be idle', async () => {
    text = await operator.metrics();
    const samples = parseMetrics(text);
    return (
      metricSum(samples, 'controller_runtime_active_workers', CONTROLLER) === 0 &&
      metricSum(samples, 'workqueue_depth', QUEUE) === 0
    );
  });

  const names = [
    'controller_runtime_reconcile_total',
    'controller_runtime_reconcile_errors_total',
    'controller_runtime_reconcile_time_seconds',
    'controller_runtime_active_workers',
    'controller_runtime_max_concurrent_reconciles',
    'workqueue_depth',
    'workqueue_adds_total',
    'workqueue_retries_total',
    'workqueue_queue_duration_seconds',
    'workqueue_work_duration_seconds',
    'workqueue_longest_running_processor_seconds',
    'workqueue_unfinished_work_seconds',
    'influxdb_request_duration_seconds',
    'influx_onboarding_resources',
    'leader_election_master_status',
    'watch_restarts_total',
    'influx_onboarding_operator_build_info',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'process_open_fds',
    'nodejs_heap_size_used_bytes',
  ];
  const missing = names.filter((name) => !text.includes(`# TYPE ${name} `));
  assert.equal(missing, [], `metrics missing from /metrics: ${missing.join(', ')}`);

  const samples = parseMetrics(text);
  const sum = (name: string, labels: Record<string, string> = {}): number => metricSum(samples, name, labels);
  const reconciles = sum('controller_runtime_reconcile_total', CONTROLLER);
  assert.ok(
    sum('controller_runtime_reconcile_total', { ...CONTROLLER, result: 'requeue_after' }) +
      sum('controller_runtime_reconcile_total', { ...CONTROLLER, result: 'success' }) >
      0,
  );
  assert.is(
    sum('controller_runtime_reconcile_errors_total', CONTROLLER),
    sum('controller_runtime_reconcile_total', { ...CONTROLLER, result: 'error' }),
  );
  assert.is(sum('controller_runtime_reconcile_time_seconds_count', CONTROLLER), reconciles, 'one timing per reconcile');
  assert.is(sum('controller_runtime_max_concurrent_reconciles', CONTROLLER), 4);
  assert.ok(sum('workqueue_adds_total', QUEUE) > 0);
  assert.is(
    sum('workqueue_queue_duration_seconds_count', QUEUE),
    reconciles,
    'every reconciled key waited in the queue once',
  );
  assert.is(sum('workqueue_work_duration_seconds_count', QUEUE), reconciles, 'every reconcile was timed by the queue');
  assert.ok(
    sum('influxdb_request_duration_seconds_count', { endpoint: 'GET /api/v2/setup', status_class: '2xx' }) >= 1,
    'InfluxDB requests are timed',
  );
  assert.is(sum('influx_onboarding_resources', { reason: 'Onboarded' }), 1);
  assert.is(
    sum('leader_election_master_status', { name: 'influx-onboarding-operator' }),
    1,
    'without election the process always leads',
  );
  assert.ok(sum('watch_restarts_total', { resource: 'influxonboardings' }) >= 1);
  // package.json's version: the one source test/unit/version.test.ts holds the chart and image to.
  assert.is(
    sum('influx_onboarding_operator_build_info', { version: PACKAGE_VERSION, node_version: process.version }),
    1,
  );
  assert.ok(sum('process_resident_memory_bytes') > 10 * 1024 * 1024);
  assert.ok(sum('process_open_fds') > 0);

  // Secrecy: the instance's password and token appear nowhere in /metrics.
  const ledger = new SecretLedger();
  ledger.addStandin(influx);
  assert.ok(ledger.size >= 2, `the check covers the onboarded password and token (${ledger.size})`);
  assert.equal(ledger.leaks({ '/metrics': text }), []);
});

lifecycle('SIGTERM during a reconcile lets it finish, then the process exits 0', async (context) => {
  const { namespace, operator, standins } = context;
  const [, slow] = standins;
  assert.ok(slow);
  const key = `${namespace}/slow`;
  // Each InfluxDB answer takes 1.5 s: onboarding (setup status, then setup) takes three seconds.
  slow.knobs.latencyMs = 1500;
  await createResource(namespace, 'slow', slow);
  await eventually('the reconcile to be talking to InfluxDB', () => slow.requests.length > 0, { intervalMs: 20 });
  assert.is(reconciledRecords(operator, key).length, 0);

  const exit = await operator.terminate();
  assert.is(exit, 'exit code 0');
  const records = operator.records();
  const order = (match: (record: (typeof records)[number]) => boolean): number => records.findIndex(match);
  const shuttingDown = order((record) => record.message === 'shutting down');
  const reconciled = order((record) => record.message === 'reconciled' && record.resource === key);
  const stopped = order((record) => record.message === 'stopped');
  assert.ok(shuttingDown >= 0 && reconciled > shuttingDown, 'the reconcile in flight at SIGTERM finished after it');
  assert.ok(stopped > reconciled, 'the process stopped after the reconcile');
  assert.is(records[reconciled]?.reason, 'Onboarded');
  assert.ok(slow.onboarded(), 'InfluxDB was onboarded and answered');
  assert.is(readyOf(await getOnboarding(namespace, 'slow'))?.reason, 'Onboarded', 'the status was written before exit');
});

lifecycle(
  'secrecy: no password or token of its stand-ins or Secrets in the operator output, any Event or any status',
  (context) => assertNoStandinCredentialLeaked([context.operator], context.namespace, context.standins, 4),
);

lifecycle.run();
