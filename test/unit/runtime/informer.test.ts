import type http from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { KubeConnection } from '../../../src/runtime/connection.js';
import { dropBookkeeping, keepIdentity, shareCommonStrings } from '../../../src/runtime/cached-object.js';
import { Informer } from '../../../src/runtime/informer.js';
import type { InformerOptions } from '../../../src/runtime/informer.js';
import type { WatchRestartReason } from '../../../src/runtime/reflector.js';
import { FakeApiServer, kubeConfigFor } from '../../support/fake-api-server.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

interface Thing extends KubernetesObject {
  spec?: { size?: number };
}

function thing(namespace: string, name: string, resourceVersion: string, extra: Partial<Thing> = {}): Thing {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Thing',
    ...extra,
    metadata: { namespace, name, resourceVersion, ...extra.metadata },
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Setup {
  api: FakeApiServer;
  connection: KubeConnection;
  informer: Informer<Thing>;
  events: string[];
  restarts: WatchRestartReason[];
  cleanup(): Promise<void>;
}

async function setup(api: FakeApiServer, options: Partial<InformerOptions<Thing>> = {}): Promise<Setup> {
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  const events: string[] = [];
  const restarts: WatchRestartReason[] = [];
  const informer = new Informer<Thing>({
    getter: connection,
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
    metrics: { watchRestarted: (reason) => restarts.push(reason) },
    ...options,
  });
  informer.addHandlers({
    onAdd: (object) => events.push(`add ${object.metadata?.name}@${object.metadata?.resourceVersion}`),
    onUpdate: (previous, current) =>
      events.push(
        `update ${current.metadata?.name}@${previous.metadata?.resourceVersion}->${current.metadata?.resourceVersion}`,
      ),
    onDelete: (object) => events.push(`delete ${object.metadata?.name}@${object.metadata?.resourceVersion}`),
  });
  return {
    api,
    connection,
    informer,
    events,
    restarts,
    async cleanup() {
      await informer.stop();
      connection.close();
      await api.stop();
    },
  };
}

function listOf(resourceVersion: string, items: Thing[]): { body: unknown } {
  return { body: { kind: 'ThingList', apiVersion: 'example.com/v1', metadata: { resourceVersion }, items } };
}

test('lists, then applies ADDED, MODIFIED, DELETED and BOOKMARK events from the watch', async () => {
  const api = new FakeApiServer();
  api.listHandler = () =>
    listOf('10', [thing('ns', 'a', '5', { metadata: { labels: { keep: 'me' } } }), thing('ns', 'b', '6')]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber > 1) return;
    FakeApiServer.send(response, 'ADDED', thing('ns', 'c', '11'));
    FakeApiServer.send(response, 'MODIFIED', thing('ns', 'a', '12', { spec: { size: 3 } }));
    FakeApiServer.send(response, 'DELETED', {
      apiVersion: 'example.com/v1',
      kind: 'Thing',
      metadata: { namespace: 'ns', name: 'b', resourceVersion: '13' },
    });
    FakeApiServer.send(response, 'BOOKMARK', {
      kind: 'Thing',
      apiVersion: 'example.com/v1',
      metadata: { resourceVersion: '20' },
    });
    response.end();
  };
  const { informer, events, restarts, cleanup } = await setup(api, { labelSelector: 'app=x' });
  try {
    assert.is(informer.hasSynced(), false);
    informer.start();
    assert.is(await informer.waitForSync(), true);
    await waitFor(() => api.watches().length >= 2, 'the second watch');

    // The delete reports the last state the cache knew (b@6), not the event's object.
    assert.equal(events, ['add a@5', 'add b@6', 'add c@11', 'update a@5->12', 'delete b@6']);
    assert.equal(informer.get('ns', 'a')?.spec, { size: 3 });
    assert.is(informer.get('ns', 'b'), undefined);
    assert.is(informer.getByKey('ns/c')?.metadata?.resourceVersion, '11');
    assert.is(informer.list().length, 2);

    const [first, second] = api.watches();
    assert.is(first?.path, '/apis/example.com/v1/things');
    assert.is(first?.query.get('resourceVersion'), '10');
    assert.is(first?.query.get('allowWatchBookmarks'), 'true');
    assert.is(first?.query.get('labelSelector'), 'app=x');
    const timeoutSeconds = Number(first?.query.get('timeoutSeconds'));
    assert.ok(timeoutSeconds >= 300 && timeoutSeconds <= 600, `timeoutSeconds ${timeoutSeconds}`);
    assert.is(second?.query.get('resourceVersion'), '20', 're-watch from the bookmark, no relist');
    assert.is(api.lists().length, 1);
    assert.is(api.lists()[0]?.query.get('labelSelector'), 'app=x');
    assert.is(api.lists()[0]?.authorization, 'Bearer test-token');
    assert.equal(restarts, ['closed']);
  } finally {
    await cleanup();
  }
});

test('onDelete gets the last cached object, not the tombstone from the event', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '5', { spec: { size: 7 } })]);
  let deleted: Thing | undefined;
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber === 1) FakeApiServer.send(response, 'DELETED', thing('ns', 'a', '11'));
  };
  const { informer, cleanup } = await setup(api);
  informer.addHandlers({ onDelete: (object) => (deleted = object) });
  try {
    informer.start();
    await waitFor(() => deleted !== undefined, 'the delete');
    assert.equal(deleted?.spec, { size: 7 });
  } finally {
    await cleanup();
  }
});

test('an ERROR 410 event causes exactly one relist, and a relist reconciles adds, updates and deletes', async () => {
  const api = new FakeApiServer();
  api.listHandler = (_request, listNumber) =>
    listNumber === 1
      ? listOf('10', [thing('ns', 'a', '5'), thing('ns', 'b', '6')])
      : listOf('30', [thing('ns', 'a', '25'), thing('ns', 'c', '26')]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber !== 1) return;
    FakeApiServer.send(response, 'ADDED', thing('ns', 'd', '11'));
    FakeApiServer.send(response, 'DELETED', thing('ns', 'd', '12'));
    FakeApiServer.send(response, 'ERROR', {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version',
    });
  };
  const { informer, events, restarts, cleanup } = await setup(api, { backoffInitialMs: 5, backoffMaxMs: 10 });
  const adds: string[] = [];
  informer.addHandlers({
    onAdd: (object, isInInitialList) =>
      adds.push(`${object.metadata?.name}${isInInitialList ? ' (initial list)' : ''}`),
  });
  try {
    informer.start();
    await waitFor(() => api.watches().length >= 2, 'the watch after the relist');
    await pause(100);
    assert.is(api.lists().length, 2, 'one relist, no more');
    assert.is(api.watches().length, 2);
    assert.is(api.watches()[1]?.query.get('resourceVersion'), '30');
    assert.equal(restarts, ['expired']);
    assert.equal(events, ['add a@5', 'add b@6', 'add d@11', 'delete d@11', 'delete b@6', 'update a@5->25', 'add c@26']);
    // Only the first list is the initial one: objects a watch or a relist adds are news.
    assert.equal(adds, ['a (initial list)', 'b (initial list)', 'd', 'c']);
  } finally {
    await cleanup();
  }
});

test('a list of several pages follows the continue token; every page is a consistent read (no resourceVersion)', async () => {
  const api = new FakeApiServer();
  api.listHandler = (_request, listNumber) =>
    listNumber === 1
      ? {
          body: {
            kind: 'ThingList',
            apiVersion: 'example.com/v1',
            metadata: { resourceVersion: '10', continue: 'page-2' },
            items: [thing('ns', 'a', '5')],
          },
        }
      : listOf('10', [thing('ns', 'b', '6')]);
  api.watchHandler = (response) => api.holdOpen(response);
  const { informer, events, cleanup } = await setup(api, { listPageSize: 1 });
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    assert.equal(events, ['add a@5', 'add b@6']);
    const [first, second] = api.lists();
    assert.equal(
      [first?.query.get('limit'), first?.query.get('resourceVersion'), first?.query.get('continue')],
      ['1', null, null],
    );
    assert.equal(
      [second?.query.get('limit'), second?.query.get('resourceVersion'), second?.query.get('continue')],
      ['1', null, 'page-2'],
    );
  } finally {
    await cleanup();
  }
});

test('an HTTP 410 on the watch request also relists once', async () => {
  const api = new FakeApiServer();
  api.listHandler = (_request, listNumber) => listOf(String(listNumber * 100), []);
  api.watchHandler = (response, _request, watchNumber) => {
    if (watchNumber === 1) {
      response.writeHead(410, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Gone' }));
      return;
    }
    api.holdOpen(response);
  };
  const { informer, restarts, cleanup } = await setup(api, { backoffInitialMs: 5, backoffMaxMs: 10 });
  try {
    informer.start();
    await waitFor(() => api.watches().length >= 2, 'the second watch');
    await pause(100);
    assert.is(api.lists().length, 2);
    assert.is(api.watches()[1]?.query.get('resourceVersion'), '200');
    assert.equal(restarts, ['expired']);
  } finally {
    await cleanup();
  }
});

test('a non-410 ERROR event re-watches from the last resourceVersion without relisting', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', []);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber > 1) return;
    FakeApiServer.send(response, 'ADDED', thing('ns', 'a', '15'));
    FakeApiServer.send(response, 'ERROR', { kind: 'Status', code: 500, message: 'internal error' });
  };
  const { informer, restarts, cleanup } = await setup(api, { backoffInitialMs: 5, backoffMaxMs: 10 });
  try {
    informer.start();
    await waitFor(() => api.watches().length >= 2, 'the second watch');
    assert.is(api.lists().length, 1);
    assert.is(api.watches()[1]?.query.get('resourceVersion'), '15');
    assert.equal(restarts, ['error']);
  } finally {
    await cleanup();
  }
});

test('a server that closes every watch at once is retried with backoff, not in a tight loop', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', []);
  api.watchHandler = (response) => {
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end();
  };
  const { informer, restarts, cleanup } = await setup(api, {
    backoffInitialMs: 20,
    backoffMaxMs: 80,
    healthyWatchMs: 1000,
  });
  try {
    informer.start();
    await informer.waitForSync();
    const windowStarted = Date.now();
    await pause(600);
    const elapsed = Date.now() - windowStarted;
    const watches = api.watches().length;
    // Delays are at least 20, 40, 80, 80, ... ms (jitter only lengthens them): by 140 ms at most
    // four watches have started, then one more per 80 ms.
    const bound = 4 + Math.ceil(Math.max(0, elapsed - 140) / 80);
    assert.ok(watches >= 3, `it keeps retrying (${watches} watches)`);
    assert.ok(watches <= bound, `${watches} watches in ${elapsed} ms exceeds the backoff bound ${bound}`);
    assert.is(api.lists().length, 1, 'a closed watch re-watches, it does not relist');
    assert.ok(restarts.every((reason) => reason === 'closed'));
  } finally {
    await cleanup();
  }
});

test('a watch refused slowly (an error status after a while) still backs off: only an accepted watch resets the backoff', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', []);
  // What a proxy in front of a dead API server does: wait for its upstream, then answer 503.
  api.watchHandler = (response) => {
    setTimeout(() => {
      response.writeHead(503, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', code: 503, message: 'upstream connect timeout' }));
    }, 60);
  };
  const { informer, restarts, cleanup } = await setup(api, {
    backoffInitialMs: 100,
    backoffMaxMs: 400,
    healthyWatchMs: 50,
  });
  try {
    informer.start();
    await informer.waitForSync();
    const windowStarted = Date.now();
    await pause(1200);
    const elapsed = Date.now() - windowStarted;
    const watches = api.watches().length;
    // Each attempt takes at least 60 ms, then waits at least 100, 200, 400, 400, ... ms.
    let bound = 0;
    for (let at = 0, delay = 100; at <= elapsed; at += 60 + delay, delay = Math.min(400, delay * 2)) bound++;
    assert.ok(watches >= 2, `it keeps retrying (${watches} watches)`);
    assert.ok(
      watches <= bound,
      `${watches} watches in ${elapsed} ms: each slow refusal reset the backoff (bound ${bound})`,
    );
    assert.ok(
      restarts.every((reason) => reason === 'error'),
      restarts.join(),
    );
  } finally {
    await cleanup();
  }
});

test('a repeated 410 storm is relisted with backoff too', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', []);
  api.watchHandler = (response) => {
    api.holdOpen(response);
    FakeApiServer.send(response, 'ERROR', { kind: 'Status', code: 410 });
  };
  const { informer, cleanup } = await setup(api, { backoffInitialMs: 20, backoffMaxMs: 80 });
  try {
    informer.start();
    const windowStarted = Date.now();
    await pause(600);
    const elapsed = Date.now() - windowStarted;
    const bound = 4 + Math.ceil(Math.max(0, elapsed - 140) / 80);
    assert.ok(api.lists().length >= 2);
    assert.ok(api.lists().length <= bound, `${api.lists().length} lists in ${elapsed} ms exceeds ${bound}`);
  } finally {
    await cleanup();
  }
});

test('the watchdog aborts a silent watch and re-watches from the same resourceVersion', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', []);
  const { informer, restarts, cleanup } = await setup(api, { watchIdleTimeoutMs: 100, healthyWatchMs: 50 });
  try {
    informer.start();
    await waitFor(() => api.watches().length >= 3, 'two watchdog restarts');
    assert.ok(restarts.length >= 2);
    assert.ok(
      restarts.every((reason) => reason === 'watchdog'),
      restarts.join(),
    );
    assert.is(api.lists().length, 1);
    assert.ok(api.watches().every((watch) => watch.query.get('resourceVersion') === '10'));
  } finally {
    await cleanup();
  }
});

test('a failing list is retried with backoff until it succeeds', async () => {
  const api = new FakeApiServer();
  api.listHandler = (_request, listNumber) =>
    listNumber < 3
      ? { status: 500, body: { kind: 'Status', code: 500, message: 'etcd unavailable' } }
      : listOf('10', [thing('ns', 'a', '1')]);
  const { informer, restarts, cleanup } = await setup(api, { backoffInitialMs: 5, backoffMaxMs: 10 });
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    assert.is(api.lists().length, 3);
    assert.equal(restarts, ['list_failed', 'list_failed']);
    assert.ok(informer.get('ns', 'a'));
  } finally {
    await cleanup();
  }
});

test('the default transform drops managedFields and the last-applied annotation before caching', async () => {
  const api = new FakeApiServer();
  api.listHandler = () =>
    listOf('10', [
      thing('ns', 'a', '1', {
        metadata: {
          managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', team: 'db' },
        },
      }),
    ]);
  api.watchHandler = (response) => {
    api.holdOpen(response);
    FakeApiServer.send(response, 'ADDED', thing('ns', 'b', '11', { metadata: { managedFields: [{ manager: 'x' }] } }));
  };
  const { informer, cleanup } = await setup(api);
  try {
    informer.start();
    await waitFor(() => informer.get('ns', 'b') !== undefined, 'the watched object');
    const listed = informer.get('ns', 'a');
    assert.is(listed?.metadata?.managedFields, undefined);
    assert.equal(listed?.metadata?.annotations, { team: 'db' });
    assert.is(informer.get('ns', 'b')?.metadata?.managedFields, undefined);
  } finally {
    await cleanup();
  }
});

test('a custom transform replaces the default; core list items get apiVersion and kind', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => ({
    body: {
      kind: 'SecretList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '10' },
      items: [{ metadata: { namespace: 'ns', name: 's', resourceVersion: '1', managedFields: [{}] } }],
    },
  });
  const { informer, cleanup } = await setup(api, {
    resource: { group: '', version: 'v1', plural: 'secrets' },
    transform: (object) => ({ ...object, metadata: { ...object.metadata, labels: { seen: 'yes' } } }),
  });
  try {
    informer.start();
    await informer.waitForSync();
    assert.is(api.lists()[0]?.path, '/api/v1/secrets');
    const secret = informer.get('ns', 's');
    assert.equal(secret?.metadata?.labels, { seen: 'yes' });
    assert.is(secret?.metadata?.managedFields?.length, 1, 'only the custom transform ran');
    assert.is(secret?.kind, 'Secret');
    assert.is(secret?.apiVersion, 'v1');
  } finally {
    await cleanup();
  }
});

test('with several namespaces, one list/watch runs per namespace and sync waits for all', async () => {
  const api = new FakeApiServer();
  let releaseB: () => void = () => undefined;
  const bListed = new Promise<void>((resolve) => (releaseB = resolve));
  api.listHandler = (request) => {
    const namespace = request.path.split('/')[5] ?? '';
    return listOf('10', [thing(namespace, `${namespace}-thing`, '1')]);
  };
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  // Delay namespace b's list by routing it through a getter that waits.
  const informer = new Informer<Thing>({
    getter: {
      get: async (pathAndQuery, signal) => {
        if (pathAndQuery.includes('/namespaces/b/') && !pathAndQuery.includes('watch=1')) await bListed;
        return connection.get(pathAndQuery, signal);
      },
    },
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    namespaces: ['a', 'b'],
    logger,
  });
  try {
    informer.start();
    await waitFor(() => informer.get('a', 'a-thing') !== undefined, 'namespace a');
    assert.is(informer.hasSynced(), false, 'b is not listed yet');
    releaseB();
    assert.is(await informer.waitForSync(), true);
    assert.equal(
      api
        .lists()
        .map((request) => request.path)
        .sort(),
      ['/apis/example.com/v1/namespaces/a/things', '/apis/example.com/v1/namespaces/b/things'],
    );
    assert.equal(
      informer.list('b').map((object) => object.metadata?.name),
      ['b-thing'],
    );
  } finally {
    await informer.stop();
    connection.close();
    await api.stop();
  }
});

test('a relist of one namespace does not delete the objects of another', async () => {
  const api = new FakeApiServer();
  api.listHandler = (request, listNumber) => {
    const namespace = request.path.split('/')[5] ?? '';
    return listOf(String(listNumber * 10), listNumber <= 2 ? [thing(namespace, `${namespace}-thing`, '1')] : []);
  };
  let expiredOnce = false;
  api.watchHandler = (response, request) => {
    api.holdOpen(response);
    if (request.path.includes('/namespaces/a/') && !expiredOnce) {
      expiredOnce = true;
      FakeApiServer.send(response, 'ERROR', { kind: 'Status', code: 410 });
    }
  };
  const { informer, cleanup } = await setup(api, { namespaces: ['a', 'b'], backoffInitialMs: 5, backoffMaxMs: 10 });
  try {
    informer.start();
    await waitFor(() => api.lists().length >= 3, 'the relist of a');
    await waitFor(() => informer.get('a', 'a-thing') === undefined, 'a emptied by its relist');
    assert.ok(informer.get('b', 'b-thing'), 'b untouched');
  } finally {
    await cleanup();
  }
});

test('periodic resync re-delivers every cached object to onUpdate', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '1'), thing('ns', 'b', '2')]);
  const clock = new ManualClock();
  const { informer, events, cleanup } = await setup(api, {
    clock,
    resyncPeriodMs: 60_000,
    watchIdleTimeoutMs: 3_600_000,
  });
  try {
    informer.start();
    await informer.waitForSync();
    assert.equal(events, ['add a@1', 'add b@2']);
    await clock.advance(59_999);
    assert.is(events.length, 2);
    await clock.advance(1);
    assert.equal(events.slice(2), ['update a@1->1', 'update b@2->2']);
    await clock.advance(60_000);
    assert.is(events.length, 6, 'and again every period');
  } finally {
    await cleanup();
  }
});

test('a handler that throws does not stop other handlers or the watch', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '1')]);
  api.watchHandler = (response) => {
    api.holdOpen(response);
    FakeApiServer.send(response, 'ADDED', thing('ns', 'b', '11'));
  };
  const { informer, events, cleanup } = await setup(api);
  informer.addHandlers({
    onAdd: () => {
      throw new Error('handler bug');
    },
  });
  try {
    informer.start();
    await waitFor(() => events.includes('add b@11'), 'the watched add');
    assert.is(api.watches().length, 1, 'the watch was not restarted by the handler error');
  } finally {
    await cleanup();
  }
});

test('isHealthy is true while the loops make progress', async () => {
  const api = new FakeApiServer();
  const { informer, cleanup } = await setup(api);
  try {
    informer.start();
    await informer.waitForSync();
    assert.is(informer.isHealthy(), true);
  } finally {
    await cleanup();
  }
});

test('isHealthy turns false when a loop stops making progress', async () => {
  const clock = new ManualClock();
  let releaseWatch: () => void = () => undefined;
  // A transport that ignores aborts: the watchdog fires but the loop cannot move on.
  const informer = new Informer<Thing>({
    getter: {
      get: (pathAndQuery) => {
        if (!pathAndQuery.includes('watch=1')) {
          return Promise.resolve(
            Object.assign(
              Readable.from([Buffer.from(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }))]),
              { statusCode: 200 },
            ) as unknown as http.IncomingMessage,
          );
        }
        return new Promise((_resolve, reject) => (releaseWatch = () => reject(new Error('released'))));
      },
    },
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
    clock,
    watchIdleTimeoutMs: 1000,
    wedgedGraceMs: 500,
  });
  try {
    informer.start();
    await informer.waitForSync();
    await clock.advance(1400);
    assert.is(informer.isHealthy(), true, 'within the idle bound plus grace');
    await clock.advance(200);
    assert.is(informer.isHealthy(), false);
  } finally {
    releaseWatch();
    await informer.stop();
  }
});

test('metadataOnly asks for PartialObjectMetadata on list and watch; otherwise plain JSON', async () => {
  for (const metadataOnly of [true, false]) {
    const api = new FakeApiServer();
    const { informer, cleanup } = await setup(api, { metadataOnly });
    informer.start();
    try {
      await waitFor(() => informer.hasSynced() && api.watches().length > 0, 'list and watch');
      const [list] = api.lists();
      const [watch] = api.watches();
      if (metadataOnly) {
        assert.is(list?.accept, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
        assert.is(watch?.accept, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
      } else {
        assert.is(list?.accept, 'application/json');
        assert.is(watch?.accept, 'application/json');
      }
    } finally {
      await cleanup();
    }
  }
});

test('keepIdentity (the metadata-only default): name, namespace, version, labels, owner references and a deletion stay; annotations, uid, timestamps and managedFields go', () => {
  const ownerReferences = [
    {
      apiVersion: 'influxdb.onboarding.dev/v1alpha1',
      kind: 'InfluxOnboarding',
      name: 'a',
      uid: 'u-1',
      controller: true,
    },
  ];
  const kept = keepIdentity({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'a-influxdb',
      namespace: 'ns',
      resourceVersion: '7',
      uid: 'u-2',
      creationTimestamp: new Date(0),
      labels: { app: 'x' },
      annotations: { note: 'long text' },
      ownerReferences,
      deletionTimestamp: new Date(1),
      managedFields: [{ manager: 'kubectl' }],
    },
  });
  assert.equal(kept, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'a-influxdb',
      namespace: 'ns',
      resourceVersion: '7',
      labels: { app: 'x' },
      ownerReferences,
      deletionTimestamp: new Date(1),
    },
  });
  assert.equal(keepIdentity({ metadata: { name: 'b' } }), {
    metadata: { name: 'b', namespace: undefined, resourceVersion: undefined },
  });
});

test('shareCommonStrings and the default transforms keep every value of apiVersion, kind, namespace and owner references', () => {
  const object = (): KubernetesObject => ({
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: {
      name: 'a',
      namespace: 'a-long-namespace-name',
      ownerReferences: [
        { apiVersion: 'influxdb.onboarding.dev/v1alpha1', kind: 'InfluxOnboarding', name: 'b', uid: 'u-1' },
      ],
      managedFields: [{ manager: 'kubectl' }],
    },
  });
  const { managedFields: _dropped, ...metadata } = object().metadata ?? {};
  assert.equal(shareCommonStrings(object()), object());
  assert.equal(shareCommonStrings(shareCommonStrings(object())), object(), 'a second pass changes nothing');
  assert.equal(dropBookkeeping(object()), { ...object(), metadata });
  assert.equal(
    shareCommonStrings({ metadata: { name: 'c' } }),
    { metadata: { name: 'c' } },
    'absent fields stay absent',
  );
});

test.run();
