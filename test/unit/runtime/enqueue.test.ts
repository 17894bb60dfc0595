import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controllerOwner, enqueueMapped, enqueueObject, labelOwner, settledLow } from '../../../src/runtime/enqueue.js';
import { requestFromKey, requestKey } from '../../../src/runtime/keys.js';
import type { Priority } from '../../../src/runtime/queue.js';

function recordingQueue(): { add(key: string, priority?: Priority): void; keys: string[]; added: string[] } {
  const keys: string[] = [];
  const added: string[] = [];
  return {
    keys,
    added,
    add: (key, priority) => {
      keys.push(key);
      added.push(`${key} ${priority ?? 'normal'}`);
    },
  };
}

const secret = (owners: NonNullable<KubernetesObject['metadata']>['ownerReferences']): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'db', name: 'creds', ownerReferences: owners },
});

test('keys: namespace/name, and bare names for cluster-scoped objects', () => {
  assert.is(requestKey({ namespace: 'ns', name: 'a' }), 'ns/a');
  assert.is(requestKey({ namespace: '', name: 'node-1' }), 'node-1');
  assert.equal(requestFromKey('ns/a'), { namespace: 'ns', name: 'a' });
  assert.equal(requestFromKey('node-1'), { namespace: '', name: 'node-1' });
});

test('enqueueObject enqueues the changed object on add, update and delete', () => {
  const queue = recordingQueue();
  const handlers = enqueueObject(queue);
  const object: KubernetesObject = { metadata: { namespace: 'ns', name: 'a' } };
  handlers.onAdd?.(object, false);
  handlers.onUpdate?.(object, object);
  handlers.onDelete?.(object);
  assert.equal(queue.keys, ['ns/a', 'ns/a', 'ns/a']);
});

test('repeats (the initial list, a resync) are queued at low priority by default, changes and deletions at normal', () => {
  const queue = recordingQueue();
  const handlers = enqueueObject(queue);
  const object: KubernetesObject = { metadata: { namespace: 'ns', name: 'a', resourceVersion: '1' } };
  handlers.onAdd?.(object, true);
  handlers.onUpdate?.(object, object);
  handlers.onAdd?.(object, false);
  handlers.onUpdate?.(object, { metadata: { namespace: 'ns', name: 'a', resourceVersion: '2' } });
  handlers.onDelete?.(object);
  assert.equal(queue.added, ['ns/a low', 'ns/a low', 'ns/a normal', 'ns/a normal', 'ns/a normal']);
});

test('a repeat policy chooses the priority of repeats, or drops them; changes are never dropped', () => {
  const queue = recordingQueue();
  const handlers = enqueueMapped<KubernetesObject>(
    queue,
    (object) => [{ namespace: 'ns', name: object.metadata?.labels?.owner ?? '' }],
    () => undefined,
  );
  const owned: KubernetesObject = { metadata: { labels: { owner: 'a' }, resourceVersion: '1' } };
  handlers.onAdd?.(owned, true);
  handlers.onUpdate?.(owned, owned);
  assert.equal(queue.added, [], 'dropped');
  handlers.onAdd?.(owned, false);
  handlers.onUpdate?.(owned, { metadata: { labels: { owner: 'a' }, resourceVersion: '2' } });
  handlers.onDelete?.(owned);
  assert.equal(queue.added, ['ns/a normal', 'ns/a normal', 'ns/a normal']);
});

test('settledLow: low for an object whose status reports its current generation, normal for a new or changed one', () => {
  const object = (generation: number, status?: { observedGeneration?: number }): KubernetesObject => ({
    metadata: { namespace: 'ns', name: 'a', generation },
    ...(status && { status }),
  });
  assert.is(settledLow(object(3, { observedGeneration: 3 })), 'low', 'settled');
  assert.is(settledLow(object(1)), 'normal', 'never reconciled: no status');
  assert.is(settledLow(object(1, {})), 'normal', 'a status without observedGeneration');
  assert.is(settledLow(object(4, { observedGeneration: 3 })), 'normal', 'the spec changed since');
  const queue = recordingQueue();
  const primary = enqueueObject(queue, settledLow);
  primary.onAdd?.(object(3, { observedGeneration: 3 }), true);
  primary.onAdd?.({ ...object(1), metadata: { namespace: 'ns', name: 'new', generation: 1 } }, true);
  assert.equal(queue.added, ['ns/a low', 'ns/new normal']);
});

test('enqueueMapped maps both the old and the new object on update', () => {
  const queue = recordingQueue();
  const handlers = enqueueMapped<KubernetesObject>(queue, (object) => [
    { namespace: 'ns', name: object.metadata?.labels?.owner ?? '' },
  ]);
  handlers.onUpdate?.({ metadata: { labels: { owner: 'old' } } }, { metadata: { labels: { owner: 'new' } } });
  assert.equal(queue.keys, ['ns/old', 'ns/new']);
});

test('enqueueMapped adds a key that both the old and the new object name once', () => {
  const queue = recordingQueue();
  const handlers = enqueueObject(queue);
  handlers.onUpdate?.(
    { metadata: { namespace: 'ns', name: 'a', resourceVersion: '1' } },
    { metadata: { namespace: 'ns', name: 'a', resourceVersion: '2' } },
  );
  assert.equal(queue.keys, ['ns/a']);
});

test('labelOwner maps an object to the owner its label names, in its own namespace', () => {
  const toOwner = labelOwner('example.com/owner');
  assert.equal(toOwner({ metadata: { namespace: 'db', name: 'creds', labels: { 'example.com/owner': 'prod' } } }), [
    { namespace: 'db', name: 'prod' },
  ]);
  assert.equal(toOwner({ metadata: { namespace: 'db', name: 'creds', labels: { other: 'prod' } } }), []);
  assert.equal(
    toOwner({ metadata: { name: 'cluster-wide', labels: { 'example.com/owner': 'prod' } } }),
    [],
    'no namespace, no owner',
  );
});

test('controllerOwner maps an object to its controlling owner of the given group and kind only', () => {
  const toOwner = controllerOwner({ group: 'influx.example.com', kind: 'InfluxOnboarding' });
  const controlled = {
    apiVersion: 'influx.example.com/v1alpha1',
    kind: 'InfluxOnboarding',
    name: 'prod',
    uid: 'u1',
    controller: true,
  };
  assert.equal(toOwner(secret([controlled])), [{ namespace: 'db', name: 'prod' }]);
  assert.equal(toOwner(secret([{ ...controlled, controller: false }])), [], 'a non-controller owner is ignored');
  assert.equal(toOwner(secret([{ ...controlled, kind: 'Other' }])), []);
  assert.equal(toOwner(secret([{ ...controlled, apiVersion: 'other.example.com/v1' }])), []);
  assert.equal(toOwner(secret(undefined)), []);
});

test.run();
