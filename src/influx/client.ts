import { interpret, type Expectation } from './responses.js';
import { createTransport, type Call, type Transport } from './transport.js';
import type {
  Authorization,
  AuthorizationFilter,
  AuthorizationRequest,
  BucketInfo,
  BucketState,
  Created,
  CreatedAuthorization,
  DbrpFilter,
  DbrpMapping,
  DbrpRequest,
  DbrpUpdate,
  Deletion,
  Health,
  InfluxClient,
  InfluxClientOptions,
  Outcome,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  SetupStatus,
  TokenOwner,
  V1Authorization,
  V1AuthorizationFilter,
  V1AuthorizationRequest,
  V1Credentials,
} from './types.js';
import * as v1 from './v1.js';
import { findSetupRequestProblem } from './validate.js';
import {
  findBucket,
  findIdByName,
  parseAuthorization,
  parseList,
  parseBucket,
  parseCreated,
  parseCreatedAuthorization,
  parseBucketInfo,
  parseHealth,
  parseSetupResult,
  parseSetupStatus,
  parseTokenOwner,
  retentionRules,
  secretsOf,
  sessionOf,
  setupBody,
} from './wire.js';

function isNotFound<T>(outcome: Outcome<T>): boolean {
  return !outcome.ok && outcome.failure.kind === 'rejected' && outcome.failure.status === 404;
}

/** A lookup that found nothing: InfluxDB answers a name that matches nothing with 404, not an empty list. */
async function orNull<T>(outcome: Promise<Outcome<T | null>>): Promise<Outcome<T | null>> {
  const settled = await outcome;
  return isNotFound(settled) ? { ok: true, value: null } : settled;
}

/** Observed: 404 for an ID that was deleted or never existed, 400 `invalid` for one InfluxDB cannot parse ("id must have a length of 16 bytes"). */
async function foundByID<T>(outcome: Promise<Outcome<T>>): Promise<Outcome<T | null>> {
  const settled = await outcome;
  const namesNothing =
    isNotFound(settled) || (!settled.ok && settled.failure.kind === 'rejected' && settled.failure.status === 400);
  return namesNothing ? { ok: true, value: null } : settled;
}

/** A request the client refuses to send, reported as InfluxDB would refuse it. */
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

/** A bucket's path. */
function bucketPath(bucketID: string): string {
  return `/api/v2/buckets/${encodeURIComponent(bucketID)}`;
}

/** An authorization's path. */
function authorizationPath(authorizationID: string): string {
  return `/api/v2/authorizations/${encodeURIComponent(authorizationID)}`;
}

export function createInfluxClient(options: InfluxClientOptions): InfluxClient {
  return new HttpInfluxClient(createTransport(options));
}

/** InfluxDB's HTTP API, one method per request the operator makes; every answer is an Outcome, never a throw. */
class HttpInfluxClient implements InfluxClient {
  constructor(private readonly transport: Transport) {}

  private async call<T>(request: Call, expectation: Expectation<T>): Promise<Outcome<T>> {
    const exchange = await this.transport.send(request);
    if (!exchange.ok) return exchange;
    return interpret(exchange.answer, expectation);
  }

  private postSetup(
    path: '/api/v2/setup' | '/api/v2/setup/user',
    request: SetupRequest,
    authToken?: string,
  ): Promise<Outcome<SetupResult>> {
    const problem = findSetupRequestProblem(request);
    if (problem !== undefined) return Promise.resolve(refusedLocally<SetupResult>(problem));
    return this.call(
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

  setupStatus(): Promise<Outcome<SetupStatus>> {
    return this.call(
      { method: 'GET', path: '/api/v2/setup', endpoint: 'GET /api/v2/setup' },
      versioned({ parse: parseSetupStatus, secrets: [] }),
    );
  }

  setup(request: SetupRequest): Promise<Outcome<SetupResult>> {
    return this.postSetup('/api/v2/setup', request);
  }

  setupUser(request: SetupRequest, authToken: string): Promise<Outcome<SetupResult>> {
    return this.postSetup('/api/v2/setup/user', request, authToken);
  }

  checkToken(token: string): Promise<Outcome<TokenOwner>> {
    return this.call(
      { method: 'GET', path: '/api/v2/me', endpoint: 'GET /api/v2/me', authToken: token },
      { parse: parseTokenOwner, secrets: [token] },
    );
  }

  async lookupIDs(token: string, org: string, bucket: string, userID?: string): Promise<Outcome<ResourceIDs>> {
    // InfluxDB answers an unknown org name with 404 rather than an empty list.
    const orgLookup = await this.call(
      { method: 'GET', path: '/api/v2/orgs', endpoint: 'GET /api/v2/orgs', query: { org }, authToken: token },
      { parse: (json) => findIdByName(json, 'orgs', org), secrets: [token] },
    );
    if (isNotFound(orgLookup)) return { ok: true, value: {} };
    if (!orgLookup.ok) return orgLookup;
    const orgID = orgLookup.value;
    if (orgID === null) return { ok: true, value: {} };

    const bucketLookup = await this.findBucket(token, orgID, bucket);
    if (!bucketLookup.ok) return bucketLookup;
    const found: ResourceIDs =
      bucketLookup.value === null
        ? { orgID }
        : { orgID, bucketID: bucketLookup.value.id, bucketRetentionSeconds: bucketLookup.value.retentionSeconds };
    if (userID === undefined) return { ok: true, value: found };

    // The authorization is found by its token, which only servers without hashed tokens list;
    // it is a nicety, so a failed lookup keeps the IDs already found.
    const authLookup = await this.listAuthorizations(token, { userID });
    const authorizationID = authLookup.ok ? authLookup.value.find((entry) => entry.token === token)?.id : undefined;
    return { ok: true, value: authorizationID === undefined ? found : { ...found, authorizationID } };
  }

  bucket(token: string, bucketID: string): Promise<Outcome<BucketState>> {
    return this.call(
      { method: 'GET', path: bucketPath(bucketID), endpoint: 'GET /api/v2/buckets/{id}', authToken: token },
      versioned({ parse: parseBucket, secrets: [token] }),
    );
  }

  createOrg(token: string, name: string): Promise<Outcome<Created>> {
    return this.call(
      { method: 'POST', path: '/api/v2/orgs', endpoint: 'POST /api/v2/orgs', body: { name }, authToken: token },
      { parse: parseCreated, secrets: [token] },
    );
  }

  createBucket(
    token: string,
    orgID: string,
    name: string,
    retentionSeconds: number,
    description?: string,
  ): Promise<Outcome<Created>> {
    const body = {
      orgID,
      name,
      retentionRules: retentionRules(retentionSeconds),
      ...(description !== undefined && { description }),
    };
    return this.call(
      { method: 'POST', path: '/api/v2/buckets', endpoint: 'POST /api/v2/buckets', body, authToken: token },
      { parse: parseCreated, secrets: [token] },
    );
  }

  setRetention(token: string, bucketID: string, retentionSeconds: number): Promise<Outcome<Created>> {
    return this.patchBucket(token, bucketID, { retentionRules: retentionRules(retentionSeconds) });
  }

  findBucket(token: string, orgID: string, name: string): Promise<Outcome<BucketInfo | null>> {
    return orNull(
      this.call(
        {
          method: 'GET',
          path: '/api/v2/buckets',
          endpoint: 'GET /api/v2/buckets',
          query: { orgID, name },
          authToken: token,
        },
        { parse: (json) => findBucket(json, name), secrets: [token] },
      ),
    );
  }

  findBucketByID(token: string, bucketID: string): Promise<Outcome<BucketInfo | null>> {
    return foundByID(
      this.call(
        { method: 'GET', path: bucketPath(bucketID), endpoint: 'GET /api/v2/buckets/{id}', authToken: token },
        { parse: parseBucketInfo, secrets: [token] },
      ),
    );
  }

  describeBucket(token: string, bucketID: string, description: string): Promise<Outcome<Created>> {
    return this.patchBucket(token, bucketID, { description });
  }

  renameBucket(token: string, bucketID: string, name: string): Promise<Outcome<Created>> {
    return this.patchBucket(token, bucketID, { name });
  }

  findUser(token: string, name: string): Promise<Outcome<string | null>> {
    return orNull(
      this.call(
        { method: 'GET', path: '/api/v2/users', endpoint: 'GET /api/v2/users', query: { name }, authToken: token },
        { parse: (json) => findIdByName(json, 'users', name), secrets: [token] },
      ),
    );
  }

  createUser(token: string, name: string): Promise<Outcome<Created>> {
    return this.call(
      {
        method: 'POST',
        path: '/api/v2/users',
        endpoint: 'POST /api/v2/users',
        body: { name, status: 'active' },
        authToken: token,
      },
      { parse: parseCreated, secrets: [token] },
    );
  }

  private patchBucket(token: string, bucketID: string, body: Record<string, unknown>): Promise<Outcome<Created>> {
    return this.call(
      { method: 'PATCH', path: bucketPath(bucketID), endpoint: 'PATCH /api/v2/buckets/{id}', body, authToken: token },
      { parse: parseCreated, secrets: [token] },
    );
  }

  /** A DELETE answered with 204; one of something already gone (404) has done its job too. */
  private async remove(
    token: string,
    path: string,
    endpoint: string,
    query?: Record<string, string>,
  ): Promise<Outcome<Deletion>> {
    const deleted = await this.call(
      { method: 'DELETE', path, endpoint, authToken: token, ...(query && { query }) },
      { parse: () => 'deleted' as const, noContent: true, secrets: [token] },
    );
    return isNotFound(deleted) ? { ok: true, value: 'absent' } : deleted;
  }

  deleteBucket(token: string, bucketID: string): Promise<Outcome<Deletion>> {
    return this.remove(token, bucketPath(bucketID), 'DELETE /api/v2/buckets/{id}');
  }

  listAuthorizations(token: string, filter: AuthorizationFilter): Promise<Outcome<Authorization[]>> {
    return this.call(
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

  authorization(token: string, authorizationID: string): Promise<Outcome<Authorization | null>> {
    return foundByID(
      this.call(
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

  createAuthorization(token: string, request: AuthorizationRequest): Promise<Outcome<CreatedAuthorization>> {
    return this.call(
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

  deleteAuthorization(token: string, authorizationID: string): Promise<Outcome<Deletion>> {
    return this.remove(token, authorizationPath(authorizationID), 'DELETE /api/v2/authorizations/{id}');
  }

  setPassword(token: string, userID: string, password: string): Promise<Outcome<true>> {
    return this.call(
      {
        method: 'POST',
        path: `/api/v2/users/${encodeURIComponent(userID)}/password`,
        endpoint: 'POST /api/v2/users/{id}/password',
        body: { password },
        authToken: token,
      },
      { parse: () => true as const, secrets: [token, password], noContent: true },
    );
  }

  async checkPassword(username: string, password: string): Promise<Outcome<true>> {
    const signIn = await this.call(
      { method: 'POST', path: '/api/v2/signin', endpoint: 'POST /api/v2/signin', basicAuth: { username, password } },
      { parse: (_json, answer) => sessionOf(answer) ?? null, secrets: [password], noContent: true },
    );
    if (!signIn.ok || signIn.value === null) return signIn.ok ? { ok: true, value: true } : signIn;
    // Every sign-in opens a session that would otherwise live on in InfluxDB: close it again.
    // The password is proven by the sign-in; a failed sign-out does not unprove it.
    await this.call(
      { method: 'POST', path: '/api/v2/signout', endpoint: 'POST /api/v2/signout', cookie: signIn.value },
      { parse: () => true as const, secrets: [password, signIn.value], noContent: true },
    );
    return { ok: true, value: true };
  }

  // The 1.x compatibility API (v1.ts), through this client's requests.
  private readonly requests: v1.Requests = {
    call: (request, expectation) => this.call(request, expectation),
    remove: (token, path, endpoint, query) => this.remove(token, path, endpoint, query),
    foundByID,
    isNotFound,
  };

  listDbrps(token: string, filter: DbrpFilter): Promise<Outcome<DbrpMapping[]>> {
    return v1.listDbrps(this.requests, token, filter);
  }

  createDbrp(token: string, request: DbrpRequest): Promise<Outcome<DbrpMapping>> {
    return v1.createDbrp(this.requests, token, request);
  }

  updateDbrp(token: string, orgID: string, dbrpID: string, update: DbrpUpdate): Promise<Outcome<DbrpMapping>> {
    return v1.updateDbrp(this.requests, token, orgID, dbrpID, update);
  }

  deleteDbrp(token: string, orgID: string, dbrpID: string): Promise<Outcome<Deletion>> {
    return v1.deleteDbrp(this.requests, token, orgID, dbrpID);
  }

  listV1Authorizations(token: string, filter: V1AuthorizationFilter): Promise<Outcome<V1Authorization[]>> {
    return v1.listV1Authorizations(this.requests, token, filter);
  }

  v1Authorization(token: string, authorizationID: string): Promise<Outcome<V1Authorization | null>> {
    return v1.v1Authorization(this.requests, token, authorizationID);
  }

  createV1Authorization(token: string, request: V1AuthorizationRequest): Promise<Outcome<V1Authorization>> {
    return v1.createV1Authorization(this.requests, token, request);
  }

  setV1Password(token: string, authorizationID: string, password: string): Promise<Outcome<true>> {
    return v1.setV1Password(this.requests, token, authorizationID, password);
  }

  updateV1Authorization(
    token: string,
    authorizationID: string,
    update: { active?: boolean; description?: string },
  ): Promise<Outcome<V1Authorization>> {
    return v1.updateV1Authorization(this.requests, token, authorizationID, update);
  }

  deleteV1Authorization(token: string, authorizationID: string): Promise<Outcome<Deletion>> {
    return v1.deleteV1Authorization(this.requests, token, authorizationID);
  }

  v1Databases(credentials: V1Credentials): Promise<Outcome<string[]>> {
    return v1.v1Databases(this.requests, credentials);
  }

  health(): Promise<Outcome<Health>> {
    return this.call({ method: 'GET', path: '/health', endpoint: 'GET /health' }, { parse: parseHealth, secrets: [] });
  }

  close(): void {
    this.transport.close();
  }
}
