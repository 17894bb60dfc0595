// The operator's own share of a start: an informer lists N InfluxOnboardings (500 a page) from a
// fake API server that answers each page after a fixed time, as the real one takes its time per
// page at scale (about 100 ms at 50,000 through the benchmark's tap, docs/cost-curve.md). The
// server's part is pages x that time; what the informer takes beyond it (reading, parsing and
// filing pages it could not overlap with the server's work) is the operator's share.
import { KubeConnection } from '../src/runtime/connection.js';
import { Informer } from '../src/runtime/informer.js';
import { kubeConfigFor, round, say, silentLogger, startFakeApi, type Figure } from './util.js';

const PAGE_SIZE = 500;

async function syncOnce(url: string): Promise<number> {
  const connection = new KubeConnection(kubeConfigFor(url));
  const informer = new Informer({
    getter: connection,
    resource: { group: 'influxdb.onboarding.dev', version: 'v1alpha1', plural: 'influxonboardings' },
    logger: silentLogger(),
  });
  const started = performance.now();
  informer.start();
  await informer.waitForSync();
  const ms = performance.now() - started;
  await informer.stop();
  connection.close();
  return ms;
}

export async function listPages(counts = [10_000, 50_000], pageDelayMs = 50, runs = 3): Promise<Figure[]> {
  say(`\n## The informer's list of N InfluxOnboardings, each page of ${PAGE_SIZE} answered after ${pageDelayMs} ms`);
  const figures: Figure[] = [];
  for (const count of counts) {
    const api = await startFakeApi(['objects', String(count), String(pageDelayMs)]);
    try {
      const server = Math.ceil(count / PAGE_SIZE) * pageDelayMs;
      const times: number[] = [];
      for (let run = 0; run < runs; run++) times.push(await syncOnce(api.url));
      const best = Math.min(...times);
      say(
        `${count}: synced in ${times.map((ms) => round(ms)).join(', ')} ms; the server's part ${server} ms; the informer's own ${round(best - server)} ms (best run)`,
      );
      figures.push({
        name: `list ${count} objects, ${pageDelayMs} ms per page: the informer's own share`,
        value: `${round(best - server)} ms`,
        how: `synced in ${round(best)} ms (best of ${runs}) less the server's ${server} ms`,
      });
    } finally {
      await api.stop();
    }
  }
  return figures;
}
