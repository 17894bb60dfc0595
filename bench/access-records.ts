// The access records at the project's scale (docs/tenants.md, point 4): 50,000 InfluxBuckets and
// InfluxTokens in 1,000 namespaces under one onboarding, kept by the AccessRecords store over an
// in-memory API (ConfigMaps with versions and 409s, as the API server keeps them). Figures: API
// calls to create them and to read them all back, the heap the store holds, and the size of a full
// record (the most one namespace may have) against the API server's 1 MiB object limit.
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node';
import {
  EMPTY_RECORD,
  MAX_RECORD_BYTES,
  applyRecordChange,
  recordBytes,
  type AccessRecord,
} from '../src/api/access-records.js';
import { AccessRecords } from '../src/kube/access-records.js';
import { heapUsedAfterGc, say, type Figure } from './util.js';

const NAMESPACES = 1000;
const PER_NAMESPACE = 50;
const ONBOARDING = { namespace: 'monitoring', name: 'influxdb' };

function inMemoryCore(): { core: CoreV1Api; calls: Record<string, number>; maps: Map<string, V1ConfigMap> } {
  const maps = new Map<string, V1ConfigMap>();
  const calls: Record<string, number> = { get: 0, create: 0, update: 0 };
  let version = 0;
  const stored = (body: V1ConfigMap): V1ConfigMap => ({
    ...body,
    metadata: { ...body.metadata, resourceVersion: String(++version) },
  });
  const core = {
    async readNamespacedConfigMap({ name }: { name: string }) {
      calls.get = (calls.get ?? 0) + 1;
      const found = maps.get(name);
      if (found === undefined) throw new ApiException(404, 'not found', '{}', {});
      return found;
    },
    async createNamespacedConfigMap({ body }: { body: V1ConfigMap }) {
      calls.create = (calls.create ?? 0) + 1;
      const map = stored(body);
      maps.set(body.metadata?.name ?? '', map);
      return map;
    },
    async replaceNamespacedConfigMap({ name, body }: { name: string; body: V1ConfigMap }) {
      calls.update = (calls.update ?? 0) + 1;
      if (maps.get(name)?.metadata?.resourceVersion !== body.metadata?.resourceVersion)
        throw new ApiException(409, 'conflict', '{}', {});
      const map = stored(body);
      maps.set(name, map);
      return map;
    },
  };
  return { core: core as unknown as CoreV1Api, calls, maps };
}

const uid = (namespace: number, index: number, kind: string) =>
  `${kind}${String(namespace).padStart(4, '0')}-${String(index).padStart(4, '0')}-4c5e-9d1a-7f0b2c3d4e5f`.slice(0, 36);

/** The heap after `drop` let go of something (a separate step, so the dropped value is provably unreachable). */
async function heapWithout(drop: () => void): Promise<number> {
  drop();
  return heapUsedAfterGc();
}

export async function accessRecords(): Promise<Figure[]> {
  say(
    `\n## access records: ${(NAMESPACES * PER_NAMESPACE).toLocaleString('en')} resources in ${NAMESPACES} namespaces`,
  );
  const { core, calls, maps } = inMemoryCore();
  let records: AccessRecords | undefined = new AccessRecords(core, {
    namespaceOf: () => 'operator',
    maxAgeMs: 600_000,
  });
  const started = performance.now();
  for (let namespace = 0; namespace < NAMESPACES; namespace++) {
    const key = { onboarding: ONBOARDING, namespace: `team-${namespace}` };
    const store = records;
    await store.change(key, { kind: 'user', userID: '0123456789abcdef' });
    for (let index = 0; index < PER_NAMESPACE / 2; index++) {
      // A bucket: its intent, then its ID; a token: once.
      await store.change(key, {
        kind: 'bucket',
        uid: uid(namespace, index, 'b'),
        bucket: { name: `team-${namespace}.bucket-${index}` },
      });
      await store.change(key, {
        kind: 'bucket',
        uid: uid(namespace, index, 'b'),
        bucket: { name: `team-${namespace}.bucket-${index}`, id: '0123456789abcdef' },
      });
      await store.change(key, { kind: 'token', uid: uid(namespace, index, 't'), name: `token-${index}` });
    }
  }
  const writeMs = performance.now() - started;
  const writes = (calls.create ?? 0) + (calls.update ?? 0);
  say(
    `created: ${writes.toLocaleString('en')} writes and ${(calls.get ?? 0).toLocaleString('en')} reads in ${(writeMs / 1000).toFixed(1)} s`,
  );
  const readsBefore = calls.get ?? 0;
  for (let round = 0; round < 5; round++)
    for (let namespace = 0; namespace < NAMESPACES; namespace++)
      await records.read({ onboarding: ONBOARDING, namespace: `team-${namespace}` });
  const steadyReads = (calls.get ?? 0) - readsBefore;
  // What the store holds: the heap with it, less the heap without it (the fake API's own copies stay in both).
  const withStore = await heapUsedAfterGc();
  const held = withStore - (await heapWithout(() => (records = undefined)));
  say(`5 reconciles of every namespace within the max age: ${steadyReads} API reads`);
  const bytes = [...maps.values()].reduce((sum, map) => sum + JSON.stringify(map.data).length, 0);
  say(
    `stored: ${maps.size} ConfigMaps, ${(bytes / 1024 / 1024).toFixed(1)} MiB of data; held in memory: ${(held / 1024 / 1024).toFixed(1)} MiB`,
  );

  // The most one namespace may hold: entries until the record refuses one, with typical names and with the longest.
  const fill = (name: (index: number) => string): { entries: number; bytes: number } => {
    let full: AccessRecord = EMPTY_RECORD;
    for (let index = 0; ; index++) {
      const applied = applyRecordChange(full, {
        kind: 'bucket',
        uid: uid(9999, index, 'b'),
        bucket: { name: name(index), id: '0123456789abcdef', adopted: true },
      });
      if (!applied.ok) return { entries: index, bytes: recordBytes(full) };
      full = applied.record;
    }
  };
  const typical = fill((index) => `team-${index % 1000}.bucket-${index}`);
  const longest = fill((index) => `${String(index).padStart(6, '0')}${'x'.repeat(250)}`);
  say(
    `a full record: ${typical.entries.toLocaleString('en')} typical entries or ${longest.entries.toLocaleString('en')} with 256-character names, ${(longest.bytes / 1024).toFixed(0)} KiB of the 1024 KiB an object may have`,
  );
  return [
    {
      name: 'access records: writes to create 50,000 resources',
      value: `${writes.toLocaleString('en')} writes`,
      how: `${NAMESPACES} namespaces x (1 user + 25 buckets x 2 + 25 tokens x 1); ${(writeMs / 1000).toFixed(1)} s against an in-memory API`,
    },
    {
      name: 'access records: API reads per reconcile in steady state',
      value: `${(steadyReads / (5 * NAMESPACES)).toFixed(2)}`,
      how: `${steadyReads} reads for ${(5 * NAMESPACES).toLocaleString('en')} record reads within --resync-period`,
    },
    {
      name: 'access records: heap held for 50,000 entries',
      value: `${(held / 1024 / 1024).toFixed(1)} MiB`,
      how: `${Math.round(held / (NAMESPACES * PER_NAMESPACE))} bytes per entry, after GC`,
    },
    {
      name: 'access records: a full record',
      value: `${typical.entries.toLocaleString('en')} / ${longest.entries.toLocaleString('en')} entries`,
      how: `typical / 256-character names; at most ${(MAX_RECORD_BYTES / 1024).toFixed(0)} KiB of the 1 MiB an object may have`,
    },
  ];
}
