// The operator as its users run it: a separate `node src/main.ts` process with flags, whose JSON
// log lines, probes and metrics a test can read, and which a test can SIGTERM or SIGKILL.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { scrapeHttps } from './https-scrape.js';
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
  /**
   * Serve /metrics as the chart does (HTTPS, self-signed, token reviews). Default false: plain
   * HTTP, so tests read /metrics without a token.
   */
  secureMetrics?: boolean;
  /**
   * The program and its leading arguments, before the flags; default: this repository's
   * src/main.ts through tsx. The image test runs the image's entrypoint in a sandbox instead.
   */
  command?: [program: string, ...args: string[]];
}

export interface RunningOperator {
  readonly name: string;
  readonly pid: number;
  /** http://... or, with secureMetrics, https://... */
  readonly metricsUrl: string;
  readonly probesUrl: string;
  readonly logFile: string;
  /** Waits for the process to end (however it is made to); "exit code N" or the signal's name. */
  waitForExit(): Promise<string>;
  /** Everything the process wrote so far, line by line. */
  output(): string[];
  /** The JSON log records written so far (other lines skipped). */
  records(): LogRecord[];
  waitForLog(what: string, match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  waitForReady(timeoutMs?: number): Promise<void>;
  /** The /metrics text; with secureMetrics `token` must be allowed to get /metrics. */
  metrics(token?: string): Promise<string>;
  /** SIGTERM to the operator alone; resolves with how it exited. */
  terminate(): Promise<string>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<string>;
}

/**
 * The operator's flags as deploy/install.yaml's Deployment passes them (the chart's default values),
 * with $(POD_NAMESPACE) expanded as the kubelet would; the listen addresses are left to the harness
 * (free local ports instead of the pod's).
 */
export function chartDefaultArgs(podNamespace: string): string[] {
  const deployment = parseAllDocuments(readFileSync(join(root, 'deploy/install.yaml'), 'utf8'))
    .map(
      (document) =>
        document.toJSON() as {
          kind?: string;
          spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } };
        } | null,
    )
    .find((manifest) => manifest?.kind === 'Deployment');
  const args = deployment?.spec?.template?.spec?.containers?.[0]?.args;
  if (args === undefined) throw new Error('deploy/install.yaml has no Deployment with args');
  return args
    .map((arg) => arg.replace('$(POD_NAMESPACE)', podNamespace))
    .filter((arg) => !/^--(metrics|health-probe)-bind-address=/.test(arg));
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
  const [program, ...leading] = options.command ?? [process.execPath, '--import', 'tsx', join(root, 'src/main.ts')];
  const args = [
    ...leading,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${probesPort}`,
    '--log-format=json',
    '--log-level=debug',
    '--leader-elect=false',
    `--metrics-secure=${options.secureMetrics ?? false}`,
    ...(options.args ?? []),
  ];
  const env = { ...process.env, KUBECONFIG: options.kubeconfigPath, ...options.env };
  const child: GroupProcess = processScope().spawn(name, program, args, logFile, env);
  const output = (): string[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
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
  const metricsUrl = `${options.secureMetrics ? 'https' : 'http'}://127.0.0.1:${metricsPort}/metrics`;
  return {
    name,
    pid: child.pid,
    metricsUrl,
    probesUrl,
    logFile,
    waitForExit: () => child.wait(),
    output,
    records,
    waitForLog: (what, match, timeoutMs = 30_000) =>
      eventually(
        `${name} to log ${what}`,
        () => {
          if (child.hasExited()) throw new Error(`${name} exited; its output:\n${output().slice(-20).join('\n')}`);
          return records().find(match);
        },
        { timeoutMs },
      ),
    waitForReady: async (timeoutMs = 30_000) => {
      await eventually(
        `${name} to be ready`,
        async () => {
          if (child.hasExited()) throw new Error(`${name} exited; its output:\n${output().slice(-20).join('\n')}`);
          const response = await fetch(`${probesUrl}/readyz`).catch(() => undefined);
          return response?.status === 200;
        },
        { timeoutMs },
      );
    },
    metrics: async (token) => {
      if (!options.secureMetrics) return (await fetch(metricsUrl)).text();
      const scrape = await scrapeHttps(metricsUrl, token === undefined ? {} : { token });
      if (scrape.status !== 200) throw new Error(`GET ${metricsUrl}: ${scrape.status} ${scrape.body}`);
      return scrape.body;
    },
    terminate: () => child.signal('SIGTERM'),
    kill: () => child.signal('SIGKILL'),
  };
}
