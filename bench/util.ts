// Helpers shared by the benchmarks: a silent logger, the fake API server child process, kubeconfigs
// for it, heap readings after GC, and file-descriptor counts from /proc/self/fd.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, SecretRegistry, type Logger } from '../src/log.js';

export interface Figure {
  name: string;
  value: string;
  how: string;
}

export function silentLogger(): Logger {
  return createLogger({
    level: 'error',
    format: 'json',
    registry: new SecretRegistry(),
    stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
}

export interface FakeApiStats {
  lists: number;
  watches: number;
  connections: number;
  openConnections: number;
}

export interface FakeApi {
  url: string;
  stats(): Promise<FakeApiStats>;
  stop(): Promise<void>;
}

/** Starts bench/fake-api-server.ts in its own process; see that file for the modes. */
export async function startFakeApi(args: string[]): Promise<FakeApi> {
  const script = fileURLToPath(new URL('./fake-api-server.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) resolve(Number(line));
    });
    child.once('exit', (code) => reject(new Error(`fake API server exited (${code})`)));
    child.once('error', reject);
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    stats: () =>
      new Promise<FakeApiStats>((resolve) => {
        child.once('message', (message) => resolve(message as FakeApiStats));
        child.send('stats');
      }),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A kubeconfig for a plain-http server (client-node needs skipTLSVerify for that). */
export function kubeConfigFor(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'bench', token: 'bench-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'bench' }],
    currentContext: 'fake',
  });
  return kubeConfig;
}

const gc = (globalThis as { gc?: () => void }).gc;

export function hasGc(): boolean {
  return gc !== undefined;
}

/** Heap used after full garbage collections (needs node --expose-gc). */
export async function heapUsedAfterGc(): Promise<number> {
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  for (let round = 0; round < 3; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Open file descriptors of this process, and how many of them are sockets. */
export function fileDescriptors(): { total: number; sockets: number } {
  let total = 0;
  let sockets = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd of the directory listing itself, closed by now
    }
    total++;
    if (target.startsWith('socket:')) sockets++;
  }
  return { total, sockets };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** The nearest-rank percentile (p in 0..100); 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The 1-, 5- and 15-minute load averages, as `uptime` shows them. */
export const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Sums of a Prometheus metric's samples by one label (or '' for all). */
export function metricSums(text: string, name: string, label?: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    // Label values may hold braces themselves (endpoint="GET /api/v2/buckets/{id}").
    const match = /^(\w+)(\{.*\})? ([\d.eE+-]+|NaN)$/.exec(line);
    if (match?.[1] !== name) continue;
    const key = label === undefined ? '' : (new RegExp(`${label}="([^"]*)"`).exec(match[2] ?? '')?.[1] ?? '');
    sums.set(key, (sums.get(key) ?? 0) + Number(match[3]));
  }
  return sums;
}

export const total = (sums: Map<string, number>): number => [...sums.values()].reduce((sum, value) => sum + value, 0);
