/**
 * The access records across terms of leadership, as the operator is wired (controllerDeps over a
 * Manager with a Lease): a replica that led, lost the Lease to another that wrote a record, and
 * leads again, decides from the record as the other left it, not from the copy it held (soak,
 * seed 42: an InfluxBucket stayed BucketExists for good after a change of leader).
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordData, type AccessRecord } from '../../../src/api/access-records.js';
import { recordName } from '../../../src/kube/access-records.js';
import { FakeApiServer } from '../../support/fake-api-server.js';
import { memoryLeaseStore, wiredManager } from '../../support/memory-lease.js';
import { eventually } from '../../support/wait.js';

const KEY = { onboarding: { namespace: 'monitoring', name: 'influxdb' }, namespace: 'app-a' };
const RECORD_PATH = `/api/v1/namespaces/operator/configmaps/${recordName(KEY)}`;

function recordWith(bucketID: string, resourceVersion: string): V1ConfigMap {
  const record: AccessRecord = { buckets: { 'uid-1': { name: 'app-a-metrics', id: bucketID } }, tokens: {} };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: recordName(KEY),
      namespace: 'operator',
      resourceVersion,
      annotations: {
        'influxdb.onboarding.dev/onboarding': 'monitoring/influxdb',
        'influxdb.onboarding.dev/namespace': 'app-a',
      },
    },
    data: recordData(record),
  };
}

test('a replica that leads again reads the records another leader wrote meanwhile, not its old copy', async () => {
  const api = new FakeApiServer();
  let record = recordWith('old-bucket', '10');
  api.listHandler = (request) =>
    request.path === RECORD_PATH
      ? { body: record }
      : { body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] } };
  const store = memoryLeaseStore();
  const { manager, deps } = wiredManager(await api.start(), store);
  try {
    await manager.start();
    await eventually('replica-1 leads', () => store.holder() === 'replica-1' && manager.notLeading() === undefined, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.is((await deps.records.read(KEY)).buckets['uid-1']?.id, 'old-bucket', 'read while leading');

    // replica-2 takes the Lease, re-creates the bucket after a wipe and records its new ID.
    store.set('replica-2');
    await eventually('replica-1 stops leading', () => manager.notLeading() !== undefined, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    record = recordWith('new-bucket', '11');
    // replica-2 goes; replica-1 takes the Lease again.
    store.set('');
    await eventually('replica-1 leads again', () => manager.notLeading() === undefined, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.is(
      (await deps.records.read(KEY)).buckets['uid-1']?.id,
      'new-bucket',
      'the record as the other leader left it',
    );
  } finally {
    await manager.stop();
    await api.stop();
  }
});

test.run();
