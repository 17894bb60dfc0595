/**
 * The access records across terms of leadership, as the operator is wired (controllerDeps over a
 * Manager with a Lease): a replica that led, lost the Lease to another that wrote a record, and
 * leads again, decides from the record as the other left it, not from the copy it held (soak,
 * seed 42: an InfluxBucket stayed BucketExists for good after a change of leader).
 */
import { Writable } from 'node:stream';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordData, type AccessRecord } from '../../../src/api/access-records.js';
import { loadConfig } from '../../../src/config.js';
import { controllerDeps } from '../../../src/controllers/shared.js';
import { recordName } from '../../../src/kube/access-records.js';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { KubeConnection } from '../../../src/runtime/connection.js';
import type { LeaseRecord, LeaseStore, StoredLease } from '../../../src/runtime/leader.js';
import { Manager } from '../../../src/runtime/manager.js';
import { FakeApiServer, kubeConfigFor } from '../../support/fake-api-server.js';
import { eventually } from '../../support/wait.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

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

/** One Lease in memory that another replica (the test) can take and give back. */
function leaseStore(): LeaseStore & { holder(): string | undefined; set(holder: string): void } {
  let stored: StoredLease | undefined;
  let version = 0;
  const write = (record: LeaseRecord): StoredLease => {
    stored = { record: structuredClone(record), resourceVersion: String(++version) };
    return structuredClone(stored);
  };
  return {
    get: async () => (stored ? structuredClone(stored) : undefined),
    create: async (record) => {
      if (stored) throw Object.assign(new Error('exists'), { code: 409 });
      return write(record);
    },
    update: async (record, resourceVersion) => {
      if (stored?.resourceVersion !== resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
      return write(record);
    },
    holder: () => stored?.record.holderIdentity,
    set: (holder) =>
      void write({
        holderIdentity: holder,
        leaseDurationSeconds: 1,
        acquireTime: new Date(),
        renewTime: new Date(),
        leaseTransitions: (stored?.record.leaseTransitions ?? 0) + 1,
      }),
  };
}

test('a replica that leads again reads the records another leader wrote meanwhile, not its old copy', async () => {
  const api = new FakeApiServer();
  let record = recordWith('old-bucket', '10');
  api.listHandler = (request) =>
    request.path === RECORD_PATH
      ? { body: record }
      : { body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] } };
  const store = leaseStore();
  const loaded = loadConfig(['--operator-namespace', 'operator'], {});
  assert.is(loaded.kind, 'run');
  if (loaded.kind !== 'run') return;
  const manager = new Manager({
    connection: new KubeConnection(kubeConfigFor(await api.start())),
    logger,
    namespaces: [],
    leaderElection: {
      id: 'influx-onboarding-operator',
      lease: {
        namespace: 'operator',
        identity: 'replica-1',
        store,
        leaseDurationMs: 1000,
        renewDeadlineMs: 400,
        retryPeriodMs: 100,
      },
    },
    healthProbeBindAddress: '0',
    metrics: { bindAddress: '0' },
  });
  const deps = controllerDeps(manager, loaded.config, logger, new SecretRegistry(), 'test');
  manager.register({
    name: 'things',
    for: { type: { group: 'example.com', version: 'v1', kind: 'Thing', plural: 'things' } },
    reconciler: async () => ({}),
  });
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
