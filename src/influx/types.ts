import type { AddressPolicy, AddressRefusal, RefusalReason } from './address-policy.js';

/** How one InfluxDB instance is reached; a client is asked for per target. */
export interface InfluxTarget {
  url: string;
  timeoutMs: number;
  caPem?: string;
  insecureSkipVerify: boolean;
  /** Whom the client acts for (see AddressPolicy.tenant and ConnectGuard); absent: nobody in particular. */
  tenant?: string;
  /** Every request also ends when this aborts (the caller gave up, e.g. at its deadline). */
  signal?: AbortSignal;
}

/**
 * What the client's owner knows about where a URL may lead, beyond the address policy: the name to
 * look up for it, and which addresses this client must never connect to.
 */
export interface ConnectGuard {
  /** Looked up instead of the URL's host (say, an absolute name); the URL, its Host header and TLS name stay as written. */
  resolveAs?: string;
  /** Called with every address the client is about to connect to, a literal one before each request and each resolved one for every new connection: a refusal stops it. */
  check(address: string): AddressRefusal | undefined;
}

/**
 * Options for one InfluxDB instance's client. The address policy (allowLinkLocal, allowedTargets,
 * tenant) and the guard are enforced before any connection: for a literal address at once, for a
 * name on every address it resolves to at connect time, so DNS rebinding cannot get around them.
 */
export interface InfluxClientOptions extends AddressPolicy {
  /** `http(s)://host[:port][/prefix]`, without credentials, query or fragment. */
  baseUrl: string;
  /** Per request, covering connect, headers and the whole body read. */
  timeoutMs: number;
  /** Every request also ends when this aborts, answered as a timeout: unknown whether InfluxDB acted on it. */
  signal?: AbortSignal;
  /** PEM CA bundle for https; replaces the system trust store for this client. */
  caPem?: string;
  insecureSkipVerify?: boolean;
  /** Default 1 MiB. A longer body is cut off and the request fails with reason 'too-large'. */
  maxResponseBytes?: number;
  /**
   * The same for the lists that grow with the instance and that InfluxDB does not page (its
   * authorizations, v1 authorizations, DBRP mappings): default 64 MiB. InfluxDB prints an
   * authorization in about 1 KB, so 1 MiB held about 1,000 of them.
   */
  maxListResponseBytes?: number;
  userAgent?: string;
  /** Called once per request, for metrics. */
  onRequest?: (sample: RequestSample) => void;
  guard?: ConnectGuard;
  /**
   * Asked right before each request: a reason refuses it (the request is not sent and the call
   * throws it). The operator's replica that no longer holds its Lease sends nothing.
   */
  refusal?: () => string | undefined;
}

export interface RequestSample {
  /** A fixed label such as 'GET /api/v2/setup' (never carries query values). */
  endpoint: string;
  /** 'error' when no complete answer was read (network, timeout, TLS, size cap). */
  statusClass: '2xx' | '3xx' | '4xx' | '5xx' | 'error';
  seconds: number;
}

export interface SetupRequest {
  username: string;
  password: string;
  org: string;
  bucket: string;
  /** 0 means infinite, otherwise at least 3600. */
  retentionPeriodSeconds: number;
  /** Becomes the operator token unchanged. */
  token: string;
}

/** IDs from the 201 answer. The token is deliberately absent: the caller sent it and keeps the only copy. */
export interface SetupResult {
  userID: string;
  orgID: string;
  bucketID: string;
  authorizationID: string;
}

/** GET /api/v2/setup's answer, with the version from its X-Influxdb-Version header when present. */
export interface SetupStatus {
  allowed: boolean;
  version?: string;
}

/** A bucket as GET /api/v2/buckets/{id} shows it, with the server's version from its header when present. */
export interface BucketState {
  name: string;
  orgID: string;
  /** 0: infinite. */
  retentionSeconds: number;
  version?: string;
}

export interface TokenOwner {
  userID: string;
  userName: string;
}

/**
 * Absent IDs mean InfluxDB has no org or bucket of that name visible to the token, or (for the
 * authorization) that it does not show tokens in listings any more (v2.9+ hashed tokens).
 */
export interface ResourceIDs {
  orgID?: string;
  bucketID?: string;
  authorizationID?: string;
  /** The bucket's retention in seconds (0: infinite), present with bucketID. */
  bucketRetentionSeconds?: number;
}

/** One permission of an authorization, as InfluxDB lists it (the names it adds are left out). */
export interface Permission {
  action: string;
  resource: { type: string; id?: string; orgID?: string };
}

/** An authorization as GET /api/v2/authorizations lists it (and GET /api/v2/authorizations/{id} shows it). */
export interface Authorization {
  id: string;
  description: string;
  orgID: string;
  userID: string;
  /** status "active": an inactive token authenticates but may do nothing. */
  active: boolean;
  permissions: Permission[];
  /** Listed only by servers that keep tokens readable (before v2.9's hashed tokens). */
  token?: string;
}

/** What InfluxDB answered a new authorization with: the authorization as it holds it, and its token, shown this once. */
export type CreatedAuthorization = Authorization & { token: string };

export type AuthorizationFilter = { orgID: string } | { userID: string };

export interface AuthorizationRequest {
  orgID: string;
  /** Without it, the user the request's token belongs to. */
  userID?: string;
  description: string;
  permissions: Permission[];
}

/** What a create or update of an org or bucket answered with. */
export interface Created {
  id: string;
}

/** A bucket as GET /api/v2/buckets lists it. */
export interface BucketInfo {
  id: string;
  name: string;
  /** 0: infinite. */
  retentionSeconds: number;
  description: string;
}

/**
 * A DBRP mapping: the InfluxQL database and retention policy that 1.x clients name, and the bucket
 * they reach. Since InfluxDB 2.4 every readable bucket also shows as a virtual mapping of its own
 * name (database = the name before any `/`, retention policy = the rest or `autogen`); a virtual
 * mapping has the bucket's ID and cannot be changed or deleted, and a physical one of the same
 * database and retention policy hides it.
 */
export interface DbrpMapping {
  id: string;
  database: string;
  retentionPolicy: string;
  /** The mapping used when a 1.x request names the database but no retention policy; one per database. */
  default: boolean;
  virtual: boolean;
  orgID: string;
  bucketID: string;
}

export interface DbrpRequest {
  orgID: string;
  bucketID: string;
  database: string;
  retentionPolicy: string;
  /** InfluxDB makes the first mapping of a database its default whatever this says. */
  default: boolean;
}

/** GET /api/v2/dbrps needs the org; the other filters narrow the list. */
export interface DbrpFilter {
  orgID: string;
  bucketID?: string;
  database?: string;
  retentionPolicy?: string;
  default?: boolean;
}

/** The only fields InfluxDB lets a PATCH change. */
export interface DbrpUpdate {
  default?: boolean;
  retentionPolicy?: string;
}

/**
 * A v1 (legacy) authorization: the username and password that 1.x clients send to /query and
 * /write, with permissions of its own. InfluxDB stores the username in the field it calls `token`,
 * in plain text even when v2 tokens are hashed; the password is set separately and never shown.
 */
export interface V1Authorization {
  id: string;
  username: string;
  description: string;
  orgID: string;
  userID: string;
  /** status "active": an inactive one cannot log in. */
  active: boolean;
  permissions: Permission[];
}

export type V1AuthorizationFilter = { orgID: string } | { userID: string } | { username: string };

export interface V1AuthorizationRequest {
  orgID: string;
  /** Without it, the user the request's token belongs to. */
  userID?: string;
  /** Unique on the instance: a taken one is refused with 422 conflict "token already exists". */
  username: string;
  description: string;
  /** Immutable once created, as for v2 tokens; at least one. */
  permissions: Permission[];
}

/** What a 1.x client sends to /query and /write: a v1 username and password, or a v2 token. */
export type V1Credentials = { username: string; password: string } | { token: string };

/** What a DELETE found: 'absent' when the object was gone already (404). */
export type Deletion = 'deleted' | 'absent';

export interface Health {
  version?: string;
  status: string;
}

export type UnreachableReason =
  'network' | 'timeout' | 'tls' | 'server-error' | 'not-influxdb' | 'too-large' | 'redirect';

/**
 * Every `message` is short, free of control characters and scrubbed of the passwords and
 * tokens the request carried, so it can go into logs, events and status as it is.
 */
export type InfluxFailure =
  | { kind: 'unreachable'; reason: UnreachableReason; message: string; status?: number }
  /** The address policy or the guard forbids the address: no connection was made (a configuration error, not an outage); owners: see AddressRefusal. */
  | { kind: 'refused'; reason: RefusalReason; message: string; owners?: readonly string[] }
  /** InfluxDB answered 4xx with its JSON error; status 0 with code 'invalid' means the request was refused locally and never sent. */
  | { kind: 'rejected'; status: number; code: string; message: string };

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: InfluxFailure };

export interface InfluxClient {
  /** GET /api/v2/setup (no auth). */
  setupStatus(): Promise<Outcome<SetupStatus>>;
  /** POST /api/v2/setup (no auth). */
  setup(request: SetupRequest): Promise<Outcome<SetupResult>>;
  /** POST /api/v2/setup/user; removed in OSS 2.1, where it answers 404. */
  setupUser(request: SetupRequest, authToken: string): Promise<Outcome<SetupResult>>;
  /** GET /api/v2/me: whose token this is, or 401. */
  checkToken(token: string): Promise<Outcome<TokenOwner>>;
  /** GET /api/v2/orgs?org=, GET /api/v2/buckets?orgID=&name=, and with a userID GET /api/v2/authorizations?userID=. */
  lookupIDs(token: string, org: string, bucket: string, userID?: string): Promise<Outcome<ResourceIDs>>;
  /** GET /api/v2/buckets/{id}: one request proves the token works and the bucket exists in its org (401 for a deleted or inactive token). */
  bucket(token: string, bucketID: string): Promise<Outcome<BucketState>>;
  /** POST /api/v2/orgs: creates the org (422 conflict when one of that name exists). */
  createOrg(token: string, name: string): Promise<Outcome<Created>>;
  /** POST /api/v2/buckets with the retention and InfluxDB's default shard-group duration for it. */
  createBucket(
    token: string,
    orgID: string,
    name: string,
    retentionSeconds: number,
    description?: string,
  ): Promise<Outcome<Created>>;
  /** GET /api/v2/buckets?orgID=&name=: the bucket of that name in the org, or null. */
  findBucket(token: string, orgID: string, name: string): Promise<Outcome<BucketInfo | null>>;
  /** GET /api/v2/buckets/{id} with the description: null when InfluxDB has no bucket of that ID. */
  findBucketByID(token: string, bucketID: string): Promise<Outcome<BucketInfo | null>>;
  /** PATCH /api/v2/buckets/{id} with only the name (422 conflict when another bucket of the org has it). */
  renameBucket(token: string, bucketID: string, name: string): Promise<Outcome<Created>>;
  /** GET /api/v2/users?name=: the user's ID, or null. */
  findUser(token: string, name: string): Promise<Outcome<string | null>>;
  /** POST /api/v2/users: a user without a password (it can hold tokens, never sign in). */
  createUser(token: string, name: string): Promise<Outcome<Created>>;
  /** PATCH /api/v2/buckets/{id} with only the description. */
  describeBucket(token: string, bucketID: string, description: string): Promise<Outcome<Created>>;
  /** DELETE /api/v2/buckets/{id}, with all its data. */
  deleteBucket(token: string, bucketID: string): Promise<Outcome<Deletion>>;
  /** PATCH /api/v2/buckets/{id}: sets the retention and its default shard-group duration together. */
  setRetention(token: string, bucketID: string, retentionSeconds: number): Promise<Outcome<Created>>;
  /** GET /api/v2/authorizations?orgID= or ?userID=: the org's or the user's authorizations (v2.9+ without their tokens). */
  listAuthorizations(token: string, filter: AuthorizationFilter): Promise<Outcome<Authorization[]>>;
  /** GET /api/v2/authorizations/{id}: null when InfluxDB has no authorization of that ID. */
  authorization(token: string, authorizationID: string): Promise<Outcome<Authorization | null>>;
  /** POST /api/v2/authorizations: a new token with exactly these permissions. */
  createAuthorization(token: string, request: AuthorizationRequest): Promise<Outcome<CreatedAuthorization>>;
  /** DELETE /api/v2/authorizations/{id}: the token stops working ('absent' when it was gone already). */
  deleteAuthorization(token: string, authorizationID: string): Promise<Outcome<Deletion>>;
  /** POST /api/v2/users/{id}/password with the operator token: 204 once the user has this password. */
  setPassword(token: string, userID: string, password: string): Promise<Outcome<true>>;
  /** POST /api/v2/signin with basic auth (204, or 401 for a wrong password), then POST /api/v2/signout to close the session it opened. */
  checkPassword(username: string, password: string): Promise<Outcome<true>>;
  /** GET /api/v2/dbrps?orgID=&...: the org's mappings the token may read, virtual ones included. */
  listDbrps(token: string, filter: DbrpFilter): Promise<Outcome<DbrpMapping[]>>;
  /** POST /api/v2/dbrps (write and read on the bucket): 422 conflict when the org maps that database and retention policy already. */
  createDbrp(token: string, request: DbrpRequest): Promise<Outcome<DbrpMapping>>;
  /** PATCH /api/v2/dbrps/{id}?orgID=: the default flag and the retention policy only. */
  updateDbrp(token: string, orgID: string, dbrpID: string, update: DbrpUpdate): Promise<Outcome<DbrpMapping>>;
  /** DELETE /api/v2/dbrps/{id}?orgID= ('absent' when it was gone already). */
  deleteDbrp(token: string, orgID: string, dbrpID: string): Promise<Outcome<Deletion>>;
  /** GET /private/legacy/authorizations?orgID=|userID=|token=<username>: the v1 authorizations the token may read (an unknown username, which InfluxDB answers with 404: none). */
  listV1Authorizations(token: string, filter: V1AuthorizationFilter): Promise<Outcome<V1Authorization[]>>;
  /** GET /private/legacy/authorizations/{id}: null when InfluxDB has no v1 authorization of that ID. */
  v1Authorization(token: string, authorizationID: string): Promise<Outcome<V1Authorization | null>>;
  /** POST /private/legacy/authorizations: a v1 username with these permissions and no password yet (it cannot log in until one is set). */
  createV1Authorization(token: string, request: V1AuthorizationRequest): Promise<Outcome<V1Authorization>>;
  /** POST /private/legacy/authorizations/{id}/password: 204 once the username logs in with this password (8 to 72 bytes). */
  setV1Password(token: string, authorizationID: string, password: string): Promise<Outcome<true>>;
  /** PATCH /private/legacy/authorizations/{id}: status and description only; the permissions cannot change. */
  updateV1Authorization(
    token: string,
    authorizationID: string,
    update: { active?: boolean; description?: string },
  ): Promise<Outcome<V1Authorization>>;
  /** DELETE /private/legacy/authorizations/{id}: the username stops working ('absent' when it was gone already). */
  deleteV1Authorization(token: string, authorizationID: string): Promise<Outcome<Deletion>>;
  /**
   * GET /query?q=SHOW DATABASES as a 1.x client sends it: the databases these credentials may read,
   * which proves they log in (401 when not) and that the mappings they need are there.
   */
  v1Databases(credentials: V1Credentials): Promise<Outcome<string[]>>;
  /** GET /health (no auth). */
  health(): Promise<Outcome<Health>>;
  /** Destroys the pooled sockets; the client must not be used afterwards. */
  close(): void;
}
