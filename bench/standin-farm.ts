// A child process of the e2e benchmark (bench/farm.ts starts it): N InfluxDB stand-ins
// (test/support/influx-standin.ts), one per port of one loopback address, each answering after
// --latency ms, so N resources onboard N instances. It runs apart from the benchmark so that neither
// the operator's nor the floor's CPU time is spent serving InfluxDB.
//   node --import tsx bench/standin-farm.ts <latency ms> <address>
// Messages over IPC: {start: n, hostEach?: k} -> {urls} (hostEach: each stand-in on an address of its
// own, 127.<k>.<i / 250>.<i % 250 + 1>, as N Services are N hosts); 'counts' -> requests by endpoint since start; 'mark' ->
// notes each stand-in's requests so far; 'spread' -> how many stand-ins got how many requests since
// the mark; 'stop' -> exits.
import { startInfluxStandin, type InfluxStandin } from '../test/support/influx-standin.js';

const latencyMs = Number(process.argv[2] ?? '20');
const host = process.argv[3] ?? '127.0.0.1';
let standins: InfluxStandin[] = [];
let marks: number[] = [];

/** 'GET /api/v2/buckets/{id}' from 'GET /api/v2/buckets/0a1b...?x=y'. */
function endpointOf(method: string, path: string): string {
  const pathname = path.split('?')[0] ?? path;
  return `${method} ${pathname.replace(/\/[0-9a-f]{16}(?=\/|$)/g, '/{id}')}`;
}

function counts(): Record<string, number> {
  const byEndpoint: Record<string, number> = {};
  for (const standin of standins) {
    for (const request of standin.requests) {
      const endpoint = endpointOf(request.method, request.path);
      byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
    }
  }
  return byEndpoint;
}

/** Stand-ins by the number of requests they got since the mark: {'1': 9998, '2': 2}. */
function spread(): Record<string, number> {
  const byCount: Record<string, number> = {};
  standins.forEach((standin, index) => {
    const count = standin.requests.length - (marks[index] ?? 0);
    byCount[count] = (byCount[count] ?? 0) + 1;
  });
  return byCount;
}

/** The address of the index-th stand-in when each has its own, in 127.<octet>.0.0/16. */
const ownAddress = (octet: number, index: number): string =>
  `127.${octet}.${Math.floor(index / 250)}.${(index % 250) + 1}`;

process.on('message', (message: { start?: number; hostEach?: number } | 'counts' | 'mark' | 'spread' | 'stop') => {
  void (async () => {
    if (message === 'counts') {
      process.send?.({ counts: counts() });
      return;
    }
    if (message === 'mark') {
      marks = standins.map((standin) => standin.requests.length);
      process.send?.({ marked: true });
      return;
    }
    if (message === 'spread') {
      process.send?.({ spread: spread() });
      return;
    }
    if (message === 'stop') {
      await Promise.all(standins.map((standin) => standin.close()));
      process.exit(0);
    }
    await Promise.all(standins.map((standin) => standin.close()));
    const count = message.start ?? 0;
    const { hostEach } = message;
    const hostOf = (index: number): string => (hostEach === undefined ? host : ownAddress(hostEach, index));
    standins = [];
    marks = [];
    // Started in batches: thousands of listen() calls at once gain nothing.
    for (let index = 0; index < count; index += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, count - index) }, (_, offset) =>
          startInfluxStandin({ host: hostOf(index + offset) }),
        ),
      );
      for (const standin of batch) standin.knobs.latencyMs = latencyMs;
      standins.push(...batch);
    }
    process.send?.({ urls: standins.map((standin) => standin.url) });
  })();
});
// A benchmark that dies leaves no farm behind.
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
