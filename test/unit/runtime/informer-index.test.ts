// Named indexes of an informer's cache (client-go's indexers), kept current through the list, the
// watch's adds, updates and deletes, and relists, as handlers see them.
import { Writable } from 'node:stream';
import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { KubeConnection } from '../../../src/runtime/connection.js';
import { Informer } from '../../../src/runtime/informer.js';
import { requestKey } from '../../../src/runtime/keys.js';
import { FakeApiServer, kubeConfigFor } from '../../support/fake-api-server.js';
import { eventually } from '../../support/wait.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

interface Thing extends KubernetesObject {
  spec?: { refs?: string[] };
}

function thing(namespace: string, name: string, resourceVersion: string, refs: string[]): Thing {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Thing',
    metadata: { namespace, name, resourceVersion },
    spec: { refs },
  };
}

function listOf(resourceVersion: string, items: Thing[]): { body: unknown } {
  return { body: { kind: 'ThingList', apiVersion: 'example.com/v1', metadata: { resourceVersion }, items } };
}

/** Every name a thing refers to, in its own namespace: the shape of "which Secrets does a resource name". */
const REFERS_TO = 'refersTo';
const refersTo = (object: Thing): string[] =>
  (object.spec?.refs ?? []).map((name) => requestKey({ namespace: object.metadata?.namespace ?? '', name }));

interface Setup {
  api: FakeApiServer;
  informer: Informer<Thing>;
  /** What byIndex answered for every value in `values` right after each event, as handlers see the cache. */
  seen: string[];
  cleanup(): Promise<void>;
}

async function setup(api: FakeApiServer, values: string[]): Promise<Setup> {
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  const informer = new Informer<Thing>({
    getter: connection,
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
    backoffInitialMs: 5,
    backoffMaxMs: 10,
  });
  informer.addIndexes({ [REFERS_TO]: refersTo });
  const seen: string[] = [];
  const snapshot = (event: string): void => {
    const filed = values.map(
      (value) =>
        `${value}=[${informer
          .byIndex(REFERS_TO, value)
          .map((object) => object.metadata?.name)
          .sort()
          .join(',')}]`,
    );
    seen.push(`${event}: ${filed.join(' ')}`);
  };
  informer.addHandlers({
    onAdd: (object) => snapshot(`add ${object.metadata?.name}`),
    onUpdate: (_previous, current) => snapshot(`update ${current.metadata?.name}`),
    onDelete: (object) => snapshot(`delete ${object.metadata?.name}`),
  });
  return {
    api,
    informer,
    seen,
    async cleanup() {
      await informer.stop();
      connection.close();
      await api.stop();
    },
  };
}

test('an index files each object under every value it gives, and follows adds, updates that move a value, and deletes', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('one', 'a', '5', ['x', 'y']), thing('two', 'b', '6', ['x'])]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber > 1) return;
    FakeApiServer.send(response, 'ADDED', thing('one', 'c', '11', ['y']));
    FakeApiServer.send(response, 'MODIFIED', thing('one', 'a', '12', ['y', 'z']));
    FakeApiServer.send(response, 'DELETED', thing('two', 'b', '13', ['x']));
  };
  const { informer, seen, cleanup } = await setup(api, ['one/x', 'one/y', 'one/z', 'two/x']);
  try {
    informer.start();
    await eventually('the list and three watch events', () => seen.length === 5, { intervalMs: 5 });
    // The same name in two namespaces is two values: b names two/x, never one/x.
    assert.equal(seen, [
      'add a: one/x=[a] one/y=[a] one/z=[] two/x=[]',
      'add b: one/x=[a] one/y=[a] one/z=[] two/x=[b]',
      'add c: one/x=[a] one/y=[a,c] one/z=[] two/x=[b]',
      'update a: one/x=[] one/y=[a,c] one/z=[a] two/x=[b]',
      'delete b: one/x=[] one/y=[a,c] one/z=[a] two/x=[]',
    ]);
    assert.is(
      informer.byIndex(REFERS_TO, 'one/z')[0],
      informer.get('one', 'a'),
      'the cached object itself, as get() gives it',
    );
    assert.equal(informer.byIndex(REFERS_TO, 'nobody/names-this'), []);
  } finally {
    await cleanup();
  }
});

test('a relist replaces what the index holds: objects gone from the list are unfiled, changed ones refiled', async () => {
  const api = new FakeApiServer();
  api.listHandler = (_request, listNumber) =>
    listNumber === 1
      ? listOf('10', [thing('ns', 'a', '5', ['x']), thing('ns', 'b', '6', ['x', 'y'])])
      : listOf('30', [thing('ns', 'a', '25', ['y']), thing('ns', 'c', '26', ['x'])]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber === 1)
      FakeApiServer.send(response, 'ERROR', {
        kind: 'Status',
        code: 410,
        reason: 'Expired',
        message: 'too old resource version',
      });
  };
  const { informer, seen, cleanup } = await setup(api, ['ns/x', 'ns/y']);
  try {
    informer.start();
    await eventually('the relist', () => api.lists().length === 2 && seen.length === 5, { intervalMs: 5 });
    assert.equal(seen, [
      'add a: ns/x=[a] ns/y=[]',
      'add b: ns/x=[a,b] ns/y=[b]',
      'delete b: ns/x=[a] ns/y=[]',
      'update a: ns/x=[] ns/y=[a]',
      'add c: ns/x=[c] ns/y=[a]',
    ]);
  } finally {
    await cleanup();
  }
});

test('an object giving one value twice is filed once and unfiled entirely', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '5', ['x', 'x'])]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber === 1) FakeApiServer.send(response, 'MODIFIED', thing('ns', 'a', '11', ['y']));
  };
  const { seen, informer, cleanup } = await setup(api, ['ns/x', 'ns/y']);
  try {
    informer.start();
    await eventually('the update', () => seen.length === 2, { intervalMs: 5 });
    assert.equal(seen, ['add a: ns/x=[a] ns/y=[]', 'update a: ns/x=[] ns/y=[a]']);
  } finally {
    await cleanup();
  }
});

test('an index added after the cache filled files what it holds; a name keeps one function; an undeclared name is an error', async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '5', ['x']), thing('ns', 'b', '6', [])]);
  api.watchHandler = (response) => api.holdOpen(response);
  const { informer, cleanup } = await setup(api, []);
  try {
    informer.start();
    await informer.waitForSync();
    const refCount = (object: Thing): string[] => [String(object.spec?.refs?.length ?? 0)];
    informer.addIndexes({ refCount });
    assert.equal(
      informer.byIndex('refCount', '1').map((object) => object.metadata?.name),
      ['a'],
    );
    assert.equal(
      informer.byIndex('refCount', '0').map((object) => object.metadata?.name),
      ['b'],
    );
    informer.addIndexes({ refCount, [REFERS_TO]: refersTo });
    assert.throws(
      () => informer.addIndexes({ other: refCount, [REFERS_TO]: (object: Thing) => refersTo(object) }),
      /things\.example\.com: index "refersTo" declared with two different functions/,
    );
    assert.throws(
      () => informer.byIndex('other', '1'),
      /no index named "other"/,
      'a refused declaration adds none of its indexes',
    );
    assert.throws(
      () => informer.byIndex('byColour', 'red'),
      /things\.example\.com: no index named "byColour" was declared/,
    );
  } finally {
    await cleanup();
  }
});

test('an object its index function fails on is filed under nothing; the watch and other objects carry on', async () => {
  const api = new FakeApiServer();
  api.listHandler = () =>
    listOf('10', [
      {
        apiVersion: 'example.com/v1',
        kind: 'Thing',
        metadata: { namespace: 'ns', name: 'broken', resourceVersion: '4' },
      },
      thing('ns', 'a', '5', ['x']),
    ]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber === 1) FakeApiServer.send(response, 'ADDED', thing('ns', 'c', '11', ['x']));
  };
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  const informer = new Informer<Thing>({
    getter: connection,
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
  });
  // Throws on a thing without a spec, as a careless function over unvalidated objects would.
  informer.addIndexes({
    strict: (object: Thing) => (object.spec as { refs: string[] }).refs.map((name) => `ns/${name}`),
  });
  try {
    informer.start();
    await eventually('the watch event after the failing object', () => informer.get('ns', 'c') !== undefined, {
      intervalMs: 5,
    });
    assert.ok(informer.get('ns', 'broken'), 'cached all the same');
    assert.equal(
      informer.byIndex('strict', 'ns/x').map((object) => object.metadata?.name),
      ['a', 'c'],
    );
  } finally {
    await informer.stop();
    connection.close();
    await api.stop();
  }
});

test("indexValues: a change's objects are answered with the values they were filed under, not computed again", async () => {
  const api = new FakeApiServer();
  api.listHandler = () => listOf('10', [thing('ns', 'a', '5', ['x']), thing('ns', 'b', '6', ['y'])]);
  api.watchHandler = (response, _request, watchNumber) => {
    api.holdOpen(response);
    if (watchNumber > 1) return;
    FakeApiServer.send(response, 'MODIFIED', thing('ns', 'a', '11', ['z']));
    FakeApiServer.send(response, 'DELETED', thing('ns', 'b', '12', ['y']));
  };
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  const informer = new Informer<Thing>({
    getter: connection,
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
  });
  let calls = 0;
  informer.addIndexes({
    [REFERS_TO]: (object: Thing) => {
      calls++;
      return refersTo(object);
    },
  });
  // What a handler deriving from the index reads (instance-filing.ts' hostOf), and what it cost.
  const seen: string[] = [];
  const read = (event: string, objects: Thing[]): void => {
    const before = calls;
    const values = objects.map((object) => informer.indexValues(REFERS_TO, object).join(','));
    seen.push(`${event}: ${values.join(' -> ')} (${calls - before} computed)`);
  };
  informer.addHandlers({
    onAdd: (object) => read(`add ${object.metadata?.name}`, [object]),
    onUpdate: (previous, current) => read(`update ${current.metadata?.name}`, [previous, current]),
    onDelete: (object) => read(`delete ${object.metadata?.name}`, [object]),
  });
  try {
    informer.start();
    await eventually('the list and two watch events', () => seen.length === 4, { intervalMs: 5 });
    assert.equal(seen, [
      'add a: ns/x (0 computed)',
      'add b: ns/y (0 computed)',
      'update a: ns/x -> ns/z (0 computed)',
      'delete b: ns/y (0 computed)',
    ]);
    // At most one per object filed or unfiled: two for the list, two for the update, one for the deletion.
    assert.ok(calls <= 5, `${calls} computed`);
    // Any other object is computed.
    const before = calls;
    assert.equal(informer.indexValues(REFERS_TO, thing('ns', 'c', '1', ['w'])), ['ns/w']);
    assert.is(calls, before + 1);
    assert.throws(() => informer.indexValues('byColour', thing('ns', 'c', '1', [])), /no index named "byColour"/);
  } finally {
    await informer.stop();
    connection.close();
    await api.stop();
  }
});

test.run();
