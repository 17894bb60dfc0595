// A Lease kept in memory for unit tests of leadership, and the operator's controller wiring
// (controllerDeps over a Manager that campaigns for it) against a stand-in API server.
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { controllerDeps, type ControllerDeps } from '../../src/controllers/shared.js';
import { createLogger, SecretRegistry } from '../../src/log.js';
import { KubeConnection } from '../../src/runtime/connection.js';
import type { LeaseRecord, LeaseStore, StoredLease } from '../../src/runtime/leader.js';
import { Manager } from '../../src/runtime/manager.js';
import { kubeConfigFor } from './fake-api-server.js';

export interface MemoryLeaseStore extends LeaseStore {
  /** Who holds the Lease now ('' after a release). */
  holder(): string | undefined;
  /** Another replica (the test) takes the Lease, or gives it up with ''. */
  set(holder: string): void;
}

/** One Lease in memory; a write that gives it up is written down in `steps` as `lease released`. */
export function memoryLeaseStore(steps: string[] = []): MemoryLeaseStore {
  let stored: StoredLease | undefined;
  let version = 0;
  const write = (record: LeaseRecord): StoredLease => {
    stored = { record: structuredClone(record), resourceVersion: String(++version) };
    if (record.holderIdentity === '') steps.push('lease released');
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

const quietLogger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

/**
 * The operator's shared controller dependencies over a Manager that campaigns for `store`'s Lease
 * as `identity`, against the API server at `apiUrl`, with one controller that does nothing (a
 * manager needs one to start). Not started.
 */
export function wiredManager(
  apiUrl: string,
  store: LeaseStore,
  { identity = 'replica-1', leaseDurationMs = 1000, renewDeadlineMs = 400, retryPeriodMs = 100 } = {},
): { manager: Manager; deps: ControllerDeps } {
  const loaded = loadConfig(['--operator-namespace', 'operator'], {});
  if (loaded.kind !== 'run') throw new Error('the test configuration is not runnable');
  const manager = new Manager({
    connection: new KubeConnection(kubeConfigFor(apiUrl)),
    logger: quietLogger,
    namespaces: [],
    leaderElection: {
      id: 'influx-onboarding-operator',
      lease: { namespace: 'operator', identity, store, leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    },
    healthProbeBindAddress: '0',
    metrics: { bindAddress: '0' },
  });
  const deps = controllerDeps(manager, loaded.config, quietLogger, new SecretRegistry(), 'test');
  manager.register({
    name: 'things',
    for: { type: { group: 'example.com', version: 'v1', kind: 'Thing', plural: 'things' } },
    reconciler: async () => ({}),
  });
  return { manager, deps };
}
