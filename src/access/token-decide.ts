import type { Checked, EffectiveTokenSpec } from '../api/access-spec.js';
import {
  TOKEN_FINALIZER,
  type AccessReason,
  type DesiredTokenSecret,
  type InfluxToken,
  type InfluxTokenStatus,
  type RetiringAuthorization,
  type TokenSecret,
  type V1InSecret,
} from '../api/access-types.js';
import type { Verdict } from '../api/reconcile.js';
import type { Authorization, CreatedAuthorization, InfluxFailure, Outcome } from '../influx/index.js';
import { after, NONE } from '../runtime/index.js';
import {
  accessFinish,
  failureVerdict,
  type OnboardingAccess,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
} from './access.js';
import {
  ownAuthorizations,
  permissionsKey,
  serves,
  tokenDescription,
  type BucketPermission,
  type ListedAuthorization,
} from './token-authorizations.js';
import {
  secretHolds,
  tokenSecretContents,
  typeChangeRefused,
  type TokenSecretContents,
} from './token-secret-contents.js';
import { decideV1, revokeV1, type V1Facts, type V1Step } from './token-v1.js';

/** An InfluxBucket a permission names, as its status tells. */
export type BucketResolution =
  | { kind: 'ready'; bucketName: string; bucketID: string; onboarding: string }
  | { kind: 'missing' }
  | { kind: 'not-ready'; message: string };

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
  /** Every authorization of the onboarding's org (without tokens): listed only when an orphan can exist, and before any create. */
  authorizations?: Outcome<ListedAuthorization[]>;
  /** The Secret's authorization as InfluxDB shows it by ID; null when InfluxDB has none of that ID. */
  current?: { id: string; found: Outcome<Authorization | null> };
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
  | { kind: 'listAuthorizations'; connection: Connection }
  | { kind: 'readAuthorization'; connection: Connection; authorizationID: string }
  | { kind: 'createAuthorization'; connection: Connection; description: string; permissions: BucketPermission[] }
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

/** The authorizations of this resource still alive in InfluxDB, or a step to learn them, or a finish on failure. */
function living(facts: TokenFacts, connection: Connection): ListedAuthorization[] | TokenStep {
  if (facts.authorizations === undefined) return { kind: 'listAuthorizations', connection };
  if (!facts.authorizations.ok)
    return finish(facts, failureVerdict('listing authorizations', facts.authorizations.failure));
  const deleted = facts.deleted ?? [];
  return ownAuthorizations(facts.authorizations.value, facts.resource).filter((entry) => !deleted.includes(entry.id));
}

/** Deletes every authorization of this resource; undefined once none is left. */
function revokeAll(facts: TokenFacts, connection: Connection, why: string): TokenStep | undefined {
  const alive = living(facts, connection);
  if (!Array.isArray(alive)) return alive;
  const [first] = alive;
  return first && { kind: 'deleteAuthorization', connection, authorizationID: first.id, why };
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
  if (access.kind === 'waiting' && access.gone) {
    return {
      kind: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'OnboardingGone',
        message: `${access.message}: the token's authorization could not be deleted from InfluxDB`,
      },
    };
  }
  if (access.kind === 'waiting')
    // Waiting for the onboarding: its change wakes this resource, the drift interval is the poll.
    return finish(facts, {
      reason: access.reason,
      message: `${access.message}; deletion waits`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  const connection = access.connection;
  if (connection === undefined) return { kind: 'removeFinalizer' };
  const why = 'the InfluxToken is being deleted';
  return (
    revokeAll(facts, connection, why) ??
    revokeV1(facts, connection, facts.checked.spec, why) ?? {
      kind: 'removeFinalizer',
      event: { type: 'Normal', reason: 'TokenRevoked', message: 'authorization deleted from InfluxDB' },
    }
  );
}

function retireAt(now: string, seconds: number): string {
  return new Date(Date.parse(now) + seconds * 1000).toISOString();
}

// The reasons a token's decision ends with, and their messages.
const verdicts = {
  invalidSpec: (problems: readonly string[]): TokenVerdict => ({
    reason: 'InvalidSpec',
    message: problems.join('; '),
    requeue: NONE,
  }),
  secretConflict: (spec: EffectiveTokenSpec): TokenVerdict => ({
    reason: 'SecretConflict',
    message: `Secret ${spec.secretName} exists and was not written for this InfluxToken; delete it or set spec.secretName`,
    requeue: NONE,
  }),
  // Waiting for the onboarding or a bucket: their changes wake the token, the drift interval is the poll.
  waiting: (facts: TokenFacts, reason: AccessReason, message: string): TokenVerdict => ({
    reason,
    message,
    requeue: after(facts.driftCheckIntervalMs),
  }),
  secretTypeFixed: (message: string): TokenVerdict => ({ reason: 'SecretConflict', message, requeue: NONE }),
  notPermitted: (message: string): TokenVerdict => ({ reason: 'NotPermitted', message, requeue: NONE }),
  bucketNotFound: (facts: TokenFacts, bucket: string): TokenVerdict => ({
    reason: 'BucketNotFound',
    message: `waiting for InfluxBucket ${bucket} in namespace ${facts.resource.metadata.namespace}`,
    requeue: after(facts.driftCheckIntervalMs),
  }),
  otherOnboarding: (bucket: string, holder: string, connection: Connection): TokenVerdict => ({
    reason: 'NotPermitted',
    message: `InfluxBucket ${bucket} lives under InfluxOnboarding ${holder}, not ${connection.onboarding} as spec.onboardingRef says`,
    requeue: NONE,
  }),
  ready: (
    facts: TokenFacts,
    spec: EffectiveTokenSpec,
    connection: Connection,
    kept: Kept,
    authorizationID: string,
    v1: V1InSecret | undefined,
  ): TokenVerdict => {
    const { retiring } = kept;
    const nextRetirement = retiring
      .map((entry) => Date.parse(entry.deleteAfter) - Date.parse(facts.now))
      .sort((a, b) => a - b)[0];
    const summary = spec.permissions.map(({ action, bucket }) => `${action}:${bucket}`).join(',');
    const grace =
      retiring.length > 0 ? `; ${retiring.length} replaced authorization(s) still valid for their grace period` : '';
    return {
      reason: 'TokenReady',
      message: `Secret ${spec.secretName} holds a token for ${summary} in org ${connection.org}${v1 ? ` and v1 credentials for ${v1.username}` : ''}${grace}`,
      requeue: after(Math.max(0, Math.min(facts.driftCheckIntervalMs, nextRetirement ?? Number.POSITIVE_INFINITY))),
      fields: {
        secretName: spec.secretName,
        authorizationID,
        permissions: summary,
        retiring,
        ...(v1 && { v1Username: v1.username, v1AuthorizationID: v1.authorizationID }),
      },
    };
  },
};
type TokenVerdict = Verdict<AccessReason, InfluxTokenStatus>;

/**
 * What an InfluxToken needs next: its finalizer, access through its onboarding, its buckets, then
 * an authorization that serves the Secret. An authorization is deleted or created only on the
 * Secret as the API server has it.
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
  if (!checked.ok) return finish(facts, verdicts.invalidSpec(checked.problems));
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  const spec = checked.spec;
  if (secret.state === 'foreign') return finish(facts, verdicts.secretConflict(spec));
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  if (access.kind === 'waiting') return finish(facts, verdicts.waiting(facts, access.reason, access.message));
  if (access.kind === 'not-permitted') return withdrawn(facts, spec, access);
  const granted = grantedPermissions(facts, spec, access.connection);
  if (!('wanted' in granted)) return granted;
  return keepIssued(facts, spec, access.connection, granted);
}

/**
 * A withdrawn grant: what was issued under it stops working, and the Secret keeps no token. A
 * namespace never granted has no Secret and is never looked up in InfluxDB.
 */
function withdrawn(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  access: Extract<OnboardingAccess, { kind: 'not-permitted' }>,
): TokenStep {
  const { secret } = facts;
  const issuedBefore =
    secret.state === 'owned' &&
    (secret.authorizationID !== undefined || secret.retiring.length > 0 || secret.data.token !== undefined);
  if (!issuedBefore || access.connection === undefined) return finish(facts, verdicts.notPermitted(access.message));
  const why = 'the onboarding does not grant this namespace access';
  const revoke = revokeAll(facts, access.connection, why) ?? revokeV1(facts, access.connection, spec, why);
  if (revoke !== undefined) return revoke;
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

/** The permissions the spec asks for, on the buckets' IDs, when every bucket is Ready under this onboarding. */
interface Granted {
  permissions: BucketPermission[];
  /** permissionsKey of the permissions. */
  wanted: string;
  /** The Secret's data for a token, and its shape. */
  contents: Extract<TokenSecretContents, { ok: true }>;
}

function grantedPermissions(facts: TokenFacts, spec: EffectiveTokenSpec, connection: Connection): Granted | TokenStep {
  const permissions: BucketPermission[] = [];
  const bucketIDs = new Map<string, string>();
  for (const permission of spec.permissions) {
    const bucket = facts.buckets[permission.bucket];
    if (bucket === undefined || bucket.kind === 'missing')
      return finish(facts, verdicts.bucketNotFound(facts, permission.bucket));
    if (bucket.kind === 'not-ready') return finish(facts, verdicts.waiting(facts, 'BucketNotReady', bucket.message));
    if (bucket.onboarding !== connection.onboarding)
      return finish(facts, verdicts.otherOnboarding(permission.bucket, bucket.onboarding, connection));
    permissions.push({ action: permission.action, bucketID: bucket.bucketID });
    bucketIDs.set(bucket.bucketName, bucket.bucketID);
  }
  const [onlyBucket] = bucketIDs;
  const contents = tokenSecretContents(spec.secretTemplate, {
    url: connection.target.url,
    org: connection.org,
    orgID: connection.orgID,
    v1: spec.v1 !== undefined,
    ...(bucketIDs.size === 1 && onlyBucket !== undefined && { bucket: { name: onlyBucket[0], id: onlyBucket[1] } }),
  });
  if (!contents.ok) return finish(facts, verdicts.invalidSpec(contents.problems));
  const typeRefused = typeChangeRefused(spec.secretName, facts.secret, contents.shape);
  if (typeRefused !== undefined) return finish(facts, verdicts.secretTypeFixed(typeRefused));
  return { permissions, wanted: permissionsKey(permissions), contents };
}

/** What is known of this resource's authorizations: listed (undefined when an orphan cannot exist), and those still alive. */
interface Kept {
  listed: ListedAuthorization[] | undefined;
  isAlive: (id: string) => boolean;
  /** The Secret's replaced authorizations still alive. */
  retiring: RetiringAuthorization[];
}

/** The Secret's token kept serving: written first when just issued, orphans and retirements cleaned up, then verified. */
function keepIssued(facts: TokenFacts, spec: EffectiveTokenSpec, connection: Connection, granted: Granted): TokenStep {
  const { secret } = facts;
  // Listed only when an orphan can exist (or a create is coming): a Ready token's check costs one GET.
  const listed = facts.orphanFree && facts.authorizations === undefined ? undefined : living(facts, connection);
  if (listed !== undefined && !Array.isArray(listed)) return listed;
  const deleted = facts.deleted ?? [];
  const isAlive = (id: string): boolean =>
    listed === undefined ? !deleted.includes(id) : listed.some((entry) => entry.id === id);
  const owned = secret.state === 'owned' ? secret : undefined;
  const kept: Kept = { listed, isAlive, retiring: (owned?.retiring ?? []).filter((entry) => isAlive(entry.id)) };
  // Persist first: a token InfluxDB handed out exists only in this process until the Secret holds it.
  if (facts.issued !== undefined) return persistIssued(facts, spec, granted, kept, facts.issued);
  return cleanUp(facts, connection, kept) ?? verifyRecorded(facts, spec, connection, granted, kept);
}

/** The token just issued goes to the Secret, its predecessor retiring for the grace period. */
function persistIssued(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  granted: Granted,
  kept: Kept,
  issued: CreatedAuthorization,
): TokenStep {
  const current = facts.secret.state === 'owned' ? facts.secret.authorizationID : undefined;
  const replaced =
    current !== undefined && kept.isAlive(current)
      ? [{ id: current, deleteAfter: retireAt(facts.now, spec.rotationGracePeriodSeconds) }]
      : [];
  return {
    kind: 'writeSecret',
    secret: {
      name: spec.secretName,
      // v1 credentials stay as they are: they do not depend on the token.
      data: granted.contents.data(issued.token, facts.secret.state === 'owned' ? facts.secret.v1 : undefined),
      ...(granted.contents.shape && { shape: granted.contents.shape }),
      ...(facts.secret.state === 'owned' && facts.secret.v1 && { v1: facts.secret.v1 }),
      authorizationID: issued.id,
      permissions: granted.wanted,
      retiring: [...kept.retiring, ...replaced],
    },
  };
}

/** An orphan (an authorization of this resource in no Secret) or a retired authorization whose grace period ended: deleted. */
function cleanUp(facts: TokenFacts, connection: Connection, kept: Kept): TokenStep | undefined {
  const owned = facts.secret.state === 'owned' ? facts.secret : undefined;
  if (kept.listed !== undefined) {
    const known = new Set([owned?.authorizationID, ...kept.retiring.map((entry) => entry.id)]);
    const orphan = kept.listed.find((entry) => !known.has(entry.id));
    if (orphan)
      return {
        kind: 'deleteAuthorization',
        connection,
        authorizationID: orphan.id,
        why: 'it is in no Secret (an interrupted create or change)',
      };
  }
  const due = kept.retiring.find((entry) => entry.deleteAfter <= facts.now);
  if (!due) return undefined;
  return {
    kind: 'deleteAuthorization',
    connection,
    authorizationID: due.id,
    why: 'its grace period after a change has ended',
  };
}

/**
 * The Secret's authorization, as InfluxDB shows it by ID, still serves the Secret as it is; else a
 * new one is issued (a token edited by hand would make Ready a lie: it is replaced like a lost one).
 */
function verifyRecorded(
  facts: TokenFacts,
  spec: EffectiveTokenSpec,
  connection: Connection,
  granted: Granted,
  kept: Kept,
): TokenStep {
  const owned = facts.secret.state === 'owned' ? facts.secret : undefined;
  // Every create is preceded by a list: a create whose answer was lost shows up there as an orphan.
  const issue = (): TokenStep =>
    kept.listed === undefined
      ? { kind: 'listAuthorizations', connection }
      : {
          kind: 'createAuthorization',
          connection,
          description: tokenDescription(spec, facts.resource),
          permissions: granted.permissions,
        };
  const token = owned?.data.token;
  const authorizationID = owned?.authorizationID;
  if (authorizationID === undefined || owned?.permissions !== granted.wanted || !owned.tokenIntact || !token)
    return issue();
  if (facts.current?.id !== authorizationID) return { kind: 'readAuthorization', connection, authorizationID };
  const { found } = facts.current;
  if (!found.ok) return finish(facts, failureVerdict(`reading authorization ${authorizationID}`, found.failure));
  if (!serves(found.value, connection.orgID, granted.wanted, token)) return issue();
  const v1 = decideV1(facts, spec, connection, granted.permissions, granted.wanted);
  if ('kind' in v1) return v1;
  const desired: DesiredTokenSecret = {
    name: spec.secretName,
    data: granted.contents.data(token, v1.v1),
    ...(granted.contents.shape && { shape: granted.contents.shape }),
    ...(v1.v1 && { v1: v1.v1 }),
    authorizationID,
    permissions: granted.wanted,
    retiring: kept.retiring,
  };
  if (!secretHolds(owned, desired) || kept.retiring.length !== owned.retiring.length)
    return { kind: 'writeSecret', secret: desired };
  return finish(facts, verdicts.ready(facts, spec, connection, kept, authorizationID, v1.v1));
}
