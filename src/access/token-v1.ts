// InfluxToken.spec.v1: a v1 (legacy) authorization with the token's permissions, for 1.x clients
// that log in with a username and password. The username is unique on the instance and the
// permissions cannot change, so a permission change deletes it and makes it again under the same
// username (no grace period). The password is generated, written to the Secret as pending, then
// set in InfluxDB, then promoted: a crash at any point leaves a Secret that knows every password
// InfluxDB may hold. Pure: the decision reads facts, the reconciler carries the steps out.
import type { EffectiveTokenSpec } from '../api/access-spec.js';
import {
  ROTATE_V1_PASSWORD_ANNOTATION,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
  type V1InSecret,
} from '../api/access-types.js';
import type { AccessRecord } from '../api/access-records.js';
import type { InfluxFailure, Outcome, V1Authorization, V1AuthorizationFilter } from '../influx/index.js';
import { NONE } from '../runtime/index.js';
import { accessFinish, failureVerdict, type AccessFinish, type Connection } from './access.js';
import { permissionsKey, tokenMarker, type BucketPermission } from './token-authorizations.js';

/** What one reconcile learned of the token's v1 authorization. */
export interface V1Facts {
  /** A fresh password (generated with spec.v1), used only when a new one is needed. */
  candidatePassword?: string;
  /**
   * The namespace user's v1 authorizations (the org's before the user is recorded): listed before
   * a create (a create whose answer was lost shows up there).
   */
  listed?: Outcome<V1Authorization[]>;
  /** The Secret's v1 authorization as InfluxDB shows it (null: none of that ID). */
  found?: { id: string; outcome: Outcome<V1Authorization | null> };
  created?: Outcome<V1Authorization>;
  /** The authorization whose pending password InfluxDB took in this reconcile. */
  passwordSet?: string;
  /** SHOW DATABASES with the Secret's v1 username and password. */
  proven?: Outcome<string[]>;
  /** IDs deleted in this reconcile. */
  deleted?: string[];
}

export type V1Step =
  /** filter: the namespace's user once recorded (a list bounded per tenant), else the org. */
  | { kind: 'listV1'; connection: Connection; filter: V1AuthorizationFilter }
  | { kind: 'readV1'; connection: Connection; authorizationID: string }
  | {
      kind: 'createV1';
      connection: Connection;
      /** The namespace's InfluxDB user, as for its v2 tokens (absent: the operator token's user). */
      userID?: string;
      username: string;
      description: string;
      permissions: BucketPermission[];
    }
  /** Sets the Secret's pending password (read from the Secret when carried out, never put in a step). */
  | { kind: 'setV1Password'; connection: Connection; authorizationID: string }
  /** Logs in with the Secret's v1 username and password. */
  | { kind: 'proveV1'; connection: Connection }
  | { kind: 'deleteV1'; connection: Connection; authorizationID: string; why: string };

/** What the Secret's v1 keys and annotations must be; undefined: none. */
export interface V1Settled {
  v1: V1InSecret | undefined;
}

interface V1Context {
  resource: InfluxToken;
  now: string;
  secret: TokenSecret;
  v1?: V1Facts;
  /** The operator's record of the namespace: the user its authorizations are issued under. */
  record?: Pick<AccessRecord, 'userID'>;
}

/** The marker in a v1 authorization's description that ties it to one InfluxToken for good (its UID). */
export function v1Description(resource: Pick<InfluxToken, 'metadata'>): string {
  return tokenMarker(resource).replace(/\]$/, ' v1]');
}

function isOwnV1(entry: Pick<V1Authorization, 'description'>, resource: Pick<InfluxToken, 'metadata'>): boolean {
  return entry.description.endsWith(` uid=${resource.metadata.uid} v1]`);
}

/** Active, in the org, under the username, with exactly the wanted permissions (each on one bucket of the org). */
function v1Serves(found: V1Authorization | null, orgID: string, wanted: string, username: string): boolean {
  if (found === null || !found.active || found.orgID !== orgID || found.username !== username) return false;
  const onBuckets = found.permissions.flatMap(({ action, resource }) =>
    resource.type === 'buckets' && resource.id !== undefined && resource.orgID === orgID
      ? [{ action, bucketID: resource.id }]
      : [],
  );
  return onBuckets.length === found.permissions.length && permissionsKey(onBuckets) === wanted;
}

function refusedLogin(failure: InfluxFailure): boolean {
  return failure.kind === 'rejected' && (failure.status === 401 || failure.status === 403);
}

function usernameTaken(failure: InfluxFailure): boolean {
  return failure.kind === 'rejected' && failure.status === 422;
}

function observedV1(context: V1Context): V1InSecret | undefined {
  const v1 = context.secret.state === 'owned' ? context.secret.v1 : undefined;
  return v1 !== undefined && !(context.v1?.deleted ?? []).includes(v1.authorizationID) ? v1 : undefined;
}

type V1Decision = V1Step | AccessFinish<InfluxTokenStatus>;

/**
 * The Secret's v1 authorization, once InfluxDB shows it with this resource's marker: the ID in the
 * Secret is only a hint (a tenant can edit it), so nothing is set, changed or deleted on its word.
 * null: there is none of this resource's (absent, deleted, or another's).
 */
function provenOwn(context: V1Context, connection: Connection): V1Authorization | null | V1Decision {
  const alive = observedV1(context);
  if (alive === undefined) return null;
  const { found } = context.v1 ?? {};
  if (found?.id !== alive.authorizationID)
    return { kind: 'readV1', connection, authorizationID: alive.authorizationID };
  if (!found.outcome.ok)
    return v1Failed(context, `reading v1 authorization ${alive.authorizationID}`, found.outcome.failure);
  const value = found.outcome.value;
  return value !== null && isOwnV1(value, context.resource) ? value : null;
}

function isDecision(value: V1Authorization | null | V1Decision): value is V1Decision {
  return value !== null && 'kind' in value;
}

/** What the v1 phases of one token share: its context, where it connects, and what the Secret must carry. */
interface V1Wanted {
  context: V1Context;
  connection: Connection;
  username: string;
  /** permissionsKey of the token's permissions. */
  permissions: string;
  /** The rotation annotation's value the Secret's password answers. */
  rotation: string;
}

/**
 * The v1 credentials the Secret must hold, or the step to get there. Runs once the token itself
 * serves the Secret; `wanted` is the permissionsKey of `permissions`.
 */
export function decideV1(
  context: V1Context,
  spec: EffectiveTokenSpec,
  connection: Connection,
  permissions: BucketPermission[],
  wanted: string,
): V1Decision | V1Settled {
  if (spec.v1 === undefined) return revokeV1(context, connection, spec, 'spec.v1 was removed') ?? { v1: undefined };
  const w: V1Wanted = {
    context,
    connection,
    username: spec.v1.username,
    permissions: wanted,
    rotation: context.resource.metadata.annotations?.[ROTATE_V1_PASSWORD_ANNOTATION] ?? '',
  };
  const own = provenOwn(context, connection);
  if (isDecision(own)) return own;
  const alive = observedV1(context);
  if (own !== null && alive !== undefined) return keepV1(w, own, alive);
  // Made (again): the username goes to the Secret with a pending password before InfluxDB gets it.
  if (context.v1?.created !== undefined) return afterCreate(w, context.v1.created);
  // Every create is preceded by a list: one whose answer was lost shows up there with the marker, and goes first.
  const orphan = orphanStep(context, connection, 'it is in no Secret (an interrupted create or change)');
  if (orphan !== undefined) return orphan;
  const userID = context.record?.userID;
  return {
    kind: 'createV1',
    connection,
    ...(userID !== undefined && { userID }),
    username: w.username,
    description: v1Description(context.resource),
    permissions,
  };
}

/** The Secret's credentials with a fresh pending password, for the wanted permissions and rotation. */
function withFreshPassword(w: V1Wanted, v1: V1InSecret): V1Settled {
  const candidate = w.context.v1?.candidatePassword;
  if (candidate === undefined) throw new Error('a token with spec.v1 is observed with a password');
  return { v1: { ...v1, permissions: w.permissions, rotated: w.rotation, pendingPassword: candidate } };
}

/** A request InfluxDB did not answer as it should: the token's reconcile ends with its failure. */
function v1Failed(context: V1Context, doing: string, failure: InfluxFailure): V1Decision {
  return accessFinish<InfluxTokenStatus>(context.resource, context.now, failureVerdict(doing, failure));
}

/**
 * The Secret's v1 authorization, proven this resource's: made again when it no longer serves, its
 * pending password set then promoted, a new password on rotation, and the login proven.
 */
function keepV1(w: V1Wanted, own: V1Authorization, alive: V1InSecret): V1Decision | V1Settled {
  const { connection, username } = w;
  const facts = w.context.v1 ?? {};
  if (!v1Serves(own, connection.orgID, w.permissions, username)) {
    const why =
      own.username !== username
        ? 'spec.v1.username changed'
        : own.active
          ? 'the permissions changed (a v1 authorization cannot change them: it is made again under the same username)'
          : 'it was deactivated in InfluxDB';
    return { kind: 'deleteV1', connection, authorizationID: own.id, why };
  }
  const { pendingPassword, ...settled } = alive;
  if (pendingPassword !== undefined) {
    if (facts.passwordSet !== own.id) return { kind: 'setV1Password', connection, authorizationID: own.id };
    return { v1: { ...settled, password: pendingPassword } };
  }
  if (alive.password === undefined || alive.rotated !== w.rotation) return withFreshPassword(w, alive);
  if (facts.proven === undefined) return { kind: 'proveV1', connection };
  if (!facts.proven.ok) {
    // A password changed behind the operator: a new one, set in place.
    if (refusedLogin(facts.proven.failure)) return withFreshPassword(w, alive);
    return v1Failed(w.context, `signing in as v1 user ${username}`, facts.proven.failure);
  }
  return { v1: alive };
}

/** What InfluxDB answered the create: the new authorization to the Secret, or why it was refused. */
function afterCreate(w: V1Wanted, created: Outcome<V1Authorization>): V1Decision | V1Settled {
  const { username } = w;
  if (created.ok)
    return withFreshPassword(w, {
      username,
      authorizationID: created.value.id,
      permissions: w.permissions,
      rotated: w.rotation,
    });
  if (usernameTaken(created.failure))
    return accessFinish<InfluxTokenStatus>(w.context.resource, w.context.now, {
      reason: 'V1UsernameTaken',
      message: `v1 username ${username} is taken on this InfluxDB by a v1 authorization that is not this InfluxToken's; choose another spec.v1.username`,
      requeue: NONE,
    });
  return v1Failed(w.context, `creating v1 authorization ${username}`, created.failure);
}

/** The list of the org's v1 authorizations, then a delete of the first of this resource's left; undefined when none is. */
function orphanStep(context: V1Context, connection: Connection, why: string): V1Decision | undefined {
  const listed = context.v1?.listed;
  const userID = context.record?.userID;
  if (listed === undefined)
    return { kind: 'listV1', connection, filter: userID === undefined ? { orgID: connection.orgID } : { userID } };
  if (!listed.ok) return v1Failed(context, 'listing v1 authorizations', listed.failure);
  const deleted = context.v1?.deleted ?? [];
  const orphan = listed.value.find((entry) => isOwnV1(entry, context.resource) && !deleted.includes(entry.id));
  return orphan && { kind: 'deleteV1', connection, authorizationID: orphan.id, why };
}

/**
 * Every v1 authorization of this resource deleted (the Secret's once proven ours, and any listed
 * with its marker): undefined once none is left. For spec.v1 removed, a token being deleted, or
 * one whose grant was withdrawn; InfluxDB is asked only when v1 credentials may exist (spec.v1
 * set, or the Secret names some).
 */
export function revokeV1(
  context: V1Context,
  connection: Connection,
  spec: EffectiveTokenSpec,
  why: string,
): V1Decision | undefined {
  const own = provenOwn(context, connection);
  if (isDecision(own)) return own;
  if (own !== null) return { kind: 'deleteV1', connection, authorizationID: own.id, why };
  if (spec.v1 === undefined && observedV1(context) === undefined && context.v1?.listed === undefined) return undefined;
  return orphanStep(context, connection, why);
}
