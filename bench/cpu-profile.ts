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
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, { origin: string; us: number }>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    let origin: string;
    let where = '';
    if (frame.url.endsWith('dist/main.js')) {
      const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
      };
      origin = originOf(entry.originalSource ?? frame.url);
      where = `${(entry.originalSource ?? '').replace(/^.*?(node_modules\/|src\/)/, '$1')}:${(entry.originalLine ?? 0) + 1}`;
    } else if (frame.url.startsWith('node:')) {
      origin = 'node: internals';
      where = frame.url;
    } else origin = frame.url === '' ? frame.functionName : frame.url;
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'}${where === '' ? '' : ` ${where}`}`;
    const entry = byFunction.get(fn) ?? { origin, us: 0 };
    entry.us += us;
    byFunction.set(fn, entry);
  }
  const busyUs = totalUs - idleUs;
  const percent = (us: number): number => round((100 * us) / (busyUs || 1));
  return {
    totalMs: round(totalUs / 1000),
    busyMs: round(busyUs / 1000),
    byOrigin: [...byOrigin]
      .sort((a, b) => b[1] - a[1])
      .map(([origin, us]) => ({ origin, ms: round(us / 1000), percent: percent(us) })),
    byFunction: [...byFunction]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, { origin, us }]) => ({ fn, origin, ms: round(us / 1000), percent: percent(us) })),
  };
}
