// How much memory a Node process (the operator) holds once garbage is collected: full collections
// through its inspector (bench/inspector-gc.ts; the process runs with --inspect=127.0.0.1:<port>),
// then its resident set from /proc. The benchmark's figures and the memory-bound tests use it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const gcScript = fileURLToPath(new URL('../../bench/inspector-gc.ts', import.meta.url));
const MIB = 1024 * 1024;

/** Resident set figures of a process from /proc/<pid>/status (VmRSS, RssAnon, RssFile, ...), in bytes. */
export function residentBytes(pid: number): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const match = /^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(line);
    if (match) figures[match[1] ?? ''] = Number(match[2]) * 1024;
  }
  return figures;
}

export type HeapByKind = Array<{ what: string; count: number; mib: number }>;

/** What bench/inspector-gc.ts reports from inside the process right after its collections (MiB). */
export interface InspectorReport {
  spaces: Record<string, { physical: number; used: number }>;
  usage: Record<string, number>;
  heap?: HeapByKind;
  strings?: HeapByKind;
}

/** Full collections in the process whose inspector listens on `inspectorPort`; `--heap` adds a snapshot's summary. */
export async function inspectorGc(inspectorPort: number, extra: string[] = []): Promise<InspectorReport> {
  const websocket = process.allowedNodeEnvironmentFlags.has('--experimental-websocket')
    ? ['--experimental-websocket']
    : [];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [...websocket, '--no-warnings', '--import', 'tsx', gcScript, String(inspectorPort), ...extra],
      { maxBuffer: 1 << 24 },
      (error, output) => (error ? reject(new Error(error.message, { cause: error })) : resolve(output)),
    ),
  );
  return JSON.parse(stdout) as InspectorReport;
}

/** RSS after GC and its parts: anonymous (heaps, malloc) and file-backed (the node binary, libraries), with V8's heap spaces. */
export interface MemoryAfterGc {
  rssMiB: number;
  rssAnonMiB: number;
  rssFileMiB: number;
  /** Resident (physical) MiB of each V8 heap space. */
  heapSpaces: Record<string, number>;
  /** process.memoryUsage() right after the collections, MiB. */
  usage: Record<string, number>;
}

/** RSS after full garbage collections in the process (through its inspector), the lowest of a few samples after them. */
export async function memoryAfterGc(pid: number, inspectorPort: number): Promise<MemoryAfterGc> {
  const report = await inspectorGc(inspectorPort);
  let lowest: Record<string, number> = {};
  for (let sample = 0; sample < 8; sample++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const figures = residentBytes(pid);
    if (lowest['VmRSS'] === undefined || (figures['VmRSS'] ?? 0) < lowest['VmRSS']) lowest = figures;
  }
  const mib = (name: string): number => Math.round(((lowest[name] ?? 0) / MIB) * 10) / 10;
  return {
    rssMiB: mib('VmRSS'),
    rssAnonMiB: mib('RssAnon'),
    rssFileMiB: mib('RssFile'),
    heapSpaces: Object.fromEntries(Object.entries(report.spaces).map(([name, space]) => [name, space.physical])),
    usage: report.usage,
  };
}
