// Issuing an InfluxToken's authorization once its preconditions hold, as phases that each own one
// concern, run in order: what the Secret must carry (the permissions' bucket IDs, the template),
// the authorizations of this resource as far as they are known, a token just issued persisted
// first, surplus ones deleted, the Secret's own one proven or issued anew, its v1 credentials,
// then the Secret written and Ready.
import { EMPTY_RECORD } from '../api/access-records.js';
import { legacyDefaultBucketName, namespaceUserName, type EffectiveTokenSpec } from '../api/access-spec.js';
import { limitsOf, mayClaimBucketName, type GrantTerms } from '../api/access-from.js';
import type { DesiredTokenSecret, RetiringAuthorization, SecretShape, TokenSecret } from '../api/access-types.js';
import { after, NONE } from '../runtime/index.js';
import { failureVerdict, type Connection } from './access.js';
import {
  isOwn,
  permissionsKey,
  serves,
  tokenDescription,
  type BucketPermission,
  type ListedAuthorization,
} from './token-authorizations.js';
import { finish, isStep, listing, ownAlive, type TokenFacts, type TokenFinish, type TokenStep } from './token-facts.js';
import {
  secretHolds,
  tokenSecretContents,
  typeChangeRefused,
  type TokenSecretContents,
} from './token-secret-contents.js';
import { decideV1 } from './token-v1.js';

/** An InfluxToken whose preconditions hold: a valid spec, and its onboarding lets its namespace in. */
export interface Granted {
  facts: TokenFacts;
  spec: EffectiveTokenSpec;
  connection: Connection;
  terms: GrantTerms;
}

/** What the Secret must carry, whatever the token. */
interface Wanted {
  permissions: BucketPermission[];
  /** permissionsKey(permissions): how the Secret records them. */
  key: string;
  data: Extract<TokenSecretContents, { ok: true }>['data'];
  shape: { shape?: SecretShape };
}

/** The authorizations of this resource as far as this reconcile knows them. */
interface Inventory {
  /** No orphan can exist (TokenFacts.orphanFree) and nothing was listed: only the Secret's own authorization is read. */
  trusted: boolean;
  listed: ListedAuthorization[];
  /** Whether an authorization of this ID is this resource's and alive, or the step to find out. */
  alive: (id: string) => boolean | TokenStep;
  owned: Extract<TokenSecret, { state: 'owned' }> | undefined;
  /** The Secret's retiring authorizations that are still alive. */
  retiring: RetiringAuthorization[];
}

/** The token the Secret holds, proven to serve it. */
interface Current {
  token: string;
  authorizationID: string;
  secret: Extract<TokenSecret, { state: 'owned' }>;
}

/** The next step for a granted InfluxToken: the phases in the order they run. */
export function issueToken(g: Granted): TokenStep {
  const wanted = wantedSecret(g);
  if (isStep(wanted)) return wanted;
  const inventory = takeInventory(g);
  if (isStep(inventory)) return inventory;
  const before = persistIssued(g, wanted, inventory) ?? retireSurplus(g, inventory);
  if (before !== undefined) return before;
  const current = currentToken(g, wanted, inventory);
  if (isStep(current)) return current;
  return settle(g, wanted, inventory, current);
}

function wantedSecret(g: Granted): Wanted | TokenStep {
  const { facts, spec, connection, terms } = g;
  const resolved = resolvePermissions(facts, spec, connection, terms);
  if ('kind' in resolved) return resolved;
  const { permissions, buckets } = resolved;
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
  const typeRefused = typeChangeRefused(spec.secretName, facts.secret, contents.shape);
  if (typeRefused !== undefined)
    return finish(facts, { reason: 'SecretConflict', message: typeRefused, requeue: NONE });
  return {
    permissions,
    key: permissionsKey(permissions),
    data: contents.data,
    shape: contents.shape ? { shape: contents.shape } : {},
  };
}

function takeInventory(g: Granted): Inventory | TokenStep {
  const { facts, connection } = g;
  // Listed only when an orphan can exist (or a create is coming): a Ready token's check costs one GET.
  const trusted = facts.orphanFree && facts.authorizations === undefined;
  const listed = trusted ? [] : listing(facts, connection);
  if (isStep(listed)) return listed;
  const deleted = facts.deleted ?? [];
  const alive = (id: string): boolean | TokenStep =>
    trusted ? !deleted.includes(id) : ownAlive(facts, connection, listed, id);
  const owned = facts.secret.state === 'owned' ? facts.secret : undefined;
  const retiring: RetiringAuthorization[] = [];
  for (const entry of owned?.retiring ?? []) {
    const live = alive(entry.id);
    if (isStep(live)) return live;
    if (live) retiring.push(entry);
  }
  return { trusted, listed, alive, owned, retiring };
}

/** Persist first: a token InfluxDB handed out exists only in this process until the Secret holds it. */
function persistIssued(g: Granted, wanted: Wanted, inventory: Inventory): TokenStep | undefined {
  const { facts, spec } = g;
  if (facts.issued === undefined) return undefined;
  const { owned, alive } = inventory;
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
      data: wanted.data(facts.issued.token, owned?.v1),
      ...wanted.shape,
      ...(owned?.v1 && { v1: owned.v1 }),
      authorizationID: facts.issued.id,
      permissions: wanted.key,
      retiring: replaced,
    },
  };
}

/** Authorizations of this resource the Secret does not keep, then retiring ones past their time. */
function retireSurplus(g: Granted, inventory: Inventory): TokenStep | undefined {
  const { facts, connection } = g;
  const { trusted, listed, owned, retiring } = inventory;
  const remove = (authorizationID: string, why: string): TokenStep => ({
    kind: 'deleteAuthorization',
    connection,
    authorizationID,
    why,
  });
  if (!trusted) {
    const deleted = facts.deleted ?? [];
    const kept = new Set([owned?.authorizationID, ...retiring.map((entry) => entry.id)]);
    const proven = Object.entries(facts.probed ?? {}).flatMap(([id, probe]) =>
      probe.ok && probe.value !== null && isOwn(probe.value, facts.resource) && !deleted.includes(id) ? [id] : [],
    );
    const orphan = [...listed.map((entry) => entry.id), ...proven].find((id) => !kept.has(id));
    if (orphan !== undefined)
      return remove(
        orphan,
        'it is in no Secret (an interrupted create or change, or a replaced one retiring behind a newer one)',
      );
  }
  // At most one retiring authorization: of several (a Secret from before this rule, or edited), only the newest waits out its grace period.
  const newest = [...retiring].sort((a, b) => (a.deleteAfter < b.deleteAfter ? 1 : -1))[0];
  const surplus = retiring.find((entry) => entry !== newest);
  if (surplus)
    return remove(surplus.id, 'a newer replacement retires it at once (one retiring authorization per token)');
  const due = retiring.find((entry) => entry.deleteAfter <= facts.now);
  if (due) return remove(due.id, 'its grace period after a change has ended');
  return undefined;
}

/**
 * The Secret's token, proven by reading its authorization (or by the create's answer, when this
 * reconcile made it); a new one issued when it is missing, lost, edited by hand (Ready would be a
 * lie) or no longer serves the permissions.
 */
function currentToken(g: Granted, wanted: Wanted, inventory: Inventory): Current | TokenStep {
  const { facts, connection } = g;
  const { resource } = facts;
  const secret = inventory.owned;
  const token = secret?.data.token;
  const authorizationID = secret?.authorizationID;
  const recorded =
    authorizationID !== undefined &&
    secret?.permissions === wanted.key &&
    secret.tokenIntact &&
    token !== undefined &&
    token !== '';
  if (!recorded) return issue(g, wanted, inventory);
  const probe = facts.probed?.[authorizationID];
  if (probe === undefined) return { kind: 'readAuthorization', connection, authorizationID };
  if (!probe.ok) return finish(facts, failureVerdict(`reading authorization ${authorizationID}`, probe.failure));
  const userID = facts.record?.userID;
  if (!serves(probe.value, { resource, userID }, connection.orgID, wanted.key, token))
    return issue(g, wanted, inventory);
  // Issued before the record kept tokens (an upgrade): recorded now, outside any limit, since it exists.
  if (facts.record?.tokens[resource.metadata.uid] === undefined)
    return { kind: 'record', change: { kind: 'token', uid: resource.metadata.uid, name: resource.metadata.name } };
  return { token, authorizationID, secret };
}

/**
 * A new authorization. Every create is preceded by: the namespace's user, the token's place in
 * the record (its quota), the Secret's authorization proven or not, and a list (a create whose
 * answer was lost shows up there as an orphan).
 */
function issue(g: Granted, wanted: Wanted, inventory: Inventory): TokenStep {
  const { facts, spec, connection, terms } = g;
  const { resource } = facts;
  const uid = resource.metadata.uid;
  const user = ensureUser(facts, connection);
  if (user !== undefined) return user;
  if (facts.record?.tokens[uid] === undefined) {
    const limits = limitsOf(terms);
    return { kind: 'record', change: { kind: 'token', uid, name: resource.metadata.name, ...(limits && { limits }) } };
  }
  const authorizationID = inventory.owned?.authorizationID;
  if (authorizationID !== undefined) {
    const current = inventory.alive(authorizationID);
    if (isStep(current)) return current;
  }
  const userID = facts.record?.userID;
  if (userID === undefined) throw new Error('a token is created only after its user is recorded');
  if (inventory.trusted) return { kind: 'listAuthorizations', connection, userID };
  return {
    kind: 'createAuthorization',
    connection,
    userID,
    description: tokenDescription(spec, resource),
    permissions: wanted.permissions,
  };
}

/** The v1 credentials, then the Secret as it must be, then Ready until the next check or retirement. */
function settle(g: Granted, wanted: Wanted, inventory: Inventory, current: Current): TokenStep {
  const { facts, spec, connection } = g;
  const { retiring } = inventory;
  const v1 = decideV1(facts, spec, connection, wanted.permissions, wanted.key);
  if ('kind' in v1) return v1;
  const desired: DesiredTokenSecret = {
    name: spec.secretName,
    data: wanted.data(current.token, v1.v1),
    ...wanted.shape,
    ...(v1.v1 && { v1: v1.v1 }),
    authorizationID: current.authorizationID,
    permissions: wanted.key,
    retiring,
  };
  if (!secretHolds(current.secret, desired) || retiring.length !== current.secret.retiring.length)
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
      authorizationID: current.authorizationID,
      permissions: summary,
      retiring,
      ...(v1.v1 && { v1Username: v1.v1.username, v1AuthorizationID: v1.v1.authorizationID }),
    },
  });
}

/** A bucket the permissions name, as the Secret's template sees it. */
interface ResolvedBucket {
  id: string;
  influxql?: { database: string; retentionPolicy: string };
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

function retireAt(now: string, seconds: number): string {
  return new Date(Date.parse(now) + seconds * 1000).toISOString();
}
