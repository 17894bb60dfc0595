// File descriptors after 1,000 watch reconnects through one KubeConnection: client-node 1.4 makes
// a new https.Agent per request, so sockets pile up; the shared keep-alive agent should reuse one.
import { KubeConnection } from '../src/runtime/connection.js';
import { Informer } from '../src/runtime/informer.js';
import { fileDescriptors, kubeConfigFor, say, silentLogger, sleep, startFakeApi, type Figure } from './util.js';

export async function reconnectFds(reconnects = 1000): Promise<Figure[]> {
  say(
    `\n## File descriptors across ${reconnects} watch reconnects (Informer + KubeConnection, backoff 1-2 ms, server closes each watch)`,
  );
  const api = await startFakeApi(['closing']);
  const connection = new KubeConnection(kubeConfigFor(api.url));
  const informer = new Informer({
    getter: connection,
    resource: { group: 'influxdb.onboarding.dev', version: 'v1alpha1', plural: 'influxonboardings' },
    logger: silentLogger(),
    backoffInitialMs: 1,
    backoffMaxMs: 2,
  });
  try {
    const before = fileDescriptors();
    const started = performance.now();
    informer.start();
    const deadline = Date.now() + 60_000;
    let stats = await api.stats();
    // The first watch is a connect, every later one a reconnect.
    while (stats.watches < reconnects + 1) {
      if (Date.now() > deadline) throw new Error(`only ${stats.watches} watches after 60 s`);
      await sleep(20);
      stats = await api.stats();
    }
    const seconds = (performance.now() - started) / 1000;
    const during = fileDescriptors();
    await informer.stop();
    connection.close();
    await sleep(100);
    const after = fileDescriptors();
    const final = await api.stats();
    say(
      `${final.watches - 1} reconnects (${final.watches} watches, ${final.lists} list) in ${seconds.toFixed(1)} s over ${final.connections} TCP connection(s) (counted by the server)`,
    );
    say(
      `open fds (sockets): before ${before.total} (${before.sockets}), after ${final.watches - 1} reconnects ${during.total} (${during.sockets}), after stop + close ${after.total} (${after.sockets})`,
    );
    return [
      {
        name: `fds after ${reconnects} reconnects`,
        value: `${before.total} -> ${during.total} fds (sockets ${before.sockets} -> ${during.sockets})`,
        how: `/proc/self/fd before start and after ${final.watches - 1} reconnects; ${final.connections} TCP connection(s) served them; ${after.total} fds after close`,
      },
    ];
  } finally {
    await informer.stop();
    connection.close();
    await api.stop();
  }
}
