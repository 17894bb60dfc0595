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
  /** A CPU profile of the operator in every run at concurrency 16 (sizes and sweep). */
  profile: boolean;
  /** InfluxOnboardings (with their Secrets) of the scale series (none: not run). */
  scale: number[];
  /** InfluxTokens on one onboarding of the scale series (none: not run). */
  scaleTokens: number[];
  scaleConcurrency: number[];
  /** The scale series' steady-state window, seconds: one default drift interval with its jitter unless given. */
  scaleWindowSeconds: number;
  /** Real influxd versions for the real part (none: not run). */
  realVersions: RealVersion[];
  realRuns: number;
  realInstances: number;
  /** Node options for the operator process (as a chart would put them in NODE_OPTIONS). */
  operatorNodeOptions: string[];
  /** Parts left out: latency, sizes, sweep, steady, scale, real. */
  skip: string[];
}
