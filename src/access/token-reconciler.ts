import { checkBucketSpec, checkTokenSpec, type OnboardingKey } from '../api/access-spec.js';
import { TOKEN_FINALIZER, type InfluxToken, type InfluxTokenStatus, type TokenSecret } from '../api/access-types.js';
import { generatePassword } from '../api/generate.js';
import { READY } from '../api/types.js';
import { createHash } from 'node:crypto';
import {
  DriftSchedule,
  FreshReads,
  requestKey,
  runSteps,
  RunMemory,
  type Reconciler,
  type Request,
  type Result,
} from '../runtime/index.js';
import {
  abortingOn,
  accessLoop,
  observeAccess,
  recordKey,
  UNRESOLVED,
  type AccessOptions,
  type AccessShell,
} from './reconciler.js';
import {
  act,
  holdSecretToken,
  tokenOwner,
  type AuthorizationList,
  type OrphanFree,
  type RunState,
  type TokenAction,
  type TokenPorts,
} from './token-act.js';
import { decideToken } from './token-decide.js';
import type { BucketResolution, TokenFacts, TokenStep } from './token-facts.js';

/** The InfluxToken reconciler: an InfluxDB authorization with exactly the declared permissions, in a Secret. */
export function createTokenReconciler(ports: TokenPorts, options: AccessOptions): Reconciler {
  const reconciler = new TokenReconciler(ports, options);
  return (request, signal, term) => reconciler.reconcile(request, signal, term);
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
  /**
   * When each Ready token's next check is due, and what its last one decided on. A token is woken
   * by far more than its own changes: every event of its onboarding or of a bucket it names, its
   * own Secret and status writes coming back, the resync of every token. A wake that changes none
   * of its inputs before its check is due asks InfluxDB nothing: one read per token per drift
   * interval, as promised, not one per wake. Per leadership term, as the memory above.
   */
  private readonly schedules = new WeakMap<object, DriftSchedule<TokenCheckInputs>>();

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
    let schedule = this.schedules.get(term);
    if (schedule === undefined) this.schedules.set(term, (schedule = new DriftSchedule(this.now)));
    if (resource === undefined) {
      clean.delete(key);
      schedule.forget(key);
      options.secrets.release(tokenOwner(key));
      options.onReason?.(key, undefined);
      return {};
    }
    const known = clean.get(key);
    const facts = await this.observe(request, resource, known);
    const unchanged = schedule.unchangedFor(key, checkInputs(facts));
    if (unchanged !== undefined) return { requeueAfterMs: unchanged };
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
    const loop = accessLoop(
      this.shell,
      decide,
      (step: TokenAction, current: TokenFacts) => act(influx, options, step, current, run),
      (finish, current, written, result) => {
        const ready = finish.reason === 'TokenReady' && written !== undefined && result.requeueAfterMs !== undefined;
        if (ready) schedule.checked(key, checkInputs({ ...current, resource: written }), result.requeueAfterMs ?? 0);
        else schedule.forget(key);
      },
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

/** What a token's check decides on besides the clock and InfluxDB (see checkInputs). */
interface TokenCheckInputs {
  resourceVersion: string | undefined;
  secretVersion: string;
  /** A digest of the rest: it is held for every Ready token, and the access part names the onboarding's token. */
  dependencies: string;
}

/**
 * The inputs of a token's check: the InfluxToken's version, its Secret's version, and what its
 * decision reads of its onboarding (the access resolved from it, its Secret and CA, the grant),
 * of the buckets its permissions name, and of the operator's record (its user, its entry, the
 * IDs of those buckets). undefined when the Secret's version is not known: never unchanged.
 */
function checkInputs(facts: TokenFacts): TokenCheckInputs | undefined {
  const { secret, record, buckets, resource } = facts;
  if (secret.state !== 'owned' || secret.resourceVersion === undefined) return undefined;
  const recorded = record && {
    userID: record.userID,
    token: record.tokens[resource.metadata.uid],
    buckets: Object.values(buckets).map((bucket) => (bucket.kind === 'found' ? record.buckets[bucket.uid] : null)),
  };
  const dependencies = createHash('sha256')
    .update(JSON.stringify([facts.access, buckets, recorded ?? null]))
    .digest('base64');
  return { resourceVersion: resource.metadata.resourceVersion, secretVersion: secret.resourceVersion, dependencies };
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
