/**
 * The stand-in's 1.x API pieces that hold no state: how /query and /write read credentials, line
 * protocol, and the few InfluxQL statements the tests send (SHOW DATABASES, SELECT <fields> FROM
 * <measurement>). Read from influxd v2.9.1 (http/legacy, v1/coordinator, influxql/query) and held
 * to the real servers by the conformance test; anything else is answered with an error that says
 * it is the stand-in's, so a test can never mistake it for InfluxDB's answer.
 */

/** What a 1.x request authenticates with (http/legacy: parseCredentials). */
export type V1Credentials =
  { scheme: 'url' | 'basic'; username: string; password: string } | { scheme: 'token'; token: string };

/**
 * `u` and `p` query parameters first (both non-empty), then `Authorization: Token <token>` (a
 * `user:` prefix is dropped), then Basic auth; undefined when none is there.
 */
export function v1CredentialsOf(url: URL, header: string | undefined): V1Credentials | undefined {
  const username = url.searchParams.get('u') ?? '';
  const password = url.searchParams.get('p') ?? '';
  if (username !== '' && password !== '') return { scheme: 'url', username, password };
  if (header === undefined || header === '') return undefined;
  const parts = header.split(' ');
  if (parts.length === 2 && parts[0] === 'Token') {
    const value = parts[1] ?? '';
    const colon = value.indexOf(':');
    return { scheme: 'token', token: colon < 0 ? value : value.slice(colon + 1) };
  }
  // Go's Request.BasicAuth: the scheme is matched case-insensitively.
  const basic = /^basic (.*)$/i.exec(header)?.[1];
  if (basic === undefined) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export type FieldValue = number | string | boolean;

export interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Nanoseconds since the epoch. */
  time: bigint;
}

const NANOSECONDS_PER: Record<string, bigint> = {
  ns: 1n,
  n: 1n,
  u: 1_000n,
  µ: 1_000n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Splits at `separator` outside double quotes, honouring backslash escapes. */
function splitUnquoted(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] ?? '';
    if (character === '\\' && index + 1 < text.length) {
      current += character + (text[index + 1] ?? '');
      index += 1;
      continue;
    }
    if (character === '"') quoted = !quoted;
    if (character === separator && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += character;
  }
  parts.push(current);
  return parts;
}

const unescape = (text: string): string => text.replace(/\\(.)/g, '$1');

function fieldValue(raw: string): FieldValue | undefined {
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) return unescape(raw.slice(1, -1));
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return true;
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return false;
  if (/^-?\d+[iu]$/.test(raw)) return Number(raw.slice(0, -1));
  const number = Number(raw);
  return raw !== '' && Number.isFinite(number) ? number : undefined;
}

/**
 * Line protocol as the tests write it: `measurement[,tag=value...] field=value[,...] [time]`. A
 * line that does not parse makes the whole write fail, as InfluxDB's parser does.
 */
export function parseLineProtocol(
  body: string,
  precision: string,
  now: bigint,
): { points: StoredPoint[] } | { error: string } {
  const scale = NANOSECONDS_PER[precision];
  if (scale === undefined) return { error: `invalid precision "${precision}"` };
  const points: StoredPoint[] = [];
  for (const line of body.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [series = '', fieldText = '', timeText, ...rest] = splitUnquoted(trimmed, ' ');
    if (fieldText === '' || rest.length > 0) return { error: `unable to parse '${trimmed}': missing fields` };
    const [measurement = '', ...tagPairs] = splitUnquoted(series, ',');
    const tags: Record<string, string> = {};
    for (const pair of tagPairs) {
      const [key, value] = splitUnquoted(pair, '=');
      if (!key || value === undefined) return { error: `unable to parse '${trimmed}': missing tag value` };
      tags[unescape(key)] = unescape(value);
    }
    const fields: Record<string, FieldValue> = {};
    for (const pair of splitUnquoted(fieldText, ',')) {
      const equals = pair.indexOf('=');
      const value = equals > 0 ? fieldValue(pair.slice(equals + 1)) : undefined;
      if (value === undefined) return { error: `unable to parse '${trimmed}': invalid field format` };
      fields[unescape(pair.slice(0, equals))] = value;
    }
    if (timeText !== undefined && !/^-?\d+$/.test(timeText))
      return { error: `unable to parse '${trimmed}': bad timestamp` };
    const time = timeText === undefined ? now : BigInt(timeText) * scale;
    points.push({ measurement: unescape(measurement), tags, fields, time });
  }
  return { points };
}

/** Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped, no fraction when it is zero. */
export function rfc3339Nano(time: bigint): string {
  const seconds = time / 1_000_000_000n;
  const nanos = time % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const fraction = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${fraction}Z`;
}

/** How the InfluxQL statements reach the data: the mappings and points the request may read. */
export interface QueryContext {
  /** SHOW DATABASES: the database of every mapping the request may read, in list order, each once. */
  databases(): string[];
  /**
   * The bucket a SELECT reads, or InfluxDB's error for the statement: `database not found: <db>`
   * when no readable mapping has the database, `retention policy not found: <rp>` when none has
   * the retention policy (the default mapping's when none is named).
   */
  resolve(database: string, retentionPolicy: string): { bucketID: string } | { error: string };
  points(bucketID: string): StoredPoint[];
}

interface Row {
  name: string;
  columns: string[];
  values?: unknown[][];
}

type StatementResult = { statement_id: number; series?: Row[]; error?: string };

const IDENTIFIER = String.raw`(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.-]*))`;
const SELECT = new RegExp(
  String.raw`^SELECT\s+(\*|${IDENTIFIER}(?:\s*,\s*${IDENTIFIER})*)\s+FROM\s+${IDENTIFIER}\s*;?$`,
  'i',
);
const FIELD = new RegExp(IDENTIFIER, 'g');

function identifierOf(match: RegExpMatchArray | RegExpExecArray, at: number): string {
  return match[at] !== undefined ? unescape(match[at] ?? '') : (match[at + 1] ?? '');
}

function timeValue(time: bigint, epoch: string): string | number {
  const scale = NANOSECONDS_PER[epoch];
  return scale === undefined ? rfc3339Nano(time) : Number(time / scale);
}

function select(match: RegExpMatchArray, db: string, rp: string, epoch: string, context: QueryContext) {
  if (db === '') return { error: 'database name required' };
  const target = context.resolve(db, rp);
  if ('error' in target) return target;
  // Groups: 1 the field list, 2-5 its first and last identifier, 6-7 the measurement.
  const measurement = identifierOf(match, 6);
  const selected = match[1] === '*' ? undefined : [...match[1].matchAll(FIELD)].map((field) => identifierOf(field, 1));
  const points = context
    .points(target.bucketID)
    .filter((point) => point.measurement === measurement)
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const keys =
    selected ??
    [...new Set(points.flatMap((point) => [...Object.keys(point.fields), ...Object.keys(point.tags)]))].sort();
  const rows = points
    .filter((point) => keys.some((key) => key in point.fields))
    .map((point) => [timeValue(point.time, epoch), ...keys.map((key) => point.fields[key] ?? point.tags[key] ?? null)]);
  if (rows.length === 0) return {};
  return { series: [{ name: measurement, columns: ['time', ...keys], values: rows }] };
}

/** The JSON /query answers with (200 in every case but a missing query). */
export function runInfluxQL(
  query: string,
  parameters: { db: string; rp: string; epoch: string },
  context: QueryContext,
): { results: StatementResult[] } {
  const statement = query.trim();
  if (/^SHOW\s+DATABASES\s*;?$/i.test(statement)) {
    const names = context.databases();
    const row: Row = {
      name: 'databases',
      columns: ['name'],
      ...(names.length > 0 && { values: names.map((n) => [n]) }),
    };
    return { results: [{ statement_id: 0, series: [row] }] };
  }
  const match = SELECT.exec(statement);
  if (match === null) return { results: [{ statement_id: 0, error: `stand-in: unsupported statement: ${statement}` }] };
  return { results: [{ statement_id: 0, ...select(match, parameters.db, parameters.rp, parameters.epoch, context) }] };
}
