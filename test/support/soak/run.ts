// The soak: rounds of seeded operations and overlapping faults against the real world, each ended
// by a quiet point where every fault is healed and the checker proves the invariants. It reports
// in lines a script can read (`<n> faults`, `<n> violations`, counts by kind, the seed), and on a
// violation keeps the history that led to it: the schedule, what was carried out when, the
// proxies' records (credentials replaced by fingerprints), the audit log and every process's log.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Checker, type Violation } from './checker.js';
import { Faults } from './faults.js';
import { Operations } from './operations.js';
import { initialModel, planRound, type Round } from './plan.js';
import { LEASE_SECONDS, startWorld, type SoakWorld } from './world.js';

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Where the history goes on a violation (or always, with keepHistory). */
  historyDir: string;
  keepHistory?: boolean;
  /** Seconds of operations and faults per round. */
  chaosSeconds?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  seed: number;
  rounds: number;
  quietPoints: number;
  faults: number;
  faultsByKind: Record<string, number>;
  operations: number;
  operationsByKind: Record<string, number>;
  checks: Record<string, number>;
  violations: Violation[];
  memory: ReturnType<Checker['memoryFigures']>;
  /** Slowest settling after a heal, ms. */
  slowestSettleMs: number;
  historyDir?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tally(into: Record<string, number>, kind: string): void {
  into[kind] = (into[kind] ?? 0) + 1;
}

/** A credential's fingerprint for the history: enough to match one record with another, nothing to use. */
function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

/** `value` with the strings under credential keys replaced by fingerprints (an operation's `token` is a resource's name). */
function redacted(value: unknown, keys: readonly string[] = ['token', 'password', 'authorization']): unknown {
  if (Array.isArray(value)) return value.map((inner) => redacted(inner, keys));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      keys.includes(key) && typeof inner === 'string' ? fingerprint(inner) : redacted(inner, keys),
    ]),
  );
}

const redactedOperation = (operation: unknown): unknown => redacted(operation, ['password']);

function writeHistory(dir: string, world: SoakWorld, rounds: Round[], journal: string[], result: SoakResult): void {
  mkdirSync(join(dir, 'proxies'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'schedule.json'),
    JSON.stringify(
      rounds.map(({ index, operations, faults }) => ({
        index,
        operations: operations.map(({ at, operation }) => ({ at, operation: redactedOperation(operation) })),
        faults,
      })),
      null,
      1,
    ),
  );
  writeFileSync(join(dir, 'journal.log'), `${journal.join('\n')}\n`);
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 1));
  for (const [id, instance] of world.instances) {
    for (const [address, proxy] of Object.entries(instance.proxies))
      writeFileSync(
        join(dir, 'proxies', `${id}-${address}.jsonl`),
        proxy.requests.map((request) => JSON.stringify(redacted(request))).join('\n'),
      );
    for (const file of instance.server.logFiles())
      if (existsSync(file)) cpSync(file, join(dir, 'logs', `influxd-${id}-${basename(file)}`));
  }
  for (const replica of world.replicas.values())
    for (const operator of replica.processes)
      if (existsSync(operator.logFile)) cpSync(operator.logFile, join(dir, 'logs', `${operator.name}.log`));
  cpSync(join(world.controlPlane.dir, 'logs'), join(dir, 'controlplane'), { recursive: true });
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const journal: string[] = [];
  const log = (line: string): void => {
    const stamped = `${new Date().toISOString()} ${line}`;
    journal.push(stamped);
    options.log?.(stamped);
  };
  const chaosSeconds = options.chaosSeconds ?? 30;
  const planOptions = { chaosSeconds, pauseSeconds: LEASE_SECONDS + 4, maxOverlap: 3 };
  const deadline = started + options.minutes * 60_000;
  log(`soak: seed ${options.seed}, ${options.minutes} minutes, rounds of ${chaosSeconds} s`);

  const world = await startWorld({ seconds: options.minutes * 60, log });
  const checker = new Checker(world, log);
  const faults = new Faults(world, () => checker.samplePeaks());
  const operations = new Operations(world);
  const sampler = setInterval(() => checker.samplePeaks(), 2000);
  const result: SoakResult = {
    seed: options.seed,
    rounds: 0,
    quietPoints: 0,
    faults: 0,
    faultsByKind: {},
    operations: 0,
    operationsByKind: {},
    checks: {},
    violations: checker.violations,
    memory: [],
    slowestSettleMs: 0,
  };
  const rounds: Round[] = [];
  try {
    let model = initialModel();
    await operations.createAll(model);
    const first = await checker.settle(model, Date.now());
    log(`soak: the initial resources settled in ${(first / 1000).toFixed(1)} s`);

    // A round needs its chaos window and room for a quiet point after it.
    while (Date.now() + (chaosSeconds + 30) * 1000 <= deadline || result.rounds === 0) {
      const round = planRound(options.seed, result.rounds, model, planOptions);
      rounds.push(round);
      const roundStart = Date.now();
      const at = (seconds: number): Promise<void> => sleep(Math.max(0, roundStart + seconds * 1000 - Date.now()));

      const driving = (async () => {
        for (const planned of round.operations) {
          await at(planned.at);
          for (let attempt = 1; ; attempt++) {
            try {
              await operations.apply(planned.operation, planned.after);
              break;
            } catch (error) {
              // The schedule naming something the world does not have is a bug of the soak, not a fault.
              if (String(error).includes('Error: no ')) throw error;
              if (attempt % 10 === 1)
                log(
                  `operation ${planned.operation.kind} failed (attempt ${attempt}), retrying: ${String(error).slice(0, 200)}`,
                );
              await sleep(1000);
            }
          }
          tally(result.operationsByKind, planned.operation.kind);
          result.operations++;
          log(
            `round ${round.index} +${((Date.now() - roundStart) / 1000).toFixed(1)}s op ${JSON.stringify(redactedOperation(planned.operation))}`,
          );
        }
      })();
      let healedAt = roundStart;
      const injecting = round.faults.map(async (fault) => {
        await at(fault.at);
        const started = (): void =>
          log(
            `round ${round.index} +${((Date.now() - roundStart) / 1000).toFixed(1)}s fault ${fault.kind} on ${fault.target}`,
          );
        let outcome: string;
        try {
          outcome = await faults.inTurn(fault, started);
        } catch (error) {
          outcome = `failed: ${String(error)}`;
        }
        healedAt = Math.max(healedAt, Date.now());
        tally(result.faultsByKind, fault.kind);
        result.faults++;
        log(
          `round ${round.index} +${((Date.now() - roundStart) / 1000).toFixed(1)}s healed ${fault.kind} on ${fault.target}: ${outcome}`,
        );
      });
      await Promise.all([driving, ...injecting]);
      model = round.model;
      result.rounds++;

      log(`round ${round.index}: quiet point (${round.faults.length} faults, ${round.operations.length} operations)`);
      const settledModel = model;
      const { settledMs } = await checker.quietPoint(model, healedAt, async () => {
        const verify = (instance: string) => checker.checkSetupInterrupted(instance);
        for (const { kind, instance } of await operations.answerStatuses(settledModel, verify)) {
          tally(result.operationsByKind, kind);
          result.operations++;
          log(`round ${round.index}: ${kind} for ${instance}, as its status asks`);
        }
      });
      result.slowestSettleMs = Math.max(result.slowestSettleMs, settledMs);
      result.quietPoints++;
      log(
        `round ${round.index}: settled ${(settledMs / 1000).toFixed(1)} s after the last heal; ${checker.violations.length} violations so far`,
      );
    }
    checker.finish(result.quietPoints);
  } finally {
    clearInterval(sampler);
    result.checks = Object.fromEntries(checker.checks);
    result.memory = checker.memoryFigures();
    if (checker.violations.length > 0 || options.keepHistory) {
      const dir = join(
        options.historyDir,
        `seed-${options.seed}-${new Date(started).toISOString().replace(/[:.]/g, '-')}`,
      );
      try {
        writeHistory(dir, world, rounds, journal, result);
        result.historyDir = dir;
      } catch (error) {
        log(`could not write the history: ${String(error)}`);
      }
    }
    await world.stop();
  }
  return result;
}

/** The result as lines a script can read. */
export function report(result: SoakResult): string[] {
  const byKind = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ');
  return [
    `soak: seed ${result.seed}`,
    `soak: ${result.rounds} rounds, ${result.quietPoints} quiet points`,
    `soak: ${result.faults} faults (${byKind(result.faultsByKind)})`,
    `soak: ${result.operations} operations (${byKind(result.operationsByKind)})`,
    `soak: checks: ${byKind(result.checks)}`,
    `soak: slowest settle ${(result.slowestSettleMs / 1000).toFixed(1)} s after a heal`,
    ...result.memory.map(({ process, peakMiB, afterGcMiB }) => {
      const [first, last] = [afterGcMiB[0], afterGcMiB.at(-1)];
      const afterGc =
        first === undefined
          ? 'not sampled'
          : afterGcMiB.length === 1
            ? `${first} MiB at its one quiet point`
            : `${first} -> ${last} MiB (first -> last of ${afterGcMiB.length} quiet points)`;
      return `soak: memory ${process}: peak ${peakMiB} MiB, after GC ${afterGc}`;
    }),
    ...result.violations.map((violation) => `soak: violation ${violation.invariant}: ${violation.detail}`),
    `soak: ${result.violations.length} violations`,
    ...(result.historyDir ? [`soak: history in ${result.historyDir}`] : []),
  ];
}
