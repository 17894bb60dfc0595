// InfluxDB's 1.x compatibility API: DBRP mappings (the database and retention policy 1.x clients
// name, and the bucket they reach), v1 (legacy) authorizations, and the 1.x login check.
import { foundByID, isNotFound, type Requests } from './requests.js';
import type {
  DbrpFilter,
  DbrpMapping,
  DbrpRequest,
  DbrpUpdate,
  Deletion,
  Outcome,
  V1Authorization,
  V1AuthorizationFilter,
  V1AuthorizationRequest,
  V1Credentials,
} from './types.js';
import { parseDatabaseNames, parseDbrp, parseDbrpContent, parseList, parseV1Authorization } from './wire.js';

function dbrpPath(dbrpID: string): string {
  return `/api/v2/dbrps/${encodeURIComponent(dbrpID)}`;
}

function legacyPath(authorizationID: string): string {
  return `/private/legacy/authorizations/${encodeURIComponent(authorizationID)}`;
}

export function listDbrps(requests: Requests, token: string, filter: DbrpFilter): Promise<Outcome<DbrpMapping[]>> {
  const { orgID, bucketID, database, retentionPolicy, default: isDefault } = filter;
  const query = {
    orgID,
    ...(bucketID !== undefined && { bucketID }),
    ...(database !== undefined && { db: database }),
    ...(retentionPolicy !== undefined && { rp: retentionPolicy }),
    ...(isDefault !== undefined && { default: String(isDefault) }),
  };
  return requests.call(
    { method: 'GET', path: '/api/v2/dbrps', endpoint: 'GET /api/v2/dbrps', query, authToken: token, growingList: true },
    { parse: (json) => parseList(json, 'content', parseDbrp), secrets: [token] },
  );
}

export function createDbrp(requests: Requests, token: string, request: DbrpRequest): Promise<Outcome<DbrpMapping>> {
  const body = {
    orgID: request.orgID,
    bucketID: request.bucketID,
    database: request.database,
    retention_policy: request.retentionPolicy,
    default: request.default,
  };
  return requests.call(
    { method: 'POST', path: '/api/v2/dbrps', endpoint: 'POST /api/v2/dbrps', body, authToken: token },
    { parse: parseDbrp, secrets: [token] },
  );
}

export function updateDbrp(
  requests: Requests,
  token: string,
  orgID: string,
  dbrpID: string,
  update: DbrpUpdate,
): Promise<Outcome<DbrpMapping>> {
  const body = {
    ...(update.default !== undefined && { default: update.default }),
    ...(update.retentionPolicy !== undefined && { retention_policy: update.retentionPolicy }),
  };
  return requests.call(
    {
      method: 'PATCH',
      path: dbrpPath(dbrpID),
      endpoint: 'PATCH /api/v2/dbrps/{id}',
      query: { orgID },
      body,
      authToken: token,
    },
    { parse: parseDbrpContent, secrets: [token] },
  );
}

export function deleteDbrp(
  requests: Requests,
  token: string,
  orgID: string,
  dbrpID: string,
): Promise<Outcome<Deletion>> {
  return requests.remove(token, dbrpPath(dbrpID), 'DELETE /api/v2/dbrps/{id}', { orgID });
}

export async function listV1Authorizations(
  requests: Requests,
  token: string,
  filter: V1AuthorizationFilter,
): Promise<Outcome<V1Authorization[]>> {
  const listed = await requests.call(
    {
      method: 'GET',
      path: '/private/legacy/authorizations',
      endpoint: 'GET /private/legacy/authorizations',
      query: 'username' in filter ? { token: filter.username } : { ...filter },
      authToken: token,
      growingList: true,
    },
    { parse: (json) => parseList(json, 'authorizations', parseV1Authorization), secrets: [token] },
  );
  // InfluxDB answers a username that names nothing with 404 rather than an empty list.
  return 'username' in filter && isNotFound(listed) ? { ok: true, value: [] } : listed;
}

export function v1Authorization(
  requests: Requests,
  token: string,
  authorizationID: string,
): Promise<Outcome<V1Authorization | null>> {
  return foundByID(
    requests.call(
      {
        method: 'GET',
        path: legacyPath(authorizationID),
        endpoint: 'GET /private/legacy/authorizations/{id}',
        authToken: token,
      },
      { parse: parseV1Authorization, secrets: [token] },
    ),
  );
}

export function createV1Authorization(
  requests: Requests,
  token: string,
  { username, ...request }: V1AuthorizationRequest,
): Promise<Outcome<V1Authorization>> {
  return requests.call(
    {
      method: 'POST',
      path: '/private/legacy/authorizations',
      endpoint: 'POST /private/legacy/authorizations',
      body: { ...request, token: username },
      authToken: token,
    },
    { parse: parseV1Authorization, secrets: [token] },
  );
}

export function setV1Password(
  requests: Requests,
  token: string,
  authorizationID: string,
  password: string,
): Promise<Outcome<true>> {
  return requests.call(
    {
      method: 'POST',
      path: `${legacyPath(authorizationID)}/password`,
      endpoint: 'POST /private/legacy/authorizations/{id}/password',
      body: { password },
      authToken: token,
    },
    { parse: () => true as const, secrets: [token, password], noContent: true },
  );
}

export function updateV1Authorization(
  requests: Requests,
  token: string,
  authorizationID: string,
  { active, description }: { active?: boolean; description?: string },
): Promise<Outcome<V1Authorization>> {
  const body = {
    ...(active !== undefined && { status: active ? 'active' : 'inactive' }),
    ...(description !== undefined && { description }),
  };
  return requests.call(
    {
      method: 'PATCH',
      path: legacyPath(authorizationID),
      endpoint: 'PATCH /private/legacy/authorizations/{id}',
      body,
      authToken: token,
    },
    { parse: parseV1Authorization, secrets: [token] },
  );
}

export function deleteV1Authorization(
  requests: Requests,
  token: string,
  authorizationID: string,
): Promise<Outcome<Deletion>> {
  return requests.remove(token, legacyPath(authorizationID), 'DELETE /private/legacy/authorizations/{id}');
}

/** GET /query?q=SHOW DATABASES as a 1.x client sends it. */
export function v1Databases(requests: Requests, credentials: V1Credentials): Promise<Outcome<string[]>> {
  return requests.call(
    {
      method: 'GET',
      path: '/query',
      endpoint: 'GET /query',
      query: { q: 'SHOW DATABASES' },
      ...('token' in credentials ? { authToken: credentials.token } : { basicAuth: credentials }),
    },
    { parse: parseDatabaseNames, secrets: 'token' in credentials ? [credentials.token] : [credentials.password] },
  );
}
