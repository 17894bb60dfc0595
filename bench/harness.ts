// What every part of the end-to-end benchmark shares: the control plane behind the API tap, the
// stand-in farm, the benchmark's own client; the operator as the production process (with its
// inspector, so the benchmark can have it collect garbage, and optionally a CPU profile written at
// its graceful exit); its memory; and the creations of many resources at once.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiTap } from '../test/support/api-tap.js';
import type { ControlPlane } from '../test/support/controlplane.js';
import { shippedProcess } from '../test/support/dockerfile.js';
import { startOperator, type RunningOperator } from '../test/support/operator.js';
import {
  inspectorGc,
  memoryAfterGc as memoryOfProcess,
  residentBytes,
  type HeapByKind,
  type MemoryAfterGc,
} from '../test/support/process-memory.js';
import { freePorts } from '../test/support/processes.js';
import type { Farm } from './farm.js';
import { BENCH_MANAGER, GROUP_PATH, type Kube } from './kube.js';
import type { ReadyWatch } from './observers.js';
import { sleep } from './util.js';

export const root = fileURLToPath(new URL('..', import.meta.url));

export interface Bench {
  controlPlane: ControlPlane;
  tap: ApiTap;
  kube: Kube;
  farm: Farm;
  /** Node options for the operator process (as a chart would put them in NODE_OPTIONS). */
  operatorNodeOptions: string[];
  /** Where operators started with a CPU profile write it (--cpu-prof-dir). */
  profileDir: string;
  namespaces: number;
}

export async function newNamespace(bench: Bench, what: string): Promise<string> {
  const name = `bench-${what}-${++bench.namespaces}-${randomBytes(2).toString('hex')}`;
  await bench.kube.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export const collection = (namespace: string, plural: string): string =>
  `${GROUP_PATH}/namespaces/${namespace}/${plural}`;

export const onboardingManifest = (namespace: string, name: string, url: string): Record<string, unknown> => ({
  apiVersion: 'influxdb.onboarding.dev/v1alpha1',
  kind: 'InfluxOnboarding',
  metadata: { name, namespace },
  spec: { url, username: 'admin', org: 'acme', bucket: 'metrics' },
});

export async function inParallel<T>(
  items: readonly T[],
  parallelism: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallelism, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index], index);
      }
    }),
  );
}

/**
 * Creates one resource per item, as `kubectl apply` of many would (`parallelism` in flight), with
 * the benchmark's field manager; each create's answer is noted in the watch's `created`.
 */
export async function createAll<T>(
  bench: Bench,
  watch: ReadyWatch,
  collectionPath: string,
  items: readonly T[],
  manifest: (name: string, item: T) => Record<string, unknown>,
  parallelism: number,
): Promise<void> {
  await inParallel(items, parallelism, async (item, index) => {
    const name = `r-${index}`;
    await bench.kube.call('POST', `${collectionPath}?fieldManager=${BENCH_MANAGER}`, manifest(name, item));
    watch.created.set(name, performance.now());
  });
}

/** The production process, with its inspector on a local port so the benchmark can have it collect garbage. */
export interface BenchOperator {
  process: RunningOperator;
  inspectorPort: number;
  /** Set when it was started with a CPU profile: the profile's file name, written when it exits gracefully. */
  profileName?: string;
}

export interface OperatorStart {
  namespace: string;
  concurrency: number;
  args?: string[];
  /** Writes a CPU profile (node --cpu-prof) when stopped with stopOperator. */
  profile?: string;
  /** Resolves once /readyz answers 200 (default); false: at once, for timing the start. */
  waitForReady?: boolean;
  /** Another bundle than the build's dist/main.js (an A/B of two builds on one cluster). */
  bundle?: string;
}

/**
 * `node dist/main.js` as the image runs it (the Dockerfile's ENTRYPOINT options and ENV, the one
 * place they are set), plus --operator-node-options, with its inspector on a local port.
 */
export async function startBenchOperator(bench: Bench, start: OperatorStart): Promise<BenchOperator> {
  const [inspectorPort = 0] = await freePorts(1);
  const shipped = shippedProcess(readFileSync(`${root}Dockerfile`, 'utf8'));
  const profileName = start.profile === undefined ? undefined : `${start.profile}.cpuprofile`;
  const process_ = await startOperator({
    kubeconfigPath: bench.tap.kubeconfigPath,
    command: [
      process.execPath,
      ...shipped.nodeOptions,
      ...bench.operatorNodeOptions,
      `--inspect=127.0.0.1:${inspectorPort}`,
      ...(profileName === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${bench.profileDir}`, `--cpu-prof-name=${profileName}`]),
      start.bundle ?? `${root}${shipped.script}`,
    ],
    env: shipped.env,
    name: `bench-${start.namespace}-${Date.now()}`,
    args: [
      `--namespaces=${start.namespace}`,
      `--concurrency=${start.concurrency}`,
      '--log-level=info',
      ...(start.args ?? []),
    ],
  });
  if (start.waitForReady ?? true) await process_.waitForReady(60_000);
  return { process: process_, inspectorPort, ...(profileName !== undefined && { profileName }) };
}

/** SIGTERM and the graceful exit that writes a CPU profile; the profile's path when one was asked for. */
export async function stopOperator(bench: Bench, operator: BenchOperator): Promise<string | undefined> {
  const exit = await operator.process.terminate();
  if (exit !== 'exit code 0') throw new Error(`the operator did not exit gracefully: ${exit}`);
  if (operator.profileName === undefined) return undefined;
  if (!readdirSync(bench.profileDir).includes(operator.profileName))
    throw new Error(`no CPU profile ${operator.profileName} in ${bench.profileDir}`);
  return join(bench.profileDir, operator.profileName);
}

/** CPU seconds a process has used so far (user + system, from /proc/<pid>/stat; 100 ticks a second on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssBytes(pid: number): number {
  return residentBytes(pid)['VmRSS'] ?? 0;
}

/** The highest RSS of a process over the time between start() and the returned stop(), sampled every `everyMs`. */
export function peakRss(pid: number, everyMs: number): () => number {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), everyMs);
  return () => {
    clearInterval(sampler);
    return peak;
  };
}

export type { HeapByKind, MemoryAfterGc };

/** The operator's heap after full GCs, summed by V8 node type and constructor (bench/inspector-gc.ts --heap). */
export async function heapByKind(operator: BenchOperator): Promise<{ heap: HeapByKind; strings: HeapByKind }> {
  const report = await inspectorGc(operator.inspectorPort, ['--heap']);
  return { heap: report.heap ?? [], strings: report.strings ?? [] };
}

/** A heap snapshot of the operator after full GCs, written to `path` (bench/heap-holders.ts reads it). */
export async function saveHeapSnapshot(operator: BenchOperator, path: string): Promise<void> {
  await inspectorGc(operator.inspectorPort, ['--save', path]);
}

/** RSS after full garbage collections in the operator (through its inspector), the lowest of a few samples after them. */
export function memoryAfterGc(operator: BenchOperator): Promise<MemoryAfterGc> {
  return memoryOfProcess(operator.process.pid, operator.inspectorPort);
}

/** The lowest RSS over 2 s without a forced collection: what a pod's memory shows. */
export async function rssWithoutGc(operator: BenchOperator): Promise<number> {
  let lowest = Number.POSITIVE_INFINITY;
  for (let sample = 0; sample < 8; sample++) {
    await sleep(250);
    lowest = Math.min(lowest, rssBytes(operator.process.pid));
  }
  return lowest;
}

/** The operator's API requests: in its namespace, since `since`, other than the benchmark's creations. */
export function apiRequests(tap: ApiTap, namespace: string, since: number): ApiTap['requests'] {
  return tap.requests.filter(
    (request) =>
      request.at >= since &&
      request.path.includes(`/namespaces/${namespace}/`) &&
      request.query.get('fieldManager') !== BENCH_MANAGER,
  );
}

/** `PATCH status`, `POST secrets`, `POST events`, ... */
export function writeKey(request: ApiTap['requests'][number]): string {
  const parts = request.path.split('/');
  const kind = request.path.endsWith('/status') ? 'status' : (parts[parts.indexOf('namespaces') + 2] ?? '?');
  return `${request.method} ${kind}`;
}
