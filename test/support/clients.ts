// The clients people point at InfluxDB, run for real by the tests: Telegraf and the `influx` CLI
// (built from Go modules by test/telegraf/build.sh and test/influx-cli/build.sh, cached), the 1.x
// Node client `influx` from npm, and what Grafana does with an InfluxDB datasource provisioning
// file. Each takes its configuration in the form a Secret hands it over (environment variables, a
// config file, a provisioning file) and knows nothing of the operator.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfluxDB as InfluxQLClient, type IResults } from 'influx';
import { parse } from 'yaml';
import { runBuildScript } from './processes.js';

const telegrafScript = fileURLToPath(new URL('../telegraf/build.sh', import.meta.url));
const influxCliScript = fileURLToPath(new URL('../influx-cli/build.sh', import.meta.url));
let telegraf: Promise<string> | undefined;
let influxCli: Promise<string> | undefined;

/** The Telegraf binary, built on first use (a no-op on a warm cache). */
export function ensureTelegraf(): Promise<string> {
  telegraf ??= runBuildScript(telegrafScript);
  return telegraf;
}

/** The `influx` CLI binary, built on first use (a no-op on a warm cache). */
export function ensureInfluxCli(): Promise<string> {
  influxCli ??= runBuildScript(influxCliScript);
  return influxCli;
}

export interface Run {
  /** 0 on success. */
  code: number;
  stdout: string;
  stderr: string;
}

/** A binary run to completion with exactly this environment (nothing of the test process's leaks in). */
function run(binary: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(new Error(error.message, { cause: error }));
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** A scratch folder for one run's files, removed afterwards. */
async function inScratch<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `telegraf --once` with this configuration and these environment variables (Telegraf reads
 * `${NAME}` in its config from them, as a Pod's `envFrom: secretRef` provides them): every input
 * gathered once, every output flushed, then exit.
 */
export async function runTelegrafOnce(config: string, env: Record<string, string>): Promise<Run> {
  const binary = await ensureTelegraf();
  return inScratch('telegraf-', async (dir) => {
    const file = join(dir, 'telegraf.conf');
    writeFileSync(file, config, { mode: 0o600 });
    return run(binary, ['--config', file, '--once'], { PATH: '/usr/bin:/bin', HOME: dir, ...env });
  });
}

/** Telegraf's agent and one exec input that emits a single point tagged with the run, then the outputs under test. */
export function telegrafOnceConfig(measurement: string, run: string, outputs: string): string {
  return [
    '[agent]',
    '  omit_hostname = true',
    '  flush_interval = "1s"',
    '[[inputs.exec]]',
    `  commands = ["/bin/echo ${measurement},run=${run} value=42i"]`,
    '  data_format = "influx"',
    outputs,
  ].join('\n');
}

/** Telegraf's error lines (`E!`): a failed write is logged, and `--once` still exits 0. */
export function telegrafErrors(result: Run): string[] {
  return `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => / E! /.test(line));
}

/**
 * The `influx` CLI with a configs file as a Secret key holds it (`[name] url, token, org, active`),
 * passed by --configs-path: `influx write ...`, `influx query ...`.
 */
export async function runInfluxCli(args: string[], configs: string): Promise<Run> {
  const binary = await ensureInfluxCli();
  return inScratch('influx-cli-', async (dir) => {
    const file = join(dir, 'influx-configs');
    writeFileSync(file, configs, { mode: 0o600 });
    // The flag goes first: the CLI stops reading flags at the first argument (a line, a query).
    const [command = '', ...rest] = args;
    return run(binary, [command, '--configs-path', file, ...rest], { PATH: '/usr/bin:/bin', HOME: dir });
  });
}

/** How a 1.x client logs in: a v1 username and password, or (InfluxDB 2.x) any username with the token as password. */
export interface InfluxQLLogin {
  url: string;
  database: string;
  username: string;
  password: string;
}

/** A query with the npm 1.x client `influx`: the rows, or the error it threw (InfluxDB's statement error included). */
export async function influxQLQuery(
  login: InfluxQLLogin,
  query: string,
): Promise<{ rows: Array<Record<string, unknown>> } | { error: string }> {
  const url = new URL(login.url);
  const client = new InfluxQLClient({
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    database: login.database,
    username: login.username,
    password: login.password,
    pool: { maxRetries: 0, requestTimeout: 15_000 },
  });
  try {
    const results: IResults<Record<string, unknown>> = await client.query(query);
    return { rows: [...results] };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

interface GrafanaDatasource {
  name: string;
  type: string;
  url: string;
  user?: string;
  basicAuth?: boolean;
  basicAuthUser?: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, unknown>;
}

/** The answer Grafana's backend got: HTTP status and the parsed body. */
export interface GrafanaAnswer {
  status: number;
  body: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * What Grafana does with an InfluxDB datasource from a provisioning file (apiVersion: 1) when a
 * panel runs `query`, as its backend (pkg/tsdb/influxdb) builds the request, without Grafana:
 * - `jsonData.version: Flux`: POST <url>/api/v2/query?org=<organization> with
 *   `Authorization: Token <secureJsonData.token>`; `v.defaultBucket` and `v.organization` become
 *   the datasource's values, `v.timeRangeStart`/`v.timeRangeStop` the last hour.
 * - InfluxQL (the default): <url>/query with db=<jsonData.dbName>, epoch=ms and q (in the query
 *   string for httpMode GET, the form body for POST); Basic auth from basicAuthUser and
 *   basicAuthPassword, or from user and secureJsonData.password; custom headers from
 *   jsonData.httpHeaderName<n> and secureJsonData.httpHeaderValue<n> (the token as
 *   `Authorization: Token ...`).
 */
export async function grafanaQuery(
  provisioning: string,
  datasourceName: string,
  query: string,
): Promise<GrafanaAnswer> {
  const file = parse(provisioning) as { apiVersion?: number; datasources?: GrafanaDatasource[] };
  if (file.apiVersion !== 1) throw new Error('not a Grafana provisioning file (apiVersion: 1)');
  const source = file.datasources?.find((candidate) => candidate.name === datasourceName);
  if (source === undefined || source.type !== 'influxdb') throw new Error(`no influxdb datasource ${datasourceName}`);
  const json = source.jsonData ?? {};
  const secure = source.secureJsonData ?? {};
  const headers: Record<string, string> = { 'User-Agent': 'Grafana' };
  for (let index = 1; text(json[`httpHeaderName${index}`]) !== undefined; index += 1)
    headers[text(json[`httpHeaderName${index}`]) as string] = text(secure[`httpHeaderValue${index}`]) ?? '';
  const basic = (user: string, password: string) =>
    (headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
  const base = source.url.replace(/\/+$/, '');

  let response: Response;
  if (json.version === 'Flux') {
    const organization = text(json.organization) ?? '';
    const flux = query
      .replaceAll('v.defaultBucket', JSON.stringify(text(json.defaultBucket) ?? ''))
      .replaceAll('v.organization', JSON.stringify(organization))
      .replaceAll('v.timeRangeStart', '-1h')
      .replaceAll('v.timeRangeStop', 'now()');
    headers.Authorization = `Token ${text(secure.token) ?? ''}`;
    response = await fetch(`${base}/api/v2/query?${new URLSearchParams({ org: organization }).toString()}`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', Accept: 'application/csv' },
      body: JSON.stringify({ query: flux, type: 'flux', dialect: { header: true, annotations: [] } }),
    });
    const csv = await response.text();
    return { status: response.status, body: csv };
  }
  if (source.basicAuth === true) basic(source.basicAuthUser ?? '', text(secure.basicAuthPassword) ?? '');
  else if (source.user) basic(source.user, text(secure.password) ?? '');
  const parameters = new URLSearchParams({ db: text(json.dbName) ?? '', epoch: 'ms' });
  if (json.httpMode === 'POST') {
    response = await fetch(`${base}/query?${parameters.toString()}`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q: query }).toString(),
    });
  } else {
    parameters.set('q', query);
    response = await fetch(`${base}/query?${parameters.toString()}`, { headers });
  }
  const body = await response.text();
  let parsed: unknown = body;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Kept as text: an error page is an answer too.
  }
  return { status: response.status, body: parsed };
}

/** The values column of the first series of an InfluxQL answer (epoch=ms: [time, value] rows); throws its error. */
export function seriesValues(body: unknown): unknown[] {
  const results = (body as { results?: Array<{ series?: Array<{ values?: unknown[][] }>; error?: string }> }).results;
  const [first] = results ?? [];
  if (first?.error !== undefined) throw new Error(first.error);
  return (first?.series?.[0]?.values ?? []).map((row) => row[1]);
}
