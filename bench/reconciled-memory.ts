// What the operator keeps per *reconciled* InfluxOnboarding beyond its caches (docs/cost-curve.md,
// the 50,000 goal): the heap each piece of per-resource state takes after one reconcile of N
// resources, built with the operator's own classes and values shaped as a reconcile leaves them
// (keys made afresh per reconcile, credentials decoded from the Secret's base64). In-process, no
// servers: the figures are bytes per resource, heap used after GC, before and after.
import { randomBytes } from 'node:crypto';
import { SecretRegistry } from '../src/log.js';
import { ClusterDirectory, type IndexedCache } from '../src/kube/cluster-directory.js';
import { inputsOf, type CheckInputs } from '../src/onboarding/drift-schedule.js';
import { DriftSchedule } from '../src/runtime/drift-schedule.js';
import { rememberedReach } from '../src/onboarding/instance.js';
import type { Facts } from '../src/onboarding/facts.js';
import { CredentialMemory } from '../src/onboarding/memory.js';
import { requestKey } from '../src/runtime/keys.js';
import { WorkQueue } from '../src/runtime/queue.js';
import type { InfluxOnboarding } from '../src/api/types.js';
import { heapUsedAfterGc, say, type Figure } from './util.js';

const DRIFT_MS = 300_000;
const SWEEP_MS = 600_000;

/** One resource as the cache holds it: what the pieces below read of it. */
function resource(index: number): InfluxOnboarding {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: {
      namespace: 'bench-scale',
      name: `onboarding-${index}`,
      uid: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      resourceVersion: String(100_000 + index),
    },
    spec: { url: `http://127.0.0.${1 + (index % 5)}:${20_000 + index}`, username: 'admin', org: 'acme', bucket: 'b' },
  } as unknown as InfluxOnboarding;
}

/** The version of each resource's Secret, as the Secret cache holds it (not counted: the cache is not what is measured). */
const secretVersions = new WeakMap<InfluxOnboarding, string>();

/** The Secret's data as the cache holds it (base64), decoded afresh as each reconcile decodes it. */
function decoded(text: string): string {
  return Buffer.from(Buffer.from(text).toString('base64'), 'base64').toString('utf8');
}

interface Piece {
  name: string;
  /** Keeps what one reconcile of each resource leaves; returns what holds it (kept alive until measured). */
  build(resources: readonly InfluxOnboarding[]): unknown;
}

const key = (object: InfluxOnboarding): string =>
  requestKey({ namespace: object.metadata.namespace, name: object.metadata.name });

const PIECES: Piece[] = [
  {
    name: "the controller queue's drift requeue (WorkQueue.addAfter)",
    build(resources) {
      const queue = new WorkQueue({ clock: { now: () => Date.now(), schedule: () => () => undefined } });
      for (const object of resources) queue.addAfter(key(object), DRIFT_MS * (1 + Math.random() * 0.1));
      return queue;
    },
  },
  {
    name: "the token sweep's requeue (a second WorkQueue)",
    build(resources) {
      const queue = new WorkQueue({ clock: { now: () => Date.now(), schedule: () => () => undefined } });
      for (const object of resources) queue.addAfter(key(object), SWEEP_MS);
      return queue;
    },
  },
  {
    name: 'the drift schedule (DriftSchedule.checked)',
    build(resources) {
      const schedule = new DriftSchedule<CheckInputs>(() => new Date());
      for (const object of resources) {
        // What inputsOf reads of a reconcile's facts: the resource, its Secret (the cache's copy), its references.
        const facts = {
          resource: object,
          secret: { state: 'owned', resourceVersion: secretVersions.get(object) },
          references: {},
          duplicateOf: undefined,
          notPermitted: undefined,
        } as unknown as Facts;
        schedule.checked(key(object), inputsOf(facts), DRIFT_MS);
      }
      return schedule;
    },
  },
  {
    name: 'the credential memory with the log redaction (CredentialMemory.remember, SecretRegistry)',
    build(resources) {
      const registry = new SecretRegistry();
      const memory = new CredentialMemory(registry);
      for (const object of resources) {
        const token = randomBytes(64).toString('base64url').slice(0, 86) + '==';
        const password = randomBytes(24).toString('base64url');
        memory.remember(key(object), object, {
          credentials: { username: decoded('admin'), password: decoded(password), token: decoded(token) },
          target: { url: decoded(object.spec.url), tls: 'system' },
        });
      }
      return { registry, memory };
    },
  },
  {
    name: "where each resource leads (rememberedReach: its instance's key, URL and mode)",
    build(resources) {
      const empty: IndexedCache = { get: () => undefined, byIndex: () => [], changes: 0 };
      const reach = rememberedReach(new ClusterDirectory(empty, empty), {
        clusterDomain: 'cluster.local',
        allowedTargets: [],
      });
      for (const object of resources) if (reach(object) === undefined) throw new Error('no reach');
      return reach;
    },
  },
];

export async function reconciledMemory(count = 10_000): Promise<Figure[]> {
  say(`\n## What one reconcile of each of ${count.toLocaleString('en')} InfluxOnboardings leaves (heap used after GC)`);
  const resources = Array.from({ length: count }, (_, index) => resource(index));
  for (const [index, object] of resources.entries()) secretVersions.set(object, String(200_000 + index));
  const figures: Figure[] = [];
  let total = 0;
  // Everything built stays until the end: a piece let go while the next is measured would count against it.
  const built: unknown[] = [];
  for (const piece of PIECES) {
    const before = await heapUsedAfterGc();
    built.push(piece.build(resources));
    const after = await heapUsedAfterGc();
    const perResource = Math.round((after - before) / count);
    total += perResource;
    say(`${String(perResource).padStart(6)} B/resource  ${piece.name}`);
    figures.push({
      name: `per reconciled resource: ${piece.name}`,
      value: `${perResource} B`,
      how: `${count} resources`,
    });
  }
  if (built.length !== PIECES.length) throw new Error('a piece built nothing');
  say(`${String(total).padStart(6)} B/resource  together`);
  figures.push({ name: 'per reconciled resource, together', value: `${total} B`, how: `${count} resources` });
  return figures;
}
