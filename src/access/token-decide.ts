import { EMPTY_RECORD, type AccessRecord, type RecordChange, type RecordRefusal } from '../api/access-records.js';
import {
  legacyDefaultBucketName,
  limitsOf,
  mayClaimBucketName,
  namespaceUserName,
  type Checked,
  type EffectiveTokenSpec,
  type GrantTerms,
} from '../api/access-spec.js';
import {
  TOKEN_FINALIZER,
  type DesiredTokenSecret,
  type InfluxToken,
  type InfluxTokenStatus,
  type RetiringAuthorization,
  type TokenSecret,
} from '../api/access-types.js';
import type { Authorization, CreatedAuthorization, InfluxFailure, Outcome } from '../influx/index.js';
import { after, NONE, type ResourceEvent } from '../runtime/index.js';
import {
  accessFinish,
  failureVerdict,
  refusalMessage,
  type OnboardingAccess,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
} from './access.js';
import {
  isOwn,
  ownAuthorizations,
  permissionsKey,
  serves,
  tokenDescription,
  type BucketPermission,
  type ListedAuthorization,
} from './token-authorizations.js';
import { secretHolds, tokenSecretContents, typeChangeRefused } from './token-secret-contents.js';
import { decideV1, revokeV1, type V1Facts, type V1Step } from './token-v1.js';

/**
 * An InfluxBucket a permission names, as the cache shows its metadata and spec. Never its status:
 * which bucket ID it stands for comes from the operator's record of that InfluxBucket's UID.
 */
export type BucketResolution =
  | { kind: 'missing' }
  /** Its spec.onboardingRef names another onboarding. */
  | { kind: 'elsewhere'; onboarding: string }
  /** readyReason: its Ready reason, only to tell people what it waits for. */
  | {
      kind: 'found';
      uid: string;
      name: string;
      deleting: boolean;
      readyReason?: string;
      /** Its spec.influxql: the database and retention policy a template may name. */
      influxql?: { database: string; retentionPolicy: string };
    };

/** A bucket the permissions name, as the Secret's template sees it. */
interface ResolvedBucket {
  id: string;
  influxql?: { database: string; retentionPolicy: string };
}

export interface TokenFacts {
  resource: InfluxToken;
  checked: Checked<EffectiveTokenSpec>;
  access: OnboardingAccess;
  now: string;
  driftCheckIntervalMs: number;
  /** By InfluxBucket name, for every bucket the permissions name. */
  buckets: Record<string, BucketResolution>;
  secret: TokenSecret;
  /**
   * True when no authorization of this resource can exist that the Secret does not name: they were
   * listed, leaving no orphan, at the Secret's current version, and no create was attempted since.
   * The periodic check then reads only the Secret's own authorization.
   */
  orphanFree: boolean;
  /**
   * The Secret was read from the API server (or written) in this reconcile, not from the cache:
   * nothing is deleted or created in InfluxDB on the cache's word, where another writer's change
   * (the previous leader's) may not show yet.
   */
  secretConfirmed: boolean;
  /** What the operator recorded for this namespace under the onboarding (read with a valid spec). */
  record?: AccessRecord;
  /** A record change refused: the namespace is at a limit of its grant. */
  refused?: RecordRefusal;
  /** The namespace's InfluxDB user, looked up by name (null: none yet), or just created. */
  user?: Outcome<string | null>;
  /** Every authorization of the namespace's user (without tokens): listed only when an orphan can exist, and before any create. */
  authorizations?: Outcome<ListedAuthorization[]>;
  /** Authorizations read by ID in this reconcile (null: InfluxDB has none of that ID). */
  probed?: Readonly<Record<string, Outcome<Authorization | null>>>;
  /** Created in this reconcile and not yet in the Secret: the next step writes it there. */
  issued?: CreatedAuthorization;
  /** IDs deleted in this reconcile. */
  deleted?: string[];
  failure?: { doing: string; failure: InfluxFailure };
  /** With spec.v1, or v1 credentials in the Secret: what this reconcile learned of them. */
  v1?: V1Facts;
}

type TokenFinish = AccessFinish<InfluxTokenStatus>;

export type TokenStep =
  | FinalizerStep
  | { kind: 'record'; change: RecordChange }
  | { kind: 'findUser'; connection: Connection; name: string }
  | { kind: 'createUser'; connection: Connection; name: string }
  | { kind: 'listAuthorizations'; connection: Connection; userID: string }
  | { kind: 'readAuthorization'; connection: Connection; authorizationID: string }
  | {
      kind: 'createAuthorization';
      connection: Connection;
      userID: string;
      description: string;
      permissions: BucketPermission[];
    }
  | { kind: 'writeSecret'; secret: DesiredTokenSecret }
  /** Reads the Secret again from the API server before an authorization is deleted or created. */
  | { kind: 'confirmSecret' }
  | { kind: 'deleteAuthorization'; connection: Connection; authorizationID: string; why: string }
  | V1Step
  | TokenFinish;

function finish(facts: TokenFacts, outcome: Parameters<typeof accessFinish<InfluxTokenStatus>>[2]): TokenFinish {
  return accessFinish(facts.resource, facts.now, outcome);
}

function hasFinalizer(resource: InfluxToken): boolean {
  return resource.metadata.finalizers?.includes(TOKEN_FINALIZER) ?? false;
}

function isStep<T>(value: T | TokenStep): value is TokenStep {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'kind' in value;
}

/**
 * The authorizations of this resource under the namespace's user, or the step to list them. No
 * user recorded: none can exist (a token is only ever created after its user is recorded).
 */
function listing(facts: TokenFacts, connection: Connection): ListedAuthorization[] | TokenStep {
  const userID = facts.record?.userID;
  if (userID === undefined) return [];
  if (facts.authorizations === undefined) return { kind: 'listAuthorizations', connection, userID };
  if (!facts.authorizations.ok)
    return finish(facts, failureVerdict('listing authorizations', facts.authorizations.failure));
  const deleted = facts.deleted ?? [];
  return ownAuthorizations(facts.authorizations.value, facts.resource).filter((entry) => !deleted.includes(entry.id));
}

/**
 * Whether `id` is a live authorization of this resource: listed under the namespace's user, or
 * read by ID and carrying this resource's marker (one issued before per-namespace users, or a
 * value a tenant wrote into the Secret's annotations, which proves nothing until InfluxDB agrees).
 */
function ownAlive(
  facts: TokenFacts,
  connection: Connection,
  listed: readonly ListedAuthorization[],
  id: string,
): boolean | TokenStep {
  if ((facts.deleted ?? []).includes(id)) return false;
  if (listed.some((entry) => entry.id === id)) return true;
  const probe = facts.probed?.[id];
  if (probe === undefined) return { kind: 'readAuthorization', connection, authorizationID: id };
  if (!probe.ok) return finish(facts, failureVerdict(`reading authorization ${id}`, probe.failure));
  return probe.value !== null && isOwn(probe.value, facts.resource);
}

/** The IDs the Secret names (its authorization and the retiring ones): hints to be proven, never trusted. */
function namedBySecret(secret: TokenSecret): string[] {
  if (secret.state !== 'owned') return [];
  return [
    ...(secret.authorizationID === undefined ? [] : [secret.authorizationID]),
    ...secret.retiring.map((entry) => entry.id),
  ];
}

/** Deletes every authorization of this resource (listed, or named by the Secret and proven ours); undefined once none is left. */
function revokeAll(facts: TokenFacts, connection: Connection, why: string): TokenStep | undefined {
  const listed = listing(facts, connection);
  if (isStep(listed)) return listed;
  for (const id of new Set([...listed.map((entry) => entry.id), ...namedBySecret(facts.secret)])) {
    const alive = ownAlive(facts, connection, listed, id);
    if (isStep(alive)) return alive;
    if (alive) return { kind: 'deleteAuthorization', connection, authorizationID: id, why };
  }
  return undefined;
}

/** The token's record entry, when there is one, goes with it. */
function forgetting(facts: TokenFacts): { forget?: RecordChange } {
  const uid = facts.resource.metadata.uid;
  return facts.record?.tokens[uid] === undefined ? {} : { forget: { kind: 'forgetToken', uid } };
}

function decideDeletion(facts: TokenFacts): TokenStep {
  const { access } = facts;
  if (!hasFinalizer(facts.resource))
    return finish(facts, { reason: 'Deleting', message: 'being deleted', requeue: NONE });
  if (!facts.checked.ok) {
    return {
      kind: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'InvalidSpec',
        message: 'the spec names no onboarding to delete the authorization through',
      },
    };
  }
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  const letGo = (event?: ResourceEvent): TokenStep => ({
    kind: 'removeFinalizer',
    ...(event && { event }),
    ...forgetting(facts),
  });
  if (access.kind === 'waiting' && access.gone) {
    return letGo({
      type: 'Warning',
      reason: 'OnboardingGone',
      message: `${access.message}: the token's authorization could not be deleted from InfluxDB`,
    });
  }
  if (access.kind === 'waiting')
    // Waiting for the onboarding: its change wakes this resource, the drift interval is the poll.
    return finish(facts, {
      reason: access.reason,
      message: `${access.message}; deletion waits`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  const connection = access.connection;
  if (connection === undefined) {
    // Without a grant (or with the onboarding gone, to another namespace) InfluxDB cannot be reached through it.
    const issued = facts.record?.tokens[facts.resource.metadata.uid] !== undefined;
    return letGo(
      issued && access.kind === 'not-permitted'
        ? {
            type: 'Warning',
            reason: 'NotPermitted',
            message: `${access.message}: the token's authorization could not be deleted from InfluxDB`,
          }
        : undefined,
    );
  }
  return (
    revokeAll(facts, connection, 'the InfluxToken is being deleted') ??
    revokeV1(facts, connection, facts.checked.spec, 'the InfluxToken is being deleted') ??
    letGo({ type: 'Normal', reason: 'TokenRevoked', message: 'authorization deleted from InfluxDB' })
  );
}

function retireAt(now: string, seconds: number): string {
  return new Date(Date.parse(now) + seconds * 1000).toISOString();
}

/**
 * The bucket IDs the permissions stand for, from the operator's record of each InfluxBucket (by
 * its UID, which the API server assigns): what a token may touch never comes from a status.
 */
function resolvePermissions(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  connection: Connection,
  terms: GrantTerms,
): { permissions: BucketPermission[]; buckets: Map<string, ResolvedBucket> } | TokenFinish {
  const namespace = facts.resource.metadata.namespace;
  const record = facts.record ?? EMPTY_RECORD;
  const permissions: BucketPermission[] = [];
  /** Bucket name in InfluxDB -> its ID and mapping. */
  const buckets = new Map<string, ResolvedBucket>();
  for (const permission of spec.permissions) {
    const bucket = facts.buckets[permission.bucket] ?? { kind: 'missing' };
    if (bucket.kind === 'missing') {
      return finish(facts, {
        reason: 'BucketNotFound',
        message: `waiting for InfluxBucket ${permission.bucket} in namespace ${namespace}`,
        requeue: after(facts.driftCheckIntervalMs),
      });
    }
    if (bucket.kind === 'elsewhere') {
      return finish(facts, {
        reason: 'NotPermitted',
        message: `InfluxBucket ${permission.bucket} lives under InfluxOnboarding ${bucket.onboarding}, not ${connection.onboarding} as spec.onboardingRef says`,
        requeue: NONE,
      });
    }
    const recorded = record.buckets[bucket.uid];
    if (bucket.deleting || recorded?.id === undefined) {
      return finish(facts, {
        reason: 'BucketNotReady',
        message: `waiting for InfluxBucket ${permission.bucket} to be Ready (${bucket.deleting ? 'being deleted' : (bucket.readyReason ?? 'not reconciled yet')})`,
        requeue: after(facts.driftCheckIntervalMs),
      });
    }
    const claimable =
      mayClaimBucketName(recorded.name, namespace, terms) ||
      recorded.name === legacyDefaultBucketName(namespace, bucket.name);
    if (!claimable) {
      return finish(facts, {
        reason: 'NotPermitted',
        message: `InfluxBucket ${permission.bucket} is bucket ${recorded.name}, which InfluxOnboarding ${connection.onboarding} no longer lets namespace ${namespace} claim (spec.accessFrom.grants[].bucketNames)`,
        requeue: NONE,
      });
    }
    permissions.push({ action: permission.action, bucketID: recorded.id });
    buckets.set(recorded.name, { id: recorded.id, ...(bucket.influxql && { influxql: bucket.influxql }) });
  }
  return { permissions, buckets };
}

/** A withdrawn grant: what was issued under it stops working, and the Secret keeps no token. */
function withdraw(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  access: Extract<OnboardingAccess, { kind: 'not-permitted' }>,
): TokenStep {
  const { secret } = facts;
  // Only the operator's record tells that something was issued: a namespace that was never
  // granted has nothing there, and its resources (a Secret it wrote itself) never cause a request to InfluxDB.
  const issuedBefore = facts.record?.tokens[facts.resource.metadata.uid] !== undefined;
  if (issuedBefore && access.connection !== undefined) {
    const why = 'the onboarding does not grant this namespace access';
    const revoke = revokeAll(facts, access.connection, why) ?? revokeV1(facts, access.connection, spec, why);
    if (revoke !== undefined) return revoke;
  }
  if (secret.state === 'owned' && (secret.data.token !== undefined || namedBySecret(secret).length > 0)) {
    const { url, org } = secret.data;
    return {
      kind: 'writeSecret',
      secret: {
        name: spec.secretName,
        data: { ...(url && { url }), ...(org && { org }) },
        authorizationID: '',
        permissions: '',
        retiring: [],
      },
    };
  }
  // All revoked: nothing issued is left, so the next visit asks InfluxDB nothing.
  const uid = facts.resource.metadata.uid;
  return issuedBefore && access.connection !== undefined
    ? { kind: 'record', change: { kind: 'forgetToken', uid } }
    : finish(facts, { reason: 'NotPermitted', message: access.message, requeue: NONE });
}

/**
 * Before an authorization is created: the namespace's InfluxDB user, found or created, and
 * recorded. Looked up again before every create, not taken from the record alone: an instance
 * wiped and set up again has none of the users it had, and InfluxDB refuses a token for a user
 * it does not know (400, for good).
 */
function ensureUser(facts: TokenFacts, connection: Connection): TokenStep | undefined {
  const name = namespaceUserName(facts.resource.metadata.namespace);
  if (facts.user === undefined) return { kind: 'findUser', connection, name };
  if (!facts.user.ok) return finish(facts, failureVerdict(`looking up InfluxDB user ${name}`, facts.user.failure));
  if (facts.user.value === null) return { kind: 'createUser', connection, name };
  if (facts.record?.userID === facts.user.value) return undefined;
  return { kind: 'record', change: { kind: 'user', userID: facts.user.value } };
}

/**
 * What an InfluxToken needs next: its finalizer, access through its onboarding, its buckets (from
 * the operator's record), its namespace's user, then an authorization that serves the Secret. An
 * authorization is deleted or created only on the Secret as the API server has it.
 */
export function decideToken(facts: TokenFacts): TokenStep {
  const step = nextStep(facts);
  const changesInfluxDB = [
    'deleteAuthorization',
    'createAuthorization',
    'deleteV1',
    'createV1',
    'setV1Password',
  ].includes(step.kind);
  return changesInfluxDB && !facts.secretConfirmed ? { kind: 'confirmSecret' } : step;
}

function nextStep(facts: TokenFacts): TokenStep {
  const { resource, checked, access, secret } = facts;
  if (resource.metadata.deletionTimestamp !== undefined) return decideDeletion(facts);
  if (!checked.ok) return finish(facts, { reason: 'InvalidSpec', message: checked.problems.join('; '), requeue: NONE });
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  const spec = checked.spec;
  if (secret.state === 'foreign') {
    return finish(facts, {
      reason: 'SecretConflict',
      message: `Secret ${spec.secretName} exists and was not written for this InfluxToken; delete it or set spec.secretName`,
      requeue: NONE,
    });
  }
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  if (access.kind === 'waiting')
    return finish(facts, {
      reason: access.reason,
      message: access.message,
      requeue: after(facts.driftCheckIntervalMs),
    });
  if (access.kind === 'not-permitted') return withdraw(facts, spec, access);
  const { connection, terms } = access;
  const namespace = resource.metadata.namespace;
  const uid = resource.metadata.uid;
  if (facts.refused !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `${refusalMessage(facts.refused, 'InfluxTokens', connection.onboarding, namespace)}. Nothing was created`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  }

  const resolved = resolvePermissions(facts, spec, connection, terms);
  if ('kind' in resolved) return resolved;
  const { permissions, buckets } = resolved;
  const wanted = permissionsKey(permissions);
  const [onlyBucket] = buckets;
  const contents = tokenSecretContents(spec.secretTemplate, {
    url: connection.target.url,
    org: connection.org,
    orgID: connection.orgID,
    v1: spec.v1 !== undefined,
    ...(buckets.size === 1 && onlyBucket !== undefined && { bucket: { name: onlyBucket[0], ...onlyBucket[1] } }),
  });
  if (!contents.ok)
    return finish(facts, { reason: 'InvalidSpec', message: contents.problems.join('; '), requeue: NONE });
  const typeRefused = typeChangeRefused(spec.secretName, secret, contents.shape);
  if (typeRefused !== undefined)
    return finish(facts, { reason: 'SecretConflict', message: typeRefused, requeue: NONE });
  const shape = contents.shape && { shape: contents.shape };

  // Listed only when an orphan can exist (or a create is coming): a Ready token's check costs one GET.
  const trusted = facts.orphanFree && facts.authorizations === undefined;
  const listed = trusted ? [] : listing(facts, connection);
  if (isStep(listed)) return listed;
  const deleted = facts.deleted ?? [];
  const alive = (id: string): boolean | TokenStep =>
    trusted ? !deleted.includes(id) : ownAlive(facts, connection, listed, id);
  const owned = secret.state === 'owned' ? secret : undefined;
  const retiring: RetiringAuthorization[] = [];
  for (const entry of owned?.retiring ?? []) {
    const live = alive(entry.id);
    if (isStep(live)) return live;
    if (live) retiring.push(entry);
  }

  // Persist first: a token InfluxDB handed out exists only in this process until the Secret holds it.
  if (facts.issued !== undefined) {
    const current = owned?.authorizationID;
    const currentAlive = current === undefined ? false : alive(current);
    // One retiring authorization per token: the replaced one; an older retiring one is an orphan from here and deleted at once.
    const replaced =
      current !== undefined && currentAlive === true
        ? [{ id: current, deleteAfter: retireAt(facts.now, spec.rotationGracePeriodSeconds) }]
        : [];
    return {
      kind: 'writeSecret',
      secret: {
        name: spec.secretName,
        // v1 credentials stay as they are: they do not depend on the token.
        data: contents.data(facts.issued.token, owned?.v1),
        ...shape,
        ...(owned?.v1 && { v1: owned.v1 }),
        authorizationID: facts.issued.id,
        permissions: wanted,
        retiring: replaced,
      },
    };
  }

  if (!trusted) {
    const kept = new Set([owned?.authorizationID, ...retiring.map((entry) => entry.id)]);
    const proven = Object.entries(facts.probed ?? {}).flatMap(([id, probe]) =>
      probe.ok && probe.value !== null && isOwn(probe.value, resource) && !deleted.includes(id) ? [id] : [],
    );
    const orphan = [...listed.map((entry) => entry.id), ...proven].find((id) => !kept.has(id));
    if (orphan !== undefined)
      return {
        kind: 'deleteAuthorization',
        connection,
        authorizationID: orphan,
        why: 'it is in no Secret (an interrupted create or change, or a replaced one retiring behind a newer one)',
      };
  }
  // At most one retiring authorization: of several (a Secret from before this rule, or edited), only the newest waits out its grace period.
  const newest = [...retiring].sort((a, b) => (a.deleteAfter < b.deleteAfter ? 1 : -1))[0];
  const surplus = retiring.find((entry) => entry !== newest);
  if (surplus)
    return {
      kind: 'deleteAuthorization',
      connection,
      authorizationID: surplus.id,
      why: 'a newer replacement retires it at once (one retiring authorization per token)',
    };
  const due = retiring.find((entry) => entry.deleteAfter <= facts.now);
  if (due)
    return {
      kind: 'deleteAuthorization',
      connection,
      authorizationID: due.id,
      why: 'its grace period after a change has ended',
    };

  const token = owned?.data.token;
  const authorizationID = owned?.authorizationID;
  const userID = facts.record?.userID;
  // Every create is preceded by: the namespace's user, the token's place in the record (its quota),
  // the Secret's authorization proven or not, and a list (a create whose answer was lost shows up there as an orphan).
  const issue = (): TokenStep => {
    const limits = limitsOf(terms);
    const user = ensureUser(facts, connection);
    if (user !== undefined) return user;
    if (facts.record?.tokens[uid] === undefined) {
      return {
        kind: 'record',
        change: { kind: 'token', uid, name: resource.metadata.name, ...(limits && { limits }) },
      };
    }
    if (authorizationID !== undefined) {
      const current = alive(authorizationID);
      if (isStep(current)) return current;
    }
    if (userID === undefined) throw new Error('a token is created only after its user is recorded');
    if (trusted) return { kind: 'listAuthorizations', connection, userID };
    return {
      kind: 'createAuthorization',
      connection,
      userID,
      description: tokenDescription(spec, resource),
      permissions,
    };
  };
  // A token edited by hand would make Ready a lie: it is replaced like a lost one.
  const recorded =
    authorizationID !== undefined &&
    owned?.permissions === wanted &&
    owned.tokenIntact &&
    token !== undefined &&
    token !== '';
  if (!recorded) return issue();
  const probe = facts.probed?.[authorizationID];
  if (probe === undefined) return { kind: 'readAuthorization', connection, authorizationID };
  if (!probe.ok) return finish(facts, failureVerdict(`reading authorization ${authorizationID}`, probe.failure));
  if (!serves(probe.value, { resource, userID }, connection.orgID, wanted, token)) return issue();
  // Issued before the record kept tokens (an upgrade): recorded now, outside any limit, since it exists.
  if (facts.record?.tokens[uid] === undefined)
    return { kind: 'record', change: { kind: 'token', uid, name: resource.metadata.name } };

  const v1 = decideV1(facts, spec, connection, permissions, wanted);
  if ('kind' in v1) return v1;
  const desired: DesiredTokenSecret = {
    name: spec.secretName,
    data: contents.data(token, v1.v1),
    ...shape,
    ...(v1.v1 && { v1: v1.v1 }),
    authorizationID,
    permissions: wanted,
    retiring,
  };
  if (!secretHolds(owned, desired) || retiring.length !== owned.retiring.length)
    return { kind: 'writeSecret', secret: desired };

  const nextRetirement = retiring
    .map((entry) => Date.parse(entry.deleteAfter) - Date.parse(facts.now))
    .sort((a, b) => a - b)[0];
  const summary = spec.permissions.map(({ action, bucket }) => `${action}:${bucket}`).join(',');
  return finish(facts, {
    reason: 'TokenReady',
    message: `Secret ${spec.secretName} holds a token for ${summary} in org ${connection.org}${v1.v1 ? ` and v1 credentials for ${v1.v1.username}` : ''}${retiring.length > 0 ? `; ${retiring.length} replaced authorization(s) still valid for their grace period` : ''}`,
    requeue: after(Math.max(0, Math.min(facts.driftCheckIntervalMs, nextRetirement ?? Number.POSITIVE_INFINITY))),
    fields: {
      secretName: spec.secretName,
      authorizationID,
      permissions: summary,
      retiring,
      ...(v1.v1 && { v1Username: v1.v1.username, v1AuthorizationID: v1.v1.authorizationID }),
    },
  });
}
