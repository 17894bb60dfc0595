import { isJsonObject, interpret, type Expectation, type JsonObject } from './responses.js';
import { createTransport, type Answer, type Call } from './transport.js';
import type {
  Authorization,
  AuthorizationFilter,
  AuthorizationRequest,
  BucketInfo,
  BucketPermission,
  BucketState,
  Created,
  CreatedAuthorization,
  DbrpMapping,
  Deletion,
  Health,
  InfluxClient,
  InfluxClientOptions,
  Outcome,
  Permission,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  SetupStatus,
  TokenOwner,
  V1Authorization,
  V1Credentials,
} from './types.js';
import { findSetupRequestProblem } from './validate.js';

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function idOf(container: JsonObject, key: string): string | undefined {
  const inner = container[key];
  return isJsonObject(inner) ? nonEmptyString(inner.id) : undefined;
}

/** The 201 carries `user`, `org`, `bucket` and `auth` as objects; their token is ignored on purpose. */
function parseSetupResult(json: unknown): SetupResult | undefined {
  if (!isJsonObject(json)) return undefined;
  const userID = idOf(json, 'user');
  const orgID = idOf(json, 'org');
  const bucketID = idOf(json, 'bucket');
  const authorizationID = idOf(json, 'auth');
  if (!userID || !orgID || !bucketID || !authorizationID) return undefined;
  return { userID, orgID, bucketID, authorizationID };
}

function parseSetupStatus(json: unknown): SetupStatus | undefined {
  return isJsonObject(json) && typeof json.allowed === 'boolean' ? { allowed: json.allowed } : undefined;
}

function parseBucket(json: unknown): BucketState | undefined {
  if (!isJsonObject(json)) return undefined;
  const name = nonEmptyString(json.name);
  const orgID = nonEmptyString(json.orgID);
  const retentionSeconds = retentionOf(json);
  return name === undefined || orgID === undefined || retentionSeconds === undefined
    ? undefined
    : { name, orgID, retentionSeconds };
}

function parseTokenOwner(json: unknown): TokenOwner | undefined {
  if (!isJsonObject(json)) return undefined;
  const userID = nonEmptyString(json.id);
  const userName = nonEmptyString(json.name);
  return userID && userName ? { userID, userName } : undefined;
}

function parseHealth(json: unknown): Health | undefined {
  if (!isJsonObject(json) || typeof json.status !== 'string') return undefined;
  return typeof json.version === 'string' ? { status: json.status, version: json.version } : { status: json.status };
}

/** The ID of the entry named `name` in `json[listKey]`; null when absent, undefined when the shape is wrong. */
function findIdByName(json: unknown, listKey: string, name: string): string | null | undefined {
  if (!isJsonObject(json)) return undefined;
  const list = json[listKey];
  if (!Array.isArray(list)) return undefined;
  const match = list.find((entry): entry is JsonObject => isJsonObject(entry) && entry.name === name);
  if (match === undefined) return null;
  return nonEmptyString(match.id);
}

/** The bucket named `name` in a bucket list, with its retention; null when absent, undefined when the shape is wrong. */
function findBucket(json: unknown, name: string): BucketInfo | null | undefined {
  if (!isJsonObject(json) || !Array.isArray(json.buckets)) return undefined;
  const match = json.buckets.find((entry): entry is JsonObject => isJsonObject(entry) && entry.name === name);
  if (match === undefined) return null;
  const id = nonEmptyString(match.id);
  const retentionSeconds = retentionOf(match);
  const description = typeof match.description === 'string' ? match.description : '';
  return id === undefined || retentionSeconds === undefined ? undefined : { id, name, retentionSeconds, description };
}

/** An application token's permissions as InfluxDB takes them: each on one bucket of the org. */
export function bucketPermissions(orgID: string, permissions: readonly BucketPermission[]): Permission[] {
  return permissions.map(({ action, bucketID }) => ({ action, resource: { type: 'buckets', id: bucketID, orgID } }));
}

/** A bucket's retention: the `expire` rule's everySeconds; no rule (or 0) is infinite. */
function retentionOf(bucket: JsonObject): number | undefined {
  const rules = bucket.retentionRules ?? [];
  if (!Array.isArray(rules)) return undefined;
  const expire = rules.find((rule): rule is JsonObject => isJsonObject(rule) && rule.type === 'expire');
  if (expire === undefined) return 0;
  return typeof expire.everySeconds === 'number' ? expire.everySeconds : undefined;
}

function parseCreated(json: unknown): Created | undefined {
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

function retentionRules(retentionSeconds: number): JsonObject[] {
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

function parseAuthorization(json: unknown): Authorization | undefined {
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
function parseList<T>(json: unknown, listKey: string, parse: (entry: unknown) => T | undefined): T[] | undefined {
  if (!isJsonObject(json) || !Array.isArray(json[listKey])) return undefined;
  const all = (json[listKey] as unknown[]).map(parse);
  return all.some((entry) => entry === undefined) ? undefined : (all as T[]);
}

/** InfluxDB keeps a v1 authorization's username in the field a v2 authorization keeps its token in. */
function parseV1Authorization(json: unknown): V1Authorization | undefined {
  const parsed = parseAuthorization(json);
  if (parsed?.token === undefined) return undefined;
  const { token: username, ...rest } = parsed;
  return { ...rest, username };
}

function parseDbrp(json: unknown): DbrpMapping | undefined {
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
function parseDbrpContent(json: unknown): DbrpMapping | undefined {
  return isJsonObject(json) ? parseDbrp(json.content) : undefined;
}

/**
 * The database names of a SHOW DATABASES answer: one statement, one series with the column
 * `name`. A statement error (or any other shape) is not what InfluxDB answers this query with.
 */
function parseDatabaseNames(json: unknown): string[] | undefined {
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

function parseCreatedAuthorization(json: unknown): CreatedAuthorization | undefined {
  if (!isJsonObject(json)) return undefined;
  const id = nonEmptyString(json.id);
  const token = nonEmptyString(json.token);
  return id && token ? { id, token } : undefined;
}

const SESSION_COOKIE = /^\s*(influxdb-oss-session=[^;\s]+)/;

/** The session a sign-in opened, as the Cookie header that closes it; undefined without one. */
function sessionOf(answer: Answer): string | undefined {
  const cookie = answer.headers
    .raw()
    ['set-cookie']?.map((header) => SESSION_COOKIE.exec(header)?.[1])
    .find((value) => value !== undefined);
  return cookie;
}

function isNotFound<T>(outcome: Outcome<T>): boolean {
  return !outcome.ok && outcome.failure.kind === 'rejected' && outcome.failure.status === 404;
}

/** Observed: 404 for an ID that was deleted or never existed, 400 `invalid` for one InfluxDB cannot parse ("id must have a length of 16 bytes"). */
async function foundByID<T>(outcome: Promise<Outcome<T>>): Promise<Outcome<T | null>> {
  const settled = await outcome;
  const namesNothing =
    isNotFound(settled) || (!settled.ok && settled.failure.kind === 'rejected' && settled.failure.status === 400);
  return namesNothing ? { ok: true, value: null } : settled;
}

function secretsOf(request: SetupRequest, authToken?: string): string[] {
  return authToken === undefined ? [request.password, request.token] : [request.password, request.token, authToken];
}

/** Only retentionPeriodSeconds is sent: retentionPeriodHrs is read as NANOSECONDS by InfluxDB. */
function setupBody(request: SetupRequest): JsonObject {
  return {
    username: request.username,
    password: request.password,
    org: request.org,
    bucket: request.bucket,
    retentionPeriodSeconds: request.retentionPeriodSeconds,
    token: request.token,
  };
}

function refusedLocally<T>(problem: string): Outcome<T> {
  return { ok: false, failure: { kind: 'rejected', status: 0, code: 'invalid', message: problem } };
}

/** The expectation with its value also carrying the version InfluxDB stamps on every answer (X-Influxdb-Version), so /health is needed only without it. */
function versioned<T extends object>(expectation: Expectation<T>): Expectation<T & { version?: string }> {
  return {
    ...expectation,
    parse: (json, answer) => {
      const value = expectation.parse(json, answer);
      const version = answer.headers.get('x-influxdb-version');
      return value !== undefined && version ? { ...value, version } : value;
    },
  };
}

/** A client of one instance; `transport`: the connections of another client to share (the pool's). */
export function createInfluxClient(options: InfluxClientOptions, transport = createTransport(options)): InfluxClient {
  const { signal } = options;

  async function call<T>(request: Call, expectation: Expectation<T>): Promise<Outcome<T>> {
    const exchange = await transport.send(signal === undefined ? request : { ...request, signal });
    if (!exchange.ok) return exchange;
    return interpret(exchange.answer, expectation);
  }

  /** A DELETE answered with 204; one of something already gone (404) has done its job too. */
  async function remove(
    token: string,
    path: string,
    endpoint: string,
    query?: Record<string, string>,
  ): Promise<Outcome<Deletion>> {
    const deleted = await call(
      { method: 'DELETE', path, endpoint, authToken: token, ...(query && { query }) },
      { parse: () => 'deleted' as const, noContent: true, secrets: [token] },
    );
    return isNotFound(deleted) ? { ok: true, value: 'absent' } : deleted;
  }

  async function findBucketNamed(token: string, orgID: string, name: string): Promise<Outcome<BucketInfo | null>> {
    const lookup = await call(
      {
        method: 'GET',
        path: '/api/v2/buckets',
        endpoint: 'GET /api/v2/buckets',
        query: { orgID, name },
        authToken: token,
      },
      { parse: (json) => findBucket(json, name), secrets: [token] },
    );
    // InfluxDB answers a name that matches nothing with 404 rather than an empty list.
    return isNotFound(lookup) ? { ok: true, value: null } : lookup;
  }

  function listAuthorizations(token: string, filter: AuthorizationFilter): Promise<Outcome<Authorization[]>> {
    return call(
      {
        method: 'GET',
        path: '/api/v2/authorizations',
        endpoint: 'GET /api/v2/authorizations',
        query: { ...filter },
        authToken: token,
      },
      { parse: (json) => parseList(json, 'authorizations', parseAuthorization), secrets: [token] },
    );
  }

  async function postSetup(path: '/api/v2/setup' | '/api/v2/setup/user', request: SetupRequest, authToken?: string) {
    const problem = findSetupRequestProblem(request);
    if (problem !== undefined) return refusedLocally<SetupResult>(problem);
    return call(
      {
        method: 'POST',
        path,
        endpoint: `POST ${path}`,
        body: setupBody(request),
        ...(authToken === undefined ? {} : { authToken }),
      },
      {
        parse: parseSetupResult,
        secrets: secretsOf(request, authToken),
        plainNotFoundIsRejection: authToken !== undefined,
      },
    );
  }

  return {
    setupStatus: () =>
      call(
        { method: 'GET', path: '/api/v2/setup', endpoint: 'GET /api/v2/setup' },
        versioned({ parse: parseSetupStatus, secrets: [] }),
      ),

    setup: (request) => postSetup('/api/v2/setup', request),

    setupUser: (request, authToken) => postSetup('/api/v2/setup/user', request, authToken),

    checkToken: (token) =>
      call(
        { method: 'GET', path: '/api/v2/me', endpoint: 'GET /api/v2/me', authToken: token },
        { parse: parseTokenOwner, secrets: [token] },
      ),

    async lookupIDs(token, org, bucket, userID): Promise<Outcome<ResourceIDs>> {
      // InfluxDB answers an unknown org name with 404 rather than an empty list.
      const orgLookup = await call(
        { method: 'GET', path: '/api/v2/orgs', endpoint: 'GET /api/v2/orgs', query: { org }, authToken: token },
        { parse: (json) => findIdByName(json, 'orgs', org), secrets: [token] },
      );
      if (isNotFound(orgLookup)) return { ok: true, value: {} };
      if (!orgLookup.ok) return orgLookup;
      const orgID = orgLookup.value;
      if (orgID === null) return { ok: true, value: {} };

      const bucketLookup = await findBucketNamed(token, orgID, bucket);
      if (!bucketLookup.ok) return bucketLookup;
      const found: ResourceIDs =
        bucketLookup.value === null
          ? { orgID }
          : { orgID, bucketID: bucketLookup.value.id, bucketRetentionSeconds: bucketLookup.value.retentionSeconds };
      if (userID === undefined) return { ok: true, value: found };

      // The authorization is found by its token, which only servers without hashed tokens list;
      // it is a nicety, so a failed lookup keeps the IDs already found.
      const authLookup = await listAuthorizations(token, { userID });
      const authorizationID = authLookup.ok ? authLookup.value.find((entry) => entry.token === token)?.id : undefined;
      return { ok: true, value: authorizationID === undefined ? found : { ...found, authorizationID } };
    },

    bucket: (token, bucketID) =>
      call(
        {
          method: 'GET',
          path: `/api/v2/buckets/${encodeURIComponent(bucketID)}`,
          endpoint: 'GET /api/v2/buckets/{id}',
          authToken: token,
        },
        versioned({ parse: parseBucket, secrets: [token] }),
      ),

    createOrg: (token, name) =>
      call(
        { method: 'POST', path: '/api/v2/orgs', endpoint: 'POST /api/v2/orgs', body: { name }, authToken: token },
        { parse: parseCreated, secrets: [token] },
      ),

    createBucket: (token, orgID, name, retentionSeconds, description) =>
      call(
        {
          method: 'POST',
          path: '/api/v2/buckets',
          endpoint: 'POST /api/v2/buckets',
          body: {
            orgID,
            name,
            retentionRules: retentionRules(retentionSeconds),
            ...(description !== undefined && { description }),
          },
          authToken: token,
        },
        { parse: parseCreated, secrets: [token] },
      ),

    setRetention: (token, bucketID, retentionSeconds) =>
      call(
        {
          method: 'PATCH',
          path: `/api/v2/buckets/${encodeURIComponent(bucketID)}`,
          endpoint: 'PATCH /api/v2/buckets/{id}',
          body: { retentionRules: retentionRules(retentionSeconds) },
          authToken: token,
        },
        { parse: parseCreated, secrets: [token] },
      ),

    findBucket: findBucketNamed,

    describeBucket: (token, bucketID, description) =>
      call(
        {
          method: 'PATCH',
          path: `/api/v2/buckets/${encodeURIComponent(bucketID)}`,
          endpoint: 'PATCH /api/v2/buckets/{id}',
          body: { description },
          authToken: token,
        },
        { parse: parseCreated, secrets: [token] },
      ),

    deleteBucket: (token, bucketID) =>
      remove(token, `/api/v2/buckets/${encodeURIComponent(bucketID)}`, 'DELETE /api/v2/buckets/{id}'),

    listAuthorizations,

    authorization: (token, authorizationID) =>
      foundByID(
        call(
          {
            method: 'GET',
            path: `/api/v2/authorizations/${encodeURIComponent(authorizationID)}`,
            endpoint: 'GET /api/v2/authorizations/{id}',
            authToken: token,
          },
          { parse: parseAuthorization, secrets: [token] },
        ),
      ),

    createAuthorization: (token, request: AuthorizationRequest) =>
      call(
        {
          method: 'POST',
          path: '/api/v2/authorizations',
          endpoint: 'POST /api/v2/authorizations',
          body: { ...request },
          authToken: token,
        },
        { parse: parseCreatedAuthorization, secrets: [token] },
      ),

    deleteAuthorization: (token, authorizationID) =>
      remove(
        token,
        `/api/v2/authorizations/${encodeURIComponent(authorizationID)}`,
        'DELETE /api/v2/authorizations/{id}',
      ),

    setPassword: (token, userID, password) =>
      call(
        {
          method: 'POST',
          path: `/api/v2/users/${encodeURIComponent(userID)}/password`,
          endpoint: 'POST /api/v2/users/{id}/password',
          body: { password },
          authToken: token,
        },
        { parse: () => true as const, secrets: [token, password], noContent: true },
      ),

    async checkPassword(username, password): Promise<Outcome<true>> {
      const signIn = await call(
        { method: 'POST', path: '/api/v2/signin', endpoint: 'POST /api/v2/signin', basicAuth: { username, password } },
        { parse: (_json, answer) => sessionOf(answer) ?? null, secrets: [password], noContent: true },
      );
      if (!signIn.ok || signIn.value === null) return signIn.ok ? { ok: true, value: true } : signIn;
      // Every sign-in opens a session that would otherwise live on in InfluxDB: close it again.
      // The password is proven by the sign-in; a failed sign-out does not unprove it.
      await call(
        { method: 'POST', path: '/api/v2/signout', endpoint: 'POST /api/v2/signout', cookie: signIn.value },
        { parse: () => true as const, secrets: [password, signIn.value], noContent: true },
      );
      return { ok: true, value: true };
    },

    listDbrps: (token, { orgID, bucketID, database, retentionPolicy, default: isDefault }) =>
      call(
        {
          method: 'GET',
          path: '/api/v2/dbrps',
          endpoint: 'GET /api/v2/dbrps',
          query: {
            orgID,
            ...(bucketID !== undefined && { bucketID }),
            ...(database !== undefined && { db: database }),
            ...(retentionPolicy !== undefined && { rp: retentionPolicy }),
            ...(isDefault !== undefined && { default: String(isDefault) }),
          },
          authToken: token,
        },
        { parse: (json) => parseList(json, 'content', parseDbrp), secrets: [token] },
      ),

    createDbrp: (token, request) =>
      call(
        {
          method: 'POST',
          path: '/api/v2/dbrps',
          endpoint: 'POST /api/v2/dbrps',
          body: {
            orgID: request.orgID,
            bucketID: request.bucketID,
            database: request.database,
            retention_policy: request.retentionPolicy,
            default: request.default,
          },
          authToken: token,
        },
        { parse: parseDbrp, secrets: [token] },
      ),

    updateDbrp: (token, orgID, dbrpID, update) =>
      call(
        {
          method: 'PATCH',
          path: `/api/v2/dbrps/${encodeURIComponent(dbrpID)}`,
          endpoint: 'PATCH /api/v2/dbrps/{id}',
          query: { orgID },
          body: {
            ...(update.default !== undefined && { default: update.default }),
            ...(update.retentionPolicy !== undefined && { retention_policy: update.retentionPolicy }),
          },
          authToken: token,
        },
        { parse: parseDbrpContent, secrets: [token] },
      ),

    deleteDbrp: (token, orgID, dbrpID) =>
      remove(token, `/api/v2/dbrps/${encodeURIComponent(dbrpID)}`, 'DELETE /api/v2/dbrps/{id}', { orgID }),

    async listV1Authorizations(token, filter) {
      const listed = await call(
        {
          method: 'GET',
          path: '/private/legacy/authorizations',
          endpoint: 'GET /private/legacy/authorizations',
          query: 'username' in filter ? { token: filter.username } : { ...filter },
          authToken: token,
        },
        { parse: (json) => parseList(json, 'authorizations', parseV1Authorization), secrets: [token] },
      );
      // InfluxDB answers a username that names nothing with 404 rather than an empty list.
      return 'username' in filter && isNotFound(listed) ? { ok: true, value: [] } : listed;
    },

    v1Authorization: (token, authorizationID) =>
      foundByID(
        call(
          {
            method: 'GET',
            path: `/private/legacy/authorizations/${encodeURIComponent(authorizationID)}`,
            endpoint: 'GET /private/legacy/authorizations/{id}',
            authToken: token,
          },
          { parse: parseV1Authorization, secrets: [token] },
        ),
      ),

    createV1Authorization: (token, { username, ...request }) =>
      call(
        {
          method: 'POST',
          path: '/private/legacy/authorizations',
          endpoint: 'POST /private/legacy/authorizations',
          body: { ...request, token: username },
          authToken: token,
        },
        { parse: parseV1Authorization, secrets: [token] },
      ),

    setV1Password: (token, authorizationID, password) =>
      call(
        {
          method: 'POST',
          path: `/private/legacy/authorizations/${encodeURIComponent(authorizationID)}/password`,
          endpoint: 'POST /private/legacy/authorizations/{id}/password',
          body: { password },
          authToken: token,
        },
        { parse: () => true as const, secrets: [token, password], noContent: true },
      ),

    updateV1Authorization: (token, authorizationID, { active, description }) =>
      call(
        {
          method: 'PATCH',
          path: `/private/legacy/authorizations/${encodeURIComponent(authorizationID)}`,
          endpoint: 'PATCH /private/legacy/authorizations/{id}',
          body: {
            ...(active !== undefined && { status: active ? 'active' : 'inactive' }),
            ...(description !== undefined && { description }),
          },
          authToken: token,
        },
        { parse: parseV1Authorization, secrets: [token] },
      ),

    deleteV1Authorization: (token, authorizationID) =>
      remove(
        token,
        `/private/legacy/authorizations/${encodeURIComponent(authorizationID)}`,
        'DELETE /private/legacy/authorizations/{id}',
      ),

    v1Databases: (credentials: V1Credentials) =>
      call(
        {
          method: 'GET',
          path: '/query',
          endpoint: 'GET /query',
          query: { q: 'SHOW DATABASES' },
          ...('token' in credentials ? { authToken: credentials.token } : { basicAuth: credentials }),
        },
        {
          parse: parseDatabaseNames,
          secrets: 'token' in credentials ? [credentials.token] : [credentials.password],
        },
      ),

    health: () =>
      call({ method: 'GET', path: '/health', endpoint: 'GET /health' }, { parse: parseHealth, secrets: [] }),

    close: () => transport.close(),
  };
}
