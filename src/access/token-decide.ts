import type { Checked, EffectiveTokenSpec } from '../api/access-spec.js';
import {
  TOKEN_FINALIZER,
  type DesiredTokenSecret,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
} from '../api/access-types.js';
import type { Authorization, CreatedAuthorization, InfluxFailure, Outcome, Permission } from '../influx/index.js';
import { after, NONE } from '../runtime/index.js';

/** What the token controller reads of a listed authorization (v2.9+ lists no token). */
type ListedAuthorization = Pick<Authorization, 'id' | 'description'>;
import {
  accessFinish,
  failureVerdict,
  type OnboardingAccess,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
} from './access.js';

/** One permission of an application token: read or write one bucket of the org. */
interface BucketPermission {
  action: 'read' | 'write';
  bucketID: string;
}

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
  /** Every authorization of the onboarding's org (without tokens): listed only when an orphan can exist, and before any create. */
  authorizations?: Outcome<ListedAuthorization[]>;
  /** The Secret's authorization as InfluxDB shows it by ID; null when InfluxDB has none of that ID. */
  current?: { id: string; found: Outcome<Authorization | null> };
  /** Created in this reconcile and not yet in the Secret: the next step writes it there. */
  issued?: CreatedAuthorization;
  /** IDs deleted in this reconcile. */
  deleted?: string[];
  failure?: { doing: string; failure: InfluxFailure };
}

type TokenFinish = AccessFinish<InfluxTokenStatus>;

export type TokenStep =
  | FinalizerStep
  | { kind: 'listAuthorizations'; connection: Connection }
  | { kind: 'readAuthorization'; connection: Connection; authorizationID: string }
  | { kind: 'createAuthorization'; connection: Connection; description: string; permissions: BucketPermission[] }
  | { kind: 'writeSecret'; secret: DesiredTokenSecret }
  | { kind: 'deleteAuthorization'; connection: Connection; authorizationID: string; why: string }
  | TokenFinish;

/**
 * The marker in an authorization's description that ties it to one InfluxToken for good: its UID,
 * which a re-created resource of the same name does not share.
 */
export function tokenMarker(resource: Pick<InfluxToken, 'metadata'>): string {
  const { namespace, name, uid } = resource.metadata;
  return `[InfluxToken ${namespace}/${name} uid=${uid}]`;
}

function tokenDescription(spec: EffectiveTokenSpec, resource: Pick<InfluxToken, 'metadata'>): string {
  const marker = tokenMarker(resource);
  return spec.description === '' ? marker : `${spec.description} ${marker}`;
}

/** This resource's authorizations: found by the UID in their description, also on servers that never show a token again. */
export function ownAuthorizations(
  all: readonly ListedAuthorization[],
  resource: Pick<InfluxToken, 'metadata'>,
): ListedAuthorization[] {
  const suffix = ` uid=${resource.metadata.uid}]`;
  return all.filter((entry) => entry.description.endsWith(suffix));
}

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
  return (
    revokeAll(facts, connection, 'the InfluxToken is being deleted') ?? {
      kind: 'removeFinalizer',
      event: { type: 'Normal', reason: 'TokenRevoked', message: 'authorization deleted from InfluxDB' },
    }
  );
}

/** An application token's permissions as InfluxDB takes them: each on one bucket of the org (what serves() reads back). */
export function bucketPermissions(orgID: string, permissions: readonly BucketPermission[]): Permission[] {
  return permissions.map(({ action, bucketID }) => ({ action, resource: { type: 'buckets', id: bucketID, orgID } }));
}

/** `read:<id>,write:<id>`: what the authorization in the Secret was created with, compared as a whole. */
function permissionsKey(permissions: ReadonlyArray<{ action: string; bucketID: string }>): string {
  return permissions
    .map(({ action, bucketID }) => `${action}:${bucketID}`)
    .sort()
    .join(',');
}

/**
 * The authorization InfluxDB shows serves the Secret as it is: active, in the org, with exactly the
 * wanted permissions (each on one bucket of the org), and the Secret's token where InfluxDB still
 * shows tokens (before v2.9; the Secret's own digest vouches for its token everywhere).
 */
function serves(found: Authorization | null, orgID: string, wanted: string, token: string): boolean {
  if (found === null || !found.active || found.orgID !== orgID) return false;
  if (found.token !== undefined && found.token !== token) return false;
  const onBuckets = found.permissions.flatMap(({ action, resource }) =>
    resource.type === 'buckets' && resource.id !== undefined && resource.orgID === orgID
      ? [{ action, bucketID: resource.id }]
      : [],
  );
  return onBuckets.length === found.permissions.length && permissionsKey(onBuckets) === wanted;
}

function retireAt(now: string, seconds: number): string {
  return new Date(Date.parse(now) + seconds * 1000).toISOString();
}

export function decideToken(facts: TokenFacts): TokenStep {
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
  if (access.kind === 'not-permitted') {
    // A withdrawn grant: what was issued under it stops working, and the Secret keeps no token.
    // A namespace never granted has no Secret and is never looked up in InfluxDB.
    const issuedBefore =
      secret.state === 'owned' &&
      (secret.authorizationID !== undefined || secret.retiring.length > 0 || secret.data.token !== undefined);
    if (issuedBefore && access.connection !== undefined) {
      const revoke = revokeAll(facts, access.connection, 'the onboarding does not grant this namespace access');
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
    return finish(facts, { reason: 'NotPermitted', message: access.message, requeue: NONE });
  }
  const { connection } = access;

  const permissions: BucketPermission[] = [];
  const bucketNames = new Set<string>();
  for (const permission of spec.permissions) {
    const bucket = facts.buckets[permission.bucket];
    if (bucket === undefined || bucket.kind === 'missing') {
      return finish(facts, {
        reason: 'BucketNotFound',
        message: `waiting for InfluxBucket ${permission.bucket} in namespace ${resource.metadata.namespace}`,
        requeue: after(facts.driftCheckIntervalMs),
      });
    }
    if (bucket.kind === 'not-ready')
      return finish(facts, {
        reason: 'BucketNotReady',
        message: bucket.message,
        requeue: after(facts.driftCheckIntervalMs),
      });
    if (bucket.onboarding !== connection.onboarding) {
      return finish(facts, {
        reason: 'NotPermitted',
        message: `InfluxBucket ${permission.bucket} lives under InfluxOnboarding ${bucket.onboarding}, not ${connection.onboarding} as spec.onboardingRef says`,
        requeue: NONE,
      });
    }
    permissions.push({ action: permission.action, bucketID: bucket.bucketID });
    bucketNames.add(bucket.bucketName);
  }
  const wanted = permissionsKey(permissions);
  const [onlyBucket] = bucketNames;
  const data = (token: string): Record<string, string> => ({
    url: connection.target.url,
    org: connection.org,
    token,
    ...(bucketNames.size === 1 && onlyBucket !== undefined && { bucket: onlyBucket }),
  });

  // Listed only when an orphan can exist (or a create is coming): a Ready token's check costs one GET.
  const listed = facts.orphanFree && facts.authorizations === undefined ? undefined : living(facts, connection);
  if (listed !== undefined && !Array.isArray(listed)) return listed;
  const deleted = facts.deleted ?? [];
  const isAlive = (id: string): boolean =>
    listed === undefined ? !deleted.includes(id) : listed.some((entry) => entry.id === id);
  const owned = secret.state === 'owned' ? secret : undefined;
  const retiring = (owned?.retiring ?? []).filter((entry) => isAlive(entry.id));

  // Persist first: a token InfluxDB handed out exists only in this process until the Secret holds it.
  if (facts.issued !== undefined) {
    const current = owned?.authorizationID;
    const replaced =
      current !== undefined && isAlive(current)
        ? [{ id: current, deleteAfter: retireAt(facts.now, spec.rotationGracePeriodSeconds) }]
        : [];
    return {
      kind: 'writeSecret',
      secret: {
        name: spec.secretName,
        data: data(facts.issued.token),
        authorizationID: facts.issued.id,
        permissions: wanted,
        retiring: [...retiring, ...replaced],
      },
    };
  }

  if (listed !== undefined) {
    const kept = new Set([owned?.authorizationID, ...retiring.map((entry) => entry.id)]);
    const orphan = listed.find((entry) => !kept.has(entry.id));
    if (orphan)
      return {
        kind: 'deleteAuthorization',
        connection,
        authorizationID: orphan.id,
        why: 'it is in no Secret (an interrupted create or change)',
      };
  }
  const due = retiring.find((entry) => entry.deleteAfter <= facts.now);
  if (due)
    return {
      kind: 'deleteAuthorization',
      connection,
      authorizationID: due.id,
      why: 'its grace period after a change has ended',
    };

  // Every create is preceded by a list: a create whose answer was lost shows up there as an orphan.
  const issue = (): TokenStep =>
    listed === undefined
      ? { kind: 'listAuthorizations', connection }
      : { kind: 'createAuthorization', connection, description: tokenDescription(spec, resource), permissions };
  const token = owned?.data.token;
  const authorizationID = owned?.authorizationID;
  // A token edited by hand would make Ready a lie: it is replaced like a lost one.
  const recorded =
    authorizationID !== undefined &&
    owned?.permissions === wanted &&
    owned.tokenIntact &&
    token !== undefined &&
    token !== '';
  if (!recorded) return issue();
  if (facts.current?.id !== authorizationID) return { kind: 'readAuthorization', connection, authorizationID };
  const { found } = facts.current;
  if (!found.ok) return finish(facts, failureVerdict(`reading authorization ${authorizationID}`, found.failure));
  if (!serves(found.value, connection.orgID, wanted, token)) return issue();

  const desired: DesiredTokenSecret = {
    name: spec.secretName,
    data: data(token),
    authorizationID,
    permissions: wanted,
    retiring,
  };
  const sameData =
    Object.keys(desired.data).length === Object.keys(owned.data).length &&
    Object.entries(desired.data).every(([key, value]) => owned.data[key] === value);
  if (!sameData || retiring.length !== owned.retiring.length) return { kind: 'writeSecret', secret: desired };

  const nextRetirement = retiring
    .map((entry) => Date.parse(entry.deleteAfter) - Date.parse(facts.now))
    .sort((a, b) => a - b)[0];
  const summary = spec.permissions.map(({ action, bucket }) => `${action}:${bucket}`).join(',');
  return finish(facts, {
    reason: 'TokenReady',
    message: `Secret ${spec.secretName} holds a token for ${summary} in org ${connection.org}${retiring.length > 0 ? `; ${retiring.length} replaced authorization(s) still valid for their grace period` : ''}`,
    requeue: after(Math.max(0, Math.min(facts.driftCheckIntervalMs, nextRetirement ?? Number.POSITIVE_INFINITY))),
    fields: { secretName: spec.secretName, authorizationID, permissions: summary, retiring },
  });
}
