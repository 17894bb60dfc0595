// InfluxDB's authorization (API token) requests: list (without tokens kept), read by ID, create
// and delete.
import { foundByID, type Requests } from './requests.js';
import type {
  Authorization,
  AuthorizationFilter,
  AuthorizationRequest,
  CreatedAuthorization,
  Deletion,
  Outcome,
} from './types.js';
import { parseAuthorization, parseCreatedAuthorization, parseList } from './wire.js';

/** An authorization's path. */
function authorizationPath(authorizationID: string): string {
  return `/api/v2/authorizations/${encodeURIComponent(authorizationID)}`;
}

export function listAuthorizations(
  requests: Requests,
  token: string,
  filter: AuthorizationFilter,
): Promise<Outcome<Authorization[]>> {
  return requests.call(
    {
      method: 'GET',
      path: '/api/v2/authorizations',
      endpoint: 'GET /api/v2/authorizations',
      query: { ...filter },
      authToken: token,
      growingList: true,
    },
    { parse: (json) => parseList(json, 'authorizations', parseAuthorization), secrets: [token] },
  );
}

export function authorization(
  requests: Requests,
  token: string,
  authorizationID: string,
): Promise<Outcome<Authorization | null>> {
  return foundByID(
    requests.call(
      {
        method: 'GET',
        path: authorizationPath(authorizationID),
        endpoint: 'GET /api/v2/authorizations/{id}',
        authToken: token,
      },
      { parse: parseAuthorization, secrets: [token] },
    ),
  );
}

export function createAuthorization(
  requests: Requests,
  token: string,
  request: AuthorizationRequest,
): Promise<Outcome<CreatedAuthorization>> {
  return requests.call(
    {
      method: 'POST',
      path: '/api/v2/authorizations',
      endpoint: 'POST /api/v2/authorizations',
      body: { ...request },
      authToken: token,
    },
    { parse: parseCreatedAuthorization, secrets: [token] },
  );
}

export function deleteAuthorization(
  requests: Requests,
  token: string,
  authorizationID: string,
): Promise<Outcome<Deletion>> {
  return requests.remove(token, authorizationPath(authorizationID), 'DELETE /api/v2/authorizations/{id}');
}
