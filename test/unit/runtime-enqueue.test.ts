import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controllerOwner, enqueueMapped, enqueueObject, labelOwner } from '../../src/runtime/enqueue.js';
import { requestFromKey, requestKey } from '../../src/runtime/keys.js';

function recordingQueue(): { add(key: string): void; keys: string[] } {
  const keys: string[] = [];
  return { keys, add: (key) => keys.push(key) };
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
  handlers.onAdd?.(object);
  handlers.onUpdate?.(object, object);
  handlers.onDelete?.(object);
  assert.equal(queue.keys, ['ns/a', 'ns/a', 'ns/a']);
});

test('enqueueMapped maps both the old and the new object on update', () => {
  const queue = recordingQueue();
  const handlers = enqueueMapped<KubernetesObject>(queue, (object) => [{ namespace: 'ns', name: object.metadata?.labels?.owner ?? '' }]);
  handlers.onUpdate?.({ metadata: { labels: { owner: 'old' } } }, { metadata: { labels: { owner: 'new' } } });
  assert.equal(queue.keys, ['ns/old', 'ns/new']);
});

test('enqueueMapped adds a key that both the old and the new object name once', () => {
  const queue = recordingQueue();
  const handlers = enqueueObject(queue);
  handlers.onUpdate?.({ metadata: { namespace: 'ns', name: 'a', resourceVersion: '1' } }, { metadata: { namespace: 'ns', name: 'a', resourceVersion: '2' } });
  assert.equal(queue.keys, ['ns/a']);
});

test('labelOwner maps an object to the owner its label names, in its own namespace', () => {
  const toOwner = labelOwner('example.com/owner');
  assert.equal(toOwner({ metadata: { namespace: 'db', name: 'creds', labels: { 'example.com/owner': 'prod' } } }), [{ namespace: 'db', name: 'prod' }]);
  assert.equal(toOwner({ metadata: { namespace: 'db', name: 'creds', labels: { other: 'prod' } } }), []);
  assert.equal(toOwner({ metadata: { name: 'cluster-wide', labels: { 'example.com/owner': 'prod' } } }), [], 'no namespace, no owner');
});

test('controllerOwner maps an object to its controlling owner of the given group and kind only', () => {
  const toOwner = controllerOwner({ group: 'influx.example.com', kind: 'InfluxOnboarding' });
  const controlled = { apiVersion: 'influx.example.com/v1alpha1', kind: 'InfluxOnboarding', name: 'prod', uid: 'u1', controller: true };
  assert.equal(toOwner(secret([controlled])), [{ namespace: 'db', name: 'prod' }]);
  assert.equal(toOwner(secret([{ ...controlled, controller: false }])), [], 'a non-controller owner is ignored');
  assert.equal(toOwner(secret([{ ...controlled, kind: 'Other' }])), []);
  assert.equal(toOwner(secret([{ ...controlled, apiVersion: 'other.example.com/v1' }])), []);
  assert.equal(toOwner(secret(undefined)), []);
});

test.run();
