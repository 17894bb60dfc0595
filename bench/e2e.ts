// npm run bench -- e2e [--full] [--sizes 50,500] [--concurrency 4] [--latency 20] [--runs 20]
//   [--observers watch,poll] [--sweep-size 100] [--steady-size 100] [--drift 5] [--window 20]
//   [--profile] [--scale 1000,10000,50000] [--scale-tokens 1000,10000] [--scale-concurrency 4,16] [--scale-window 330] [--scale-restarts 1] [--scale-hosts each|shared] [--scale-record] [--baseline-bundle /tmp/base/dist/main.js] [--onboard-bundle /tmp/old/dist/main.js] [--scale-heap /tmp/heaps]
//   [--real v2.9.1,v2.7.12] [--real-runs 10] [--real-instances 10] [--operator-node-options=--max-semi-space-size=1]
//   [--skip latency,sizes,sweep,steady,scale,scale-floor,scale-round,real]
//
// What a user pays, next to the floor: a real control plane (etcd + kube-apiserver), the operator
// as the production process (`node dist/main.js`, built first), one InfluxDB stand-in per resource
// (each answering after --latency ms, in child processes: bench/farm.ts), and a floor that does
// per resource only what any onboarding must do (bench/floor.ts) at the same concurrency. Operator
// and floor runs alternate; every API request of both goes through the same API tap
// (test/support/api-tap.ts), which counts the operator's writes. Ready is seen the same way for
// both (bench/observers.ts): a watch opened by the benchmark, or a list poll.
// Writes docs/bench-e2e-<quick|full>.json and .svg (time to all Ready against N); the scale series
// (bench/scale.ts) docs/bench-e2e-scale.json and its charts; --profile a summary of the operator's
// CPU profile in the runs at concurrency 16 (bench/cpu-profile.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiTap } from '../test/support/api-tap.js';
import { startControlPlane } from '../test/support/controlplane.js';
import { REAL_VERSIONS, startInfluxd, type InfluxServer, type RealVersion } from '../test/support/influxdb.js';
import type { RunningOperator } from '../test/support/operator.js';
import { lineChart } from './chart.js';
import { monotonicMicros, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { startFarm } from './farm.js';
import { floorOnboard } from './floor.js';
import {
  apiRequests,
  collection,
  cpuSeconds,
  createAll,
  inParallel,
  memoryAfterGc,
  newNamespace,
  onboardingManifest,
  peakRss,
  root,
  startBenchOperator,
  stopOperator,
  writeKey,
  type Bench,
} from './harness.js';
import { BENCH_MANAGER, kubeClient } from './kube.js';
import { watchObserver, type ReadyWatch } from './observers.js';
import type { Settings } from './settings.js';
import { SCALE_FILE, scaleSeries, STEADY_WINDOW_SECONDS, type ScaleFigures } from './scale.js';
import { tail, type TailFigures } from './tail.js';
import { load, mean, metricSums, percentile, round, say, sleep, total, type Figure } from './util.js';

// How many creations the benchmark (the "kubectl apply" of many resources) keeps in flight.
const CREATE_PARALLELISM = 16;

/** One InfluxOnboarding per InfluxDB URL in the namespace, created at once (CREATE_PARALLELISM in flight). */
const createOnboardings = (
  bench: Bench,
  watch: ReadyWatch,
  namespace: string,
  urls: readonly string[],
): Promise<void> =>
  createAll(
    bench,
    watch,
    collection(namespace, 'influxonboardings'),
    urls,
    (name, url) => onboardingManifest(namespace, name, url),
    CREATE_PARALLELISM,
  );

function settingsFrom(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      full: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      latency: { type: 'string', default: '20' },
      runs: { type: 'string', default: '20' },
      observers: { type: 'string', default: 'watch,poll' },
      'sweep-size': { type: 'string' },
      'steady-size': { type: 'string' },
      drift: { type: 'string' },
      window: { type: 'string' },
      profile: { type: 'boolean', default: false },
      scale: { type: 'string', default: '' },
      'scale-tokens': { type: 'string', default: '' },
      'scale-concurrency': { type: 'string', default: '4,16' },
      'scale-window': { type: 'string' },
      'scale-restarts': { type: 'string', default: '1' },
      'scale-hosts': { type: 'string', default: 'shared' },
      'scale-record': { type: 'boolean', default: false },
      'baseline-bundle': { type: 'string' },
      'onboard-bundle': { type: 'string' },
      'scale-heap': { type: 'string' },
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
  const list = (text: string | undefined): string[] =>
    (text ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  const numbers = (name: string, text: string | undefined): number[] => list(text).map((part) => number(name, part, 0));
  const oneOf = <T extends string>(name: string, text: string | undefined, allowed: readonly T[]): T => {
    const found = allowed.find((value) => value === text);
    if (found === undefined)
      throw new Error(`--${name}: must be one of ${allowed.join(', ')}; got ${JSON.stringify(text)}`);
    return found;
  };
  return {
    mode: full ? 'full' : 'quick',
    sizes: numbers('sizes', values.sizes ?? (full ? '50,500,2000,5000' : '50,200')),
    concurrency: number('concurrency', values.concurrency, 4),
    latencyMs: Number(values.latency ?? '20'),
    runs: number('runs', values.runs, 20),
    observers: list(values.observers).map((text) => {
      if (text !== 'watch' && text !== 'poll')
        throw new Error(`--observers: each must be watch or poll; got ${JSON.stringify(text)}`);
      return text;
    }),
    sweepSize: number('sweep-size', values['sweep-size'], full ? 500 : 100),
    steadySize: number('steady-size', values['steady-size'], full ? 500 : 100),
    driftSeconds: number('drift', values.drift, full ? 10 : 5),
    windowSeconds: number('window', values.window, full ? 40 : 20),
    profile: values.profile ?? false,
    scale: numbers('scale', values.scale),
    scaleTokens: numbers('scale-tokens', values['scale-tokens']),
    scaleConcurrency: numbers('scale-concurrency', values['scale-concurrency']),
    scaleWindowSeconds: number('scale-window', values['scale-window'], STEADY_WINDOW_SECONDS),
    scaleRestarts: number('scale-restarts', values['scale-restarts'], 1),
    scaleHosts: oneOf('scale-hosts', values['scale-hosts'], ['each', 'shared'] as const),
    scaleRecord: values['scale-record'] ?? false,
    ...(values['baseline-bundle'] !== undefined && { baselineBundle: values['baseline-bundle'] }),
    ...(values['onboard-bundle'] !== undefined && { onboardBundle: values['onboard-bundle'] }),
    ...(values['scale-heap'] !== undefined && { scaleHeapDir: values['scale-heap'] }),
    realVersions: list(values.real ?? (full ? REAL_VERSIONS.join(',') : '')).map((text) => {
      const version = REAL_VERSIONS.find((known) => known === text);
      if (version === undefined)
        throw new Error(`--real: each must be one of ${REAL_VERSIONS.join(', ')}; got ${JSON.stringify(text)}`);
      return version;
    }),
    realRuns: number('real-runs', values['real-runs'], 10),
    realInstances: number('real-instances', values['real-instances'], 10),
    operatorNodeOptions: (values['operator-node-options'] ?? '').split(' ').filter((option) => option !== ''),
    skip: list(values.skip),
  };
}

// ---------------------------------------------------------------------------------------------
// N resources created at once -> all Ready, operator then floor.

interface Phases {
  /** The operator's CPU time (user + system) from the first create to all Ready, per resource. */
  cpuMsPerResource: number;
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

async function phasesOf(
  operator: RunningOperator,
  bench: Bench,
  namespace: string,
  since: number,
  watch: ReadyWatch,
  count: number,
  cpuSecondsUsed: number,
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
    cpuMsPerResource: round((cpuSecondsUsed / count) * 1000, 2),
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
  /** The operator's CPU profile, summarized (--profile, at concurrency 16). */
  profile?: ProfileSummary;
  load: string;
}

async function operatorRun(
  bench: Bench,
  size: number,
  concurrency: number,
  profile: string | undefined,
): Promise<{
  seconds: number;
  rss: number;
  peakRss: number;
  requests: number;
  phases: Phases;
  profile?: ProfileSummary;
}> {
  const namespace = await newNamespace(bench, 'op');
  const urls = await bench.farm.start(size);
  const resources = collection(namespace, 'influxonboardings');
  const operator = await startBenchOperator(bench, {
    namespace,
    concurrency,
    ...(profile !== undefined && { profile }),
  });
  const watch = watchObserver(bench.kube, resources);
  let stopped = false;
  try {
    await sleep(200); // the watch is established
    const since = Date.now();
    const started = performance.now();
    const from = monotonicMicros();
    const cpuBefore = cpuSeconds(operator.process.pid);
    const peak = peakRss(operator.process.pid, 200);
    await createOnboardings(bench, watch, namespace, urls);
    const done = await watch.allReady(size, 20 * 60_000);
    const to = monotonicMicros();
    const cpuUsed = cpuSeconds(operator.process.pid) - cpuBefore;
    const peakBytes = peak();
    const seconds = (done - started) / 1000;
    await sleep(1000); // the last status writes and events land
    const phases = await phasesOf(operator.process, bench, namespace, since, watch, size, cpuUsed);
    const requests = total(new Map(Object.entries(await bench.farm.counts())));
    const rss = (await memoryAfterGc(operator)).rssMiB * 1024 * 1024;
    stopped = true;
    const profilePath = await stopOperator(bench, operator);
    return {
      seconds,
      rss,
      peakRss: peakBytes,
      requests: requests / size,
      phases,
      // The onboarding alone: not the start, nor the readings and collections after it.
      ...(profilePath !== undefined && {
        profile: summarizeProfile(profilePath, `${root}dist/main.js.map`, { from, to }),
      }),
    };
  } finally {
    watch.stop();
    if (!stopped) await operator.process.kill();
  }
}

async function floorRun(
  bench: Bench,
  size: number,
  concurrency: number,
): Promise<{ seconds: number; requests: number }> {
  const namespace = await newNamespace(bench, 'floor');
  const urls = await bench.farm.start(size);
  const watch = watchObserver(bench.kube, collection(namespace, 'influxonboardings'));
  try {
    await sleep(200);
    const started = performance.now();
    await inParallel(urls, concurrency, async (url, index) => {
      await floorOnboard(bench.kube, namespace, `r-${index}`, url);
    });
    const done = await watch.allReady(size, 20 * 60_000);
    const requests = total(new Map(Object.entries(await bench.farm.counts())));
    return { seconds: (done - started) / 1000, requests: requests / size };
  } finally {
    watch.stop();
  }
}

async function sizeRun(bench: Bench, settings: Settings, size: number, concurrency: number): Promise<SizeRun> {
  const loadBefore = load();
  const profile = settings.profile && concurrency === 16 ? `n${size}-c${concurrency}-${Date.now()}` : undefined;
  const operator = await operatorRun(bench, size, concurrency, profile);
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
    ...(operator.profile !== undefined && { profile: operator.profile }),
    load: `${loadBefore} -> ${load()}`,
  };
  say(
    `N=${size} C=${concurrency}: operator ${run.operatorSeconds} s, floor ${run.floorSeconds} s, ratio ${run.ratio}; RSS after GC ${run.operatorRssMiB} MiB (peak ${run.operatorPeakRssMiB} MiB while onboarding); InfluxDB requests/resource ${run.influxRequestsPerResource.operator} vs ${run.influxRequestsPerResource.floor} (load ${run.load})`,
  );
  say(`  phases per resource: ${JSON.stringify(operator.phases)}`);
  if (run.profile !== undefined) say(`  CPU profile: ${JSON.stringify(run.profile)}`);
  return run;
}

// ---------------------------------------------------------------------------------------------
// Steady state: Ready resources, their drift checks and resyncs counted over a window.

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

async function steadyState(bench: Bench, settings: Settings): Promise<SteadyFigures> {
  const { steadySize: size, driftSeconds, windowSeconds, concurrency } = settings;
  const loadBefore = load();
  const namespace = await newNamespace(bench, 'steady');
  const urls = await bench.farm.start(size);
  const resources = collection(namespace, 'influxonboardings');
  const operator = await startBenchOperator(bench, {
    namespace,
    concurrency,
    args: [`--drift-check-interval=${driftSeconds}s`, `--resync-period=${driftSeconds}s`],
  });
  const watch = watchObserver(bench.kube, resources);
  try {
    await sleep(200);
    await createOnboardings(bench, watch, namespace, urls);
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
    const influxRequests = countsBetween(influxBefore, influxAfter);
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
      operatorRssMiB: (await memoryAfterGc(operator)).rssMiB,
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

/** Requests by endpoint between two readings of the farm's counts. */
export function countsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const more = count - (before[endpoint] ?? 0);
    if (more > 0) delta[endpoint] = more;
  }
  return delta;
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

async function realRun(bench: Bench, settings: Settings, version: RealVersion): Promise<RealFigures> {
  const { realRuns: runs, realInstances: instances, concurrency } = settings;
  const loadBefore = load();
  const servers: InfluxServer[] = [];
  try {
    for (let index = 0; index < instances; index++) servers.push(await startInfluxd(version));
    const [operatorServer, floorServer] = servers as [InfluxServer, InfluxServer];
    const operatorNamespace = await newNamespace(bench, 'real-op');
    const floorNamespace = await newNamespace(bench, 'real-floor');
    const operatorResources = collection(operatorNamespace, 'influxonboardings');
    const operator = await startBenchOperator(bench, { namespace: operatorNamespace, concurrency });
    const operatorWatch = watchObserver(bench.kube, operatorResources);
    const floorWatch = watchObserver(bench.kube, collection(floorNamespace, 'influxonboardings'));
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
          `${operatorResources}?fieldManager=${BENCH_MANAGER}`,
          onboardingManifest(operatorNamespace, `r-${run}`, operatorServer.url),
        );
        const operatorTime = (await operatorWatch.readyAt(`r-${run}`, 60_000)) - started;
        // The next run's instance is new: the resource that onboarded this one must not fight for it.
        await bench.kube.call('DELETE', `${operatorResources}/r-${run}`);
        await floorServer.wipe();
        started = performance.now();
        await floorOnboard(bench.kube, floorNamespace, `r-${run}`, floorServer.url);
        const floorTime = (await floorWatch.readyAt(`r-${run}`, 60_000)) - started;
        if (run === 0) continue; // the warm-up
        operatorTimes.push(operatorTime);
        floorTimes.push(floorTime);
      }
      // Throughput: all instances at once, operator then floor.
      await Promise.all(servers.map((server) => server.wipe()));
      const throughputOp = await newNamespace(bench, 'real-op-n');
      const throughputResources = collection(throughputOp, 'influxonboardings');
      const manyOperator = await startBenchOperator(bench, { namespace: throughputOp, concurrency });
      const manyWatch = watchObserver(bench.kube, throughputResources);
      try {
        await sleep(200);
        const started = performance.now();
        await createOnboardings(
          bench,
          manyWatch,
          throughputOp,
          servers.map((server) => server.url),
        );
        operatorSeconds = ((await manyWatch.allReady(instances, 5 * 60_000)) - started) / 1000;
      } finally {
        manyWatch.stop();
        await manyOperator.process.kill();
      }
      await Promise.all(servers.map((server) => server.wipe()));
      const throughputFloor = await newNamespace(bench, 'real-floor-n');
      const floorManyWatch = watchObserver(bench.kube, collection(throughputFloor, 'influxonboardings'));
      try {
        await sleep(200);
        const started = performance.now();
        await inParallel(servers, concurrency, async (server, index) => {
          await floorOnboard(bench.kube, throughputFloor, `r-${index}`, server.url);
        });
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

const sizesChart = (runs: SizeRun[], title: string): string =>
  lineChart({
    title,
    xLabel: 'resources created at once (N)',
    yLabel: 'seconds to all Ready',
    series: [
      {
        name: 'operator (node dist/main.js)',
        color: '#d62728',
        points: runs.map((run) => [run.size, run.operatorSeconds]),
      },
      { name: 'floor', color: '#1f77b4', points: runs.map((run) => [run.size, run.floorSeconds]) },
    ],
  });

/** Writes a part's figures to docs/ as JSON (and charts beside them). */
function writeDocs(name: string, value: unknown): void {
  mkdirSync(`${root}docs`, { recursive: true });
  writeFileSync(`${root}docs/${name}`, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
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
  const profileDir = mkdtempSync(join(tmpdir(), 'bench-profiles-'));
  const bench: Bench = {
    controlPlane,
    tap,
    kube,
    farm,
    operatorNodeOptions: settings.operatorNodeOptions,
    profileDir,
    namespaces: 0,
  };
  try {
    const crds = await controlPlane.kubectl(['apply', '-f', `${root}crds/`]);
    if (crds.code !== 0) throw new Error(`kubectl apply crds: ${crds.stderr}`);
    for (const plural of ['influxonboardings', 'influxbuckets', 'influxtokens'])
      await controlPlane.kubectl([
        'wait',
        '--for=condition=Established',
        `crd/${plural}.influxdb.onboarding.dev`,
        '--timeout=60s',
      ]);
    say(`control plane up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const runs = (part: string): boolean => !settings.skip.includes(part);
    const latency: TailFigures[] = [];
    if (runs('latency'))
      for (const observer of settings.observers)
        latency.push(await tail(bench, observer, settings.runs, settings.concurrency));
    const sizes: SizeRun[] = [];
    if (runs('sizes'))
      for (const size of settings.sizes) sizes.push(await sizeRun(bench, settings, size, settings.concurrency));
    const sweep: SizeRun[] = [];
    if (runs('sweep')) {
      for (const concurrency of [1, 4, 16]) {
        const same =
          concurrency === settings.concurrency ? sizes.find((run) => run.size === settings.sweepSize) : undefined;
        sweep.push(same ?? (await sizeRun(bench, settings, settings.sweepSize, concurrency)));
      }
    }
    const steady = runs('steady') ? await steadyState(bench, settings) : undefined;
    const scale: ScaleFigures | undefined =
      runs('scale') && (settings.scale.length > 0 || settings.scaleTokens.length > 0)
        ? await scaleSeries(bench, settings)
        : undefined;
    const real: RealFigures[] = [];
    if (runs('real')) for (const version of settings.realVersions) real.push(await realRun(bench, settings, version));

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
      real,
      seconds: round((performance.now() - started) / 1000),
    };
    // The scale series and the real-influxd part take minutes each and are run on their own: their figures are kept whenever they ran.
    const only = (part: Record<string, unknown>): Record<string, unknown> => ({
      settings,
      machine: result.machine,
      date: result.date,
      commit: result.commit,
      ...part,
      seconds: result.seconds,
    });
    // Without its floors the scale series is a probe of the operator alone, and writes nothing unless told to.
    if (scale !== undefined && (settings.scaleRecord || !settings.skip.includes('scale-floor')))
      writeDocs(SCALE_FILE, only({ scale }));
    if (real.length > 0) writeDocs('bench-e2e-real.json', only({ real }));
    // A partial run (--skip) is a probe: it does not replace the figures in docs/.
    if (settings.skip.length === 0) {
      writeDocs(`bench-e2e-${settings.mode}.json`, result);
      writeDocs(
        `bench-e2e-${settings.mode}.svg`,
        sizesChart(
          sizes,
          `Time to all Ready, ${settings.latencyMs} ms InfluxDB latency, concurrency ${settings.concurrency}`,
        ),
      );
      say(`wrote docs/bench-e2e-${settings.mode}.json and .svg (${result.seconds} s)`);
    }
    const how = `stand-in latency ${settings.latencyMs} ms, concurrency ${settings.concurrency}`;
    return [
      ...latency.flatMap((figures) =>
        (['p50', 'p95', 'p99'] as const).map((p) => ({
          name: `e2e apply -> Ready ${p}, ${figures.observer} (operator / floor)`,
          value: `${figures.operator[p]} / ${figures.floor[p]} ms = ${figures.ratio[p]}`,
          how: `${settings.runs} runs, ${how}`,
        })),
      ),
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
      ...(scale?.figures ?? []),
    ];
  } finally {
    await farm.stop().catch(() => undefined);
    await tap.close();
    await controlPlane.stop();
    if (settings.profile) say(`CPU profiles (open in Chrome DevTools or speedscope): ${profileDir}`);
    clearInterval(keepAlive);
  }
}
