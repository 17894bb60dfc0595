import { checkBucketSpec, checkTokenSpec, type OnboardingKey } from '../api/access-spec.js';
import {
  TOKEN_FINALIZER,
  TOKEN_KIND,
  type DesiredTokenSecret,
  type InfluxBucket,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
} from '../api/access-types.js';
import { redactionOwner, validCredentials } from '../api/credentials.js';
import { READY } from '../api/types.js';
import type { Outcome } from '../influx/index.js';
import {
  FreshReads,
  requestKey,
  runSteps,
  RunMemory,
  type Reconciler,
  type Request,
  type Result,
} from '../runtime/index.js';
import type { AccessFinish, Connection, FinalizerStep } from './access.js';
import {
  abortingOn,
  accessLoop,
  observeAccess,
  recordKey,
  recordStep,
  UNRESOLVED,
  type AccessOptions,
  type AccessPorts,
  type AccessShell,
  type KindPorts,
} from './reconciler.js';
import { generatePassword } from '../api/generate.js';
import { bucketPermissions, type ListedAuthorization } from './token-authorizations.js';
import type { V1Step } from './token-v1.js';
import { decideToken } from './token-decide.js';
import type { BucketResolution, TokenFacts, TokenStep } from './token-facts.js';

export interface TokenPorts extends AccessPorts, KindPorts<InfluxToken, InfluxTokenStatus> {
  bucket(namespace: string, name: string): InfluxBucket | undefined;
  /** The Secret as the cache shows it, or as this process last wrote it (read-your-writes). */
  readSecret(owner: InfluxToken, name: string): Promise<TokenSecret>;
  /** The Secret as the API server has it: read before an authorization is deleted or created. */
  confirmSecret(owner: InfluxToken, name: string): Promise<TokenSecret>;
  writeSecret(owner: InfluxToken, desired: DesiredTokenSecret, observed: TokenSecret): Promise<TokenSecret>;
  /** Whether the API server (not the cache) still has this InfluxToken, with the same UID: asked before a token is made. */
  existsOnServer(owner: InfluxToken): Promise<boolean>;
}

type TokenAction = Exclude<TokenStep, AccessFinish<InfluxTokenStatus> | FinalizerStep>;

/** A token whose authorizations were listed, leaving no orphan, while its Secret was at this version. */
interface OrphanFree {
  uid: string;
  secretVersion: string;
}

type AuthorizationList = Outcome<ListedAuthorization[]>;

/** What one reconcile of a run knows of the run: the tokens known orphan-free, and the lists of the org's authorizations it may share. */
interface RunState {
  clean: Map<string, OrphanFree>;
  lists: FreshReads<AuthorizationList>;
  /** The point past which this reconcile's list must be sent (see listedAfter). */
  listedAfter: number;
  /** Per token, the point of its last create or delete in this run. */
  changes: Map<string, number>;
}

const connectionKey = ({ target, orgID, token }: Connection): string =>
  JSON.stringify([target.url, target.caPem ?? '', target.insecureSkipVerify, orgID, token]);

/** The InfluxToken reconciler: an InfluxDB authorization with exactly the declared permissions, in a Secret. */
export function createTokenReconciler(ports: TokenPorts, options: AccessOptions): Reconciler {
  const reconciler = new TokenReconciler(ports, options);
  return (request, signal, term) => reconciler.reconcile(request, signal, term);
}

/** The owner of an InfluxToken's values in the log redaction. */
function tokenOwner(key: string): string {
  return redactionOwner(TOKEN_KIND, key);
}

class TokenReconciler {
  private readonly now: () => Date;
  private readonly shell: AccessShell<InfluxToken, InfluxTokenStatus>;
  /**
   * What spares a Ready token's periodic check the list of its namespace user's authorizations. An
   * orphan (an authorization with the token's UID that its Secret does not name) comes only from a
   * create whose answer or Secret write was lost, or from a Secret changed behind the operator
   * (deleted, annotations edited). So a token stays orphan-free while its Secret keeps the version
   * seen at a clean list (or written since by this process from an orphan-free state) and no
   * create has been attempted since. Kept per leadership term (the runtime's `term`): after a
   * restart or a new term (another replica may have created meanwhile) every token is listed once
   * more.
   */
  private readonly orphanFree = new RunMemory<OrphanFree>();
  /**
   * The org's authorizations, listed once and shared by every token that may see that list: a
   * list only tells whether one token's own authorizations are all in its Secret, so a token may
   * use any list of the run sent after its own last create or delete. A burst of new tokens, or a
   * restart over thousands, lists once, not once per token (N lists of N authorizations).
   */
  // Per leadership term (the runtime's `term`; each reconcile's own signal is its deadline's).
  private readonly lists = new WeakMap<object, FreshReads<AuthorizationList>>();
  private readonly changes = new RunMemory<number>();

  constructor(
    private readonly ports: TokenPorts,
    private readonly options: AccessOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.shell = { ports, options, finalizer: TOKEN_FINALIZER };
  }

  async reconcile(request: Request, signal: AbortSignal, term: object): Promise<Result> {
    const { ports, options } = this;
    const key = requestKey(request);
    const clean = this.orphanFree.of(term);
    const resource = ports.resource(request.namespace, request.name);
    if (resource === undefined) {
      clean.delete(key);
      options.secrets.release(tokenOwner(key));
      options.onReason?.(key, undefined);
      return {};
    }
    const known = clean.get(key);
    const facts = await this.observe(request, resource, known);
    let lists = this.lists.get(term);
    if (lists === undefined) this.lists.set(term, (lists = new FreshReads<AuthorizationList>()));
    const changes = this.changes.of(term);
    const run: RunState = { clean, lists, changes, listedAfter: listedAfter(lists, changes, key, known, facts) };
    // TokenReady is only reached with no orphan left: after a list in this round, or orphan-free from the start with no create since.
    const decide = (current: TokenFacts): TokenStep => {
      const step = decideToken(current);
      const { secret } = current;
      if (step.kind === 'finish' && step.reason === 'TokenReady' && secret.state === 'owned' && secret.resourceVersion)
        clean.set(key, { uid: resource.metadata.uid, secretVersion: secret.resourceVersion });
      return step;
    };
    const influx = abortingOn(ports, signal);
    const loop = accessLoop(this.shell, decide, (step: TokenAction, current: TokenFacts) =>
      act(influx, options, step, current, run),
    );
    return runSteps(loop, facts, signal);
  }

  /** The facts before InfluxDB is asked: access through the onboarding, the Secret (the cache's view), the buckets. */
  private async observe(request: Request, resource: InfluxToken, known: OrphanFree | undefined): Promise<TokenFacts> {
    const { ports, options } = this;
    const checked = checkTokenSpec(resource);
    const access = checked.ok
      ? await observeAccess(ports, options.secrets, request.namespace, checked.spec.onboarding)
      : UNRESOLVED;
    const secret: TokenSecret = checked.ok
      ? await ports.readSecret(resource, checked.spec.secretName)
      : { state: 'absent' };
    holdSecretToken(options, requestKey(request), secret);
    const names = checked.ok ? checked.spec.permissions.map((permission) => permission.bucket) : [];
    return {
      resource,
      checked,
      access,
      secret,
      buckets: checked.ok ? resolveBuckets(ports, request.namespace, checked.spec.onboarding, names) : {},
      ...(checked.ok && { record: await ports.readRecord(recordKey(checked.spec, resource)) }),
      orphanFree:
        known !== undefined &&
        known.uid === resource.metadata.uid &&
        secret.state === 'owned' &&
        known.secretVersion === secret.resourceVersion,
      secretConfirmed: false,
      ...(checked.ok && checked.spec.v1 && { v1: { candidatePassword: generatePassword() } }),
      now: this.now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
    };
  }
}

/** The token the Secret holds now, in place of what it held: one edited away is forgotten by the redaction. */
function holdSecretToken(options: AccessOptions, key: string, secret: TokenSecret): void {
  const token = secret.state === 'owned' ? secret.data.token : undefined;
  options.secrets.hold(tokenOwner(key), 'secret', validCredentials({ tokens: [token] }));
}

/**
 * The point a list of this token's reconcile must be sent after: now, when a Secret known clean in
 * this run has changed behind the operator (another writer may have created meanwhile); else the
 * token's own last create or delete in this run; else any list of the run will do (its other
 * authorizations were created before the run began, so every list of the run shows them, as far
 * as a list sent at this token's own turn would).
 */
function listedAfter(
  lists: FreshReads<AuthorizationList>,
  changes: Map<string, number>,
  key: string,
  known: OrphanFree | undefined,
  facts: TokenFacts,
): number {
  if (known !== undefined && !facts.orphanFree) return lists.mark();
  return changes.get(key) ?? 0;
}

/**
 * What the token's permissions name, from the InfluxBuckets in the token's namespace: their UID
 * and spec, never their status (the bucket IDs come from the operator's record of each UID).
 */
function resolveBuckets(
  ports: TokenPorts,
  namespace: string,
  onboarding: OnboardingKey,
  names: readonly string[],
): Record<string, BucketResolution> {
  const resolved: Record<string, BucketResolution> = {};
  for (const name of names) {
    const bucket = ports.bucket(namespace, name);
    if (bucket === undefined) {
      resolved[name] = { kind: 'missing' };
      continue;
    }
    const checked = checkBucketSpec(bucket);
    const ref = checked.ok ? checked.spec.onboarding : undefined;
    if (ref !== undefined && (ref.namespace !== onboarding.namespace || ref.name !== onboarding.name)) {
      resolved[name] = { kind: 'elsewhere', onboarding: `${ref.namespace}/${ref.name}` };
      continue;
    }
    const readyReason = bucket.status?.conditions?.find((condition) => condition.type === READY)?.reason;
    const influxql = checked.ok ? checked.spec.influxql : undefined;
    resolved[name] = {
      kind: 'found',
      uid: bucket.metadata.uid,
      name,
      deleting: bucket.metadata.deletionTimestamp !== undefined,
      ...(readyReason !== undefined && { readyReason }),
      ...(influxql && { influxql: { database: influxql.database, retentionPolicy: influxql.retentionPolicy } }),
    };
  }
  return resolved;
}

/** Carries out one step in InfluxDB or on the token's Secret; its answer (or what was refused) becomes a fact. */
async function act(
  ports: TokenPorts,
  options: AccessOptions,
  step: TokenAction,
  facts: TokenFacts,
  run: RunState,
): Promise<TokenFacts> {
  const key = `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`;
  switch (step.kind) {
    case 'record':
      return recordStep(ports, step.change, facts);
    case 'findUser': {
      const { target, token } = step.connection;
      return { ...facts, user: await ports.influx(target).findUser(token, step.name) };
    }
    case 'createUser': {
      const { target, token } = step.connection;
      const created = await ports.influx(target).createUser(token, step.name);
      return created.ok
        ? { ...facts, user: { ok: true, value: created.value.id } }
        : { ...facts, failure: { doing: `creating InfluxDB user ${step.name}`, failure: created.failure } };
    }
    case 'listAuthorizations':
      return { ...facts, authorizations: await listAuthorizations(ports, step, run) };
    case 'readAuthorization': {
      const { target, token } = step.connection;
      const found = await ports.influx(target).authorization(token, step.authorizationID);
      return { ...facts, probed: { ...facts.probed, [step.authorizationID]: found } };
    }
    case 'createAuthorization':
      // From here until a list finds no orphan, one may exist: this create's answer can be lost.
      run.clean.delete(key);
      run.changes.set(key, run.lists.mark());
      return create(ports, options, step, facts);
    case 'writeSecret':
      return writeSecret(ports, options, step.secret, facts, key);
    case 'confirmSecret': {
      if (!facts.checked.ok) throw new Error('a token without a valid spec has no Secret to confirm');
      const secret = await ports.confirmSecret(facts.resource, facts.checked.spec.secretName);
      holdSecretToken(options, key, secret);
      return { ...facts, secret, secretConfirmed: true };
    }
    case 'deleteAuthorization':
      run.changes.set(key, run.lists.mark());
      return deleteAuthorization(ports, options, step, facts, key);
    default:
      return actV1(ports, options, step, facts);
  }
}

/** The namespace user's authorizations, without their tokens, read once per run and shared by the tokens that need it. */
function listAuthorizations(
  ports: TokenPorts,
  step: Extract<TokenAction, { kind: 'listAuthorizations' }>,
  run: RunState,
): Promise<NonNullable<TokenFacts['authorizations']>> {
  const { target, token } = step.connection;
  return run.lists.read(
    `${connectionKey(step.connection)} user ${step.userID}`,
    run.listedAfter,
    async () => {
      const listed = await ports.influx(target).listAuthorizations(token, { userID: step.userID });
      return listed.ok ? { ok: true, value: listed.value.map(({ id, description }) => ({ id, description })) } : listed;
    },
    (listed) => listed.ok,
  );
}

/** Writes the token's Secret, its values held for redaction first; the answer is the Secret as the API server has it now. */
async function writeSecret(
  ports: TokenPorts,
  options: AccessOptions,
  desired: DesiredTokenSecret,
  facts: TokenFacts,
  key: string,
): Promise<TokenFacts> {
  const { token, 'v1-password': v1Password, 'v1-pending-password': pending } = desired.data;
  const owner = tokenOwner(key);
  options.secrets.hold(owner, 'secret', validCredentials({ tokens: [token] }));
  options.secrets.hold(owner, 'v1-password', validCredentials({ password: v1Password }));
  options.secrets.hold(owner, 'v1-pending-password', validCredentials({ password: pending }));
  const { issued: _written, ...rest } = facts;
  const secret = await ports.writeSecret(facts.resource, desired, facts.secret);
  return { ...rest, secret, secretConfirmed: true };
}

async function deleteAuthorization(
  ports: TokenPorts,
  options: AccessOptions,
  step: Extract<TokenAction, { kind: 'deleteAuthorization' }>,
  facts: TokenFacts,
  key: string,
): Promise<TokenFacts> {
  const { target, token } = step.connection;
  const deleted = await ports.influx(target).deleteAuthorization(token, step.authorizationID);
  if (!deleted.ok) {
    const doing = `deleting authorization ${step.authorizationID} (${step.why})`;
    return { ...facts, failure: { doing, failure: deleted.failure } };
  }
  options.logger.info('deleted authorization', { resource: key, authorizationID: step.authorizationID, why: step.why });
  return { ...facts, deleted: [...(facts.deleted ?? []), step.authorizationID] };
}

/** Carries out one step on the token's v1 authorization; its answer becomes a fact. */
async function actV1(ports: TokenPorts, options: AccessOptions, step: V1Step, facts: TokenFacts): Promise<TokenFacts> {
  const { target, token, orgID } = step.connection;
  const influx = ports.influx(target);
  const v1 = facts.v1 ?? {};
  const secretV1 = facts.secret.state === 'owned' ? facts.secret.v1 : undefined;
  const key = `${facts.resource.metadata.namespace}/${facts.resource.metadata.name}`;
  switch (step.kind) {
    case 'listV1':
      return { ...facts, v1: { ...v1, listed: await influx.listV1Authorizations(token, step.filter) } };
    case 'readV1': {
      const outcome = await influx.v1Authorization(token, step.authorizationID);
      return { ...facts, v1: { ...v1, found: { id: step.authorizationID, outcome } } };
    }
    case 'createV1': {
      const created = await influx.createV1Authorization(token, {
        orgID,
        ...(step.userID !== undefined && { userID: step.userID }),
        username: step.username,
        description: step.description,
        permissions: bucketPermissions(orgID, step.permissions),
      });
      // What InfluxDB answered is what it holds: no read needed before the Secret is written.
      const found = created.ok ? { found: { id: created.value.id, outcome: created } } : {};
      return { ...facts, v1: { ...v1, created, ...found } };
    }
    case 'setV1Password': {
      const password = secretV1?.pendingPassword;
      if (password === undefined) throw new Error('a v1 password is set only from the Secret');
      const set = await influx.setV1Password(token, step.authorizationID, password);
      if (!set.ok) return { ...facts, failure: { doing: 'setting the v1 password', failure: set.failure } };
      options.logger.info('set v1 password', { resource: key, authorizationID: step.authorizationID });
      return { ...facts, v1: { ...v1, passwordSet: step.authorizationID } };
    }
    case 'proveV1': {
      if (secretV1?.password === undefined) throw new Error('v1 credentials are proven only from the Secret');
      const proven = await influx.v1Databases({ username: secretV1.username, password: secretV1.password });
      return { ...facts, v1: { ...v1, proven } };
    }
    case 'deleteV1': {
      const deleted = await influx.deleteV1Authorization(token, step.authorizationID);
      if (!deleted.ok) {
        const doing = `deleting v1 authorization ${step.authorizationID} (${step.why})`;
        return { ...facts, failure: { doing, failure: deleted.failure } };
      }
      options.logger.info('deleted v1 authorization', {
        resource: key,
        authorizationID: step.authorizationID,
        why: step.why,
      });
      return { ...facts, v1: { ...v1, deleted: [...(v1.deleted ?? []), step.authorizationID] } };
    }
  }
}

/** A new authorization; its token registered for redaction at once, and the list read before it made to show it. */
async function create(
  ports: TokenPorts,
  options: AccessOptions,
  step: Extract<TokenAction, { kind: 'createAuthorization' }>,
  facts: TokenFacts,
): Promise<TokenFacts> {
  // A cache behind the API server (a new leader after a partition) still holds a token whose
  // deletion finished: a token made for it would be an orphan nothing ever deletes.
  if (!(await ports.existsOnServer(facts.resource))) {
    const { namespace, name } = facts.resource.metadata;
    throw new Error(
      `InfluxToken ${namespace}/${name} is gone from the API server; the cache is behind: no token is made for it`,
    );
  }
  const { target, token, orgID } = step.connection;
  const created = await ports.influx(target).createAuthorization(token, {
    orgID,
    userID: step.userID,
    description: step.description,
    permissions: bucketPermissions(orgID, step.permissions),
  });
  if (!created.ok) return { ...facts, failure: { doing: 'creating the authorization', failure: created.failure } };
  const key = requestKey(facts.resource.metadata);
  options.secrets.hold(tokenOwner(key), 'created', validCredentials({ tokens: [created.value.token] }));
  // It exists in InfluxDB now: the list read before the create must show it, or it would look deleted.
  const listed = facts.authorizations?.ok ? facts.authorizations.value : [];
  return {
    ...facts,
    issued: created.value,
    authorizations: { ok: true, value: [...listed, { id: created.value.id, description: step.description }] },
    // The answer is the authorization as InfluxDB holds it, token included: once the Secret holds
    // that token it is proven by this answer as a read by ID would prove it (the next check reads it).
    probed: { ...facts.probed, [created.value.id]: { ok: true, value: created.value } },
  };
}
