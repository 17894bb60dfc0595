// A fake Kubernetes API server for the benchmarks, run as a separate process so that its sockets,
// file descriptors and heap never count as the measured client's. Plain HTTP on 127.0.0.1.
//   node --import tsx bench/fake-api-server.ts closing        list: empty; every watch: 200 and closed at once
//   node --import tsx bench/fake-api-server.ts objects <n> [ms]  list: n InfluxOnboardings (paged, each page
//                                                            answered after ms, as a busy API server would); watches stay open
// Prints its port on the first line of stdout; answers any IPC message with its counts (so that
// reading them opens no connection that would be counted).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { influxOnboardingObjects } from './objects.js';

const [mode = 'closing', countText = '0', pageDelayText = '0'] = process.argv.slice(2);
const pageDelayMs = Number(pageDelayText);
const stats = { lists: 0, watches: 0, connections: 0, openConnections: 0 };
const objects = mode === 'objects' ? influxOnboardingObjects(Number(countText)) : [];
const openWatches = new Set<http.ServerResponse>();

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://fake');
  const watch = url.searchParams.get('watch') === '1';
  if (watch) {
    stats.watches++;
    response.writeHead(200, { 'Content-Type': 'application/json' });
    if (mode === 'closing') {
      response.end();
      return;
    }
    response.flushHeaders();
    openWatches.add(response);
    response.on('close', () => openWatches.delete(response));
    return;
  }
  stats.lists++;
  // The page is due pageDelayMs after the request came, its encoding included.
  const due = performance.now() + pageDelayMs;
  const limit = Number(url.searchParams.get('limit') ?? '500');
  const offset = Number(url.searchParams.get('continue') ?? '0');
  const page = objects.slice(offset, offset + limit);
  const next = offset + limit < objects.length ? String(offset + limit) : undefined;
  // The keys sorted, as the API server writes lists of custom resources: the list's metadata last.
  const body = JSON.stringify({
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    items: page,
    kind: 'InfluxOnboardingList',
    metadata: { resourceVersion: '100000', ...(next !== undefined && { continue: next }) },
  });
  setTimeout(
    () => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(body);
    },
    Math.max(0, due - performance.now()),
  );
});
server.on('connection', (socket) => {
  stats.connections++;
  stats.openConnections++;
  socket.on('close', () => stats.openConnections--);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
const stop = (): void => {
  for (const response of openWatches) response.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('message', () => process.send?.(stats));
// Never outlive the benchmark.
process.on('disconnect', stop);
