// Full garbage collections in another Node process through its inspector (started with
// --inspect=127.0.0.1:<port>): HeapProfiler.collectGarbage over the DevTools WebSocket; then,
// printed as JSON on stdout, what V8 holds in each heap space (v8.getHeapSpaceStatistics) and
// process.memoryUsage() as that process sees them right after the collections, so that an RSS
// figure can be split into its parts; with --heap, also a heap snapshot summed by what holds the
// bytes (V8's node type and constructor name), and its strings by the property that holds them.
//   node [--experimental-websocket] --import tsx bench/inspector-gc.ts <port> [--heap] [--save <file>]
// Node 20 has the global WebSocket only behind --experimental-websocket; Node 22 has it built in
// (bench/e2e.ts passes the flag when this Node knows it).

import { writeFileSync } from 'node:fs';
import type { HeapSnapshot as Snapshot } from './heap-holders.js';

interface DevtoolsTarget {
  webSocketDebuggerUrl?: string;
}

type SocketLike = {
  addEventListener(type: 'open' | 'message' | 'error', listener: (event: { data?: unknown }) => void): void;
  send(data: string): void;
  close(): void;
};

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/**
 * String bytes summed by what holds each string: its first retainer's type and constructor, and
 * the property (or `[]` for an element, `(internal)` for a table slot) it is held in. Names of
 * properties only, never a string's contents (credentials are among them).
 */
function stringHolders(parsed: Snapshot, top = 30): Array<{ what: string; count: number; mib: number }> {
  const { snapshot, nodes, edges, strings } = parsed;
  const fields = snapshot.meta.node_fields;
  const edgeFields = snapshot.meta.edge_fields;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((field) =>
    fields.indexOf(field),
  ) as [number, number, number, number];
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((field) =>
    edgeFields.indexOf(field),
  ) as [number, number, number];
  const types = snapshot.meta.node_types[0];
  const edgeTypes = snapshot.meta.edge_types[0];
  const typeOf = (node: number): string => types[nodes[node + typeAt] ?? 0] ?? '?';
  const held = new Map<number, string>();
  let edge = 0;
  for (let node = 0; node < nodes.length; node += fields.length) {
    const count = nodes[node + edgeCountAt] ?? 0;
    const parentType = typeOf(node);
    // Not the string table nor other V8 roots (every internalized string is in the table): the object that uses it.
    const parent =
      STRING_TYPES.has(parentType) || parentType === 'synthetic'
        ? undefined
        : `${parentType} ${strings[nodes[node + nameAt] ?? 0] ?? '?'}`;
    for (let index = 0; index < count; index++, edge += edgeFields.length) {
      const to = edges[edge + toAt] ?? 0;
      const edgeType = edgeTypes[edges[edge + edgeTypeAt] ?? 0] ?? '?';
      if (parent === undefined || edgeType === 'weak' || held.has(to) || !STRING_TYPES.has(typeOf(to))) continue;
      const name =
        edgeType === 'property'
          ? `.${strings[edges[edge + edgeNameAt] ?? 0] ?? '?'}`
          : edgeType === 'element'
            ? '[]'
            : `(${edgeType})`;
      held.set(to, `${parent}${name}`);
    }
  }
  const sums = new Map<string, { count: number; bytes: number }>();
  for (const [node, what] of held) {
    const sum = sums.get(what) ?? { count: 0, bytes: 0 };
    sum.count += 1;
    sum.bytes += nodes[node + sizeAt] ?? 0;
    sums.set(what, sum);
  }
  return [...sums]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([what, { count, bytes }]) => ({ what, count, mib: Number((bytes / 1024 / 1024).toFixed(2)) }));
}

/** Self sizes summed by node type and name (constructor for objects), the largest first. */
function summary(
  { snapshot, nodes, strings }: Snapshot,
  top = 30,
): Array<{ what: string; count: number; mib: number }> {
  const fields = snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [
    number,
    number,
    number,
  ];
  const types = snapshot.meta.node_types[0];
  const sums = new Map<string, { count: number; bytes: number }>();
  for (let index = 0; index < nodes.length; index += fields.length) {
    const type = types[nodes[index + typeAt] ?? 0] ?? '?';
    // Strings by type only: their names are their contents (credentials among them).
    const what =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${type} ${strings[nodes[index + nameAt] ?? 0] ?? '?'}`
        : type;
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

const MIB = 1024 * 1024;

/** The value when it is a string, else the fallback. */
function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/**
 * Evaluated in the inspected process: its heap spaces (physical, that is resident, and used) and
 * process.memoryUsage(), in MiB. process.getBuiltinModule exists from Node 20.16 and 22.3.
 */
const HEAP_SPACES = `JSON.stringify((() => {
  const v8 = process.getBuiltinModule('node:v8');
  const mib = (bytes) => Math.round(bytes / ${MIB} * 10) / 10;
  const spaces = {};
  for (const space of v8.getHeapSpaceStatistics()) {
    spaces[space.space_name] = { physical: mib(space.physical_space_size), used: mib(space.space_used_size) };
  }
  const usage = process.memoryUsage();
  return { spaces, usage: Object.fromEntries(Object.entries(usage).map(([name, bytes]) => [name, mib(bytes)])) };
})())`;

/**
 * Runs `rounds` full collections in the process whose inspector listens on `port`, then reports
 * its heap spaces; with `heap`, also a snapshot's summary; with `save`, the snapshot itself is
 * written there (for bench/heap-holders.ts).
 */
async function collectGarbage(port: number, heap: boolean, save: string | undefined, rounds = 3): Promise<void> {
  const Socket = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (Socket === undefined)
    throw new Error('no global WebSocket: run node with --experimental-websocket (npm run bench does)');
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
  const call = (
    id: number,
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<{ result?: { result?: { value?: unknown } } }> => {
    const answered = new Promise<{ result?: { result?: { value?: unknown } } }>((resolve) => {
      socket.addEventListener('message', (event) => {
        if (typeof event.data !== 'string') return;
        const message = JSON.parse(event.data) as { id?: number; result?: { result?: { value?: unknown } } };
        if (message.id === id) resolve(message);
      });
    });
    socket.send(JSON.stringify({ id, method, params }));
    return answered;
  };
  try {
    for (let id = 1; id <= rounds; id++) await call(id, 'HeapProfiler.collectGarbage');
    const spaces = await call(rounds + 1, 'Runtime.evaluate', { expression: HEAP_SPACES, returnByValue: true });
    const report: Record<string, unknown> = JSON.parse(stringOr(spaces.result?.result?.value, '{}')) as Record<
      string,
      unknown
    >;
    if (heap || save !== undefined) {
      await call(rounds + 2, 'HeapProfiler.takeHeapSnapshot');
      if (save !== undefined) writeFileSync(save, chunks.join(''));
    }
    if (heap) {
      const parsed = JSON.parse(chunks.join('')) as Snapshot;
      report['heap'] = summary(parsed);
      report['strings'] = stringHolders(parsed);
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    socket.close();
  }
}

const saveAt = process.argv.indexOf('--save');
await collectGarbage(
  Number(process.argv[2]),
  process.argv.includes('--heap'),
  saveAt < 0 ? undefined : process.argv[saveAt + 1],
);
