// Full garbage collections in another Node process through its inspector (started with
// --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage over the DevTools WebSocket; with
// --heap, then a heap snapshot summed by what holds the bytes (V8's node type and constructor
// name), printed as JSON on stdout.
//   node [--experimental-websocket] --import tsx bench/inspector-gc.ts <port> [--heap]
// Node 20 has the global WebSocket only behind --experimental-websocket; Node 22 has it built in
// (bench/e2e.ts passes the flag when this Node knows it).

interface DevtoolsTarget {
  webSocketDebuggerUrl?: string;
}

type SocketLike = {
  addEventListener(type: 'open' | 'message' | 'error', listener: (event: { data?: unknown }) => void): void;
  send(data: string): void;
  close(): void;
};

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self sizes summed by node type and name (constructor for objects), the largest first. */
function summary(text: string, top = 30): Array<{ what: string; count: number; mib: number }> {
  const { snapshot, nodes, strings } = JSON.parse(text) as Snapshot;
  const fields = snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const types = snapshot.meta.node_types[0];
  const sums = new Map<string, { count: number; bytes: number }>();
  for (let index = 0; index < nodes.length; index += fields.length) {
    const type = types[nodes[index + typeAt] ?? 0] ?? '?';
    // Strings by type only: their names are their contents (credentials among them).
    const what = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${strings[nodes[index + nameAt] ?? 0] ?? '?'}` : type;
    const sum = sums.get(what) ?? { count: 0, bytes: 0 };
    sum.count += 1;
    sum.bytes += nodes[index + sizeAt] ?? 0;
    sums.set(what, sum);
  }
  return [...sums]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([what, { count, bytes }]) => ({ what, count, mib: Number((bytes / 1024 / 1024).toFixed(2)) }));
}

/** Runs `rounds` full collections in the process whose inspector listens on `port`; with `heap`, then a snapshot's summary. */
async function collectGarbage(port: number, heap: boolean, rounds = 3): Promise<void> {
  const Socket = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (Socket === undefined) throw new Error('no global WebSocket: run node with --experimental-websocket (npm run bench does)');
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as DevtoolsTarget[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const socket = new Socket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () => reject(new Error(`inspector WebSocket ${url} failed`)));
  });
  const chunks: string[] = [];
  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    const message = JSON.parse(event.data) as { method?: string; params?: { chunk?: string } };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params?.chunk ?? '');
  });
  const call = (id: number, method: string): Promise<void> => {
    const answered = new Promise<void>((resolve) => {
      socket.addEventListener('message', (event) => {
        if (typeof event.data === 'string' && (JSON.parse(event.data) as { id?: number }).id === id) resolve();
      });
    });
    socket.send(JSON.stringify({ id, method }));
    return answered;
  };
  try {
    for (let id = 1; id <= rounds; id++) await call(id, 'HeapProfiler.collectGarbage');
    if (heap) {
      await call(rounds + 1, 'HeapProfiler.takeHeapSnapshot');
      process.stdout.write(`${JSON.stringify(summary(chunks.join('')))}\n`);
    }
  } finally {
    socket.close();
  }
}

await collectGarbage(Number(process.argv[2]), process.argv.includes('--heap'));
