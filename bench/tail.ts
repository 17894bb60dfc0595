// apply -> Ready of one resource at a time, operator against floor, under each observer (the
// benchmark's watch, and a 5 ms list poll), with where each run's time went: percentiles of the
// total and of each phase, and the slowest runs in full.
//
// The operator's phases come from outside it and from its own metrics, read before and after each
// run (nothing is read while a run is in flight): the API tap times its writes, the 'reconciled'
// log line marks the end of its reconcile, and the deltas of its histograms give the time the key
// waited in the queue, the reconcile's duration, the InfluxDB requests' time and the GC pauses.
import type { LogRecord } from '../test/support/operator.js';
import { floorOnboard, type FloorSteps } from './floor.js';
import {
  apiRequests,
  collection,
  newNamespace,
  onboardingManifest,
  startBenchOperator,
  stopOperator,
  writeKey,
  type Bench,
  type BenchOperator,
} from './harness.js';
import { BENCH_MANAGER } from './kube.js';
import { pollObserver, watchObserver, type ObserverKind, type ReadyObserver } from './observers.js';
import { load, metricSums, percentile, round, say, sleep, total } from './util.js';

/** Where one operator run's time went, in ms. */
export interface OperatorTrace {
  run: number;
  totalMs: number;
  /** The benchmark's create, until the API server answered. */
  createMs: number;
  /** From the create's answer until the key was queued: the API server's watch and the operator's informer. */
  deliveryMs: number;
  /** In the work queue (and, on a retry, the rate limiter's delay). */
  queueMs: number;
  /** The reconcile, start to end (its InfluxDB requests and API writes included). */
  reconcileMs: number;
  influxMs: number;
  /** The Secret's create and the status patch, as the API tap timed them. */
  apiWriteMs: number;
  /** The rest of the reconcile: the operator's own CPU, and waiting for it. */
  ownMs: number;
  /** From the status patch's answer until the observer saw Ready. */
  seenMs: number;
  /** GC pauses in the operator over the run (from its metrics). */
  gcMs: number;
  reconciles: number;
  /** Writes other than the Secret and the status during the run (events, ...). */
  otherWrites: string[];
}

export interface FloorTrace extends FloorSteps {
  run: number;
  totalMs: number;
  seenMs: number;
}

type Spread = { p50: number; p95: number; p99: number; max: number };

export interface TailFigures {
  observer: ObserverKind;
  runs: number;
  operator: Spread & { phases: Record<string, Spread>; slowest: OperatorTrace[] };
  floor: Spread & { phases: Record<string, Spread>; slowest: FloorTrace[] };
  ratio: { p50: number; p95: number; p99: number };
  load: string;
}

const spread = (values: number[]): Spread => ({
  p50: round(percentile(values, 50)),
  p95: round(percentile(values, 95)),
  p99: round(percentile(values, 99)),
  max: round(Math.max(...values, 0)),
});

function phaseSpreads<T extends object>(traces: T[], skip: readonly string[]): Record<string, Spread> {
  const first = traces[0];
  if (first === undefined) return {};
  const names = Object.entries(first)
    .filter(([name, value]) => typeof value === 'number' && !skip.includes(name))
    .map(([name]) => name);
  return Object.fromEntries(
    names.map((name) => [name, spread(traces.map((trace) => (trace as Record<string, number>)[name] ?? 0))]),
  );
}

/** The operator's cumulative figures that a run's trace is made of (seconds, counts). */
interface Counters {
  queueSeconds: number;
  reconcileSeconds: number;
  reconciles: number;
  influxSeconds: number;
  gcSeconds: number;
}

async function counters(operator: BenchOperator): Promise<Counters> {
  const text = await operator.process.metrics();
  return {
    queueSeconds: total(metricSums(text, 'workqueue_queue_duration_seconds_sum')),
    reconcileSeconds: total(metricSums(text, 'controller_runtime_reconcile_time_seconds_sum')),
    reconciles: total(metricSums(text, 'controller_runtime_reconcile_total')),
    influxSeconds: total(metricSums(text, 'influxdb_request_duration_seconds_sum')),
    gcSeconds: total(metricSums(text, 'nodejs_gc_duration_seconds_sum')),
  };
}

const wallOf = (at: number): number => performance.timeOrigin + at;

async function operatorTrial(
  bench: Bench,
  operator: BenchOperator,
  observer: ReadyObserver,
  namespace: string,
  url: string,
  run: number,
): Promise<OperatorTrace> {
  const name = `r-${run}`;
  const before = await counters(operator);
  const since = Date.now();
  const started = performance.now();
  await bench.kube.call(
    'POST',
    `${collection(namespace, 'influxonboardings')}?fieldManager=${BENCH_MANAGER}`,
    onboardingManifest(namespace, name, url),
  );
  const created = performance.now();
  const seen = await observer.readyAt(name, 60_000);
  const resource = `${namespace}/${name}`;
  const reconciled: LogRecord = await operator.process.waitForLog(
    `${resource} reconciled`,
    (record) => record.message === 'reconciled' && record['resource'] === resource,
  );
  // The Event goes out in the background, held after the status: counted in this run, and sent
  // before the floor's run begins (a write of ours during it would make the floor's lists wait).
  await settleWrites(bench, namespace, since);
  const after = await counters(operator);
  const writes = apiRequests(bench.tap, namespace, since).filter(
    (request) => request.kind === 'other' && request.method !== 'GET',
  );
  const status = writes.find((request) => writeKey(request) === 'PATCH status');
  const secret = writes.find((request) => writeKey(request) === 'POST secrets');
  const reconcileMs = (after.reconcileSeconds - before.reconcileSeconds) * 1000;
  const queueMs = (after.queueSeconds - before.queueSeconds) * 1000;
  const influxMs = (after.influxSeconds - before.influxSeconds) * 1000;
  const apiWriteMs = (status?.ms ?? 0) + (secret?.ms ?? 0);
  // The log line is written right after the status write; the reconcile ends a moment later.
  const reconcileStart = Date.parse(String(reconciled['timestamp'])) - reconcileMs;
  return {
    run,
    totalMs: round(seen - started),
    createMs: round(created - started),
    deliveryMs: round(reconcileStart - queueMs - wallOf(created)),
    queueMs: round(queueMs),
    reconcileMs: round(reconcileMs),
    influxMs: round(influxMs),
    apiWriteMs: round(apiWriteMs),
    ownMs: round(reconcileMs - influxMs - apiWriteMs),
    seenMs: status?.ms === undefined ? 0 : round(wallOf(seen) - (status.at + status.ms)),
    gcMs: round((after.gcSeconds - before.gcSeconds) * 1000),
    reconciles: after.reconciles - before.reconciles,
    otherWrites: writes
      .filter((request) => request !== status && request !== secret)
      .map((request) => `${writeKey(request)} at +${request.at - since} ms (${request.ms ?? '?'} ms)`),
  };
}

/** Waits until the run's Event has been written and every write of the namespace since `since` answered (2 s at most). */
async function settleWrites(bench: Bench, namespace: string, since: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    const writes = apiRequests(bench.tap, namespace, since).filter(
      (request) => request.kind === 'other' && request.method !== 'GET',
    );
    const evented = writes.some((request) => writeKey(request) === 'POST events');
    if (evented && writes.every((request) => request.ms !== undefined)) return;
    await sleep(5);
  }
}

async function floorTrial(
  bench: Bench,
  observer: ReadyObserver,
  namespace: string,
  url: string,
  run: number,
): Promise<FloorTrace> {
  const name = `r-${run}`;
  const started = performance.now();
  // The observer starts when the create is answered, as it does for the operator.
  let observed: Promise<number> | undefined;
  const { steps } = await floorOnboard(bench.kube, namespace, name, url, () => {
    observed = observer.readyAt(name, 60_000);
  });
  const patched = performance.now();
  if (observed === undefined) throw new Error('unreachable: floorOnboard calls back after its create');
  const seen = await observed;
  return { run, totalMs: round(seen - started), ...steps, seenMs: round(seen - patched) };
}

export async function tail(
  bench: Bench,
  observerKind: ObserverKind,
  runs: number,
  concurrency: number,
): Promise<TailFigures> {
  const loadBefore = load();
  // One more instance for each side: the first onboarding after start warms up the process (not counted).
  const urls = await bench.farm.start(2 * (runs + 1));
  const operatorNamespace = await newNamespace(bench, `tail-${observerKind}-op`);
  const floorNamespace = await newNamespace(bench, `tail-${observerKind}-floor`);
  const observe = observerKind === 'watch' ? watchObserver : pollObserver;
  const operatorObserver = observe(bench.kube, collection(operatorNamespace, 'influxonboardings'));
  const floorObserver = observe(bench.kube, collection(floorNamespace, 'influxonboardings'));
  const operator = await startBenchOperator(bench, { namespace: operatorNamespace, concurrency });
  const operatorTraces: OperatorTrace[] = [];
  const floorTraces: FloorTrace[] = [];
  try {
    await sleep(200); // the watches are established
    for (let run = 0; run <= runs; run++) {
      const operatorTrace = await operatorTrial(
        bench,
        operator,
        operatorObserver,
        operatorNamespace,
        urls[run] ?? '',
        run,
      );
      const floorTrace = await floorTrial(bench, floorObserver, floorNamespace, urls[runs + 1 + run] ?? '', run);
      if (run === 0) continue; // the warm-up
      operatorTraces.push(operatorTrace);
      floorTraces.push(floorTrace);
    }
  } finally {
    operatorObserver.stop();
    floorObserver.stop();
    await stopOperator(bench, operator);
  }
  const slowest = <T extends { totalMs: number }>(traces: T[]): T[] =>
    [...traces].sort((a, b) => b.totalMs - a.totalMs).slice(0, 5);
  const operatorTotals = operatorTraces.map((trace) => trace.totalMs);
  const floorTotals = floorTraces.map((trace) => trace.totalMs);
  const figures: TailFigures = {
    observer: observerKind,
    runs,
    operator: {
      ...spread(operatorTotals),
      phases: phaseSpreads(operatorTraces, ['run', 'totalMs']),
      slowest: slowest(operatorTraces),
    },
    floor: {
      ...spread(floorTotals),
      phases: phaseSpreads(floorTraces, ['run', 'totalMs']),
      slowest: slowest(floorTraces),
    },
    ratio: { p50: 0, p95: 0, p99: 0 },
    load: `${loadBefore} -> ${load()}`,
  };
  for (const p of ['p50', 'p95', 'p99'] as const) figures.ratio[p] = round(figures.operator[p] / figures.floor[p], 2);
  say(
    `apply -> Ready, one resource (${runs} runs, ${observerKind} observer): operator p50 ${figures.operator.p50} p95 ${figures.operator.p95} p99 ${figures.operator.p99} ms; floor p50 ${figures.floor.p50} p95 ${figures.floor.p95} p99 ${figures.floor.p99} ms; ratio ${figures.ratio.p50} / ${figures.ratio.p95} / ${figures.ratio.p99} (load ${figures.load})`,
  );
  say(`  operator phases (p50/p95/p99 ms): ${phaseLine(figures.operator.phases)}`);
  say(`  floor phases (p50/p95/p99 ms): ${phaseLine(figures.floor.phases)}`);
  for (const trace of figures.operator.slowest) say(`  slow operator run: ${JSON.stringify(trace)}`);
  for (const trace of figures.floor.slowest) say(`  slow floor run: ${JSON.stringify(trace)}`);
  return figures;
}

const phaseLine = (phases: Record<string, Spread>): string =>
  Object.entries(phases)
    .map(([name, value]) => `${name} ${value.p50}/${value.p95}/${value.p99}`)
    .join(', ');
