// Heap taken by the informer cache for 10,000 InfluxOnboardings, with the default transform
// (dropBookkeeping: managedFields and kubectl's last-applied annotation removed) and without it.
// The objects come from a fake API server process as paged lists, parsed as the operator parses them.
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeConnection } from '../src/runtime/connection.js';
import { dropBookkeeping } from '../src/runtime/cached-object.js';
import { Informer } from '../src/runtime/informer.js';
import { influxOnboardingObject } from './objects.js';
import { heapUsedAfterGc, kubeConfigFor, mib, say, silentLogger, startFakeApi, type Figure } from './util.js';

interface Measured {
  bytes: number;
  seconds: number;
}

async function measure(
  url: string,
  count: number,
  transform: (object: KubernetesObject) => KubernetesObject,
): Promise<Measured> {
  const connection = new KubeConnection(kubeConfigFor(url));
  const informer = new Informer({
    getter: connection,
    resource: { group: 'influxdb.onboarding.dev', version: 'v1alpha1', plural: 'influxonboardings' },
    logger: silentLogger(),
    transform,
  });
  const baseline = await heapUsedAfterGc();
  const started = performance.now();
  informer.start();
  await informer.waitForSync();
  const seconds = (performance.now() - started) / 1000;
  if (informer.list().length !== count) throw new Error(`cached ${informer.list().length} objects, expected ${count}`);
  const loaded = await heapUsedAfterGc();
  await informer.stop();
  connection.close();
  return { bytes: loaded - baseline, seconds };
}

export async function cacheMemory(count = 10_000): Promise<Figure[]> {
  say(
    `\n## Cache memory for ${count.toLocaleString('en')} InfluxOnboardings (heap used after GC, before and after the informer synced)`,
  );
  const sample = Array.from({ length: 200 }, (_, index) => influxOnboardingObject(index * 37));
  const jsonBytes = sample.reduce((sum, object) => sum + JSON.stringify(object).length, 0) / sample.length;
  const trimmedBytes =
    sample.reduce(
      (sum, object) => sum + JSON.stringify(dropBookkeeping(structuredClone(object) as KubernetesObject)).length,
      0,
    ) / sample.length;
  say(
    `object size as served: ${Math.round(jsonBytes)} bytes of JSON (${Math.round(trimmedBytes)} after dropBookkeeping)`,
  );
  const api = await startFakeApi(['objects', String(count)]);
  try {
    const trimmed = await measure(api.url, count, dropBookkeeping);
    const untrimmed = await measure(api.url, count, (object) => object);
    const perObject = (bytes: number): number => Math.round(bytes / count);
    say(
      `with dropBookkeeping (default): ${mib(trimmed.bytes)} = ${perObject(trimmed.bytes)} bytes/object (listed and cached in ${trimmed.seconds.toFixed(1)} s)`,
    );
    say(
      `without trimming:               ${mib(untrimmed.bytes)} = ${perObject(untrimmed.bytes)} bytes/object (listed and cached in ${untrimmed.seconds.toFixed(1)} s)`,
    );
    say(`trimming saves ${(100 * (1 - trimmed.bytes / untrimmed.bytes)).toFixed(0)}% of the cache's heap`);
    return [
      {
        name: `cache heap, ${count} objects, trimmed`,
        value: `${mib(trimmed.bytes)} (${perObject(trimmed.bytes)} B/object)`,
        how: `heapUsed after GC, synced informer minus before; objects ~${Math.round(jsonBytes)} B JSON`,
      },
      {
        name: `cache heap, ${count} objects, untrimmed`,
        value: `${mib(untrimmed.bytes)} (${perObject(untrimmed.bytes)} B/object)`,
        how: 'same, with an identity transform (managedFields and last-applied kept)',
      },
    ];
  } finally {
    await api.stop();
  }
}
