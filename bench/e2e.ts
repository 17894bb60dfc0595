// npm run bench -- e2e [--full] [--sizes 50,500] [--concurrency 4] [--latency 20] [--runs 20]
//   [--sweep-size 100] [--steady-size 100] [--drift 5] [--window 20] [--memory 10000]
//   [--real v2.9.1,v2.7.12] [--real-runs 10] [--real-instances 10] [--operator-node-options=--max-semi-space-size=1]
//   [--skip latency,sizes,sweep,steady,memory,real]
//
// What a user pays, next to the floor: a real control plane (etcd + kube-apiserver), the operator
// as the production process (`node dist/main.js`, built first), one InfluxDB stand-in per resource
// (each answering after --latency ms, in a child process), and a floor that does per resource only
// what any onboarding must do (create the resource, GET /api/v2/setup, create the Secret, POST
// /api/v2/setup, patch the status) at the same concurrency. Operator and floor runs alternate;
// every API request of both goes through the same API tap (test/support/api-tap.ts), which counts
// the operator's writes. Ready is seen the same way for both: a watch opened by the benchmark.
// Writes docs/bench-e2e-<quick|full>.json and .svg (time to all Ready against N).
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApiTap, type ApiTap } from '../test/support/api-tap.js';
import { startControlPlane, type ControlPlane } from '../test/support/controlplane.js';
import { startOperator, type LogRecord, type RunningOperator } from '../test/support/operator.js';
import { shippedProcess } from '../test/support/dockerfile.js';
import { freePorts } from '../test/support/processes.js';
import {
  inspectorGc,
  memoryAfterGc,
  residentBytes,
  type HeapByKind,
  type MemoryAfterGc,
} from '../test/support/process-memory.js';
import { REAL_VERSIONS, startInfluxd, type InfluxServer, type RealVersion } from '../test/support/influxdb.js';
import { say, sleep, type Figure } from './util.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const GROUP_PATH = '/apis/influxdb.onboarding.dev/v1alpha1';
// How many creations the benchmark (the "kubectl apply" of many resources) keeps in flight.
const CREATE_PARALLELISM = 16;
// The benchmark's own creations carry this field manager, so the tap's count leaves them out.
const BENCH_MANAGER = 'e2e-bench';

interface Settings {
  mode: 'quick' | 'full';
  sizes: number[];
  concurrency: number;
  latencyMs: number;
  runs: number;
  sweepSize: number;
  steadySize: number;
  driftSeconds: number;
  windowSeconds: number;
  /** Resources for the memory and start-up part (0: not run). */
  memorySize: number;
  /** Real influxd versions for the real part (none: not run). */
  realVersions: RealVersion[];
  realRuns: number;
  realInstances: number;
  /** Node options for the operator process (as a chart would put them in NODE_OPTIONS). */
  operatorNodeOptions: string[];
  /** Parts left out: latency, sizes, sweep, steady, memory, real. */
  skip: string[];
}

function settingsFrom(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      full: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      latency: { type: 'string', default: '20' },
      runs: { type: 'string', default: '20' },
      'sweep-size': { type: 'string' },
      'steady-size': { type: 'string' },
      drift: { type: 'string' },
      window: { type: 'string' },
      memory: { type: 'string' },
      real: { type: 'string' },
      'real-runs': { type: 'string' },
      'real-instances': { type: 'string' },
      'operator-node-options': { type: 'string', default: '' },
      skip: { type: 'string', default: '' },
    },
  });
  const full = values.full ?? false;
  const number = (name: string, text: string | undefined, fallback: number): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name}: must be a positive integer; got ${JSON.stringify(text)}`);
    return value;
  };
  const sizes = (values.sizes ?? (full ? '50,500,2000,5000' : '50,200'))
    .split(',')
    .map((text) => number('sizes', text.trim(), 0));
  return {
    mode: full ? 'full' : 'quick',
    sizes,
    concurrency: number('concurrency', values.concurrency, 4),
    latencyMs: Number(values.latency ?? '20'),
    runs: number('runs', values.runs, 20),
    sweepSize: number('sweep-size', values['sweep-size'], full ? 500 : 100),
    steadySize: number('steady-size', values['steady-size'], full ? 500 : 100),
    driftSeconds: number('drift', values.drift, full ? 10 : 5),
    windowSeconds: number('window', values.window, full ? 40 : 20),
    memorySize: values.memory === undefined ? (full ? 10_000 : 0) : number('memory', values.memory, 0),
    realVersions: (values.real ?? (full ? REAL_VERSIONS.join(',') : ''))
      .split(',')
      .filter((text) => text !== '')
      .map((text) => {
        const version = REAL_VERSIONS.find((known) => known === text.trim());
        if (version === undefined)
          throw new Error(`--real: each must be one of ${REAL_VERSIONS.join(', ')}; got ${JSON.stringify(text)}`);
        return version;
      }),
    realRuns: number('real-runs', values['real-runs'], 10),
    realInstances: number('real-instances', values['real-instances'], 10),
    operatorNodeOptions: (values['operator-node-options'] ?? '').split(' ').filter((option) => option !== ''),
    skip: (values.skip ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  };
}

// ---------------------------------------------------------------------------------------------
// A minimal Kubernetes client for the benchmark and the floor: keep-alive HTTPS, JSON in and out.

interface Kube {
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; json: unknown }>;
  watch(path: string, onEvent: (event: { type: string; object: OnboardingObject }) => void): () => void;
}

interface OnboardingObject {
  metadata: { name: string; resourceVersion?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

function kubeClient(server: string, caPem: string, token: string): Kube {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: caPem });
  const url = new URL(server);
  const base = {
    hostname: url.hostname,
    port: url.port,
    agent,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  };
  return {
    call: (method, path, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const request = https.request(
          {
            ...base,
            method,
            path,
            headers: { ...base.headers, ...(payload !== undefined && { 'Content-Type': contentType }) },
          },
          (response) => {
            let text = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            response.on('end', () => {
              const status = response.statusCode ?? 0;
              if (status >= 300) return reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`));
              resolve({ status, json: text === '' ? undefined : (JSON.parse(text) as unknown) });
            });
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(payload);
      }),
    watch(path, onEvent) {
      let request: ReturnType<typeof https.request> | undefined;
      let stopped = false;
      // A watch of a resource type just created can be refused for a moment (429 while the API
      // server's watch cache initializes): opened again until it is accepted.
      const open = (): void => {
        // Its own agent: a watch holds its connection for as long as it runs.
        request = https.request({ ...base, agent: new https.Agent({ ca: caPem }), method: 'GET', path }, (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            if (!stopped) setTimeout(open, 500);
            return;
          }
          let buffered = '';
          response.setEncoding('utf8').on('data', (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              newline = buffered.indexOf('\n');
              if (line.trim() === '') continue;
              const event = JSON.parse(line) as { type?: string; object?: OnboardingObject };
              if (event.type === undefined || event.object?.metadata === undefined)
                throw new Error(`watch ${path}: ${line.slice(0, 300)}`);
              onEvent(event as { type: string; object: OnboardingObject });
            }
          });
          response.on('error', () => undefined);
          // The API server may close a watch (a slow reader at thousands of events): opened again,
          // it starts with every object as it is now.
          response.on('close', () => {
            if (!stopped) setTimeout(open, 200);
          });
        });
        request.on('error', () => undefined);
        request.end();
      };
      open();
      return () => {
        stopped = true;
        request?.destroy();
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The stand-in farm (bench/standin-farm.ts) in its own process.

interface Farm {
  start(count: number): Promise<string[]>;
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

async function startFarm(latencyMs: number): Promise<Farm> {
  const script = fileURLToPath(new URL('./standin-farm.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, String(latencyMs)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  child.once('exit', (code) => {
    exited = new Error(`stand-in farm exited (${code})`);
    for (const reject of waiting) reject(exited);
  });
  const next = <T>(key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      if (exited !== undefined) return reject(exited);
      const onMessage = (message: Record<string, unknown>): void => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        waiting.delete(reject);
        resolve(message[key] as T);
      };
      child.on('message', onMessage);
      waiting.add(reject);
    });
  await next('ready');
  return {
    start: (count) => {
      const urls = next<string[]>('urls');
      child.send({ start: count });
      return urls;
    },
    counts: () => {
      const counts = next<Record<string, number>>('counts');
      child.send('counts');
      return counts;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Readiness as a watch sees it, the same for operator and floor.

interface ReadyWatch {
  created: Map<string, number>;
  added: Map<string, number>;
  ready: Map<string, number>;
  allReady(count: number, timeoutMs: number): Promise<number>;
  stop(): void;
}

function watchReady(kube: Kube, namespace: string): ReadyWatch {
  const created = new Map<string, number>();
  const added = new Map<string, number>();
  const ready = new Map<string, number>();
  let waiter: { count: number; resolve: (at: number) => void } | undefined;
  const stop = kube.watch(`${GROUP_PATH}/namespaces/${namespace}/influxonboardings?watch=1`, ({ type, object }) => {
    const at = performance.now();
    const name = object.metadata.name;
    if (type === 'ADDED' && !added.has(name)) added.set(name, at);
    if (
      !ready.has(name) &&
      object.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
    ) {
      ready.set(name, at);
      if (waiter !== undefined && ready.size >= waiter.count) waiter.resolve(at);
    }
  });
  return {
    created,
    added,
    ready,
    allReady: (count, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${ready.size} of ${count} Ready after ${timeoutMs / 1000} s in ${namespace}`)),
          timeoutMs,
        );
        const done = (at: number): void => {
          clearTimeout(timer);
          resolve(at);
        };
        if (ready.size >= count) done(Math.max(...ready.values()));
        else waiter = { count, resolve: done };
      }),
    stop,
  };
}

const manifest = (namespace: string, name: string, url: string): Record<string, unknown> => ({
  apiVersion: 'influxdb.onboarding.dev/v1alpha1',
  kind: 'InfluxOnboarding',
  metadata: { name, namespace },
  spec: { url, username: 'admin', org: 'acme', bucket: 'metrics' },
});

async function inParallel<T>(
  items: T[],
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

async function createAll(
  kube: Kube,
  namespace: string,
  urls: string[],
  watch: ReadyWatch,
  prefix: string,
  parallelism = CREATE_PARALLELISM,
): Promise<void> {
  await inParallel(urls, parallelism, async (url, index) => {
    const name = `${prefix}-${index}`;
    await kube.call(
      'POST',
      `${GROUP_PATH}/namespaces/${namespace}/influxonboardings?fieldManager=${BENCH_MANAGER}`,
      manifest(namespace, name, url),
    );
    watch.created.set(name, performance.now());
  });
}

// ---------------------------------------------------------------------------------------------
// The floor: per resource only what any onboarding must do, with C workers.

async function floorOnboard(kube: Kube, namespace: string, name: string, url: string): Promise<void> {
  await kube.call('POST', `${GROUP_PATH}/namespaces/${namespace}/influxonboardings`, manifest(namespace, name, url));
  const setup = (await (await fetch(`${url}/api/v2/setup`)).json()) as { allowed: boolean };
  if (!setup.allowed) throw new Error(`floor: ${url} is set up already`);
  const token = randomBytes(24).toString('base64url');
  const password = randomBytes(18).toString('base64url');
  const data = { url, org: 'acme', bucket: 'metrics', username: 'admin', password, token };
  await kube.call('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${name}-influxdb`, namespace },
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  });
  const answer = await fetch(`${url}/api/v2/setup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      username: 'admin',
      password,
      org: 'acme',
      bucket: 'metrics',
      retentionPeriodSeconds: 0,
      token,
    }),
  });
  if (answer.status !== 201) throw new Error(`floor: POST ${url}/api/v2/setup: ${answer.status}`);
  await answer.arrayBuffer();
  const now = new Date().toISOString();
  await kube.call(
    'PATCH',
    `${GROUP_PATH}/namespaces/${namespace}/influxonboardings/${name}/status`,
    {
      status: {
        observedGeneration: 1,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Onboarded',
            message: 'floor',
            lastTransitionTime: now,
            observedGeneration: 1,
          },
        ],
      },
    },
    'application/merge-patch+json',
  );
}

// ---------------------------------------------------------------------------------------------

interface Bench {
  settings: Settings;
  controlPlane: ControlPlane;
  tap: ApiTap;
  kube: Kube;
  farm: Farm;
  namespaces: number;
}

async function newNamespace(bench: Bench, what: string): Promise<string> {
  const name = `bench-${what}-${++bench.namespaces}-${randomBytes(2).toString('hex')}`;
  await bench.kube.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** The production process, with its inspector on a local port so the benchmark can have it collect garbage. */
interface BenchOperator {
  process: RunningOperator;
  inspectorPort: number;
}

/**
 * `node dist/main.js` as the image runs it (the Dockerfile's ENTRYPOINT options and ENV, the one
 * place they are set), plus --operator-node-options, with its inspector on a local port.
 */
function productionProcess(
  bench: Bench,
  inspectorPort: number,
): { command: [string, ...string[]]; env: Record<string, string> } {
  const shipped = shippedProcess(readFileSync(`${root}Dockerfile`, 'utf8'));
  return {
    command: [
      process.execPath,
      ...shipped.nodeOptions,
      ...bench.settings.operatorNodeOptions,
      `--inspect=127.0.0.1:${inspectorPort}`,
      `${root}${shipped.script}`,
    ],
    env: shipped.env,
  };
}

async function operatorFor(
  bench: Bench,
  namespace: string,
  concurrency: number,
  extra: string[] = [],
): Promise<BenchOperator> {
  const [inspectorPort = 0] = await freePorts(1);
  const operator = await startOperator({
    kubeconfigPath: bench.tap.kubeconfigPath,
    ...productionProcess(bench, inspectorPort),
    name: `bench-${namespace}`,
    args: [`--namespaces=${namespace}`, `--concurrency=${concurrency}`, '--log-level=info', ...extra],
  });
  await operator.waitForReady(60_000);
  return { process: operator, inspectorPort };
}

function rssBytes(pid: number): number {
  return residentBytes(pid)['VmRSS'] ?? 0;
}

/** The operator's heap after full GCs, summed by V8 node type and constructor (bench/inspector-gc.ts --heap). */
async function heapByKind(operator: BenchOperator): Promise<{ heap: HeapByKind; strings: HeapByKind }> {
  const report = await inspectorGc(operator.inspectorPort, ['--heap']);
  return { heap: report.heap ?? [], strings: report.strings ?? [] };
}

async function operatorMemoryAfterGc(operator: BenchOperator): Promise<MemoryAfterGc> {
  return memoryAfterGc(operator.process.pid, operator.inspectorPort);
}

async function rssAfterGc(operator: BenchOperator): Promise<number> {
  return (await operatorMemoryAfterGc(operator)).rssMiB * 1024 * 1024;
}

/** Sums of a Prometheus metric's samples by one label (or '' for all). */
function metricSums(text: string, name: string, label?: string): Map<string, number> {
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

const total = (sums: Map<string, number>): number => [...sums.values()].reduce((sum, value) => sum + value, 0);

interface Phases {
  reconcilesPerResource: number;
  watchDeliveryMs: number;
  queueWaitMsPerReconcile: number;
  workMsPerResource: number;
  influxRequestsPerResource: Record<string, number>;
  influxMsPerResource: number;
  apiWritesPerResource: Record<string, number>;
  apiWriteMsPerResource: number;
  apiReadsPerResource: number;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The operator's API requests: in its namespace, since `since`, other than the benchmark's creations. */
function apiRequests(tap: ApiTap, namespace: string, since: number): ApiTap['requests'] {
  return tap.requests.filter(
    (request) =>
      request.at >= since &&
      request.path.includes(`/namespaces/${namespace}/`) &&
      request.query.get('fieldManager') !== BENCH_MANAGER,
  );
}

function writeKey(request: ApiTap['requests'][number]): string {
  const parts = request.path.split('/');
  const kind = request.path.endsWith('/status') ? 'status' : (parts[parts.indexOf('namespaces') + 2] ?? '?');
  return `${request.method} ${kind}`;
}

async function phasesOf(
  operator: RunningOperator,
  bench: Bench,
  namespace: string,
  since: number,
  watch: ReadyWatch,
  count: number,
): Promise<Phases> {
  const text = await operator.metrics();
  const queueSum = total(metricSums(text, 'workqueue_queue_duration_seconds_sum'));
  const queueCount = total(metricSums(text, 'workqueue_queue_duration_seconds_count'));
  const influxCounts = metricSums(text, 'influxdb_request_duration_seconds_count', 'endpoint');
  const influxSums = metricSums(text, 'influxdb_request_duration_seconds_sum', 'endpoint');
  const requests = apiRequests(bench.tap, namespace, since).filter((request) => request.kind === 'other');
  const writes = requests.filter((request) => request.method !== 'GET');
  const writeCounts: Record<string, number> = {};
  for (const request of writes) writeCounts[writeKey(request)] = (writeCounts[writeKey(request)] ?? 0) + 1 / count;
  const delivery = [...watch.added].flatMap(([name, at]) => {
    const created = watch.created.get(name);
    return created === undefined ? [] : [at - created];
  });
  return {
    reconcilesPerResource: total(metricSums(text, 'controller_runtime_reconcile_total')) / count,
    watchDeliveryMs: mean(delivery),
    queueWaitMsPerReconcile: queueCount === 0 ? 0 : (queueSum / queueCount) * 1000,
    workMsPerResource: (total(metricSums(text, 'workqueue_work_duration_seconds_sum')) / count) * 1000,
    influxRequestsPerResource: Object.fromEntries(
      [...influxCounts].map(([endpoint, value]) => [endpoint, round(value / count, 2)]),
    ),
    influxMsPerResource: (total(influxSums) / count) * 1000,
    apiWritesPerResource: Object.fromEntries(Object.entries(writeCounts).map(([key, value]) => [key, round(value, 2)])),
    apiWriteMsPerResource: writes.reduce((sum, request) => sum + (request.ms ?? 0), 0) / count,
    apiReadsPerResource: (requests.length - writes.length) / count,
  };
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

interface SizeRun {
  size: number;
  concurrency: number;
  operatorSeconds: number;
  floorSeconds: number;
  ratio: number;
  /** After full GCs, all Ready. */
  operatorRssMiB: number;
  /** The highest of samples every 200 ms while onboarding. */
  operatorPeakRssMiB: number;
  influxRequestsPerResource: { operator: number; floor: number };
  phases: Phases;
  load: string;
}

async function operatorRun(
  bench: Bench,
  size: number,
  concurrency: number,
): Promise<{ seconds: number; rss: number; peakRss: number; requests: number; phases: Phases }> {
  const namespace = await newNamespace(bench, 'op');
  const urls = await bench.farm.start(size);
  const operator = await operatorFor(bench, namespace, concurrency);
  const watch = watchReady(bench.kube, namespace);
  try {
    await sleep(200); // the watch is established
    const since = Date.now();
    const started = performance.now();
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(operator.process.pid))), 200);
    await createAll(bench.kube, namespace, urls, watch, 'r');
    const done = await watch.allReady(size, 20 * 60_000);
    clearInterval(sampler);
    const seconds = (done - started) / 1000;
    await sleep(1000); // the last status writes and events land
    const phases = await phasesOf(operator.process, bench, namespace, since, watch, size);
    const requests = total(new Map(Object.entries(await bench.farm.counts())));
    const rss = await rssAfterGc(operator);
    return { seconds, rss, peakRss, requests: requests / size, phases };
  } finally {
    watch.stop();
    await operator.process.kill();
  }
}

async function floorRun(
  bench: Bench,
  size: number,
  concurrency: number,
): Promise<{ seconds: number; requests: number }> {
  const namespace = await newNamespace(bench, 'floor');
  const urls = await bench.farm.start(size);
  const watch = watchReady(bench.kube, namespace);
  try {
    await sleep(200);
    const started = performance.now();
    await inParallel(urls, concurrency, (url, index) => floorOnboard(bench.kube, namespace, `r-${index}`, url));
    const done = await watch.allReady(size, 20 * 60_000);
    const requests = total(new Map(Object.entries(await bench.farm.counts())));
    return { seconds: (done - started) / 1000, requests: requests / size };
  } finally {
    watch.stop();
  }
}

const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

async function sizeRun(bench: Bench, size: number, concurrency: number): Promise<SizeRun> {
  const loadBefore = load();
  const operator = await operatorRun(bench, size, concurrency);
  const floor = await floorRun(bench, size, concurrency);
  const run: SizeRun = {
    size,
    concurrency,
    operatorSeconds: round(operator.seconds, 2),
    floorSeconds: round(floor.seconds, 2),
    ratio: round(operator.seconds / floor.seconds, 2),
    operatorRssMiB: round(operator.rss / 1024 / 1024),
    operatorPeakRssMiB: round(operator.peakRss / 1024 / 1024),
    influxRequestsPerResource: { operator: round(operator.requests, 2), floor: round(floor.requests, 2) },
    phases: operator.phases,
    load: `${loadBefore} -> ${load()}`,
  };
  say(
    `N=${size} C=${concurrency}: operator ${run.operatorSeconds} s, floor ${run.floorSeconds} s, ratio ${run.ratio}; RSS after GC ${run.operatorRssMiB} MiB (peak ${run.operatorPeakRssMiB} MiB while onboarding); InfluxDB requests/resource ${run.influxRequestsPerResource.operator} vs ${run.influxRequestsPerResource.floor} (load ${run.load})`,
  );
  say(`  phases per resource: ${JSON.stringify(operator.phases)}`);
  return run;
}

interface LatencyFigures {
  operator: { p50: number; p95: number };
  floor: { p50: number; p95: number };
  ratioP50: number;
  ratioP95: number;
  load: string;
}

async function singleLatency(bench: Bench): Promise<LatencyFigures> {
  const { runs, concurrency } = bench.settings;
  const loadBefore = load();
  // One more instance for each side: the first onboarding after start warms up the process (not counted).
  const urls = await bench.farm.start(2 * (runs + 1));
  const operatorNamespace = await newNamespace(bench, 'lat-op');
  const floorNamespace = await newNamespace(bench, 'lat-floor');
  const operator = await operatorFor(bench, operatorNamespace, concurrency);
  const operatorWatch = watchReady(bench.kube, operatorNamespace);
  const floorWatch = watchReady(bench.kube, floorNamespace);
  const operatorTimes: number[] = [];
  const floorTimes: number[] = [];
  try {
    await sleep(200);
    for (let run = 0; run <= runs; run++) {
      let started = performance.now();
      await bench.kube.call(
        'POST',
        `${GROUP_PATH}/namespaces/${operatorNamespace}/influxonboardings?fieldManager=${BENCH_MANAGER}`,
        manifest(operatorNamespace, `r-${run}`, urls[run] ?? ''),
      );
      const operatorTime = (await operatorWatch.allReady(run + 1, 60_000)) - started;
      started = performance.now();
      await floorOnboard(bench.kube, floorNamespace, `r-${run}`, urls[runs + 1 + run] ?? '');
      const floorTime = (await floorWatch.allReady(run + 1, 60_000)) - started;
      if (run === 0) continue; // the warm-up
      operatorTimes.push(operatorTime);
      floorTimes.push(floorTime);
    }
  } finally {
    operatorWatch.stop();
    floorWatch.stop();
    await operator.process.kill();
  }
  const figures = {
    operator: { p50: round(percentile(operatorTimes, 50)), p95: round(percentile(operatorTimes, 95)) },
    floor: { p50: round(percentile(floorTimes, 50)), p95: round(percentile(floorTimes, 95)) },
    ratioP50: 0,
    ratioP95: 0,
    load: `${loadBefore} -> ${load()}`,
  };
  figures.ratioP50 = round(figures.operator.p50 / figures.floor.p50, 2);
  figures.ratioP95 = round(figures.operator.p95 / figures.floor.p95, 2);
  say(
    `apply -> Ready, one resource (${runs} runs): operator p50 ${figures.operator.p50} ms p95 ${figures.operator.p95} ms; floor p50 ${figures.floor.p50} ms p95 ${figures.floor.p95} ms; ratio ${figures.ratioP50} / ${figures.ratioP95} (load ${figures.load})`,
  );
  return figures;
}

interface SteadyFigures {
  size: number;
  driftSeconds: number;
  resyncSeconds: number;
  windowSeconds: number;
  apiWritesPerResync: number;
  apiWrites: Record<string, number>;
  influxRequestsPerReadyResourcePerDriftInterval: number;
  influxRequests: Record<string, number>;
  operatorRssMiB: number;
  load: string;
}

async function steadyState(bench: Bench): Promise<SteadyFigures> {
  const { steadySize: size, driftSeconds, windowSeconds, concurrency } = bench.settings;
  const loadBefore = load();
  const namespace = await newNamespace(bench, 'steady');
  const urls = await bench.farm.start(size);
  const operator = await operatorFor(bench, namespace, concurrency, [
    `--drift-check-interval=${driftSeconds}s`,
    `--resync-period=${driftSeconds}s`,
  ]);
  const watch = watchReady(bench.kube, namespace);
  try {
    await sleep(200);
    await createAll(bench.kube, namespace, urls, watch, 'r');
    await watch.allReady(size, 20 * 60_000);
    await sleep(2000); // onboarding's own writes land
    const influxBefore = await bench.farm.counts();
    const since = Date.now();
    await sleep(windowSeconds * 1000);
    const influxAfter = await bench.farm.counts();
    const writes = apiRequests(bench.tap, namespace, since).filter(
      (request) => request.kind === 'other' && request.method !== 'GET',
    );
    const apiWrites: Record<string, number> = {};
    for (const request of writes) apiWrites[writeKey(request)] = (apiWrites[writeKey(request)] ?? 0) + 1;
    const influxRequests: Record<string, number> = {};
    for (const [endpoint, count] of Object.entries(influxAfter)) {
      const delta = count - (influxBefore[endpoint] ?? 0);
      if (delta > 0) influxRequests[endpoint] = delta;
    }
    const intervals = windowSeconds / driftSeconds;
    const figures: SteadyFigures = {
      size,
      driftSeconds,
      resyncSeconds: driftSeconds,
      windowSeconds,
      apiWritesPerResync: round(writes.length / intervals, 2),
      apiWrites,
      influxRequestsPerReadyResourcePerDriftInterval: round(
        total(new Map(Object.entries(influxRequests))) / size / intervals,
        2,
      ),
      influxRequests,
      operatorRssMiB: round((await rssAfterGc(operator)) / 1024 / 1024),
      load: '',
    };
    figures.load = `${loadBefore} -> ${load()}`;
    say(
      `steady state, ${size} Ready resources, drift check and resync every ${driftSeconds} s, over ${windowSeconds} s: ${figures.apiWritesPerResync} API writes per resync ${JSON.stringify(apiWrites)}; ${figures.influxRequestsPerReadyResourcePerDriftInterval} InfluxDB requests per Ready resource per drift interval ${JSON.stringify(influxRequests)}; RSS after GC ${figures.operatorRssMiB} MiB (load ${figures.load})`,
    );
    return figures;
  } finally {
    watch.stop();
    await operator.process.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory with many resources, and start-up: spawn -> caches synced -> first reconcile -> Ready.

interface StartFigures {
  /** Resources (with their Secrets) in the namespace when the process was spawned. */
  existing: number;
  cachesSyncedMs: number;
  firstReconcileMs: number;
  /** The resource created while no operator ran (its name sorts first, so it is listed first). */
  pendingReadyMs: number;
  /** Reconciles of other resources that finished before the pending resource's first one. */
  reconciledBeforePending: number;
  /** Per informer: objects listed, list pages, time listing and time filling the cache (log `listed`). */
  lists: Array<{ resource: string; objects: number; pages: number; listMs: number; storeMs: number }>;
  /** InfluxDB requests by endpoint in the first minute after spawn (over N Ready resources only). */
  influxRequestsFirstMinute?: Record<string, number>;
}

interface MemoryFigures {
  size: number;
  concurrency: number;
  onboardSeconds: number;
  operatorRssMiB: number;
  operatorRssBeforeGcMiB: number;
  operatorPeakRssMiB: number;
  heapUsedMiB: number;
  /** The parts of operatorRssMiB's sample. */
  afterGc: MemoryAfterGc;
  heap: HeapByKind;
  strings: HeapByKind;
  start: StartFigures[];
  load: string;
}

const logMs = (record: LogRecord, since: number): number => round(Date.parse(String(record['timestamp'])) - since);

/** Spawns the operator with one resource pending (named to be queued first) and times its start. */
async function timedStart(
  bench: Bench,
  namespace: string,
  url: string,
  name: string,
  existing: number,
  concurrency: number,
): Promise<{ operator: BenchOperator; figures: StartFigures; watch: ReadyWatch }> {
  const watch = watchReady(bench.kube, namespace);
  await sleep(200);
  await bench.kube.call(
    'POST',
    `${GROUP_PATH}/namespaces/${namespace}/influxonboardings?fieldManager=${BENCH_MANAGER}`,
    manifest(namespace, name, url),
  );
  const spawned = Date.now();
  const [inspectorPort = 0] = await freePorts(1);
  const process_ = await startOperator({
    kubeconfigPath: bench.tap.kubeconfigPath,
    ...productionProcess(bench, inspectorPort),
    name: `bench-${namespace}-${name}`,
    args: [`--namespaces=${namespace}`, `--concurrency=${concurrency}`, '--log-level=info'],
  });
  const operator = { process: process_, inspectorPort };
  const synced = await process_.waitForLog('caches synced', (record) => record.message === 'caches synced', 5 * 60_000);
  const first = await process_.waitForLog('a first reconcile', (record) => record.message === 'reconciled', 5 * 60_000);
  await eventuallyReady(watch, name);
  const pendingReadyMs = round(
    Date.now() - spawned - (performance.now() - (watch.ready.get(name) ?? performance.now())),
  );
  const pendingKey = `${namespace}/${name}`;
  // Logged after its status write, which the watch may have seen first.
  await process_.waitForLog(
    'the pending resource reconciled',
    (record) => record.message === 'reconciled' && record['resource'] === pendingKey,
  );
  const reconciled = process_.records().filter((record) => record.message === 'reconciled');
  const lists = process_
    .records()
    .filter((record) => record.message === 'listed')
    .map((record) => ({
      resource: String(record['resource']),
      objects: Number(record['objects']),
      pages: Number(record['pages']),
      listMs: Number(record['listMs']),
      storeMs: Number(record['storeMs']),
    }));
  const figures: StartFigures = {
    existing,
    cachesSyncedMs: logMs(synced, spawned),
    firstReconcileMs: logMs(first, spawned),
    pendingReadyMs,
    reconciledBeforePending: reconciled.findIndex((record) => record['resource'] === pendingKey),
    lists,
  };
  say(
    `start with ${existing} resources: caches synced ${figures.cachesSyncedMs} ms, first reconcile ${figures.firstReconcileMs} ms, the pending resource Ready ${figures.pendingReadyMs} ms after spawn, after ${figures.reconciledBeforePending} other reconciles; lists ${JSON.stringify(lists)}`,
  );
  return { operator, figures, watch };
}

async function eventuallyReady(watch: ReadyWatch, name: string): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  while (!watch.ready.has(name)) {
    if (Date.now() > deadline) throw new Error(`${name} not Ready after 5 minutes`);
    await sleep(10);
  }
}

async function memoryRun(bench: Bench): Promise<MemoryFigures> {
  const size = bench.settings.memorySize;
  // Onboarding thousands is InfluxDB-latency bound: more workers than the default fill the time.
  const concurrency = 16;
  const loadBefore = load();
  const namespace = await newNamespace(bench, 'mem');
  const urls = await bench.farm.start(size + 2);
  const start: StartFigures[] = [];
  const first = await timedStart(bench, namespace, urls[size] ?? '', 'a-start', 0, concurrency);
  start.push(first.figures);
  let peakRss = 0;
  try {
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(first.operator.process.pid))), 500);
    const started = performance.now();
    await createAll(bench.kube, namespace, urls.slice(0, size), first.watch, 'r', 64);
    const done = await first.watch.allReady(size + 1, 30 * 60_000);
    clearInterval(sampler);
    const onboardSeconds = round((done - started) / 1000, 1);
    say(`memory: ${size} resources Ready in ${onboardSeconds} s at concurrency ${concurrency}`);
    await sleep(1000); // the last writes land, the Secrets reach the cache
    // What the process holds when nothing forces a collection (what a pod's memory shows): the lowest of 2 s of samples.
    let rssBeforeGc = Number.POSITIVE_INFINITY;
    for (let sample = 0; sample < 8; sample++) {
      await sleep(250);
      rssBeforeGc = Math.min(rssBeforeGc, rssBytes(first.operator.process.pid));
    }
    const afterGc = await operatorMemoryAfterGc(first.operator);
    say(`memory: after GC ${JSON.stringify(afterGc)}`);
    const heapUsed = metricSums(await first.operator.process.metrics(), 'nodejs_heap_size_used_bytes').get('') ?? 0;
    // Taken after the RSS is read: a snapshot grows the heap for a while.
    const { heap, strings } = await heapByKind(first.operator);
    say(`memory: heap by kind (self sizes, top 30): ${JSON.stringify(heap)}`);
    say(`memory: strings by what holds them (top 30): ${JSON.stringify(strings)}`);
    await first.operator.process.kill();
    first.watch.stop();
    const influxBefore = await bench.farm.counts();
    const restartedAt = Date.now();
    const again = await timedStart(bench, namespace, urls[size + 1] ?? '', 'a-restart', size + 1, concurrency);
    await sleep(Math.max(0, restartedAt + 60_000 - Date.now()));
    const influxAfter = await bench.farm.counts();
    const firstMinute: Record<string, number> = {};
    for (const [endpoint, count] of Object.entries(influxAfter)) {
      const delta = count - (influxBefore[endpoint] ?? 0);
      if (delta > 0) firstMinute[endpoint] = delta;
    }
    again.figures.influxRequestsFirstMinute = firstMinute;
    say(`restart over ${size + 1} resources: InfluxDB requests in the first minute ${JSON.stringify(firstMinute)}`);
    start.push(again.figures);
    again.watch.stop();
    await again.operator.process.kill();
    const figures: MemoryFigures = {
      size,
      concurrency,
      onboardSeconds,
      operatorRssMiB: afterGc.rssMiB,
      operatorRssBeforeGcMiB: round(rssBeforeGc / 1024 / 1024),
      operatorPeakRssMiB: round(peakRss / 1024 / 1024),
      heapUsedMiB: round(heapUsed / 1024 / 1024),
      afterGc,
      heap,
      strings,
      start,
      load: `${loadBefore} -> ${load()}`,
    };
    say(
      `memory: ${size} Ready resources and their Secrets: RSS after GC ${figures.operatorRssMiB} MiB (heap used ${figures.heapUsedMiB} MiB; ${figures.operatorRssBeforeGcMiB} MiB before it), peak ${figures.operatorPeakRssMiB} MiB while onboarding (load ${figures.load})`,
    );
    return figures;
  } finally {
    first.watch.stop();
    await first.operator.process.kill().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Against real influxd: every onboarding gets a fresh instance (wiped between runs, outside the timing).

interface RealFigures {
  version: RealVersion;
  runs: number;
  operator: { p50: number; p95: number };
  floor: { p50: number; p95: number };
  ratioP50: number;
  instances: number;
  operatorAllReadySeconds: number;
  floorAllReadySeconds: number;
  ratioAllReady: number;
  load: string;
}

async function realRun(bench: Bench, version: RealVersion): Promise<RealFigures> {
  const { realRuns: runs, realInstances: instances, concurrency } = bench.settings;
  const loadBefore = load();
  const servers: InfluxServer[] = [];
  try {
    for (let index = 0; index < instances; index++) servers.push(await startInfluxd(version));
    const [operatorServer, floorServer] = servers as [InfluxServer, InfluxServer];
    const operatorNamespace = await newNamespace(bench, 'real-op');
    const floorNamespace = await newNamespace(bench, 'real-floor');
    const operator = await operatorFor(bench, operatorNamespace, concurrency);
    const operatorWatch = watchReady(bench.kube, operatorNamespace);
    const floorWatch = watchReady(bench.kube, floorNamespace);
    const operatorTimes: number[] = [];
    const floorTimes: number[] = [];
    let operatorSeconds = 0;
    let floorSeconds = 0;
    try {
      await sleep(200);
      for (let run = 0; run <= runs; run++) {
        await operatorServer.wipe();
        let started = performance.now();
        await bench.kube.call(
          'POST',
          `${GROUP_PATH}/namespaces/${operatorNamespace}/influxonboardings?fieldManager=${BENCH_MANAGER}`,
          manifest(operatorNamespace, `r-${run}`, operatorServer.url),
        );
        const operatorTime = (await operatorWatch.allReady(run + 1, 60_000)) - started;
        // The next run's instance is new: the resource that onboarded this one must not fight for it.
        await bench.kube.call('DELETE', `${GROUP_PATH}/namespaces/${operatorNamespace}/influxonboardings/r-${run}`);
        await floorServer.wipe();
        started = performance.now();
        await floorOnboard(bench.kube, floorNamespace, `r-${run}`, floorServer.url);
        const floorTime = (await floorWatch.allReady(run + 1, 60_000)) - started;
        if (run === 0) continue; // the warm-up
        operatorTimes.push(operatorTime);
        floorTimes.push(floorTime);
      }
      // Throughput: all instances at once, operator then floor.
      await Promise.all(servers.map((server) => server.wipe()));
      const throughputOp = await newNamespace(bench, 'real-op-n');
      const manyOperator = await operatorFor(bench, throughputOp, concurrency);
      const manyWatch = watchReady(bench.kube, throughputOp);
      try {
        await sleep(200);
        const started = performance.now();
        await createAll(
          bench.kube,
          throughputOp,
          servers.map((server) => server.url),
          manyWatch,
          'r',
        );
        operatorSeconds = ((await manyWatch.allReady(instances, 5 * 60_000)) - started) / 1000;
      } finally {
        manyWatch.stop();
        await manyOperator.process.kill();
      }
      await Promise.all(servers.map((server) => server.wipe()));
      const throughputFloor = await newNamespace(bench, 'real-floor-n');
      const floorManyWatch = watchReady(bench.kube, throughputFloor);
      try {
        await sleep(200);
        const started = performance.now();
        await inParallel(servers, concurrency, (server, index) =>
          floorOnboard(bench.kube, throughputFloor, `r-${index}`, server.url),
        );
        floorSeconds = ((await floorManyWatch.allReady(instances, 5 * 60_000)) - started) / 1000;
      } finally {
        floorManyWatch.stop();
      }
    } finally {
      operatorWatch.stop();
      floorWatch.stop();
      await operator.process.kill();
    }
    const figures: RealFigures = {
      version,
      runs,
      operator: { p50: round(percentile(operatorTimes, 50)), p95: round(percentile(operatorTimes, 95)) },
      floor: { p50: round(percentile(floorTimes, 50)), p95: round(percentile(floorTimes, 95)) },
      ratioP50: 0,
      instances,
      operatorAllReadySeconds: round(operatorSeconds, 2),
      floorAllReadySeconds: round(floorSeconds, 2),
      ratioAllReady: round(operatorSeconds / floorSeconds, 2),
      load: `${loadBefore} -> ${load()}`,
    };
    figures.ratioP50 = round(figures.operator.p50 / figures.floor.p50, 2);
    say(
      `real influxd ${version}: apply -> Ready (${runs} runs) operator p50 ${figures.operator.p50} ms p95 ${figures.operator.p95} ms; floor p50 ${figures.floor.p50} ms p95 ${figures.floor.p95} ms; ratio ${figures.ratioP50}; ${instances} instances at once: operator ${figures.operatorAllReadySeconds} s, floor ${figures.floorAllReadySeconds} s, ratio ${figures.ratioAllReady} (load ${figures.load})`,
    );
    return figures;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// The chart: time to all Ready against N, operator and floor, as a plain SVG.

function chart(runs: SizeRun[], title: string): string {
  const [width, height, left, right, top, bottom] = [640, 400, 70, 20, 40, 50];
  const maxN = Math.max(...runs.map((run) => run.size));
  const maxT = Math.max(...runs.flatMap((run) => [run.operatorSeconds, run.floorSeconds])) * 1.1 || 1;
  const x = (n: number): number => left + (n / maxN) * (width - left - right);
  const y = (t: number): number => height - bottom - (t / maxT) * (height - top - bottom);
  const line = (pick: (run: SizeRun) => number, color: string): string => {
    const points = runs.map((run) => `${x(run.size).toFixed(1)},${y(pick(run)).toFixed(1)}`);
    const dots = runs
      .map((run) => `<circle cx="${x(run.size).toFixed(1)}" cy="${y(pick(run)).toFixed(1)}" r="3.5" fill="${color}"/>`)
      .join('');
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>${dots}`;
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const t = maxT * fraction;
    return `<line x1="${left}" x2="${width - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/><text x="${left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(1)}</text>`;
  });
  const labels = runs.map(
    (run) => `<text x="${x(run.size).toFixed(1)}" y="${height - bottom + 18}" text-anchor="middle">${run.size}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>
${ticks.join('\n')}
<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="black"/>
<line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="black"/>
${labels.join('')}
<text x="${width / 2}" y="${height - 12}" text-anchor="middle">resources created at once (N)</text>
<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">seconds to all Ready</text>
${line((run) => run.operatorSeconds, '#d62728')}
${line((run) => run.floorSeconds, '#1f77b4')}
<rect x="${left + 14}" y="${top + 4}" width="12" height="12" fill="#d62728"/><text x="${left + 32}" y="${top + 14}">operator (node dist/main.js)</text>
<rect x="${left + 14}" y="${top + 22}" width="12" height="12" fill="#1f77b4"/><text x="${left + 32}" y="${top + 32}">floor</text>
</svg>
`;
}

export async function e2e(args: string[]): Promise<Figure[]> {
  const settings = settingsFrom(args);
  say(`\n## End to end against the floor (${settings.mode}): ${JSON.stringify(settings)}`);
  say(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; node ${process.version}; load ${load()}`,
  );
  say('building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  const keepAlive = setInterval(() => undefined, 1000);
  const started = performance.now();
  const controlPlane = await startControlPlane({ controllerManager: false, log: () => undefined });
  const tap = await startApiTap({
    upstream: controlPlane.server,
    upstreamCaPem: controlPlane.caPem,
    token: controlPlane.adminToken,
  });
  const tapCa = /certificate-authority-data: (\S+)/.exec(readFileSync(tap.kubeconfigPath, 'utf8'))?.[1] ?? '';
  const kube = kubeClient(tap.url, Buffer.from(tapCa, 'base64').toString('utf8'), controlPlane.adminToken);
  const farm = await startFarm(settings.latencyMs);
  const bench: Bench = { settings, controlPlane, tap, kube, farm, namespaces: 0 };
  try {
    const crds = await controlPlane.kubectl(['apply', '-f', `${root}crds/`]);
    if (crds.code !== 0) throw new Error(`kubectl apply crds: ${crds.stderr}`);
    await controlPlane.kubectl([
      'wait',
      '--for=condition=Established',
      'crd/influxonboardings.influxdb.onboarding.dev',
      '--timeout=60s',
    ]);
    say(`control plane up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const runs = (part: string): boolean => !settings.skip.includes(part);
    const latency = runs('latency') ? await singleLatency(bench) : undefined;
    const sizes: SizeRun[] = [];
    if (runs('sizes')) for (const size of settings.sizes) sizes.push(await sizeRun(bench, size, settings.concurrency));
    const sweep: SizeRun[] = [];
    if (runs('sweep')) {
      for (const concurrency of [1, 4, 16]) {
        const same =
          concurrency === settings.concurrency ? sizes.find((run) => run.size === settings.sweepSize) : undefined;
        sweep.push(same ?? (await sizeRun(bench, settings.sweepSize, concurrency)));
      }
    }
    const steady = runs('steady') ? await steadyState(bench) : undefined;
    const memory = runs('memory') && settings.memorySize > 0 ? await memoryRun(bench) : undefined;
    const real: RealFigures[] = [];
    if (runs('real')) for (const version of settings.realVersions) real.push(await realRun(bench, version));

    const result = {
      settings,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? '?',
        memoryGiB: round(totalmem() / 1024 ** 3),
        node: process.version,
      },
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
      latency,
      sizes,
      sweep,
      steady,
      memory,
      real,
      seconds: round((performance.now() - started) / 1000),
    };
    // The memory and real-influxd parts take minutes each and are run on their own: their figures are kept whenever they ran.
    mkdirSync(`${root}docs`, { recursive: true });
    if (memory !== undefined)
      writeFileSync(
        `${root}docs/bench-e2e-memory.json`,
        `${JSON.stringify({ ...result, latency: undefined, sizes: undefined, sweep: undefined, steady: undefined, real: undefined }, null, 2)}\n`,
      );
    if (real.length > 0)
      writeFileSync(
        `${root}docs/bench-e2e-real.json`,
        `${JSON.stringify({ ...result, latency: undefined, sizes: undefined, sweep: undefined, steady: undefined, memory: undefined }, null, 2)}\n`,
      );
    // A partial run (--skip) is a probe: it does not replace the figures in docs/.
    if (settings.skip.length === 0) {
      mkdirSync(`${root}docs`, { recursive: true });
      writeFileSync(`${root}docs/bench-e2e-${settings.mode}.json`, `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(
        `${root}docs/bench-e2e-${settings.mode}.svg`,
        chart(
          sizes,
          `Time to all Ready, ${settings.latencyMs} ms InfluxDB latency, concurrency ${settings.concurrency}`,
        ),
      );
      say(`wrote docs/bench-e2e-${settings.mode}.json and .svg (${result.seconds} s)`);
    }
    const how = `stand-in latency ${settings.latencyMs} ms, concurrency ${settings.concurrency}`;
    return [
      ...(latency === undefined
        ? []
        : [
            {
              name: 'e2e apply -> Ready p50 (operator / floor)',
              value: `${latency.operator.p50} / ${latency.floor.p50} ms = ${latency.ratioP50}`,
              how: `${settings.runs} runs, ${how}`,
            },
            {
              name: 'e2e apply -> Ready p95 (operator / floor)',
              value: `${latency.operator.p95} / ${latency.floor.p95} ms = ${latency.ratioP95}`,
              how: `${settings.runs} runs, ${how}`,
            },
          ]),
      ...sizes.map((run) => ({
        name: `e2e ${run.size} resources -> all Ready`,
        value: `${run.operatorSeconds} / ${run.floorSeconds} s = ${run.ratio}`,
        how: `operator / floor, ${how}; operator RSS after GC ${run.operatorRssMiB} MiB`,
      })),
      ...sweep.map((run) => ({
        name: `e2e sweep ${run.size} resources at concurrency ${run.concurrency}`,
        value: `${run.operatorSeconds} / ${run.floorSeconds} s = ${run.ratio}`,
        how: 'operator / floor',
      })),
      ...(steady === undefined
        ? []
        : [
            {
              name: 'e2e API writes per resync',
              value: String(steady.apiWritesPerResync),
              how: `${steady.size} Ready resources over ${steady.windowSeconds} s`,
            },
            {
              name: 'e2e InfluxDB requests per Ready resource per drift interval',
              value: String(steady.influxRequestsPerReadyResourcePerDriftInterval),
              how: `drift interval ${steady.driftSeconds} s, counted by the stand-ins`,
            },
          ]),
    ];
  } finally {
    await farm.stop().catch(() => undefined);
    await tap.close();
    await controlPlane.stop();
    clearInterval(keepAlive);
  }
}
