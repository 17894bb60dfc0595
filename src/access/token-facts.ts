// What the InfluxToken decision reads (TokenFacts) and the steps it answers with, and what its
// phases share: the authorizations of one resource as listed or proven, and their revocation.
import type { AccessRecord, RecordChange, RecordRefusal } from '../api/access-records.js';
import type { Checked, EffectiveTokenSpec } from '../api/access-spec.js';
import {
  TOKEN_FINALIZER,
  type DesiredTokenSecret,
  type InfluxToken,
  type InfluxTokenStatus,
  type TokenSecret,
} from '../api/access-types.js';
import type { Authorization, CreatedAuthorization, InfluxFailure, Outcome } from '../influx/index.js';
import {
  accessFinish,
  failureVerdict,
  type AccessFinish,
  type Connection,
  type FinalizerStep,
  type OnboardingAccess,
} from './access.js';
import { isOwn, ownAuthorizations, type BucketPermission, type ListedAuthorization } from './token-authorizations.js';
import type { V1Facts, V1Step } from './token-v1.js';

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
  /** Authorizations read by ID, or created, in this reconcile (null: InfluxDB has none of that ID). */
  probed?: Readonly<Record<string, Outcome<Authorization | null>>>;
  /** Created in this reconcile and not yet in the Secret: the next step writes it there. */
  issued?: CreatedAuthorization;
  /** IDs deleted in this reconcile. */
  deleted?: string[];
  failure?: { doing: string; failure: InfluxFailure };
  /** With spec.v1, or v1 credentials in the Secret: what this reconcile learned of them. */
  v1?: V1Facts;
}

export type TokenFinish = AccessFinish<InfluxTokenStatus>;

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

export function finish(facts: TokenFacts, outcome: Parameters<typeof accessFinish<InfluxTokenStatus>>[2]): TokenFinish {
  return accessFinish(facts.resource, facts.now, outcome);
}

export function hasFinalizer(resource: InfluxToken): boolean {
  return resource.metadata.finalizers?.includes(TOKEN_FINALIZER) ?? false;
}

export function isStep<T>(value: T | TokenStep): value is TokenStep {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'kind' in value;
}

/**
 * The authorizations of this resource under the namespace's user, or the step to list them. No
 * user recorded: none can exist (a token is only ever created after its user is recorded).
 */
export function listing(facts: TokenFacts, connection: Connection): ListedAuthorization[] | TokenStep {
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
export function ownAlive(
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
export function namedBySecret(secret: TokenSecret): string[] {
  if (secret.state !== 'owned') return [];
  return [
    ...(secret.authorizationID === undefined ? [] : [secret.authorizationID]),
    ...secret.retiring.map((entry) => entry.id),
  ];
}

/** Deletes every authorization of this resource (listed, or named by the Secret and proven ours); undefined once none is left. */
export function revokeAll(facts: TokenFacts, connection: Connection, why: string): TokenStep | undefined {
  const listed = listing(facts, connection);
  if (isStep(listed)) return listed;
  for (const id of new Set([...listed.map((entry) => entry.id), ...namedBySecret(facts.secret)])) {
    const alive = ownAlive(facts, connection, listed, id);
    if (isStep(alive)) return alive;
    if (alive) return { kind: 'deleteAuthorization', connection, authorizationID: id, why };
  }
  return undefined;
}
