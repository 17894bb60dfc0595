import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { Controller } from '../../../src/runtime/controller.js';
import { RuntimeMetrics } from '../../../src/runtime/metrics.js';
import { WorkQueue } from '../../../src/runtime/queue.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

test('the /metrics endpoint serves the controller-runtime, workqueue, leader and watch metrics', async () => {
  const metrics = new RuntimeMetrics();
  const clock = new ManualClock();
  const queue = new WorkQueue({ clock, metrics: metrics.queueMetrics('things') });
  const controller = new Controller({
    name: 'things',
    queue,
    logger,
    clock,
    concurrency: 3,
    metrics: metrics.controllerMetrics('things'),
    reconciler: async (request) => {
      if (request.name === 'bad') throw new Error('nope');
      return {};
    },
  });
  metrics.leaderMetrics('op-lease').leading(true);
  metrics.informerMetrics('things.example.com').watchRestarted('expired');
  metrics.setBuildInfo('op_build_info', { version: '1.2.3', revision: 'abc' });
  const appCounter = new Counter({
    name: 'app_requests_total',
    help: 'an application metric',
    registers: [metrics.registry],
  });
  appCounter.inc();

  queue.add('ns/good');
  queue.add('ns/bad');
  queue.add('ns/waiting');
  controller.start();
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve));

  const server = await metrics.listen('127.0.0.1:0', logger);
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.is(response.status, 200);
    const text = await response.text();
    for (const expected of [
      'controller_runtime_reconcile_total{controller="things",result="success"} 2',
      'controller_runtime_reconcile_total{controller="things",result="error"} 1',
      'controller_runtime_reconcile_total{controller="things",result="requeue"} 0',
      'controller_runtime_reconcile_total{controller="things",result="requeue_after"} 0',
      'controller_runtime_reconcile_errors_total{controller="things"} 1',
      'controller_runtime_reconcile_time_seconds_count{controller="things"} 3',
      'controller_runtime_active_workers{controller="things"} 0',
      'controller_runtime_max_concurrent_reconciles{controller="things"} 3',
      'workqueue_adds_total{name="things"} 3',
      'workqueue_retries_total{name="things"} 1',
      'workqueue_depth{name="things"} 0',
      'workqueue_queue_duration_seconds_count{name="things"} 3',
      'workqueue_work_duration_seconds_count{name="things"} 3',
      'workqueue_longest_running_processor_seconds{name="things"} 0',
      'workqueue_unfinished_work_seconds{name="things"} 0',
      'leader_election_master_status{name="op-lease"} 1',
      'watch_restarts_total{resource="things.example.com",reason="expired"} 1',
      'op_build_info{version="1.2.3",revision="abc"} 1',
      'app_requests_total 1',
      'process_cpu_user_seconds_total',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}`);
    }
    assert.is((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
  } finally {
    await server.close();
    await controller.stop(0);
  }
});

test('each RuntimeMetrics has its own registry, so two in one process do not clash', async () => {
  const first = new RuntimeMetrics({ processMetrics: false });
  const second = new RuntimeMetrics({ processMetrics: false });
  first.leaderMetrics('lease').leading(true);
  assert.match(await first.registry.metrics(), /leader_election_master_status\{name="lease"\} 1/);
  assert.not.match(await second.registry.metrics(), /name="lease"/);
});

test.run();
