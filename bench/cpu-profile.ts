// A V8 CPU profile (node --cpu-prof) of the operator, summed: self time by where the code comes
// from (our rooms in src/, each package, Node's internals, the garbage collector) and by function.
// The operator runs as one bundle (dist/main.js); its source map gives each sample's original file.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { round } from './util.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers, and the part of it the thread was busy (not idle), ms. */
  totalMs: number;
  busyMs: number;
  /** Self time by origin, highest first: `src/<room>`, a package, `node:<internals>`, `(garbage collector)`, ... (ms, % of busy). */
  byOrigin: Array<{ origin: string; ms: number; percent: number }>;
  /** The functions with the most self time. */
  byFunction: Array<{ fn: string; origin: string; ms: number; percent: number }>;
  /**
   * Self time of Node's internals and native code given to the nearest function of the bundle up
   * the stack (who made Node write that socket or parse that JSON), by that function's origin.
   */
  byCaller: Array<{ origin: string; ms: number; percent: number }>;
  /** The same, by the calling function. */
  byCallingFunction: Array<{ fn: string; origin: string; ms: number; percent: number }>;
}

/** `src/runtime`, `winston`, `@kubernetes/client-node`, from an original source path. */
function originOf(source: string): string {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (modules) return modules[1] ?? source;
  const ours = /(?:^|\/)(src\/[^/]+)(\/|$)/.exec(source);
  if (ours) return (ours[1] ?? source).replace(/\.ts$/, '');
  return source;
}

/** Microseconds of the monotonic clock V8's profiler stamps its samples with (process.hrtime's clock too). */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * Sums the profile's samples between `window.from` and `window.to` (monotonicMicros() readings of
 * the benchmark: the run, without the process's start and the benchmark's readings after it).
 */
export function summarizeProfile(
  path: string,
  sourceMapPath: string,
  window: { from: number; to: number },
  top = 20,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const map = new SourceMap(
    JSON.parse(readFileSync(sourceMapPath, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
  );
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  // A sample's time is the delta to the next sample.
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at < window.from || at > window.to) return;
    const us = profile.timeDeltas[index + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  });
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const described = new Map<number, { fn: string; origin: string; bundled: boolean }>();
  const describe = (id: number): { fn: string; origin: string; bundled: boolean } => {
    const known = described.get(id);
    if (known !== undefined) return known;
    const frame = nodes.get(id)?.callFrame ?? { functionName: '?', url: '', lineNumber: 0, columnNumber: 0 };
    let description: { fn: string; origin: string; bundled: boolean };
    if (frame.url.endsWith('dist/main.js')) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
      };
      const where = `${(entry.originalSource ?? '').replace(/^.*?(node_modules\/|src\/)/, '$1')}:${(entry.originalLine ?? 0) + 1}`;
      description = {
        fn: `${frame.functionName || '(anonymous)'} ${where}`,
        origin: originOf(entry.originalSource ?? frame.url),
        bundled: true,
      };
    } else if (frame.url.startsWith('node:'))
      description = {
        fn: `${frame.functionName || '(anonymous)'} ${frame.url}`,
        origin: 'node: internals',
        bundled: false,
      };
    else
      description = {
        fn: frame.functionName || '(anonymous)',
        origin: frame.url === '' ? frame.functionName : frame.url,
        bundled: false,
      };
    described.set(id, description);
    return description;
  };
  /** The nearest frame of the bundle at or above the node; the node itself when there is none. */
  const callerOf = (id: number): { fn: string; origin: string } => {
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const description = describe(at);
      if (description.bundled) return description;
    }
    return describe(id);
  };
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, { origin: string; us: number }>();
  const byCaller = new Map<string, number>();
  const byCallingFunction = new Map<string, { origin: string; us: number }>();
  const add = (into: Map<string, { origin: string; us: number }>, fn: string, origin: string, us: number): void => {
    const entry = into.get(fn) ?? { origin, us: 0 };
    entry.us += us;
    into.set(fn, entry);
  };
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const { fn, origin } = describe(id);
    if (fn === '(idle)') {
      idleUs += us;
      continue;
    }
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
    add(byFunction, fn, origin, us);
    const caller = callerOf(id);
    byCaller.set(caller.origin, (byCaller.get(caller.origin) ?? 0) + us);
    add(byCallingFunction, caller.fn, caller.origin, us);
  }
  const busyUs = totalUs - idleUs;
  const percent = (us: number): number => round((100 * us) / (busyUs || 1));
  const topFunctions = (
    from: Map<string, { origin: string; us: number }>,
  ): Array<{ fn: string; origin: string; ms: number; percent: number }> =>
    [...from]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, { origin, us }]) => ({ fn, origin, ms: round(us / 1000), percent: percent(us) }));
  return {
    totalMs: round(totalUs / 1000),
    busyMs: round(busyUs / 1000),
    byOrigin: [...byOrigin]
      .sort((a, b) => b[1] - a[1])
      .map(([origin, us]) => ({ origin, ms: round(us / 1000), percent: percent(us) })),
    byFunction: topFunctions(byFunction),
    byCaller: [...byCaller]
      .sort((a, b) => b[1] - a[1])
      .map(([origin, us]) => ({ origin, ms: round(us / 1000), percent: percent(us) })),
    byCallingFunction: topFunctions(byCallingFunction),
  };
}
