// InfluxDB's JSON as the client speaks it: the bodies it sends, and how it reads the answers
// (undefined: an answer of the wrong shape, which the client reports as not InfluxDB's).
import { isJsonObject, type JsonObject } from './responses.js';
import type { Answer } from './transport.js';
import type {
  Authorization,
  BucketInfo,
  BucketState,
  Created,
  CreatedAuthorization,
  DbrpMapping,
  Health,
  Permission,
  SetupRequest,
  SetupResult,
  SetupStatus,
  TokenOwner,
  V1Authorization,
} from './types.js';

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function idOf(container: JsonObject, key: string): string | undefined {
  const inner = container[key];
  return isJsonObject(inner) ? nonEmptyString(inner.id) : undefined;
}

/** The 201 carries `user`, `org`, `bucket` and `auth` as objects; their token is ignored on purpose. */
export function parseSetupResult(json: unknown): SetupResult | undefined {
  if (!isJsonObject(json)) return undefined;
  const userID = idOf(json, 'user');
  const orgID = idOf(json, 'org');
  const bucketID = idOf(json, 'bucket');
  const authorizationID = idOf(json, 'auth');
  if (!userID || !orgID || !bucketID || !authorizationID) return undefined;
  return { userID, orgID, bucketID, authorizationID };
}

export function parseSetupStatus(json: unknown): SetupStatus | undefined {
  return isJsonObject(json) && typeof json.allowed === 'boolean' ? { allowed: json.allowed } : undefined;
}

export function parseBucket(json: unknown): BucketState | undefined {
  if (!isJsonObject(json)) return undefined;
  const name = nonEmptyString(json.name);
  const orgID = nonEmptyString(json.orgID);
  const retentionSeconds = retentionOf(json);
  return name === undefined || orgID === undefined || retentionSeconds === undefined
    ? undefined
    : { name, orgID, retentionSeconds };
}

export function parseTokenOwner(json: unknown): TokenOwner | undefined {
  if (!isJsonObject(json)) return undefined;
  const userID = nonEmptyString(json.id);
  const userName = nonEmptyString(json.name);
  return userID && userName ? { userID, userName } : undefined;
}

export function parseHealth(json: unknown): Health | undefined {
  if (!isJsonObject(json) || typeof json.status !== 'string') return undefined;
  return typeof json.version === 'string' ? { status: json.status, version: json.version } : { status: json.status };
}

/** The ID of the entry named `name` in `json[listKey]`; null when absent, undefined when the shape is wrong. */
export function findIdByName(json: unknown, listKey: string, name: string): string | null | undefined {
  if (!isJsonObject(json)) return undefined;
  const list = json[listKey];
  if (!Array.isArray(list)) return undefined;
  const match = list.find((entry): entry is JsonObject => isJsonObject(entry) && entry.name === name);
  if (match === undefined) return null;
  return nonEmptyString(match.id);
}

/** The bucket named `name` in a bucket list, with its retention; null when absent, undefined when the shape is wrong. */
export function findBucket(json: unknown, name: string): BucketInfo | null | undefined {
  if (!isJsonObject(json) || !Array.isArray(json.buckets)) return undefined;
  const match = json.buckets.find((entry): entry is JsonObject => isJsonObject(entry) && entry.name === name);
  return match === undefined ? null : parseBucketInfo(match);
}

/** A bucket as a list or GET /api/v2/buckets/{id} shows it; undefined when the shape is wrong. */
export function parseBucketInfo(json: unknown): BucketInfo | undefined {
  if (!isJsonObject(json)) return undefined;
  const id = nonEmptyString(json.id);
  const name = nonEmptyString(json.name);
  const retentionSeconds = retentionOf(json);
  const description = typeof json.description === 'string' ? json.description : '';
  return id === undefined || name === undefined || retentionSeconds === undefined
    ? undefined
    : { id, name, retentionSeconds, description };
}

/** A bucket's retention: the `expire` rule's everySeconds; no rule (or 0) is infinite. */
function retentionOf(bucket: JsonObject): number | undefined {
  const rules = bucket.retentionRules ?? [];
  if (!Array.isArray(rules)) return undefined;
  const expire = rules.find((rule): rule is JsonObject => isJsonObject(rule) && rule.type === 'expire');
  if (expire === undefined) return 0;
  return typeof expire.everySeconds === 'number' ? expire.everySeconds : undefined;
}

export function parseCreated(json: unknown): Created | undefined {
  const id = isJsonObject(json) ? nonEmptyString(json.id) : undefined;
  return id === undefined ? undefined : { id };
}

/**
 * InfluxDB's own default shard-group duration for a retention (storage's shardGroupDuration):
 * infinite or at least 180 days: 7 days; at least 2 days: 1 day; else 1 hour. A PATCH must send it
 * with the retention: InfluxDB otherwise keeps the old duration and refuses a retention shorter
 * than that (422).
 */
export function shardGroupDurationSeconds(retentionSeconds: number): number {
  if (retentionSeconds === 0 || retentionSeconds >= 180 * 86400) return 7 * 86400;
  if (retentionSeconds >= 2 * 86400) return 86400;
  return 3600;
}

export function retentionRules(retentionSeconds: number): JsonObject[] {
  return [
    {
      type: 'expire',
      everySeconds: retentionSeconds,
      shardGroupDurationSeconds: shardGroupDurationSeconds(retentionSeconds),
    },
  ];
}

function parsePermission(json: unknown): Permission | undefined {
  if (!isJsonObject(json) || typeof json.action !== 'string' || !isJsonObject(json.resource)) return undefined;
  const { type, id, orgID } = json.resource;
  if (typeof type !== 'string') return undefined;
  return {
    action: json.action,
    resource: { type, ...(typeof id === 'string' && { id }), ...(typeof orgID === 'string' && { orgID }) },
  };
}

export function parseAuthorization(json: unknown): Authorization | undefined {
  if (!isJsonObject(json) || !Array.isArray(json.permissions)) return undefined;
  const id = nonEmptyString(json.id);
  const orgID = nonEmptyString(json.orgID);
  const userID = nonEmptyString(json.userID);
  const permissions = json.permissions.map(parsePermission);
  if (!id || !orgID || !userID || permissions.some((permission) => permission === undefined)) return undefined;
  const token = nonEmptyString(json.token);
  return {
    id,
    orgID,
    userID,
    description: typeof json.description === 'string' ? json.description : '',
    active: json.status === 'active',
    permissions: permissions as Permission[],
    ...(token !== undefined && { token }),
  };
}

/** Every entry of `json[listKey]` parsed, or undefined when the list or any entry is not the shape InfluxDB sends. */
export function parseList<T>(
  json: unknown,
  listKey: string,
  parse: (entry: unknown) => T | undefined,
): T[] | undefined {
  if (!isJsonObject(json) || !Array.isArray(json[listKey])) return undefined;
  const all = (json[listKey] as unknown[]).map(parse);
  return all.some((entry) => entry === undefined) ? undefined : (all as T[]);
}

/** InfluxDB keeps a v1 authorization's username in the field a v2 authorization keeps its token in. */
export function parseV1Authorization(json: unknown): V1Authorization | undefined {
  const parsed = parseAuthorization(json);
  if (parsed?.token === undefined) return undefined;
  const { token: username, ...rest } = parsed;
  return { ...rest, username };
}

export function parseDbrp(json: unknown): DbrpMapping | undefined {
  if (!isJsonObject(json)) return undefined;
  const id = nonEmptyString(json.id);
  const database = nonEmptyString(json.database);
  const retentionPolicy = nonEmptyString(json.retention_policy);
  const orgID = nonEmptyString(json.orgID);
  const bucketID = nonEmptyString(json.bucketID);
  if (!id || !database || !retentionPolicy || !orgID || !bucketID) return undefined;
  if (typeof json.default !== 'boolean') return undefined;
  return { id, database, retentionPolicy, default: json.default, virtual: json.virtual === true, orgID, bucketID };
}

/** GET and PATCH wrap one mapping in `content`; POST answers with the bare mapping. */
export function parseDbrpContent(json: unknown): DbrpMapping | undefined {
  return isJsonObject(json) ? parseDbrp(json.content) : undefined;
}

/**
 * The database names of a SHOW DATABASES answer: one statement, one series with the column
 * `name`. A statement error (or any other shape) is not what InfluxDB answers this query with.
 */
export function parseDatabaseNames(json: unknown): string[] | undefined {
  const [result] = isJsonObject(json) && Array.isArray(json.results) ? (json.results as unknown[]) : [];
  if (!isJsonObject(result) || result.error !== undefined) return undefined;
  const [series] = Array.isArray(result.series) ? (result.series as unknown[]) : [];
  if (series === undefined) return [];
  if (!isJsonObject(series)) return undefined;
  const rows = series.values ?? [];
  if (!Array.isArray(rows)) return undefined;
  const names = rows.map((row) => (Array.isArray(row) && typeof row[0] === 'string' ? row[0] : undefined));
  return names.some((name) => name === undefined) ? undefined : (names as string[]);
}

/** A create's answer is the whole authorization, its token included (the only answer that shows it on v2.9+). */
export function parseCreatedAuthorization(json: unknown): CreatedAuthorization | undefined {
  const parsed = parseAuthorization(json);
  return parsed?.token === undefined ? undefined : { ...parsed, token: parsed.token };
}

const SESSION_COOKIE = /^\s*(influxdb-oss-session=[^;\s]+)/;

/** The session a sign-in opened, as the Cookie header that closes it; undefined without one. */
export function sessionOf(answer: Answer): string | undefined {
  const cookies = answer.headers.raw()['set-cookie'] ?? [];
  return cookies.map((header) => SESSION_COOKIE.exec(header)?.[1]).find((value) => value !== undefined);
}

/** The credentials a setup request carries, which no error text may echo. */
export function secretsOf(request: SetupRequest, authToken?: string): string[] {
  return authToken === undefined ? [request.password, request.token] : [request.password, request.token, authToken];
}

/** Only retentionPeriodSeconds is sent: retentionPeriodHrs is read as NANOSECONDS by InfluxDB. */
export function setupBody(request: SetupRequest): JsonObject {
  return {
    username: request.username,
    password: request.password,
    org: request.org,
    bucket: request.bucket,
    retentionPeriodSeconds: request.retentionPeriodSeconds,
    token: request.token,
  };
}
