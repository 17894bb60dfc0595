import type { RealVersion } from '../test/support/influxdb.js';
import type { ObserverKind } from './observers.js';

/** What one run of `npm run bench -- e2e` measures, from its flags (bench/e2e.ts) and read by its parts. */
export interface Settings {
  mode: 'quick' | 'full';
  sizes: number[];
  concurrency: number;
  latencyMs: number;
  runs: number;
  observers: ObserverKind[];
  sweepSize: number;
  steadySize: number;
  driftSeconds: number;
  windowSeconds: number;
  /** A CPU profile of the operator in every run at concurrency 16 (sizes and sweep), and of each scale restart's start. */
  profile: boolean;
  /** InfluxOnboardings (with their Secrets) of the scale series (none: not run). */
  scale: number[];
  /** InfluxTokens on one onboarding of the scale series (none: not run). */
  scaleTokens: number[];
  scaleConcurrency: number[];
  /** The scale series' steady-state window, seconds: one default drift interval with its jitter unless given. */
  scaleWindowSeconds: number;
  /** `shared` (as the series was measured): N ports of one loopback address per 10,000 instances, which the duplicate check sees as a few hosts of many; `each`: every instance on an address of its own (N hosts, as N Services). */
  scaleHosts: 'each' | 'shared';
  /** Write the scale points (and charts) though floors or the first round were left out: each point says what it lacks. */
  scaleRecord: boolean;
  /** Restarts over the N Ready resources per scale point (the start-up figures are the median's). */
  scaleRestarts: number;
  /** A bundle of another build (its .map beside it): each scale restart is run with it too, alternating, for an A/B on one cluster. */
  baselineBundle?: string;
  /** A bundle of another build that onboards the scale series' N resources (the restarts still run the build). */
  onboardBundle?: string;
  /** Where to write heap snapshots of the scale series' operator: all Ready, and at the first restart's first reconcile (bench/heap-holders.ts reads them). */
  scaleHeapDir?: string;
  /** Real influxd versions for the real part (none: not run). */
  realVersions: RealVersion[];
  realRuns: number;
  realInstances: number;
  /** Node options for the operator process (as a chart would put them in NODE_OPTIONS). */
  operatorNodeOptions: string[];
  /** Parts left out: latency, sizes, sweep, steady, scale, real; scale-floor leaves out the scale series' floors (a probe), scale-round the wait for every resource reconciled once after the first restart. */
  skip: string[];
}
