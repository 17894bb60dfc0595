// Requests per second against an API server that closes every watch the moment it opens it.
// client-node 1.4's own informer re-watches at once (about 600 requests a second); ours backs off.
import { KubeConnection } from '../src/runtime/connection.js';
import { Informer } from '../src/runtime/informer.js';
import type { WatchRestartReason } from '../src/runtime/reflector.js';
import { kubeConfigFor, say, silentLogger, sleep, startFakeApi, type Figure } from './util.js';

export async function closingWatches(durationMs = 20_000): Promise<Figure[]> {
  say(
    `\n## Closing watches: the real Informer (operator defaults: backoff 1 s doubling to 30 s) for ${durationMs / 1000} s against a server closing every watch at once`,
  );
  const api = await startFakeApi(['closing']);
  const connection = new KubeConnection(kubeConfigFor(api.url));
  const restarts: WatchRestartReason[] = [];
  const informer = new Informer({
    getter: connection,
    resource: { group: 'influxdb.onboarding.dev', version: 'v1alpha1', plural: 'influxonboardings' },
    logger: silentLogger(),
    metrics: { watchRestarted: (reason) => restarts.push(reason) },
  });
  const started = performance.now();
  try {
    informer.start();
    const timeline: string[] = [];
    for (let second = 5; second <= durationMs / 1000; second += 5) {
      await sleep(started + second * 1000 - performance.now());
      const stats = await api.stats();
      timeline.push(`${second} s: ${stats.lists + stats.watches}`);
    }
    const elapsed = (performance.now() - started) / 1000;
    const stats = await api.stats();
    const requests = stats.lists + stats.watches;
    say(`requests so far (lists + watches) at ${timeline.join(', ')}`);
    say(
      `${requests} requests in ${elapsed.toFixed(1)} s = ${(requests / elapsed).toFixed(2)} requests/s (${stats.lists} list, ${stats.watches} watch; ${stats.connections} TCP connection(s))`,
    );
    say(`watch restarts reported: ${restarts.length} (${[...new Set(restarts)].join(', ')})`);
    return [
      {
        name: 'requests/s, every watch closed at once',
        value: `${(requests / elapsed).toFixed(2)} req/s`,
        how: `${requests} requests (${stats.lists} list + ${stats.watches} watch) in ${elapsed.toFixed(1)} s, counted by the server`,
      },
    ];
  } finally {
    await informer.stop();
    connection.close();
    await api.stop();
  }
}
