import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enqueueMapped, labelOwner } from '../../../src/runtime/enqueue.js';
import type { EventHandlers } from '../../../src/runtime/informer.js';
import { WakeSuppression } from '../../../src/runtime/wake-suppression.js';

const SECRETS = { group: '', plural: 'secrets' };
const WRITER = { namespace: 'db', name: 'influx' };

function secretAt(resourceVersion: string, name = 'influx-influxdb'): KubernetesObject {
  return { metadata: { namespace: 'db', name, resourceVersion, labels: { owner: 'influx' } } };
}

/**
 * Two handlers on one informer, as the onboarding controller has on its Secrets (owned, by label,
 * and watched, by the names resources reference): 'influx' owns the Secret, 'reader' references it.
 */
function secretHandlers(wakeSuppression: WakeSuppression) {
  const keys: string[] = [];
  const queue = { add: (key: string) => void keys.push(key) };
  const spared = (object: KubernetesObject, key: string, wake: () => void) =>
    wakeSuppression.holds(SECRETS, object, key, wake);
  const handlers: Array<EventHandlers<KubernetesObject>> = [
    enqueueMapped(queue, labelOwner('owner'), () => 'low', spared),
    enqueueMapped(
      queue,
      () => [WRITER, { namespace: 'db', name: 'reader' }],
      () => 'low',
      spared,
    ),
  ];
  const deliver = async (event: (handlers: EventHandlers<KubernetesObject>) => void): Promise<void> => {
    for (const handler of handlers) event(handler);
    await Promise.resolve();
  };
  return { keys, deliver };
}

function answered(resourceVersion: string) {
  return async () => secretAt(resourceVersion);
}

const versionOf = (secret: KubernetesObject) => secret.metadata?.resourceVersion;

test('the event of its own write, at the version written, wakes everyone but the writer', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  await wakeSuppression.write(WRITER, SECRETS, { namespace: 'db', name: 'influx-influxdb' }, answered('7'), versionOf);
  await deliver((handlers) => handlers.onAdd?.(secretAt('7'), false));
  assert.equal(keys, ['db/reader']);
  assert.is(wakeSuppression.size, 0, 'the record ends with its event');
});

test('a later change by someone else wakes the writer', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  await wakeSuppression.write(WRITER, SECRETS, { namespace: 'db', name: 'influx-influxdb' }, answered('7'), versionOf);
  await deliver((handlers) => handlers.onAdd?.(secretAt('7'), false));
  await deliver((handlers) => handlers.onUpdate?.(secretAt('7'), secretAt('9')));
  assert.equal(keys, ['db/reader', 'db/influx', 'db/influx', 'db/reader']);
});

test('another version arriving before its own ends the record: the writer is woken by it, and by its own event after', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  await wakeSuppression.write(WRITER, SECRETS, { namespace: 'db', name: 'influx-influxdb' }, answered('7'), versionOf);
  await deliver((handlers) => handlers.onAdd?.(secretAt('5'), false));
  assert.equal(keys, ['db/influx', 'db/influx', 'db/reader']);
  assert.is(wakeSuppression.size, 0);
});

test('an event arriving while the write is on the way is held: dropped when it is the write, the writer woken when not', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  let answer: (secret: KubernetesObject) => void = () => undefined;
  const writing = wakeSuppression.write(
    WRITER,
    SECRETS,
    { namespace: 'db', name: 'influx-influxdb' },
    () => new Promise<KubernetesObject>((resolve) => (answer = resolve)),
    versionOf,
  );
  await deliver((handlers) => handlers.onAdd?.(secretAt('7'), false));
  assert.equal(keys, ['db/reader'], 'the writer waits for the answer');
  answer(secretAt('7'));
  await writing;
  assert.equal(keys, ['db/reader'], 'it was the write itself');
  assert.is(wakeSuppression.size, 0);

  let second: (secret: KubernetesObject) => void = () => undefined;
  const rewriting = wakeSuppression.write(
    WRITER,
    SECRETS,
    { namespace: 'db', name: 'influx-influxdb' },
    () => new Promise<KubernetesObject>((resolve) => (second = resolve)),
    versionOf,
  );
  await deliver((handlers) => handlers.onUpdate?.(secretAt('7'), secretAt('8')));
  assert.equal(keys, ['db/reader', 'db/reader']);
  second(secretAt('9'));
  await rewriting;
  assert.equal(
    keys,
    ['db/reader', 'db/reader', 'db/influx', 'db/influx'],
    "version 8 was someone else's: the writer is woken",
  );
});

test('two writes in one reconcile (create, then update): neither event wakes the writer, even the first arriving during the second write', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  const target = { namespace: 'db', name: 'influx-influxdb' };
  await wakeSuppression.write(WRITER, SECRETS, target, answered('7'), versionOf);
  let answer: (secret: KubernetesObject) => void = () => undefined;
  const updating = wakeSuppression.write(
    WRITER,
    SECRETS,
    target,
    () => new Promise<KubernetesObject>((resolve) => (answer = resolve)),
    versionOf,
  );
  await deliver((handlers) => handlers.onAdd?.(secretAt('7'), false));
  answer(secretAt('8'));
  await updating;
  await deliver((handlers) => handlers.onUpdate?.(secretAt('7'), secretAt('8')));
  assert.equal(keys, ['db/reader', 'db/reader']);
  assert.is(wakeSuppression.size, 0);
});

test('a failed write wakes the writer for every event held meanwhile, and leaves no record', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  let fail: (error: Error) => void = () => undefined;
  const writing = wakeSuppression.write(
    WRITER,
    SECRETS,
    { namespace: 'db', name: 'influx-influxdb' },
    () => new Promise<KubernetesObject>((_, reject) => (fail = reject)),
    versionOf,
  );
  await deliver((handlers) => handlers.onAdd?.(secretAt('4'), false));
  fail(new Error('409 AlreadyExists'));
  const error = await writing.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.match(String(error), /409 AlreadyExists/);
  assert.equal(keys, ['db/reader', 'db/influx', 'db/influx']);
  assert.is(wakeSuppression.size, 0);
});

test('only the object written, of the type written: another Secret and another kind of the same name wake the writer', async () => {
  const wakeSuppression = new WakeSuppression();
  await wakeSuppression.write(WRITER, SECRETS, { namespace: 'db', name: 'influx-influxdb' }, answered('7'), versionOf);
  assert.not.ok(wakeSuppression.holds(SECRETS, secretAt('7', 'other'), 'db/influx', () => undefined));
  assert.not.ok(
    wakeSuppression.holds({ group: '', plural: 'configmaps' }, secretAt('7'), 'db/influx', () => undefined),
  );
  assert.ok(wakeSuppression.holds(SECRETS, secretAt('7'), 'db/influx', () => undefined));
});

test('resyncs and deletions are never spared', async () => {
  const wakeSuppression = new WakeSuppression();
  const { keys, deliver } = secretHandlers(wakeSuppression);
  await wakeSuppression.write(WRITER, SECRETS, { namespace: 'db', name: 'influx-influxdb' }, answered('7'), versionOf);
  const secret = secretAt('7');
  await deliver((handlers) => handlers.onUpdate?.(secret, secret));
  await deliver((handlers) => handlers.onDelete?.(secret));
  assert.equal(keys, ['db/influx', 'db/influx', 'db/reader', 'db/influx', 'db/influx', 'db/reader']);
});

test.run();
