// The operator as its users run it: a separate `node src/main.ts` process with flags, whose JSON
// log lines, probes and metrics a test can read, and which a test can SIGTERM or SIGKILL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessScope, freePorts } from './processes.js';
import type { GroupProcess } from './processes.js';
import { eventually } from './wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export type LogRecord = Record<string, unknown> & { level: string; message: string };

export interface OperatorOptions {
  kubeconfigPath: string;
  /** Extra flags; they override the defaults below. */
  args?: string[];
  env?: Record<string, string>;
  name?: string;
}

export interface RunningOperator {
  readonly name: string;
  readonly pid: number;
  readonly metricsUrl: string;
  readonly probesUrl: string;
  readonly logFile: string;
  /** Settles with "exit code N" or the signal's name. */
  readonly exited: Promise<string>;
  /** Everything the process wrote so far, line by line. */
  output(): string[];
  /** The JSON log records written so far (other lines skipped). */
  records(): LogRecord[];
  waitForLog(what: string, match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  waitForReady(timeoutMs?: number): Promise<void>;
  metrics(): Promise<string>;
  /** SIGTERM to the operator alone; resolves with how it exited. */
  terminate(): Promise<string>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<string>;
}

let scope: ProcessScope | undefined;
function processScope(): ProcessScope {
  scope ??= new ProcessScope('operators-', async () => undefined);
  return scope;
}

let started = 0;

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const [metricsPort, probesPort] = await freePorts(2);
  const name = options.name ?? `operator-${++started}`;
  const logFile = join(processScope().dir, `${name}.log`);
  const args = [
    '--import',
    'tsx',
    join(root, 'src/main.ts'),
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${probesPort}`,
    '--log-format=json',
    '--log-level=debug',
    '--leader-elect=false',
    // Plain HTTP, so tests read /metrics with fetch; secure metrics have their own tests, which pass --metrics-secure=true.
    '--metrics-secure=false',
    ...(options.args ?? []),
  ];
  const env = { ...process.env, KUBECONFIG: options.kubeconfigPath, ...options.env };
  const child: GroupProcess = processScope().spawn(name, process.execPath, args, logFile, env);
  const output = (): string[] => readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
  const records = (): LogRecord[] =>
    output().flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return [];
      }
    });
  const probesUrl = `http://127.0.0.1:${probesPort}`;
  return {
    name,
    pid: child.pid,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    probesUrl,
    logFile,
    exited: child.exited,
    output,
    records,
    waitForLog: (what, match, timeoutMs = 30_000) =>
      eventually(`${name} to log ${what}`, () => {
        if (child.hasExited()) throw new Error(`${name} exited; its output:\n${output().slice(-20).join('\n')}`);
        return records().find(match);
      }, { timeoutMs }),
    waitForReady: async (timeoutMs = 30_000) => {
      await eventually(`${name} to be ready`, async () => {
        if (child.hasExited()) throw new Error(`${name} exited; its output:\n${output().slice(-20).join('\n')}`);
        const response = await fetch(`${probesUrl}/readyz`).catch(() => undefined);
        return response?.status === 200;
      }, { timeoutMs });
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    terminate: () => child.signal('SIGTERM'),
    kill: () => child.signal('SIGKILL'),
  };
}
