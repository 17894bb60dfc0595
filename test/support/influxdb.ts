// InfluxDB servers for the tests: real `influxd` v2.7.12 and v2.9.1 built from Go modules by
// test/influxdb/build.sh, or the stand-in that mimics them (fast, and able to fail on purpose).
// Both come behind one interface, so a scenario can run against either. A real server runs in its
// own process group and scratch folder, torn down on every exit path like the control plane.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfluxAdmin, influxRequest } from './influx-http.js';
import { startInfluxStandin, type InfluxStandin, type StandinOptions } from './influx-standin.js';
import { ProcessScope, freePorts, type GroupProcess } from './processes.js';

export const REAL_VERSIONS = ['v2.7.12', 'v2.9.1'] as const;
export type RealVersion = (typeof REAL_VERSIONS)[number];

export interface InfluxServer {
  readonly kind: 'influxd' | 'standin';
  readonly version: RealVersion;
  readonly url: string;
  readonly admin: InfluxAdmin;
  /** v2.9+ stores only hashes of tokens: a listed authorization never shows its token again. */
  readonly hashedTokens: boolean;
  /** Stop, delete every piece of data, start again on the same port: a fresh instance. */
  wipe(): Promise<void>;
  /** Stop (SIGTERM) and start again on the same port with the same data. */
  restart(): Promise<void>;
  /** SIGKILL (a crash: nothing in flight finishes) and start again with the same data. Real servers only. */
  crash(): Promise<void>;
  /**
   * Stop, run `influxd recovery <args>` on the data (as a person would: it needs the server
   * stopped), start again; what it printed. Real servers only.
   */
  recovery(args: readonly string[]): Promise<string>;
  /** The server's own log files (none for the stand-in). */
  logFiles(): string[];
  stop(): Promise<void>;
}

const buildScript = fileURLToPath(new URL('../influxdb/build.sh', import.meta.url));

let built: Promise<Map<string, string>> | undefined;

/** Builds every pinned influxd on first use (a no-op on a warm cache); the binary path of each version. */
export function ensureInfluxd(): Promise<Map<string, string>> {
  built ??= new Promise((resolve, reject) => {
    // Progress goes straight through: a cold build takes long enough that silence would look like a hang.
    const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`${buildScript} failed (exit code ${code})`));
      const paths = new Map<string, string>();
      for (const line of stdout.trim().split('\n')) {
        const [version, path] = line.split(' ');
        if (version && path) paths.set(version, path);
      }
      resolve(paths);
    });
  });
  return built;
}

const healthTimeoutMs = 60_000;

/** A real influxd on a free 127.0.0.1 port, with its data in a scratch folder of its own. */
export async function startInfluxd(version: RealVersion): Promise<InfluxServer> {
  const binary = (await ensureInfluxd()).get(version);
  if (binary === undefined) throw new Error(`influxd ${version} is not built by ${buildScript}`);
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const scope = new ProcessScope(`influxd-${version}-`, () => stop());
  const data = join(scope.dir, 'data');
  let proc: GroupProcess | undefined;
  let starts = 0;

  async function start(): Promise<void> {
    starts += 1;
    const log = join(scope.dir, `influxd-${starts}.log`);
    proc = scope.spawn(
      `influxd ${version}`,
      binary as string,
      [
        `--bolt-path=${join(data, 'influxd.bolt')}`,
        `--engine-path=${join(data, 'engine')}`,
        `--sqlite-path=${join(data, 'influxd.sqlite')}`,
        `--http-bind-address=127.0.0.1:${port}`,
        '--reporting-disabled',
        '--log-level=warn',
      ],
      log,
    );
    const deadline = Date.now() + healthTimeoutMs;
    for (;;) {
      if (proc.hasExited()) throw new Error(`influxd ${version} exited at start (${await proc.exited}); see ${log}`);
      const health = await influxRequest(url, { path: '/health', timeoutMs: 2000 }).catch(() => undefined);
      if (health?.status === 200) return;
      if (Date.now() > deadline)
        throw new Error(`influxd ${version} not healthy after ${healthTimeoutMs / 1000}s; see ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await proc?.stop();
      scope.dispose();
    })();
    return stopping;
  }

  await start();
  return {
    kind: 'influxd',
    version,
    url,
    admin: new InfluxAdmin(url),
    hashedTokens: version !== 'v2.7.12',
    async wipe() {
      await proc?.stop();
      rmSync(data, { recursive: true, force: true });
      await start();
    },
    async restart() {
      await proc?.stop();
      await start();
    },
    async crash() {
      await proc?.signal('SIGKILL');
      await proc?.stop();
      await start();
    },
    async recovery(args) {
      await proc?.stop();
      try {
        const bolt = `--bolt-path=${join(data, 'influxd.bolt')}`;
        const { stdout } = await promisify(execFile)(binary, ['recovery', ...args, bolt]);
        return stdout;
      } finally {
        await start();
      }
    },
    logFiles: () => Array.from({ length: starts }, (_, index) => join(scope.dir, `influxd-${index + 1}.log`)),
    stop,
  };
}

/** The stand-in behaving as `version` does (v2.9.1: hashed tokens). */
export async function startStandinServer(
  version: RealVersion,
  options: StandinOptions = {},
): Promise<InfluxServer & { standin: InfluxStandin }> {
  const hashedTokens = version !== 'v2.7.12';
  const standin = await startInfluxStandin({ version, hashedTokens, ...options });
  return {
    kind: 'standin',
    version,
    url: standin.url,
    admin: new InfluxAdmin(standin.url),
    hashedTokens,
    standin,
    wipe: async () => standin.knobs.wipe(),
    // The stand-in keeps everything in memory: it has nothing to restart.
    restart: async () => undefined,
    crash: () => Promise.reject(new Error('the stand-in cannot crash in the middle of a request')),
    recovery: () => Promise.reject(new Error('the stand-in has no influxd recovery')),
    logFiles: () => [],
    stop: () => standin.close(),
  };
}

const shared = new Map<RealVersion, Promise<InfluxServer>>();

/**
 * One real influxd per version for the whole test run (starting one costs seconds): tests take
 * turns, each wiping it first. Stopped when the run ends.
 */
export function sharedInfluxd(version: RealVersion): Promise<InfluxServer> {
  let server = shared.get(version);
  if (server === undefined) {
    server = startInfluxd(version);
    shared.set(version, server);
    process.once('beforeExit', () => void server?.then((started) => started.stop()));
  }
  return server;
}

/** A fresh instance of the shared influxd of `version`. */
export async function freshInfluxd(version: RealVersion): Promise<InfluxServer> {
  const server = await sharedInfluxd(version);
  await server.wipe();
  return server;
}
