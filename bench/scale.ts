// The cost curve: how the operator's figures grow with the number of resources. Two series, each
// against the floor and with stand-ins as in the rest of the benchmark:
// - N InfluxOnboardings (and their Secrets), N instances;
// - N InfluxTokens on one onboarding (one instance, whose authorization lists grow with N).
// Per N: the time to all Ready at each --scale-concurrency, operator against floor; then, on the
// operator of the highest concurrency, RSS (before and after GC), the steady state over one drift
// interval of the defaults (requests to InfluxDB and to the API server), and a restart over the N
// Ready resources: start to first reconcile, the API server's time for the lists, and the first
// round of checks. Charts of each figure against N go to docs/bench-e2e-scale-*.svg.
// A run measures the sizes it is given and keeps the other points of docs/bench-e2e-scale.json (each
// point carries its date, commit and load), so the largest N can be measured on its own: at 50,000
// one concurrency takes a quarter of an hour on 2 cores.
import type { LogRecord } from '../test/support/operator.js';
import { lineChart, proportional, type Series } from './chart.js';
import { monotonicMicros, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import type { Settings } from './settings.js';
import { floorOnboard, floorToken, tokenManifest } from './floor.js';
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
  rssWithoutGc,
  saveHeapSnapshot,
  startBenchOperator,
  stopOperator,
  writeKey,
  type Bench,
  type BenchOperator,
  type MemoryAfterGc,
} from './harness.js';
import { BENCH_MANAGER, deleteAll } from './kube.js';
import { watchObserver, type ReadyWatch } from './observers.js';
import { load, metricSums, round, say, sleep, total, type Figure } from './util.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// How many creations the benchmark keeps in flight: enough that creating is never what the operator waits for.
const CREATE_PARALLELISM = 64;
// The operator's defaults (src/config.ts): the steady state is measured as it runs by default.
const DRIFT_SECONDS = 300;
const DRIFT_JITTER = 0.1;
/** One drift interval with its jitter: every Ready resource's next check falls in a window this long. */
export const STEADY_WINDOW_SECONDS = DRIFT_SECONDS * (1 + DRIFT_JITTER);
const READY_TIMEOUT_MS = 60 * 60_000;

type SeriesKind = 'onboardings' | 'tokens';

interface ReadyRun {
  concurrency: number;
  operatorSeconds: number;
  /** Absent where the floor was not measured (a point taken from a run's log, docs/cost-curve.md says which). */
  floorSeconds?: number;
  ratio?: number;
  operatorPeakRssMiB: number;
  load: string;
}

interface SteadyCounts {
  windowSeconds: number;
  /** InfluxDB requests by endpoint over the window (one drift interval with its jitter). */
  influxRequests: Record<string, number>;
  influxRequestsPerResource: number;
  /** Onboardings: how many instances got how many requests over the window. */
  requestsPerInstance?: Record<string, number>;
  /** The operator's API requests over the window, by method and kind (`GET list secrets`, `GET watch ...`). */
  apiRequests: Record<string, number>;
  apiWrites: number;
  /** The operator's CPU time (user + system) over the window: what the drift checks cost it. */
  operatorCpuSeconds?: number;
}

interface ListTiming {
  /** The collection and its label selector, as the tap saw the requests. */
  collection: string;
  pages: number;
  /** The API server's answers to the pages, one after another, as the tap timed them. */
  apiServerMs: number;
}

interface StartFigures {
  existing: number;
  cachesSyncedMs: number;
  firstReconcileMs: number;
  /** firstReconcileMs less the longest of the API server's list times: the operator's own share. */
  operatorShareMs: number;
  lists: ListTiming[];
  /** What the operator logged of each list (`listed`): objects, pages, its time listing and filling the cache. */
  logged: Array<{
    resource: string;
    objects: number;
    pages: number;
    listMs: number;
    parseMs: number;
    fileMs: number;
    storeMs: number;
  }>;
  /** The resource created while no operator ran, from spawn until Ready. */
  pendingReadyMs: number;
  /** From spawn until every resource had been reconciled once (the first restart only), and the InfluxDB requests of that round. */
  firstRoundSeconds?: number;
  firstRoundInfluxRequests: Record<string, number>;
  rssAfterGcMiB: number;
  load: string;
  /** --profile: the operator's CPU from spawn to its first reconcile. */
  profile?: ProfileSummary;
}

export interface ScalePoint {
  kind: SeriesKind;
  size: number;
  ready: ReadyRun[];
  /** The operator of the highest concurrency, all Ready: after full GCs, and the lowest of 2 s without one. */
  memory: MemoryAfterGc;
  rssBeforeGcMiB: number;
  heapUsedMiB: number;
  steady: SteadyCounts;
  /** The restart with the median operator's share (of --scale-restarts). */
  start: StartFigures;
  /** Every restart's first reconcile and operator's share, ms, when there were several. */
  starts?: Array<{ firstReconcileMs: number; operatorShareMs: number; longestListMs: number; load: string }>;
  load: string;
  /** Onboardings: each instance on a host of its own, or N ports of a few addresses (points without it: shared). */
  hosts?: 'each' | 'shared';
  /** When and on which commit the point was measured: a run keeps the points of sizes it did not measure. */
  date: string;
  commit: string;
}

export interface ScaleFigures {
  points: ScalePoint[];
  figures: Figure[];
}

/** What the N resources of a series are and what they need, for the operator and for the floor. */
interface Workload {
  kind: SeriesKind;
  plural: string;
  /**
   * With the operator running in `namespace`: readies what `count` resources need (the N, then the
   * restarts' pending ones); their manifests by name and index. hostEach: every instance on a
   * host of its own.
   */
  prepare(
    bench: Bench,
    namespace: string,
    count: number,
    hostEach: boolean,
  ): Promise<(name: string, index: number) => Record<string, unknown>>;
  /** The floor for `size` resources in `namespace`, at `concurrency`. */
  floor(bench: Bench, namespace: string, size: number, concurrency: number, hostEach: boolean): Promise<void>;
  /** Whether the namespace's resources can be deleted without an operator (no finalizers). */
  deletable: boolean;
}

const onboardings: Workload = {
  kind: 'onboardings',
  plural: 'influxonboardings',
  async prepare(bench, namespace, count, hostEach) {
    const urls = await bench.farm.start(count, { hostEach });
    return (name, index) => onboardingManifest(namespace, name, urls[index] ?? '');
  },
  async floor(bench, namespace, size, concurrency, hostEach) {
    const urls = await bench.farm.start(size, { hostEach });
    await inParallel(urls, concurrency, async (url, index) => {
      await floorOnboard(bench.kube, namespace, `r-${index}`, url);
    });
  },
  deletable: true,
};

const ONBOARDING = 'influxdb';

const tokens: Workload = {
  kind: 'tokens',
  plural: 'influxtokens',
  async prepare(bench, namespace) {
    const [url = ''] = await bench.farm.start(1);
    await createReady(bench, namespace, 'influxonboardings', onboardingManifest(namespace, ONBOARDING, url));
    await createReady(bench, namespace, 'influxbuckets', {
      apiVersion: 'influxdb.onboarding.dev/v1alpha1',
      kind: 'InfluxBucket',
      metadata: { name: 'metrics', namespace },
      spec: { onboardingRef: { name: ONBOARDING }, name: 'app' },
    });
    return (name) => tokenManifest(namespace, name, ONBOARDING);
  },
  async floor(bench, namespace, size, concurrency) {
    const [url = ''] = await bench.farm.start(1);
    const { instance } = await floorOnboard(bench.kube, namespace, ONBOARDING, url);
    await inParallel(
      Array.from({ length: size }, (_, index) => index),
      concurrency,
      (index) => floorToken(bench.kube, namespace, `r-${index}`, ONBOARDING, instance),
    );
  },
  // Tokens carry a finalizer that only the operator removes.
  deletable: false,
};

/** Creates one resource and waits until it is Ready. */
async function createReady(
  bench: Bench,
  namespace: string,
  plural: string,
  manifest: Record<string, unknown>,
): Promise<void> {
  const resources = collection(namespace, plural);
  const watch = watchObserver(bench.kube, resources);
  try {
    await bench.kube.call('POST', `${resources}?fieldManager=${BENCH_MANAGER}`, manifest);
    await watch.readyAt(String((manifest['metadata'] as { name: string }).name), 120_000);
  } finally {
    watch.stop();
  }
}

async function cleanUp(bench: Bench, workload: Workload, namespace: string): Promise<void> {
  if (!workload.deletable) return;
  await deleteAll(bench.kube, collection(namespace, workload.plural));
  await deleteAll(bench.kube, `/api/v1/namespaces/${namespace}/secrets`);
}

/** An operator run: start, create `size` resources at once, all Ready; `pending` more can be made later (the restarts'). */
async function onboard(
  bench: Bench,
  workload: Workload,
  {
    size,
    concurrency,
    pending,
    bundle,
    hostEach,
  }: { size: number; concurrency: number; pending: number; bundle?: string; hostEach: boolean },
): Promise<{
  namespace: string;
  operator: BenchOperator;
  manifest: (name: string, index: number) => Record<string, unknown>;
  seconds: number;
  peakBytes: number;
}> {
  const namespace = await newNamespace(bench, `scale-${workload.kind}-op`);
  const operator = await startBenchOperator(bench, { namespace, concurrency, ...(bundle !== undefined && { bundle }) });
  const resources = collection(namespace, workload.plural);
  const watch: ReadyWatch = watchObserver(bench.kube, resources);
  try {
    const manifest = await workload.prepare(bench, namespace, size + pending, hostEach);
    const started = performance.now();
    const peak = peakRss(operator.process.pid, 500);
    await createAll(
      bench,
      watch,
      resources,
      Array.from({ length: size }, (_, index) => index),
      (name, index) => manifest(name, index),
      CREATE_PARALLELISM,
    );
    const done = await watch.allReady(size, READY_TIMEOUT_MS);
    return { namespace, operator, manifest, seconds: (done - started) / 1000, peakBytes: peak() };
  } catch (error) {
    await operator.process.kill();
    throw error;
  } finally {
    watch.stop();
  }
}

async function floorRun(
  bench: Bench,
  workload: Workload,
  size: number,
  concurrency: number,
  hostEach: boolean,
): Promise<number> {
  const namespace = await newNamespace(bench, `scale-${workload.kind}-floor`);
  const watch = watchObserver(bench.kube, collection(namespace, workload.plural));
  try {
    await sleep(200);
    const started = performance.now();
    await workload.floor(bench, namespace, size, concurrency, hostEach);
    return ((await watch.allReady(size, READY_TIMEOUT_MS)) - started) / 1000;
  } finally {
    watch.stop();
    await cleanUp(bench, workload, namespace);
  }
}

/** `GET list secrets?managed-by=...`, `PATCH status`, ... (one key for the lists of every onboarding's access record: their selectors differ by a hash). */
function requestKey(request: Bench['tap']['requests'][number]): string {
  if (request.kind === 'other') return writeKey(request);
  const selector = request.query.get('labelSelector')?.replace(/=[0-9a-f]{40}$/, '=<hash>');
  return `GET ${request.kind} ${request.resource}${selector === undefined ? '' : `?${selector}`}`;
}

async function steadyState(
  bench: Bench,
  operator: BenchOperator,
  namespace: string,
  size: number,
  kind: SeriesKind,
  windowSeconds: number,
): Promise<SteadyCounts> {
  const before = await bench.farm.counts();
  await bench.farm.mark();
  const since = Date.now();
  const cpuBefore = cpuSeconds(operator.process.pid);
  await sleep(windowSeconds * 1000);
  const operatorCpuSeconds = round(cpuSeconds(operator.process.pid) - cpuBefore, 2);
  const after = await bench.farm.counts();
  const influxRequests: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const more = count - (before[endpoint] ?? 0);
    if (more > 0) influxRequests[endpoint] = more;
  }
  const requests: Record<string, number> = {};
  const seen = apiRequests(bench.tap, namespace, since);
  for (const request of seen) requests[requestKey(request)] = (requests[requestKey(request)] ?? 0) + 1;
  return {
    windowSeconds,
    influxRequests,
    influxRequestsPerResource: round(total(new Map(Object.entries(influxRequests))) / size, 3),
    ...(kind === 'onboardings' && { requestsPerInstance: await bench.farm.spread() }),
    apiRequests: requests,
    apiWrites: seen.filter((request) => request.kind === 'other' && request.method !== 'GET').length,
    operatorCpuSeconds,
  };
}

const logAt = (record: LogRecord): number => Date.parse(String(record['timestamp']));

/**
 * Stops the operator (if one runs), creates one resource while none runs, and times a start over
 * everything: restart `number` (from 1) finds `size + number` resources.
 */
async function restart(
  bench: Bench,
  workload: Workload,
  namespace: string,
  {
    size,
    concurrency,
    number,
    profile,
    bundle,
    firstRound,
    heapDir,
  }: {
    size: number;
    concurrency: number;
    number: number;
    profile: boolean;
    bundle?: string;
    firstRound: boolean;
    heapDir?: string;
  },
  manifest: (name: string, index: number) => Record<string, unknown>,
  previous: BenchOperator | undefined,
): Promise<StartFigures> {
  if (previous !== undefined) await stopOperator(bench, previous);
  const resources = collection(namespace, workload.plural);
  const watch = watchObserver(bench.kube, resources);
  // Named to sort first: it is listed, and so queued, before the others.
  const pending = number === 1 ? 'a-restart' : `a-restart-${number}`;
  await bench.kube.call('POST', `${resources}?fieldManager=${BENCH_MANAGER}`, manifest(pending, size + number - 1));
  const existing = size + number;
  const loadBefore = load();
  const influxBefore = await bench.farm.counts();
  const spawned = Date.now();
  const spawnedMicros = monotonicMicros();
  const operator = await startBenchOperator(bench, {
    namespace,
    concurrency,
    waitForReady: false,
    ...(profile && { profile: `restart-${workload.kind}-${size}-${number}-${spawned}` }),
    ...(bundle !== undefined && { bundle }),
  });
  let stopped = false;
  try {
    const { process } = operator;
    const synced = await process.waitForLog(
      'caches synced',
      (record) => record.message === 'caches synced',
      10 * 60_000,
    );
    const first = await process.waitForLog(
      'a first reconcile',
      (record) => record.message === 'reconciled',
      10 * 60_000,
    );
    // Every resource cached, about one reconciled: against the snapshot of all Ready, what reconciles keep.
    if (heapDir !== undefined) await heapSnapshot(operator, heapDir, `restart-${workload.kind}-${size}`);
    const pendingReady = await watch.readyAt(pending, 10 * 60_000);
    const pendingReadyMs = round(Date.now() - spawned - (performance.now() - pendingReady));
    // Every resource reconciled once (the prerequisites of tokens too) and the queue empty; the
    // first restart only (at 50,000 the round takes minutes, and a start is what the others time).
    const everyone = existing + (workload.kind === 'tokens' ? 2 : 0);
    let roundDone = 0;
    const roundDeadline = Date.now() + (number === 1 && firstRound ? 60 * 60_000 : 0);
    for (; Date.now() < roundDeadline; await sleep(1000)) {
      const text = await process.metrics();
      if (
        total(metricSums(text, 'controller_runtime_reconcile_total')) >= everyone &&
        total(metricSums(text, 'workqueue_depth')) === 0 &&
        total(metricSums(text, 'controller_runtime_active_workers')) === 0
      ) {
        roundDone = Date.now();
        break;
      }
    }
    const influxAfter = await bench.farm.counts();
    const firstRoundInfluxRequests: Record<string, number> = {};
    for (const [endpoint, count] of Object.entries(influxAfter)) {
      const more = count - (influxBefore[endpoint] ?? 0);
      if (more > 0) firstRoundInfluxRequests[endpoint] = more;
    }
    const listTimes = new Map<string, ListTiming>();
    for (const request of bench.tap.requests) {
      if (request.at < spawned || request.kind !== 'list' || !request.path.includes(`/namespaces/${namespace}/`))
        continue;
      const key = requestKey(request).replace(/^GET list /, '');
      const timing = listTimes.get(key) ?? { collection: key, pages: 0, apiServerMs: 0 };
      timing.pages++;
      timing.apiServerMs += request.ms ?? 0;
      listTimes.set(key, timing);
    }
    const lists = [...listTimes.values()].map((timing) => ({ ...timing, apiServerMs: round(timing.apiServerMs) }));
    const firstReconcileMs = logAt(first) - spawned;
    const figures: StartFigures = {
      existing,
      cachesSyncedMs: logAt(synced) - spawned,
      firstReconcileMs,
      operatorShareMs: round(firstReconcileMs - Math.max(0, ...lists.map((list) => list.apiServerMs))),
      lists,
      logged: process
        .records()
        .filter((record) => record.message === 'listed')
        .map((record) => ({
          resource: String(record['resource']),
          objects: Number(record['objects']),
          pages: Number(record['pages']),
          listMs: Number(record['listMs']),
          parseMs: Number(record['parseMs']),
          fileMs: Number(record['fileMs']),
          storeMs: Number(record['storeMs']),
        })),
      pendingReadyMs,
      ...(roundDone > 0 && { firstRoundSeconds: round((roundDone - spawned) / 1000, 1) }),
      firstRoundInfluxRequests,
      rssAfterGcMiB: (await memoryAfterGc(operator)).rssMiB,
      load: `${loadBefore} -> ${load()}`,
    };
    if (profile) {
      stopped = true;
      const path = await stopOperator(bench, operator);
      // From the spawn (the process's own start included) to the first reconcile's log line.
      const to = spawnedMicros + (firstReconcileMs + 1) * 1000;
      if (path !== undefined)
        figures.profile = summarizeProfile(
          path,
          `${bundle ?? `${root}dist/main.js`}.map`,
          { from: spawnedMicros, to },
          25,
        );
    }
    say(
      `  restart over ${existing} ${workload.kind}${bundle === undefined ? '' : ` with ${bundle}`} (load ${figures.load}): caches synced ${figures.cachesSyncedMs} ms, first reconcile ${figures.firstReconcileMs} ms (the operator's own share ${figures.operatorShareMs} ms), lists ${JSON.stringify(lists)}; listed ${JSON.stringify(figures.logged)}; the pending one Ready after ${figures.pendingReadyMs} ms; all reconciled once after ${figures.firstRoundSeconds} s with ${JSON.stringify(firstRoundInfluxRequests)}; RSS after GC ${figures.rssAfterGcMiB} MiB`,
    );
    if (figures.profile !== undefined)
      say(`  CPU profile, spawn to first reconcile: ${JSON.stringify(figures.profile)}`);
    return figures;
  } finally {
    watch.stop();
    if (!stopped) await operator.process.kill();
  }
}

async function heapSnapshot(operator: BenchOperator, dir: string, name: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${Date.now()}.heapsnapshot`);
  await saveHeapSnapshot(operator, path);
  say(`  heap snapshot: ${path}`);
}

/** How each point of the series is measured (from the e2e benchmark's settings). */
interface PointSettings {
  concurrencies: number[];
  windowSeconds: number;
  restarts: number;
  baselineBundle?: string;
  onboardBundle?: string;
  /** Whether the first restart waits until every resource was reconciled once. */
  firstRound: boolean;
  profile: boolean;
  /** False: the floors are left out (a probe of the operator alone). */
  floor: boolean;
  /** Every instance on a loopback address of its own (N hosts), not N ports of a few addresses. */
  hostEach: boolean;
  /** Whether this is the run's last point: nothing after it needs the cluster emptied. */
  lastPoint: boolean;
  /** Where heap snapshots are written (none: not taken). */
  heapDir?: string;
}

async function scalePoint(bench: Bench, workload: Workload, size: number, how: PointSettings): Promise<ScalePoint> {
  const loadBefore = load();
  say(`\n### scale: ${size} ${workload.kind} (load ${loadBefore})`);
  const ready: ReadyRun[] = [];
  // The highest concurrency first: its operator stays for the memory, steady-state and restart figures.
  const [main, ...others] = [...how.concurrencies].sort((a, b) => b - a);
  if (main === undefined) throw new Error('--scale-concurrency: at least one');
  let point: Omit<ScalePoint, 'ready' | 'load' | 'date' | 'commit'> | undefined;
  for (const concurrency of [main, ...others]) {
    const runLoad = load();
    const restarts = how.restarts * (how.baselineBundle === undefined ? 1 : 2);
    const run = await onboard(bench, workload, {
      size,
      concurrency,
      hostEach: how.hostEach,
      pending: concurrency === main ? restarts : 0,
      ...(how.onboardBundle !== undefined && { bundle: how.onboardBundle }),
    });
    say(
      `  operator at concurrency ${concurrency}: ${size} Ready in ${round(run.seconds, 2)} s, peak RSS ${round(run.peakBytes / 1024 ** 2)} MiB`,
    );
    if (concurrency === main) {
      await sleep(2000); // the last writes land, the Secrets reach the cache
      const rssBeforeGc = await rssWithoutGc(run.operator);
      const memory = await memoryAfterGc(run.operator);
      const heapUsed = metricSums(await run.operator.process.metrics(), 'nodejs_heap_size_used_bytes').get('') ?? 0;
      say(
        `  RSS after GC ${memory.rssMiB} MiB (${(rssBeforeGc / 1024 ** 2) | 0} MiB before), heap used ${round(heapUsed / 1024 ** 2)} MiB`,
      );
      if (how.heapDir !== undefined) await heapSnapshot(run.operator, how.heapDir, `ready-${workload.kind}-${size}`);
      const steady = await steadyState(bench, run.operator, run.namespace, size, workload.kind, how.windowSeconds);
      say(`  steady state over ${steady.windowSeconds} s: ${JSON.stringify(steady)}`);
      const starts: StartFigures[] = [];
      const baselineStarts: StartFigures[] = [];
      let previous: BenchOperator | undefined = run.operator;
      let number = 0;
      for (let round = 1; round <= how.restarts; round++) {
        // With a baseline the two builds alternate which goes first, so neither always meets a warmer cluster.
        const order: Array<string | undefined> =
          how.baselineBundle === undefined
            ? [undefined]
            : round % 2 === 1
              ? [undefined, how.baselineBundle]
              : [how.baselineBundle, undefined];
        for (const bundle of order) {
          const settings = {
            size,
            concurrency,
            number: ++number,
            profile: how.profile,
            firstRound: how.firstRound,
            ...(bundle && { bundle }),
            ...(how.heapDir !== undefined && number === 1 && { heapDir: how.heapDir }),
          };
          const figures = await restart(bench, workload, run.namespace, settings, run.manifest, previous);
          previous = undefined;
          (bundle === undefined ? starts : baselineStarts).push(figures);
        }
      }
      if (baselineStarts.length > 0)
        say(
          `  the operator's own share at restart, this build / the baseline: ${starts.map((each) => each.operatorShareMs).join(', ')} / ${baselineStarts.map((each) => each.operatorShareMs).join(', ')} ms`,
        );
      const byShare = [...starts].sort((a, b) => a.operatorShareMs - b.operatorShareMs);
      const start = byShare[Math.floor((byShare.length - 1) / 2)];
      if (start === undefined) throw new Error('--scale-restarts: at least one');
      point = {
        kind: workload.kind,
        size,
        memory,
        rssBeforeGcMiB: round(rssBeforeGc / 1024 ** 2),
        heapUsedMiB: round(heapUsed / 1024 ** 2),
        steady,
        start,
        ...(starts.length > 1 && {
          starts: starts.map((each) => ({
            firstReconcileMs: each.firstReconcileMs,
            operatorShareMs: each.operatorShareMs,
            longestListMs: Math.max(0, ...each.lists.map((list) => list.apiServerMs)),
            load: each.load,
          })),
        }),
      };
    } else await run.operator.process.kill();
    // The last run on the cluster leaves its resources to the control plane's teardown: deleting
    // 50,000 takes minutes and measures nothing.
    const last = !how.floor && concurrency === [main, ...others].at(-1) && how.lastPoint;
    if (!last) await cleanUp(bench, workload, run.namespace);
    const floorSeconds = how.floor ? await floorRun(bench, workload, size, concurrency, how.hostEach) : undefined;
    const entry: ReadyRun = {
      concurrency,
      operatorSeconds: round(run.seconds, 2),
      ...(floorSeconds !== undefined && {
        floorSeconds: round(floorSeconds, 2),
        ratio: round(run.seconds / floorSeconds, 2),
      }),
      operatorPeakRssMiB: round(run.peakBytes / 1024 ** 2),
      load: `${runLoad} -> ${load()}`,
    };
    say(
      `  concurrency ${concurrency}: operator ${entry.operatorSeconds} s, floor ${entry.floorSeconds ?? '-'} s, ratio ${entry.ratio ?? '-'} (load ${entry.load})`,
    );
    ready.push(entry);
  }
  if (point === undefined) throw new Error('unreachable: the main run sets the point');
  return {
    ...point,
    ready: ready.sort((a, b) => a.concurrency - b.concurrency),
    load: `${loadBefore} -> ${load()}`,
    ...(workload.kind === 'onboardings' && { hosts: how.hostEach ? ('each' as const) : ('shared' as const) }),
    date: new Date().toISOString(),
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
  };
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** One chart per figure against N for a series; the dashed line is proportional growth from the smallest N. */
function charts(points: readonly ScalePoint[], kind: SeriesKind): Record<string, string> {
  // A point without the figure (a concurrency not run at that N) is left out of its line.
  const of = (pick: (point: ScalePoint) => number | undefined): Array<[number, number]> =>
    points.flatMap((point) => {
      const value = pick(point);
      return value === undefined ? [] : [[point.size, value] as [number, number]];
    });
  const what = kind === 'onboardings' ? 'InfluxOnboardings and their Secrets' : 'InfluxTokens on one onboarding';
  const concurrencies = [...new Set(points.flatMap((point) => point.ready.map((run) => run.concurrency)))].sort(
    (a, b) => a - b,
  );
  const readySeries: Series[] = concurrencies.flatMap((concurrency, index) => [
    {
      name: `operator, concurrency ${concurrency}`,
      color: COLORS[2 * index] ?? 'black',
      points: of((point) => point.ready.find((run) => run.concurrency === concurrency)?.operatorSeconds),
    },
    {
      name: `floor, concurrency ${concurrency}`,
      color: COLORS[2 * index + 1] ?? 'gray',
      points: of((point) => point.ready.find((run) => run.concurrency === concurrency)?.floorSeconds),
    },
  ]);
  const rss = of((point) => point.memory.rssMiB);
  const firstReconcile = of((point) => point.start.firstReconcileMs / 1000);
  const longestList = of((point) => Math.max(0, ...point.start.lists.map((list) => list.apiServerMs)) / 1000);
  const influx = of((point) => total(new Map(Object.entries(point.steady.influxRequests))));
  return {
    ready: lineChart({
      title: `Time to all Ready: N ${what} created at once`,
      xLabel: 'N',
      yLabel: 'seconds',
      series: readySeries,
    }),
    rss: lineChart({
      title: `Operator RSS after GC with N ${what}`,
      xLabel: 'N',
      yLabel: 'MiB',
      series: [
        { name: 'RSS after GC', color: COLORS[0] ?? 'red', points: rss },
        {
          name: 'peak while onboarding (highest concurrency)',
          color: COLORS[1] ?? 'blue',
          points: of((point) => Math.max(...point.ready.map((run) => run.operatorPeakRssMiB))),
        },
      ],
    }),
    start: lineChart({
      title: `Restart over N ${what}: spawn to first reconcile`,
      xLabel: 'N',
      yLabel: 'seconds',
      series: [
        { name: 'spawn to first reconcile', color: COLORS[0] ?? 'red', points: firstReconcile },
        { name: "the API server's longest list (all its pages)", color: COLORS[1] ?? 'blue', points: longestList },
        {
          name: "the operator's own share",
          color: COLORS[2] ?? 'green',
          points: of((point) => point.start.operatorShareMs / 1000),
        },
        proportional(firstReconcile, 'proportional to N from the smallest', '#999'),
      ],
    }),
    steady: lineChart({
      title: `Steady state: requests per drift interval (${DRIFT_SECONDS} s + ${DRIFT_JITTER * 100}%) with N ${what}`,
      xLabel: 'N',
      yLabel: 'requests',
      series: [
        { name: 'to InfluxDB', color: COLORS[0] ?? 'red', points: influx },
        {
          name: 'to the API server',
          color: COLORS[1] ?? 'blue',
          points: of((point) => total(new Map(Object.entries(point.steady.apiRequests)))),
        },
        proportional(influx, 'proportional to N from the smallest', '#999'),
      ],
    }),
  };
}

export const SCALE_FILE = 'bench-e2e-scale.json';

/** docs/bench-e2e-scale-<kind>-<figure>.svg from every point (also run on its own: `npx tsx bench/scale.ts --charts`). */
export function writeScaleCharts(points: readonly ScalePoint[]): void {
  for (const kind of ['onboardings', 'tokens'] as const) {
    const ofKind = points.filter((point) => point.kind === kind);
    if (ofKind.length === 0) continue;
    for (const [name, svg] of Object.entries(charts(ofKind, kind)))
      writeFileSync(`${root}docs/bench-e2e-scale-${kind}-${name}.svg`, svg);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--charts')
  writeScaleCharts(keptPoints([]));

/** The points of the last runs (docs/bench-e2e-scale.json) that this run does not measure again. */
function keptPoints(measured: readonly ScalePoint[]): ScalePoint[] {
  const path = `${root}docs/${SCALE_FILE}`;
  if (!existsSync(path)) return [];
  const previous = (JSON.parse(readFileSync(path, 'utf8')) as { scale?: { points?: ScalePoint[] } }).scale?.points;
  return (previous ?? []).filter(
    (point) => !measured.some((other) => other.kind === point.kind && other.size === point.size),
  );
}

export async function scaleSeries(bench: Bench, settings: Settings): Promise<ScaleFigures> {
  const measured: ScalePoint[] = [];
  const how: Omit<PointSettings, 'lastPoint'> = {
    concurrencies: settings.scaleConcurrency,
    windowSeconds: settings.scaleWindowSeconds,
    restarts: settings.scaleRestarts,
    ...(settings.baselineBundle !== undefined && { baselineBundle: settings.baselineBundle }),
    ...(settings.onboardBundle !== undefined && { onboardBundle: settings.onboardBundle }),
    firstRound: !settings.skip.includes('scale-round'),
    profile: settings.profile,
    floor: !settings.skip.includes('scale-floor'),
    hostEach: settings.scaleHosts === 'each',
    ...(settings.scaleHeapDir !== undefined && { heapDir: settings.scaleHeapDir }),
  };
  const series = [
    ...settings.scale.map((size) => ({ workload: onboardings, size })),
    ...settings.scaleTokens.map((size) => ({ workload: tokens, size })),
  ];
  for (const [index, { workload, size }] of series.entries())
    measured.push(await scalePoint(bench, workload, size, { ...how, lastPoint: index === series.length - 1 }));
  const points = [...keptPoints(measured), ...measured].sort((a, b) => a.kind.localeCompare(b.kind) || a.size - b.size);
  if (how.floor || settings.scaleRecord) writeScaleCharts(points);
  const figures: Figure[] = measured.flatMap((point) => [
    ...point.ready.map((run) => ({
      name: `e2e scale ${point.size} ${point.kind} -> all Ready, concurrency ${run.concurrency}`,
      value: `${run.operatorSeconds} / ${run.floorSeconds ?? '-'} s = ${run.ratio ?? '-'}`,
      how: `operator / floor; peak RSS ${run.operatorPeakRssMiB} MiB`,
    })),
    {
      name: `e2e scale ${point.size} ${point.kind}: RSS after GC`,
      value: `${point.memory.rssMiB} MiB`,
      how: `heap used ${point.heapUsedMiB} MiB; ${point.rssBeforeGcMiB} MiB before GC`,
    },
    {
      name: `e2e scale ${point.size} ${point.kind}: restart to first reconcile`,
      value: `${point.start.firstReconcileMs} ms`,
      how: `the operator's own share ${point.start.operatorShareMs} ms; the API server's lists ${point.start.lists.map((list) => `${list.collection} ${list.apiServerMs} ms`).join(', ')}`,
    },
    {
      name: `e2e scale ${point.size} ${point.kind}: requests per drift interval`,
      value: `${total(new Map(Object.entries(point.steady.influxRequests)))} InfluxDB, ${total(new Map(Object.entries(point.steady.apiRequests)))} API (${point.steady.apiWrites} writes)`,
      how: `over ${point.steady.windowSeconds} s`,
    },
  ]);
  return { points, figures };
}
