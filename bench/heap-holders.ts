// Which collections hold a process's memory, from a heap snapshot (a .heapsnapshot file, as
// `--scale-heap <dir>` of the e2e benchmark writes them): every Map, Set and Array with many
// entries, named by what holds it (its retainer's constructor and the property, or the closure
// variable, it is held in), with its entries and the bytes that only it keeps alive (the objects
// reachable from it that nothing else holds: a lower bound of its retained size). Given two
// snapshots (say the steady state and a fresh start over the same resources), it prints the
// difference per holder: what is kept per reconciled resource beyond the caches.
//   node --max-old-space-size=8192 --import tsx bench/heap-holders.ts <snapshot> [<baseline snapshot>] [--per N]
// Names of properties and constructors only, never a string's contents (credentials are among them).
import { readFileSync } from 'node:fs';

/** The parts of V8's .heapsnapshot format these readers use. */
export interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Holding {
  holder: string;
  collections: number;
  entries: number;
  bytes: number;
}

const COLLECTIONS = new Set(['Map', 'Set', 'Array', 'WeakMap']);
/** Collections with fewer entries than this are no per-resource state. */
const MANY = 500;

/** The collections of a snapshot with at least MANY entries, summed by holder. */
export function holdings(parsed: HeapSnapshot): Map<string, Holding> {
  const { snapshot, nodes, edges, strings } = parsed;
  const nodeFields = snapshot.meta.node_fields.length;
  const edgeFields = snapshot.meta.edge_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((field) =>
    snapshot.meta.node_fields.indexOf(field),
  ) as [number, number, number, number];
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((field) =>
    snapshot.meta.edge_fields.indexOf(field),
  ) as [number, number, number];
  const nodeTypes = snapshot.meta.node_types[0];
  const edgeTypes = snapshot.meta.edge_types[0];
  const count = nodes.length / nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let node = 0, edge = 0; node < count; node++) {
    firstEdge[node] = edge;
    edge += (nodes[node * nodeFields + edgeCountAt] ?? 0) * edgeFields;
  }
  firstEdge[count] = edges.length;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const strong = (edge: number): boolean => edges[edge + edgeTypeAt] !== weak && edges[edge + edgeTypeAt] !== shortcut;
  // Strong retainers of each node, and the first one (which names a collection's holder).
  const retainers = new Uint32Array(count);
  const firstRetainer = new Int32Array(count).fill(-1);
  const retainingEdge = new Int32Array(count).fill(-1);
  for (let node = 0; node < count; node++) {
    for (let edge = firstEdge[node] ?? 0; edge < (firstEdge[node + 1] ?? 0); edge += edgeFields) {
      if (!strong(edge)) continue;
      const to = (edges[edge + toAt] ?? 0) / nodeFields;
      retainers[to] = (retainers[to] ?? 0) + 1;
      if (firstRetainer[to] === -1) {
        firstRetainer[to] = node;
        retainingEdge[to] = edge;
      }
    }
  }
  const typeOf = (node: number): string => nodeTypes[nodes[node * nodeFields + typeAt] ?? 0] ?? '?';
  const nameOf = (node: number): string => strings[nodes[node * nodeFields + nameAt] ?? 0] ?? '?';
  const edgeName = (edge: number): string => {
    const type = edgeTypes[edges[edge + edgeTypeAt] ?? 0] ?? '?';
    const name = edges[edge + edgeNameAt] ?? 0;
    return type === 'element' || type === 'hidden' ? '[]' : `${type === 'context' ? '(var) ' : '.'}${strings[name]}`;
  };
  /** What holds a node: its first retainer's kind and the edge, walking up through arrays and tables. */
  const holderOf = (node: number): string => {
    const parts: string[] = [];
    for (let at = node, depth = 0; depth < 4; depth++) {
      const parent = firstRetainer[at] ?? -1;
      if (parent < 0) break;
      parts.unshift(edgeName(retainingEdge[at] ?? 0));
      const type = typeOf(parent);
      const name = nameOf(parent);
      if ((type === 'object' && !COLLECTIONS.has(name)) || type === 'closure') {
        parts.unshift(`${type === 'closure' ? 'closure ' : ''}${name}`);
        break;
      }
      if (type === 'synthetic') break;
      at = parent;
      if (depth === 3) parts.unshift(`${type} ${name}`);
    }
    return parts.join('');
  };
  /** Bytes reachable from `start` through nodes that only one edge holds (the table of a Map, its entries' objects). */
  const exclusive = (start: number): { bytes: number; entries: number } => {
    let bytes = 0;
    let entries = 0;
    const stack = [start];
    const seen = new Set<number>([start]);
    while (stack.length > 0) {
      const node = stack.pop() as number;
      bytes += nodes[node * nodeFields + sizeAt] ?? 0;
      for (let edge = firstEdge[node] ?? 0; edge < (firstEdge[node + 1] ?? 0); edge += edgeFields) {
        if (!strong(edge)) continue;
        const to = (edges[edge + toAt] ?? 0) / nodeFields;
        if (node === start || (typeOf(node) === 'array' && typeOf(start) === 'object')) {
          if (
            edgeTypes[edges[edge + edgeTypeAt] ?? 0] === 'element' ||
            edgeTypes[edges[edge + edgeTypeAt] ?? 0] === 'hidden'
          )
            entries++;
        }
        if (seen.has(to) || (retainers[to] ?? 0) !== 1) continue;
        seen.add(to);
        stack.push(to);
      }
    }
    return { bytes, entries };
  };
  const sums = new Map<string, Holding>();
  for (let node = 0; node < count; node++) {
    if (typeOf(node) !== 'object' || !COLLECTIONS.has(nameOf(node))) continue;
    // A collection's entries sit in its table (Map, Set) or its elements (Array): count the strong edges there.
    let entries = 0;
    for (let edge = firstEdge[node] ?? 0; edge < (firstEdge[node + 1] ?? 0); edge += edgeFields) {
      const to = (edges[edge + toAt] ?? 0) / nodeFields;
      if (typeOf(to) !== 'array') continue;
      entries = Math.max(entries, ((firstEdge[to + 1] ?? 0) - (firstEdge[to] ?? 0)) / edgeFields);
    }
    if (nameOf(node) === 'Map' || nameOf(node) === 'WeakMap') entries = Math.floor(entries / 2);
    if (entries < MANY) continue;
    const holder = `${nameOf(node)} ${holderOf(node)}`;
    const sum = sums.get(holder) ?? { holder, collections: 0, entries: 0, bytes: 0 };
    sum.collections++;
    sum.entries += entries;
    sum.bytes += exclusive(node).bytes;
    sums.set(holder, sum);
  }
  // Objects by constructor too: per-resource objects in no collection (timers in their linked lists, closures).
  for (let node = 0; node < count; node++) {
    const type = typeOf(node);
    if (type !== 'object' && type !== 'closure') continue;
    const holder = `${type} ${nameOf(node)} (self sizes)`;
    const sum = sums.get(holder) ?? { holder, collections: 0, entries: 0, bytes: 0 };
    sum.entries++;
    sum.bytes += nodes[node * nodeFields + sizeAt] ?? 0;
    sums.set(holder, sum);
  }
  return sums;
}

const MIB = 1024 * 1024;

function main(argv: string[]): void {
  const perAt = argv.indexOf('--per');
  const per = perAt < 0 ? 0 : Number(argv[perAt + 1]);
  const files = argv.filter((arg, index) => !arg.startsWith('--') && index !== perAt + 1);
  const [file, baselineFile] = files;
  if (file === undefined) throw new Error('usage: heap-holders.ts <snapshot> [<baseline snapshot>] [--per N]');
  const load = (path: string): Map<string, Holding> => holdings(JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot);
  const measured = load(file);
  const baseline = baselineFile === undefined ? new Map<string, Holding>() : load(baselineFile);
  const rows = [...new Set([...measured.keys(), ...baseline.keys()])].map((holder) => {
    const now = measured.get(holder);
    const before = baseline.get(holder);
    return {
      holder,
      entries: (now?.entries ?? 0) - (before?.entries ?? 0),
      bytes: (now?.bytes ?? 0) - (before?.bytes ?? 0),
      now,
    };
  });
  rows.sort((a, b) => Math.abs(b.bytes) - Math.abs(a.bytes));
  for (const row of rows.slice(0, 40)) {
    const perResource = per > 0 ? `  ${(row.bytes / per).toFixed(0)} B/resource` : '';
    process.stdout.write(
      `${(row.bytes / MIB).toFixed(2).padStart(8)} MiB ${String(row.entries).padStart(8)} entries${perResource}  ${row.holder}${row.now === undefined ? '' : ` (${row.now.collections} collections)`}\n`,
    );
  }
}

if (process.argv[1]?.endsWith('heap-holders.ts')) main(process.argv.slice(2));
