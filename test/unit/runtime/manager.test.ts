import type http from 'node:http';
import { Writable } from 'node:stream';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { KubeConnection } from '../../../src/runtime/connection.js';
import type { Reconciler, Result } from '../../../src/runtime/controller.js';
import { Manager, sendableWithoutLeading } from '../../../src/runtime/manager.js';
import type { ManagerOptions } from '../../../src/runtime/manager.js';
import type { ControllerRegistration, ObjectType } from '../../../src/runtime/registration.js';
import {
  anyOf,
  conditionBecameTrue,
  generationChanged,
  ignoreStatusOnlyUpdates,
} from '../../../src/runtime/predicates.js';
import { FakeApiServer, kubeConfigFor } from '../../support/fake-api-server.js';
import { memoryLeaseStore } from '../../support/memory-lease.js';
import { eventually } from '../../support/wait.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

const THINGS: ObjectType = { group: 'example.com', version: 'v1', kind: 'Thing', plural: 'things' };
const GADGETS: ObjectType = { group: 'example.com', version: 'v1', kind: 'Gadget', plural: 'gadgets' };
const SECRETS: ObjectType = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets' };
const THINGS_PATH = '/apis/example.com/v1/things';
const GADGETS_PATH = '/apis/example.com/v1/gadgets';
const SECRETS_PATH = '/api/v1/secrets';

function object(
  kind: string,
  name: string,
  resourceVersion: string,
  metadata: KubernetesObject['metadata'] = {},
): KubernetesObject {
  return {
    apiVersion: kind === 'Secret' ? 'v1' : 'example.com/v1',
    kind,
    metadata: { namespace: 'ns', name, resourceVersion, ...metadata },
  };
}

/** A controlling ownerReference to the Thing `name`. */
function ownedBy(name: string, kind = 'Thing'): KubernetesObject['metadata'] {
  return { ownerReferences: [{ apiVersion: 'example.com/v1', kind, name, uid: `uid-${name}`, controller: true }] };
}

/** A connection that writes down, in `steps`, when each watch is stopped and when it closes. */
class RecordingConnection extends KubeConnection {
  constructor(
    kubeConfig: KubeConfig,
    private readonly steps: string[],
  ) {
    super(kubeConfig);
  }

  override get(pathAndQuery: string, signal: AbortSignal, accept?: string): Promise<http.IncomingMessage> {
    const url = new URL(pathAndQuery, 'http://api');
    if (url.searchParams.get('watch') === '1')
      signal.addEventListener('abort', () => this.steps.push(`watch stopped ${url.pathname}`), { once: true });
    return super.get(pathAndQuery, signal, accept);
  }

  override close(): void {
    this.steps.push('connection closed');
    super.close();
  }
}

interface Fixture {
  api: FakeApiServer;
  manager: Manager;
  steps: string[];
  /** Sends a watch event on the open watch of a collection (the first one opened for that path and selector). */
  send(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubernetesObject, labelSelector?: string): void;
  /** A reconciler that writes down `<controller> <namespace>/<name>` and then answers `result`. */
  reconciler(controller: string, result?: Result): Reconciler;
  reconciled(): string[];
  cleanup(): Promise<void>;
}

async function fixture(
  collections: Record<string, KubernetesObject[]>,
  options: Partial<ManagerOptions> = {},
  steps: string[] = [],
): Promise<Fixture> {
  const api = new FakeApiServer();
  const openWatches = new Map<string, http.ServerResponse>();
  const watchName = (path: string, labelSelector: string | null): string => `${path}?${labelSelector ?? ''}`;
  api.listHandler = (request) => ({
    body: {
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: '1' },
      items: collections[request.path] ?? [],
    },
  });
  api.watchHandler = (response, request) => {
    api.holdOpen(response);
    const name = watchName(request.path, request.query.get('labelSelector'));
    if (!openWatches.has(name)) openWatches.set(name, response);
  };
  const connection = new RecordingConnection(kubeConfigFor(await api.start()), steps);
  const manager = new Manager({
    connection,
    logger,
    namespaces: [],
    leaderElection: { id: 'test' },
    healthProbeBindAddress: '0',
    metrics: { bindAddress: '0' },
    ...options,
  });
  const reconciled: string[] = [];
  let stopped = false;
  return {
    api,
    manager,
    steps,
    send: (path, type, changed, labelSelector) => {
      const response = openWatches.get(watchName(path, labelSelector ?? null));
      assert.ok(response, `a watch of ${path} is open`);
      FakeApiServer.send(response, type, changed);
    },
    reconciler:
      (controller, result = {}) =>
      async (request) => {
        reconciled.push(`${controller} ${request.namespace}/${request.name}`);
        return result;
      },
    reconciled: () => [...reconciled].sort(),
    async cleanup() {
      if (!stopped) await manager.stop();
      stopped = true;
      await api.stop();
    },
  };
}

/** Waits until every one of `expected` was reconciled (in any order, at least once). */
function waitForReconciles(context: Fixture, expected: string[]): Promise<true> {
  return eventually(
    `reconciles of ${expected.join(', ')} (seen: ${context.reconciled().join(', ')})`,
    () => expected.every((entry) => context.reconciled().includes(entry)),
    {
      timeoutMs: 5000,
      intervalMs: 5,
    },
  );
}

function registration(overrides: Partial<ControllerRegistration>): ControllerRegistration {
  return { name: 'things', for: { type: THINGS }, reconciler: async () => ({}), ...overrides };
}

test('two controllers watching Secrets share one informer, and one Secret event reaches both', async () => {
  const context = await fixture({
    [THINGS_PATH]: [object('Thing', 'a', '2')],
    [GADGETS_PATH]: [object('Gadget', 'g', '3')],
    [SECRETS_PATH]: [],
  });
  const { manager, api } = context;
  try {
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: SECRETS }],
      reconciler: context.reconciler('things'),
    });
    manager.register({
      name: 'gadgets',
      for: { type: GADGETS },
      watches: [{ type: SECRETS, map: (secret) => [{ namespace: 'ns', name: secret.metadata?.labels?.gadget ?? '' }] }],
      reconciler: context.reconciler('gadgets'),
    });
    assert.is(manager.cache(SECRETS), manager.cache({ ...SECRETS }), 'an equal ObjectType gives the same cache');
    await manager.start();
    // Becoming leader queues every object each controller is for.
    await waitForReconciles(context, ['gadgets ns/g', 'things ns/a']);
    assert.is(
      api.lists().filter((request) => request.path === SECRETS_PATH).length,
      1,
      'one LIST of Secrets for both controllers',
    );
    await eventually('the watches to open', () => api.watches().length === 3, { intervalMs: 5 });
    assert.equal(
      api
        .watches()
        .map((request) => request.path)
        .sort(),
      [SECRETS_PATH, GADGETS_PATH, THINGS_PATH],
    );

    context.send(SECRETS_PATH, 'ADDED', object('Secret', 's', '4', { ...ownedBy('a'), labels: { gadget: 'g2' } }));
    await waitForReconciles(context, ['gadgets ns/g2', 'things ns/a']);
    assert.equal(context.reconciled(), ['gadgets ns/g', 'gadgets ns/g2', 'things ns/a', 'things ns/a']);
  } finally {
    await context.cleanup();
  }
});

test('a label selector or a metadata-only cache makes a separate informer', async () => {
  const context = await fixture({ [THINGS_PATH]: [], [SECRETS_PATH]: [] });
  const { manager, api } = context;
  try {
    const managed = { ...SECRETS, labelSelector: 'app=mine' };
    const names = { ...SECRETS, metadataOnly: true };
    assert.is.not(manager.cache(managed), manager.cache(SECRETS));
    assert.is.not(manager.cache(names), manager.cache(SECRETS));
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: managed }],
      watches: [{ type: names, map: () => [] }],
      reconciler: context.reconciler('things'),
    });
    await manager.start();
    const secretLists = api.lists().filter((request) => request.path === SECRETS_PATH);
    assert.equal(secretLists.map((request) => request.query.get('labelSelector')).sort(), ['app=mine', null, null]);
    assert.equal(secretLists.filter((request) => request.accept?.includes('PartialObjectMetadataList')).length, 1);
  } finally {
    await context.cleanup();
  }
});

test("a type's transform shapes what its cache keeps; a second transform for the same type is refused", async () => {
  const context = await fixture({
    [THINGS_PATH]: [],
    [SECRETS_PATH]: [object('Secret', 's', '4', { labels: { keep: 'x' }, annotations: { drop: 'y' } })],
  });
  const { manager } = context;
  try {
    const labelsOnly = (secret: KubernetesObject): KubernetesObject => ({
      metadata: { name: secret.metadata?.name, namespace: secret.metadata?.namespace, labels: secret.metadata?.labels },
    });
    const trimmed: ObjectType = { ...SECRETS, transform: labelsOnly };
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: trimmed }],
      reconciler: context.reconciler('things'),
    });
    assert.throws(
      () =>
        manager.register(
          registration({
            name: 'other',
            watches: [{ type: { ...SECRETS, transform: (secret) => secret }, map: () => [] }],
          }),
        ),
      /secrets: declared with two different transforms/,
    );
    await manager.start();
    assert.equal(manager.cache(trimmed).get('ns', 's'), {
      metadata: { name: 's', namespace: 'ns', labels: { keep: 'x' } },
    });
  } finally {
    await context.cleanup();
  }
});

test('indexes declared through manager.cache serve byIndex on the shared cache; a second function under one name is refused', async () => {
  const context = await fixture({
    [THINGS_PATH]: [
      object('Thing', 'a', '3', { labels: { colour: 'red' } }),
      object('Thing', 'b', '4', { labels: { colour: 'blue' } }),
    ],
  });
  const { manager } = context;
  try {
    const colour = (thing: KubernetesObject): string[] => [thing.metadata?.labels?.colour ?? ''];
    const things = manager.cache(THINGS, { indexes: { colour } });
    manager.register({ name: 'things', for: { type: THINGS }, reconciler: context.reconciler('things') });
    assert.is(manager.cache(THINGS, { indexes: { colour } }), things, 'the same function again: the same cache');
    assert.throws(
      () => manager.cache(THINGS, { indexes: { colour: () => ['red'] } }),
      /things\.example\.com: index "colour" declared with two different functions/,
    );
    await manager.start();
    assert.equal(
      things.byIndex('colour', 'red').map((thing) => thing.metadata?.name),
      ['a'],
    );
  } finally {
    await context.cleanup();
  }
});

test('a cluster-wide type (cluster-scoped or not) is listed cluster-wide while other types are listed per watched namespace', async () => {
  const context = await fixture(
    { '/apis/example.com/v1/namespaces/ns/things': [], '/api/v1/namespaces': [], '/api/v1/services': [] },
    { namespaces: ['ns'] },
  );
  const { manager, api } = context;
  try {
    const namespaces: ObjectType = {
      group: '',
      version: 'v1',
      kind: 'Namespace',
      plural: 'namespaces',
      metadataOnly: true,
      clusterWide: true,
    };
    const services: ObjectType = { group: '', version: 'v1', kind: 'Service', plural: 'services', clusterWide: true };
    manager.register({
      name: 'things',
      for: { type: THINGS },
      watches: [
        { type: namespaces, map: () => [] },
        { type: services, map: () => [] },
      ],
      reconciler: context.reconciler('things'),
    });
    await manager.start();
    assert.equal(
      api
        .lists()
        .map((request) => request.path)
        .sort(),
      ['/api/v1/namespaces', '/api/v1/services', '/apis/example.com/v1/namespaces/ns/things'],
    );
  } finally {
    await context.cleanup();
  }
});

test('owned objects enqueue their controlling owner of the for kind, or the owner their label names', async () => {
  const context = await fixture({ [THINGS_PATH]: [], [GADGETS_PATH]: [], [SECRETS_PATH]: [] });
  const { manager } = context;
  const labelled = { ...SECRETS, labelSelector: 'managed=yes' };
  try {
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: SECRETS }],
      reconciler: context.reconciler('things'),
    });
    manager.register({
      name: 'gadgets',
      for: { type: GADGETS },
      owns: [{ type: labelled, ownerLabel: 'example.com/gadget' }],
      reconciler: context.reconciler('gadgets'),
    });
    await manager.start();
    await eventually('the watches to open', () => context.api.watches().length === 4, { intervalMs: 5 });

    context.send(SECRETS_PATH, 'ADDED', object('Secret', 'not-controlled', '2', ownedBy('other', 'Gadget')));
    context.send(SECRETS_PATH, 'ADDED', object('Secret', 'unowned', '3'));
    context.send(SECRETS_PATH, 'ADDED', object('Secret', 'controlled', '4', ownedBy('a')));
    context.send(
      SECRETS_PATH,
      'ADDED',
      object('Secret', 'labelled', '5', { labels: { 'example.com/gadget': 'g' } }),
      'managed=yes',
    );
    await waitForReconciles(context, ['things ns/a', 'gadgets ns/g']);
    // A relabelled Secret wakes its previous owner as well as its new one.
    context.send(
      SECRETS_PATH,
      'MODIFIED',
      object('Secret', 'labelled', '6', { labels: { 'example.com/gadget': 'h' } }),
      'managed=yes',
    );
    await waitForReconciles(context, ['gadgets ns/h']);
    assert.equal(context.reconciled(), ['gadgets ns/g', 'gadgets ns/g', 'gadgets ns/h', 'things ns/a']);
  } finally {
    await context.cleanup();
  }
});

test('predicates: a status-only update does not wake the controller; spec, label and deletion changes do', async () => {
  const thing = (resourceVersion: string, metadata: KubernetesObject['metadata']): KubernetesObject =>
    object('Thing', 'a', resourceVersion, { generation: 1, ...metadata });
  const context = await fixture({ [THINGS_PATH]: [thing('2', {})] });
  const { manager } = context;
  try {
    manager.register({
      name: 'things',
      for: { type: THINGS, predicates: [ignoreStatusOnlyUpdates] },
      reconciler: context.reconciler('things'),
    });
    await manager.start();
    await waitForReconciles(context, ['things ns/a']);
    await eventually('the watch to open', () => context.api.watches().length === 1, { intervalMs: 5 });
    context.send(THINGS_PATH, 'MODIFIED', thing('3', {})); // status only: same generation, labels, annotations
    context.send(THINGS_PATH, 'MODIFIED', thing('4', { generation: 2 }));
    await eventually('the spec change to be reconciled', () => context.reconciled().length === 2, { intervalMs: 5 });
    context.send(THINGS_PATH, 'MODIFIED', thing('5', { generation: 2, labels: { tier: 'gold' } }));
    await eventually('the label change to be reconciled', () => context.reconciled().length === 3, { intervalMs: 5 });
    context.send(
      THINGS_PATH,
      'MODIFIED',
      thing('6', { generation: 2, labels: { tier: 'gold' }, deletionTimestamp: new Date(0) }),
    );
    await eventually('the deletion to be reconciled', () => context.reconciled().length === 4, { intervalMs: 5 });
    context.send(THINGS_PATH, 'DELETED', thing('7', {}));
    await eventually('the delete event to be reconciled', () => context.reconciled().length === 5, { intervalMs: 5 });
    // The status-only update in between woke nothing: exactly one reconcile per event that passed.
    assert.is(context.reconciled().length, 5);
  } finally {
    await context.cleanup();
  }
});

test('ignoreStatusOnlyUpdates passes resyncs, creates and deletes', () => {
  const before: KubernetesObject = { metadata: { name: 'a', generation: 1, labels: { tier: 'gold' } } };
  const statusOnly: KubernetesObject = { ...before, metadata: { ...before.metadata, resourceVersion: '9' } };
  assert.is(ignoreStatusOnlyUpdates.update?.(before, statusOnly), false);
  assert.is(ignoreStatusOnlyUpdates.update?.(before, before), true, 'a resync passes');
  assert.is(
    ignoreStatusOnlyUpdates.update?.(before, { metadata: { ...before.metadata, annotations: { note: 'x' } } }),
    true,
  );
  assert.is(ignoreStatusOnlyUpdates.create?.(before), true);
  assert.is(ignoreStatusOnlyUpdates.delete?.(before), true);
});

test('conditionBecameTrue passes only the update that turns the condition True; with anyOf, a spec change passes too', () => {
  const withReady = (status: string, generation = 1): KubernetesObject =>
    ({
      metadata: { name: 'a', generation },
      status: {
        conditions: [
          { type: 'Other', status: 'True' },
          { type: 'Ready', status },
        ],
      },
    }) as KubernetesObject;
  const ready = conditionBecameTrue('Ready');
  assert.is(ready.update?.(withReady('False'), withReady('True')), true, 'False to True');
  assert.is(ready.update?.({ metadata: { name: 'a' } }, withReady('True')), true, 'no status yet to True');
  assert.is(ready.update?.(withReady('True'), withReady('True')), false, 'True stays True (a resync, a status write)');
  assert.is(ready.update?.(withReady('True'), withReady('False')), false, 'True to False');
  assert.is(ready.update?.(withReady('Unknown'), withReady('False')), false);
  const sweep = anyOf(generationChanged, ready);
  assert.is(sweep.update?.(withReady('True'), withReady('True', 2)), true, 'a spec change');
  assert.is(sweep.update?.(withReady('False'), withReady('True')), true, 'turned Ready');
  assert.is(sweep.update?.(withReady('True'), withReady('False')), false, 'a status change that is neither');
  assert.is(sweep.create?.(withReady('False')), true);
});

test("a resync queues the controller's own objects again, but neither the initial list nor a resync of owned objects queues their owners", async () => {
  const context = await fixture(
    { [THINGS_PATH]: [object('Thing', 'a', '2')], [SECRETS_PATH]: [object('Secret', 'of-b', '3', ownedBy('b'))] },
    { resyncPeriodMs: 20 },
  );
  const { manager } = context;
  try {
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: SECRETS }],
      reconciler: context.reconciler('things'),
    });
    await manager.start();
    await eventually(
      'three resyncs of a',
      () => context.reconciled().filter((entry) => entry === 'things ns/a').length >= 3,
      { intervalMs: 5 },
    );
    // The listed Secret only repeats what the list of Things queues (b is no Thing); its resyncs too.
    assert.is(context.reconciled().filter((entry) => entry === 'things ns/b').length, 0);
    await eventually('the watches to open', () => context.api.watches().length === 2, { intervalMs: 5 });
    context.send(SECRETS_PATH, 'ADDED', object('Secret', 'of-c', '4', ownedBy('c')));
    await eventually('a Secret added later to wake its owner', () => context.reconciled().includes('things ns/c'), {
      intervalMs: 5,
    });
  } finally {
    await context.cleanup();
  }
});

test('on start, objects whose status does not report their generation are reconciled before the settled ones', async () => {
  const settled = (name: string, resourceVersion: string): KubernetesObject =>
    ({
      ...object('Thing', name, resourceVersion, { generation: 2 }),
      status: { observedGeneration: 2 },
    }) as KubernetesObject;
  const context = await fixture({
    [THINGS_PATH]: [
      settled('a', '2'),
      settled('b', '3'),
      object('Thing', 'c-new', '4', { generation: 1 }),
      settled('d', '5'),
      { ...settled('e-changed', '6'), status: { observedGeneration: 1 } } as KubernetesObject,
    ],
  });
  const order: string[] = [];
  try {
    context.manager.register({
      name: 'things',
      for: { type: THINGS },
      reconciler: async (request) => {
        order.push(request.name);
        return {};
      },
      concurrency: 1,
    });
    await context.manager.start();
    await eventually('all five reconciled', () => order.length === 5, { intervalMs: 5 });
    assert.equal(order, ['c-new', 'e-changed', 'a', 'b', 'd']);
  } finally {
    await context.cleanup();
  }
});

test('registration errors name the field and what is allowed', async () => {
  const context = await fixture({ [THINGS_PATH]: [] });
  const { manager } = context;
  try {
    const refused = (overrides: Partial<ControllerRegistration>, message: string): void =>
      assert.throws(
        () => manager.register(registration(overrides)),
        (error: Error) => error.message.includes(message),
        message,
      );
    refused({ name: 'Things' }, 'name: must be lowercase');
    refused({ for: { type: { ...THINGS, plural: '' } } }, 'for.type.plural: must be a lowercase plural');
    refused({ for: { type: { ...THINGS, kind: 'thing' } } }, 'for.type.kind: must be a CamelCase kind');
    refused({ owns: [{ type: { ...SECRETS, version: '' } }] }, 'owns[0].type.version: must not be empty');
    refused({ owns: [{ type: SECRETS, ownerLabel: '' }] }, 'owns[0].ownerLabel: must not be empty');
    refused({ watches: [{ type: SECRETS, map: undefined as never }] }, 'watches[0].map: must be a function');
    refused({ concurrency: 0 }, 'concurrency: must be a positive integer');
    manager.register(registration({ reconciler: context.reconciler('things') }));
    refused({}, 'name: a controller named "things" is already registered');
    assert.throws(
      () =>
        manager.register(
          registration({
            name: 'other',
            owns: [{ type: SECRETS }],
            watches: [{ type: { ...SECRETS, kind: 'Other' }, map: () => [] }],
          }),
        ),
      /declared as kind Secret and as kind Other/,
    );
    await manager.start();
    refused({ name: 'late' }, 'register controllers before the manager starts');
    assert.throws(() => manager.cache(GADGETS), /caches can only be added before the manager starts/);
  } finally {
    await context.cleanup();
  }
});

test('start without a controller is refused', async () => {
  const context = await fixture({});
  try {
    let message = '';
    await context.manager.start().catch((error: Error) => (message = error.message));
    assert.match(message, 'register at least one');
  } finally {
    await context.cleanup();
  }
});

test('stop: running reconciles finish, drains run while still leading, then the lease is released, then the caches stop, cleanups run and the connection closes', async () => {
  const steps: string[] = [];
  const context = await fixture(
    { [THINGS_PATH]: [object('Thing', 'slow', '2')], [SECRETS_PATH]: [] },
    { leaderElection: { id: 'test', lease: { namespace: 'ns', identity: 'me', store: memoryLeaseStore(steps) } } },
    steps,
  );
  const { manager } = context;
  let finish = (): void => undefined;
  try {
    manager.register({
      name: 'things',
      for: { type: THINGS },
      owns: [{ type: SECRETS }],
      reconciler: async () => {
        steps.push('reconcile started');
        await new Promise<void>((resolve) => (finish = resolve));
        steps.push('reconcile finished');
        return {};
      },
    });
    manager.onDrain(async () => {
      steps.push(manager.notLeading() === undefined ? 'drain while leading' : 'drain after leading');
    });
    manager.onStop(() => {
      steps.push('cleanup');
    });
    await manager.start();
    await eventually('the reconcile to start', () => steps.includes('reconcile started'), { intervalMs: 5 });
    await eventually('the watches to open', () => context.api.watches().length === 2, { intervalMs: 5 });
    const stopped = manager.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(steps, ['reconcile started'], 'nothing stops while a reconcile runs');
    finish();
    await stopped;
    // The two caches stop together, in either order.
    const watchesStopped = (step: string): boolean => step.startsWith('watch stopped');
    assert.equal(steps.filter(watchesStopped).sort(), [
      `watch stopped ${SECRETS_PATH}`,
      `watch stopped ${THINGS_PATH}`,
    ]);
    assert.equal(
      steps
        .map((step) => (watchesStopped(step) ? 'watch stopped' : step))
        .filter((step, index, all) => step !== all[index - 1]),
      [
        'reconcile started',
        'reconcile finished',
        'drain while leading',
        'lease released',
        'watch stopped',
        'cleanup',
        'connection closed',
      ],
    );
  } finally {
    await context.cleanup();
  }
});

test('a drain that fails does not keep the Lease: stop releases it and goes on', async () => {
  const steps: string[] = [];
  const context = await fixture(
    { [THINGS_PATH]: [] },
    { leaderElection: { id: 'test', lease: { namespace: 'ns', identity: 'me', store: memoryLeaseStore(steps) } } },
    steps,
  );
  const { manager } = context;
  try {
    manager.register(registration({}));
    manager.onDrain(async () => {
      steps.push('drain');
      throw new Error('receiver gone');
    });
    await manager.start();
    await eventually('leading', () => manager.notLeading() === undefined, { intervalMs: 5 });
    await manager.stop();
    assert.equal(
      steps.filter((step) => !step.startsWith('watch stopped')),
      ['drain', 'lease released', 'connection closed'],
    );
  } finally {
    await context.cleanup();
  }
});

test('onLeading: what a process holds of the last term is forgotten when it becomes leader, before any reconcile', async () => {
  const context = await fixture({ [THINGS_PATH]: [object('Thing', 'a', '2')] });
  const steps: string[] = [];
  try {
    context.manager.register(
      registration({
        reconciler: async (request) => {
          steps.push(`reconcile ${request.name}`);
          return {};
        },
      }),
    );
    context.manager.onLeading(() => steps.push('new term'));
    await context.manager.start();
    await eventually('the reconcile', () => steps.includes('reconcile a'), { intervalMs: 5 });
    assert.equal(steps, ['new term', 'reconcile a']);
  } finally {
    await context.cleanup();
  }
});

test('a replica that does not lead sends reads, its Lease and reviews, nothing that changes the cluster', () => {
  const base = 'https://127.0.0.1:6443';
  for (const [method, path] of [
    ['GET', '/api/v1/namespaces/ns/secrets/s'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/operator'],
    ['POST', '/apis/authentication.k8s.io/v1/tokenreviews'],
    ['POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews'],
  ] as const) {
    assert.ok(sendableWithoutLeading(method, `${base}${path}`), `${method} ${path}`);
    // Behind a proxy that serves the API server under a path prefix, too.
    assert.ok(sendableWithoutLeading(method, `https://proxy/k8s/clusters/c-1${path}`), `${method} prefixed ${path}`);
  }
  for (const [method, path] of [
    ['POST', '/api/v1/namespaces/ns/secrets'],
    ['PUT', '/api/v1/namespaces/ns/secrets/s'],
    ['PATCH', '/apis/influxdb.onboarding.dev/v1alpha1/namespaces/ns/influxonboardings/o/status'],
    ['POST', '/apis/events.k8s.io/v1/namespaces/ns/events'],
    // The group named only in the query: still a Secret write.
    ['POST', '/api/v1/namespaces/ns/secrets?fieldManager=/apis/authentication.k8s.io/'],
  ] as const)
    assert.not.ok(sendableWithoutLeading(method, `${base}${path}`), `${method} ${path}`);
});

test.run();
