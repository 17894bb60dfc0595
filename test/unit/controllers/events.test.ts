/**
 * Events as the operator is wired (controllerDeps over a Manager with a Lease, against a stand-in
 * API server): each is held EVENT_HOLD_MS after it was recorded, so the status write before it
 * stays the newest revision while observers list; a clean stop sends the held ones at once, while
 * this replica still leads (a replica that does not lead may not send them), before the Lease is
 * released.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EVENT_HOLD_MS, type ControllerDeps } from '../../../src/controllers/shared.js';
import type { Manager } from '../../../src/runtime/manager.js';
import { FakeApiServer } from '../../support/fake-api-server.js';
import { memoryLeaseStore, wiredManager } from '../../support/memory-lease.js';
import { eventually } from '../../support/wait.js';

const EVENTS_PATH = '/apis/events.k8s.io/v1/namespaces/monitoring/events';

const RESOURCE = {
  apiVersion: 'influxdb.onboarding.dev/v1alpha1',
  kind: 'InfluxOnboarding',
  metadata: { namespace: 'monitoring', name: 'influxdb', uid: 'uid-1', resourceVersion: '7' },
};

interface Wired {
  manager: Manager;
  deps: ControllerDeps;
  /** What happened, in order: `event sent`, `lease released`. */
  steps: string[];
  stop(): Promise<void>;
}

/** The operator's wiring, leading, against a stand-in API server that writes down each Event it receives. */
async function wired(): Promise<Wired> {
  const steps: string[] = [];
  const api = new FakeApiServer();
  api.listHandler = (request) => {
    if (request.path !== EVENTS_PATH)
      return { body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] } };
    steps.push('event sent');
    return { status: 201, body: { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e' } } };
  };
  const { manager, deps } = wiredManager(await api.start(), memoryLeaseStore(steps));
  await manager.start();
  await eventually('leading', () => manager.notLeading() === undefined, { timeoutMs: 5000, intervalMs: 5 });
  let stopped = false;
  return {
    manager,
    deps,
    steps,
    async stop() {
      if (!stopped) await manager.stop();
      stopped = true;
      await api.stop();
    },
  };
}

const onboarded = { type: 'Normal', reason: 'Onboarded', message: 'set up' } as const;

test('an Event is sent EVENT_HOLD_MS after it was recorded, not at once', async () => {
  const context = await wired();
  try {
    const recordedAt = performance.now();
    context.deps.events(RESOURCE, onboarded);
    await eventually('the Event sent', () => context.steps.includes('event sent'), {
      timeoutMs: 5000,
      intervalMs: 2,
    });
    // A lower bound only: timers never fire early (1 ms for their rounding).
    const heldMs = performance.now() - recordedAt;
    assert.ok(heldMs >= EVENT_HOLD_MS - 1, `held ${heldMs.toFixed(1)} ms, at least ${EVENT_HOLD_MS} ms`);
  } finally {
    await context.stop();
  }
});

test('a clean stop sends the held Events before it releases the Lease: none is lost', async () => {
  const context = await wired();
  try {
    context.deps.events(RESOURCE, onboarded);
    context.deps.events(RESOURCE, { type: 'Warning', reason: 'SecretConflict', message: 'in the way' });
    await context.stop();
    assert.equal(context.steps, ['event sent', 'event sent', 'lease released']);
    const dropped = /events_dropped_total\{[^}]*\} (\d+)/.exec(await context.manager.metrics.registry.metrics());
    assert.is(dropped, null, 'no Event counted as dropped');
  } finally {
    await context.stop();
  }
});

test.run();
