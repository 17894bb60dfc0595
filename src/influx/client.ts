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
import * as authorizations from './authorizations.js';
import * as buckets from './buckets.js';
import { isNotFound, orNull, versioned, type Requests } from './requests.js';
import * as v1 from './v1.js';
import { findSetupRequestProblem } from './validate.js';
import {
  findIdByName,
  parseCreated,
  parseHealth,
  parseSetupResult,
  parseSetupStatus,
  parseTokenOwner,
  secretsOf,
  sessionOf,
  setupBody,
} from './wire.js';

/** A request the client refuses to send, reported as InfluxDB would refuse it. */
function refusedLocally<T>(problem: string): Outcome<T> {
  return { ok: false, failure: { kind: 'rejected', status: 0, code: 'invalid', message: problem } };
}

/** A client of one instance; `transport`: the connections of another client to share (the pool's). */
export function createInfluxClient(options: InfluxClientOptions, transport = createTransport(options)): InfluxClient {
  return new HttpInfluxClient(transport, options.signal);
}

/** InfluxDB's HTTP API, one method per request the operator makes; every answer is an Outcome, never a throw. */
class HttpInfluxClient implements InfluxClient {
  /** `signal`: every request also ends when it aborts (InfluxClientOptions.signal). */
  constructor(
    private readonly transport: Transport,
    private readonly signal?: AbortSignal,
  ) {}

  /** How buckets.ts, authorizations.ts and v1.ts send their requests through this client. */
  private readonly requests: Requests = {
    call: (request, expectation) => this.call(request, expectation),
    remove: (token, path, endpoint, query) => this.remove(token, path, endpoint, query),
  };

  private async call<T>(request: Call, expectation: Expectation<T>): Promise<Outcome<T>> {
    const { signal } = this;
    const exchange = await this.transport.send(signal === undefined ? request : { ...request, signal });
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
    return buckets.bucket(this.requests, token, bucketID);
  }

  createBucket(
    token: string,
    orgID: string,
    name: string,
    retentionSeconds: number,
    description?: string,
  ): Promise<Outcome<Created>> {
    return buckets.createBucket(this.requests, token, orgID, name, retentionSeconds, description);
  }

  setRetention(token: string, bucketID: string, retentionSeconds: number): Promise<Outcome<Created>> {
    return buckets.setRetention(this.requests, token, bucketID, retentionSeconds);
  }

  findBucket(token: string, orgID: string, name: string): Promise<Outcome<BucketInfo | null>> {
    return buckets.findBucket(this.requests, token, orgID, name);
  }

  findBucketByID(token: string, bucketID: string): Promise<Outcome<BucketInfo | null>> {
    return buckets.findBucketByID(this.requests, token, bucketID);
  }

  describeBucket(token: string, bucketID: string, description: string): Promise<Outcome<Created>> {
    return buckets.describeBucket(this.requests, token, bucketID, description);
  }

  renameBucket(token: string, bucketID: string, name: string): Promise<Outcome<Created>> {
    return buckets.renameBucket(this.requests, token, bucketID, name);
  }

  deleteBucket(token: string, bucketID: string): Promise<Outcome<Deletion>> {
    return buckets.deleteBucket(this.requests, token, bucketID);
  }

  createOrg(token: string, name: string): Promise<Outcome<Created>> {
    return this.call(
      { method: 'POST', path: '/api/v2/orgs', endpoint: 'POST /api/v2/orgs', body: { name }, authToken: token },
      { parse: parseCreated, secrets: [token] },
    );
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

  listAuthorizations(token: string, filter: AuthorizationFilter): Promise<Outcome<Authorization[]>> {
    return authorizations.listAuthorizations(this.requests, token, filter);
  }

  authorization(token: string, authorizationID: string): Promise<Outcome<Authorization | null>> {
    return authorizations.authorization(this.requests, token, authorizationID);
  }

  createAuthorization(token: string, request: AuthorizationRequest): Promise<Outcome<CreatedAuthorization>> {
    return authorizations.createAuthorization(this.requests, token, request);
  }

  deleteAuthorization(token: string, authorizationID: string): Promise<Outcome<Deletion>> {
    return authorizations.deleteAuthorization(this.requests, token, authorizationID);
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
