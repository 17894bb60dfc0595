import { BACKOFF, NONE, withReady, type Requeue, type ResourceEvent } from '../api/reconcile.js';
import { checkSpec, sameInstance, tlsSettings } from '../api/spec.js';
import {
  ALLOWED_URLS_ANNOTATION,
  READY,
  RETARGET_ANNOTATION,
  ROTATE_PASSWORD_ANNOTATION,
  ROTATE_TOKEN_ANNOTATION,
  ROTATION_MARKER,
  Reason,
  type Condition,
  type EffectiveSpec,
  type InfluxOnboardingStatus,
  type SecretKeySelector,
} from '../api/types.js';
import {
  passwordProblem,
  tokenProblem,
  type Credentials,
  type CredentialsSecret,
  type CredentialsTarget,
  type DesiredSecret,
  type Reference,
} from '../api/credentials.js';
import type {
  Authorization,
  AuthorizationRequest,
  BoundCredentials,
  Facts,
  InfluxFailure,
  Outcome as Answer,
  ResourceIDs,
  SetupRequest,
  TokenOwner,
} from './facts.js';

export interface Finish {
  kind: 'finish';
  reason: Reason;
  message: string;
  status: InfluxOnboardingStatus;
  event?: ResourceEvent;
  requeue: Requeue;
}

/** A repair as the messages tell it: what a success did, and what a refusal refused. */
export interface Repair {
  done: string;
  doing: string;
}

/** The next thing one reconcile does; `finish` ends it. */
export type Step =
  | { kind: 'checkBucket'; token: string; bucketID: string }
  | { kind: 'checkSetupStatus' }
  /** GET /api/v2/setup again after a setup answered `conflict`: a race, or a refusal that stays. */
  | { kind: 'recheckSetupStatus' }
  | { kind: 'checkToken'; token: string }
  | { kind: 'lookupIDs'; token: string; org: string; bucket: string; userID?: string }
  /** Repairs of the org and bucket named in the Secret; `done` says what a success did, for the event. */
  | { kind: 'createOrg'; token: string; org: string; repair: Repair }
  | { kind: 'createBucket'; token: string; orgID: string; bucket: string; retentionSeconds: number; repair: Repair }
  | { kind: 'setRetention'; token: string; bucketID: string; retentionSeconds: number; repair: Repair }
  | { kind: 'checkHealth' }
  /** Token rotation: the user's authorizations; a new one with the same permissions; /me with its token; an old or orphaned one deleted. */
  | { kind: 'listAuthorizations'; token: string; userID: string }
  | { kind: 'createAuthorization'; token: string; request: AuthorizationRequest }
  | { kind: 'checkNewToken'; token: string }
  | { kind: 'deleteAuthorization'; token: string; id: string }
  /** Sets the password of the user the operator token belongs to. */
  | { kind: 'setPassword'; token: string; userID: string; password: string }
  /** Signs in with the Secret's username and password, and out again. */
  | { kind: 'checkPassword'; username: string; password: string }
  | { kind: 'writeSecret'; secret: DesiredSecret; credentials: Credentials }
  | { kind: 'postSetup'; request: SetupRequest }
  | { kind: 'postSetupUser'; request: SetupRequest; authToken: string }
  | Finish;

const SUCCESS_REASONS: readonly string[] = [Reason.Onboarded, Reason.Adopted];
// Reasons whose cause lies with the user and is worth a Warning event when they first appear.
const WARNING_REASONS: readonly string[] = [
  Reason.InvalidSpec,
  Reason.SecretNotFound,
  Reason.SecretConflict,
  Reason.Unreachable,
  Reason.SetupFailed,
  Reason.AlreadyOnboarded,
  Reason.TokenInvalid,
  Reason.InstanceReset,
  Reason.Unsupported,
  Reason.DuplicateTarget,
  Reason.TargetChanged,
  Reason.SecretNotPermitted,
  Reason.URLNotAllowed,
  Reason.AddressRefused,
  Reason.EnsureFailed,
  Reason.PasswordNotSet,
  Reason.PasswordInvalid,
  Reason.TokenNotRotated,
];

function previousReady(facts: Facts): Condition | undefined {
  return facts.resource.status?.conditions?.find((condition) => condition.type === READY);
}

interface Outcome {
  reason: Reason;
  message: string;
  requeue: Requeue;
  fields?: Partial<InfluxOnboardingStatus>;
  /** An event to emit even when the reason does not change (e.g. Reonboarded). */
  event?: ResourceEvent;
}

function finish(facts: Facts, outcome: Outcome): Finish {
  const { resource, now } = facts;
  const previous = previousReady(facts);
  const ready = SUCCESS_REASONS.includes(outcome.reason);
  const generation = resource.metadata.generation;
  const status: InfluxOnboardingStatus = {
    ...resource.status,
    ...outcome.fields,
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions: withReady(
      resource.status?.conditions,
      {
        status: ready ? 'True' : outcome.reason === Reason.Progressing ? 'Unknown' : 'False',
        reason: outcome.reason,
        message: outcome.message,
        ...(generation !== undefined && { observedGeneration: generation }),
      },
      now,
    ),
  };
  const transition = previous?.reason !== outcome.reason;
  const event =
    outcome.event ??
    (transition && (ready || WARNING_REASONS.includes(outcome.reason))
      ? { type: ready ? ('Normal' as const) : ('Warning' as const), reason: outcome.reason, message: outcome.message }
      : undefined);
  return {
    kind: 'finish',
    reason: outcome.reason,
    message: outcome.message,
    status,
    ...(event && { event }),
    requeue: outcome.requeue,
  };
}

function failureText(failure: InfluxFailure): string {
  return failure.kind === 'rejected' ? `${failure.code}: ${failure.message}` : failure.message;
}

type RefusalReason = Extract<InfluxFailure, { kind: 'refused' }>['reason'];

const REFUSALS: Record<RefusalReason, { reason: Reason; help: string }> = {
  'link-local': {
    reason: Reason.AddressRefused,
    help: 'Fix spec.url; only a cluster administrator can allow link-local addresses (--allow-link-local)',
  },
  'not-allowed': {
    reason: Reason.URLNotAllowed,
    help: "Fix spec.url, or ask a cluster administrator to add it to the operator's --allowed-urls",
  },
};

/**
 * InfluxDB could not be asked. An outage is retried with backoff; an address the operator refuses
 * is a configuration error, which waits for the spec (or the operator's flags) to change.
 */
function notReached(facts: Facts, spec: EffectiveSpec, failure: InfluxFailure): Finish {
  if (failure.kind === 'refused') {
    const refusal = REFUSALS[failure.reason];
    return finish(facts, {
      reason: refusal.reason,
      message: `InfluxDB at ${spec.url} was not contacted: ${failure.message}. ${refusal.help}; nothing is tried again until the spec or the operator's flags change`,
      requeue: NONE,
    });
  }
  return finish(facts, {
    reason: Reason.Unreachable,
    message: `InfluxDB at ${spec.url} could not be reached: ${failureText(failure)}`,
    requeue: BACKOFF,
  });
}

function referenceProblems(facts: Facts, spec: EffectiveSpec): string[] {
  const wanted: Array<[Reference | undefined, boolean]> = [
    [facts.references.password, spec.passwordSecretRef !== undefined],
    [facts.references.token, spec.tokenSecretRef !== undefined],
    [facts.references.authToken, spec.authTokenSecretRef !== undefined],
    [facts.references.ca, spec.caSecretRef !== undefined],
  ];
  return wanted.flatMap(([reference, needed]) =>
    !needed
      ? []
      : reference === undefined
        ? ['a referenced Secret was not read']
        : reference.found
          ? []
          : [reference.problem],
  );
}

/**
 * Referenced credentials go only where their Secret says they may: its allowed-urls annotation
 * must name spec.url. Otherwise anyone allowed to edit the resource could have a token or
 * password they cannot read sent to a server of their choosing.
 */
function consentProblems(facts: Facts, spec: EffectiveSpec): string[] {
  if (!facts.requireSecretConsent) return [];
  const sent: Array<[Reference | undefined, SecretKeySelector | undefined]> = [
    [facts.references.password, spec.passwordSecretRef],
    [facts.references.token, spec.tokenSecretRef],
    [facts.references.authToken, spec.authTokenSecretRef],
  ];
  const problems = sent.flatMap(([reference, selector]) => {
    if (selector === undefined || !reference?.found || reference.allowedUrls.some((url) => sameInstance(url, spec.url)))
      return [];
    const allowed = reference.allowedUrls.length === 0 ? 'no URL' : `only ${reference.allowedUrls.join(', ')}`;
    return [
      `Secret ${selector.name} allows ${allowed} in its annotation ${ALLOWED_URLS_ANNOTATION}, so nothing from it is sent to ${spec.url}; add that URL to the annotation if it may go there`,
    ];
  });
  // Password and token often share one Secret: one problem each.
  return [...new Set(problems)];
}

function referencedValue(reference: Reference | undefined): string | undefined {
  return reference?.found ? reference.value : undefined;
}

function credentialProblems(facts: Facts, spec: EffectiveSpec): string[] {
  const problems: string[] = [];
  const password = referencedValue(facts.references.password);
  const badPassword = password === undefined ? undefined : passwordProblem(password);
  if (badPassword !== undefined)
    problems.push(`Secret ${spec.passwordSecretRef?.name} key ${spec.passwordSecretRef?.key}: ${badPassword}`);
  const tokens: Array<[string | undefined, string]> = [
    [referencedValue(facts.references.token), `Secret ${spec.tokenSecretRef?.name} key ${spec.tokenSecretRef?.key}`],
    [
      referencedValue(facts.references.authToken),
      `Secret ${spec.authTokenSecretRef?.name} key ${spec.authTokenSecretRef?.key}`,
    ],
  ];
  for (const [token, where] of tokens) {
    const badToken = token === undefined ? undefined : tokenProblem(token);
    if (badToken !== undefined) problems.push(`${where}: ${badToken}`);
  }
  return problems;
}

/**
 * The credentials the Secret holds and the instance they belong to, or undefined without a
 * username and token. The password may be empty: an adopted instance's password is not known
 * unless spec.passwordSecretRef gives it.
 */
export function credentialsIn(secret: CredentialsSecret): BoundCredentials | undefined {
  if (secret.state !== 'owned') return undefined;
  const { url, username, password, token } = secret.data;
  if (!username || !token) return undefined;
  return {
    credentials: { username, password: password ?? '', token },
    target: { ...(url && { url }), ...(secret.tls !== undefined && { tls: secret.tls }) },
  };
}

/** The instance a spec aims at: credentials may be used only with the target they belong to. */
function targetOf(spec: EffectiveSpec): Required<CredentialsTarget> {
  return { url: spec.url, tls: tlsSettings(spec) };
}

/** Whether credentials bound to `bound` belong to `wanted`; what is not known about `bound` does not count against it. */
function sameTarget(bound: CredentialsTarget, wanted: Required<CredentialsTarget>): boolean {
  return (
    (bound.url === undefined || sameInstance(bound.url, wanted.url)) &&
    (bound.tls === undefined || bound.tls === wanted.tls)
  );
}

function describeTarget(target: CredentialsTarget): string {
  return `${target.url ?? 'an unrecorded URL'} (TLS ${target.tls ?? 'settings unrecorded'})`;
}

/** Whoever may edit the credentials Secret (and so could read its token anyway) approved moving it to spec.url. */
function retargetApproved(secret: CredentialsSecret, spec: EffectiveSpec): boolean {
  return secret.state === 'owned' && secret.retargetTo !== undefined && sameInstance(secret.retargetTo, spec.url);
}

/**
 * The credentials belong to another target than the spec names, and nobody approved the move: no
 * request at all is sent (not even an unauthenticated one, so the new address learns nothing).
 */
function targetChanged(facts: Facts, spec: EffectiveSpec, bound: CredentialsTarget, inSecret: boolean): Finish {
  const wanted = targetOf(spec);
  const name = spec.credentialsSecretName;
  const urlMoved = bound.url !== undefined && !sameInstance(bound.url, wanted.url);
  const created = urlMoved ? `for ${bound.url}` : `with TLS settings ${bound.tls}`;
  const named = urlMoved ? spec.url : `TLS settings ${wanted.tls}`;
  const message = inSecret
    ? `The credentials in Secret ${name} were created ${created}, but this resource now names ${named}; nothing is sent there. If it is the same instance, annotate Secret ${name} with ${RETARGET_ANNOTATION}=${spec.url} to move them (their token is checked there first); to onboard a different instance, delete this resource and create it again with a new spec.credentialsSecret.name`
    : `Secret ${name} is gone, and the credentials this operator remembers from it were created ${created}, but this resource now names ${named}; nothing is sent there. Restore the Secret or the spec, or delete this resource and create it again to onboard ${spec.url} with new credentials`;
  return finish(facts, {
    reason: Reason.TargetChanged,
    message,
    requeue: NONE,
    fields: {
      ...(bound.url !== undefined && { observedURL: bound.url }),
      ...(bound.tls !== undefined && { observedTLS: bound.tls }),
    },
  });
}

/**
 * An approved move goes ahead only when the instance at the new target is the one the credentials
 * belong to: set up already, and accepting their token.
 */
function retargetRefusal(facts: Facts, spec: EffectiveSpec, allowed: boolean): Finish | undefined {
  const name = spec.credentialsSecretName;
  if (allowed) {
    return finish(facts, {
      reason: Reason.TargetChanged,
      message: `InfluxDB at ${spec.url} is not set up, so it is not the instance the credentials in Secret ${name} belong to; nothing was sent to it. Restore that instance there, or delete this resource and create it again with a new spec.credentialsSecret.name to onboard this one`,
      requeue: BACKOFF,
    });
  }
  const check = facts.tokenCheck;
  if (check === undefined || check.ok || check.failure.kind !== 'rejected') return undefined;
  return finish(facts, {
    reason: Reason.TargetChanged,
    message: `InfluxDB at ${spec.url} rejected the operator token (${failureText(check.failure)}), so it is not the instance the credentials in Secret ${name} belong to; the Secret was left as it is`,
    requeue: NONE,
  });
}

/** Credentials fit to send: a setup request needs a password, so an unknown one is generated. */
function postable(facts: Facts, credentials: Credentials): Credentials {
  return credentials.password === '' ? { ...credentials, password: facts.generated.password } : credentials;
}

/** What the Secret records of password and token rotation besides the password and token themselves. */
type RotationRecord = Pick<
  DesiredSecret,
  'pendingPassword' | 'passwordRotation' | 'tokenRotation' | 'authorizationID' | 'replacedAuthorization'
>;

/**
 * What the Secret records before a setup request. A Secret created now holds credentials nobody
 * asked to rotate yet: the resource's rotate-password and rotate-token values at that moment count
 * as handled. An existing Secret keeps its requests handled, but the authorizations it names are
 * from before the instance was (found) fresh: they are forgotten, so that none is ever deleted
 * under an ID the new setup may have given to another one.
 */
function initialRotationRecord(facts: Facts): RotationRecord {
  if (facts.secret.state === 'owned') {
    const { authorizationID, replacedAuthorization } = facts.secret;
    return {
      ...(authorizationID !== undefined && { authorizationID: null }),
      ...(replacedAuthorization !== undefined && { replacedAuthorization: null }),
    };
  }
  const password = rotationRequested(facts);
  const token = tokenRotationRequested(facts);
  return {
    ...(password !== undefined && { passwordRotation: password }),
    ...(token !== undefined && { tokenRotation: token }),
  };
}

function desiredSecret(spec: EffectiveSpec, credentials: Credentials, record: RotationRecord = {}): DesiredSecret {
  return {
    name: spec.credentialsSecretName,
    tls: tlsSettings(spec),
    garbageCollected: spec.deletionPolicy === 'Delete',
    ...record,
    data: {
      url: spec.url,
      org: spec.org,
      bucket: spec.bucket,
      username: credentials.username,
      password: credentials.password,
      token: credentials.token,
    },
  };
}

export function secretMatches(secret: CredentialsSecret, desired: DesiredSecret): boolean {
  if (secret.state !== 'owned' || secret.garbageCollected !== desired.garbageCollected || secret.tls !== desired.tls)
    return false;
  if (desired.pendingPassword !== undefined && secret.pendingPassword !== (desired.pendingPassword ?? undefined))
    return false;
  if (desired.passwordRotation !== undefined && secret.passwordRotation !== desired.passwordRotation) return false;
  if (desired.tokenRotation !== undefined && secret.tokenRotation !== desired.tokenRotation) return false;
  if (desired.authorizationID !== undefined && secret.authorizationID !== (desired.authorizationID ?? undefined))
    return false;
  if (
    desired.replacedAuthorization !== undefined &&
    secret.replacedAuthorization !== (desired.replacedAuthorization ?? undefined)
  )
    return false;
  return (Object.keys(desired.data) as Array<keyof DesiredSecret['data']>).every(
    (key) => secret.data[key] === desired.data[key],
  );
}

function setupRequest(spec: EffectiveSpec, credentials: Credentials): SetupRequest {
  return {
    ...credentials,
    org: spec.org,
    bucket: spec.bucket,
    retentionPeriodSeconds: spec.retentionPeriodSeconds,
  };
}

export type RepairStep = Extract<Step, { kind: 'createOrg' | 'createBucket' | 'setRetention' }>;

/** The facts after a repair's answer: on success the IDs as they now are and what was done; else what was tried. */
export function withRepair(facts: Facts, step: RepairStep, outcome: Answer<{ id: string }>): Facts {
  if (!outcome.ok) return { ...facts, repairFailure: { doing: step.repair.doing, failure: outcome.failure } };
  const ids = facts.ids?.ok ? facts.ids.value : {};
  const now: ResourceIDs =
    step.kind === 'createOrg'
      ? { orgID: outcome.value.id }
      : step.kind === 'createBucket'
        ? { ...ids, bucketID: outcome.value.id, bucketRetentionSeconds: step.retentionSeconds }
        : { ...ids, bucketRetentionSeconds: step.retentionSeconds };
  return { ...facts, ids: { ok: true, value: now }, repairs: [...(facts.repairs ?? []), step.repair.done] };
}

function describeRetention(seconds: number): string {
  return seconds === 0 ? 'infinite retention' : `retention ${seconds} s`;
}

/**
 * The org and bucket the Secret names must exist with the declared retention before the resource
 * is Ready: missing ones are created and a differing retention is set, with the operator token.
 * Returns the next step, a Finish when they cannot be ensured, or the IDs once they are.
 */
function ensureOrgAndBucket(facts: Facts, spec: EffectiveSpec, token: string): Step | ResourceIDs {
  const ids = facts.ids;
  if (ids === undefined) throw new Error('ensureOrgAndBucket needs the looked-up IDs');
  const what = `org ${spec.org} and bucket ${spec.bucket} (${describeRetention(spec.retentionPeriodSeconds)})`;
  const failure = !ids.ok ? { failure: ids.failure, doing: `looking up ${what}` } : facts.repairFailure;
  if (failure !== undefined) {
    if (failure.failure.kind !== 'rejected') return notReached(facts, spec, failure.failure);
    return finish(facts, {
      reason: Reason.EnsureFailed,
      message: `InfluxDB at ${spec.url} refused ${failure.doing} with the operator token in Secret ${spec.credentialsSecretName} (${failureText(failure.failure)}); applications using the Secret need them. Checked again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the spec changes`,
      requeue: READY_AGAIN(facts),
    });
  }
  const found = ids.ok ? ids.value : {};
  if (found.orgID === undefined)
    return { kind: 'createOrg', token, org: spec.org, repair: repair('created', 'creating', `org ${spec.org}`) };
  if (found.bucketID === undefined) {
    return {
      kind: 'createBucket',
      token,
      orgID: found.orgID,
      bucket: spec.bucket,
      retentionSeconds: spec.retentionPeriodSeconds,
      repair: repair(
        'created',
        'creating',
        `bucket ${spec.bucket} with ${describeRetention(spec.retentionPeriodSeconds)}`,
      ),
    };
  }
  if (found.bucketRetentionSeconds !== spec.retentionPeriodSeconds) {
    return {
      kind: 'setRetention',
      token,
      bucketID: found.bucketID,
      retentionSeconds: spec.retentionPeriodSeconds,
      repair: repair(
        'changed',
        'changing',
        `bucket ${spec.bucket} from ${describeRetention(found.bucketRetentionSeconds ?? 0)} to ${describeRetention(spec.retentionPeriodSeconds)}`,
      ),
    };
  }
  return found;
}

/** A repair of `what`, told as done (for the event) and as being done (for a refusal). */
function repair(done: string, doing: string, what: string): Repair {
  return { done: `${done} ${what}`, doing: `${doing} ${what}` };
}

function isStep<T extends object>(value: Step | T): value is Step {
  return 'kind' in value;
}

/** The resource's rotate-token value, when it has one. */
function tokenRotationRequested(facts: Facts): string | undefined {
  return facts.resource.metadata.annotations?.[ROTATE_TOKEN_ANNOTATION];
}

/** The rotate-token request the Secret has not carried out yet; none while spec.tokenSecretRef supplies the token. */
function tokenRotationDue(facts: Facts, spec: EffectiveSpec): string | undefined {
  const requested = tokenRotationRequested(facts);
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const due =
    spec.tokenSecretRef === undefined &&
    secret !== undefined &&
    requested !== undefined &&
    secret.tokenRotation !== requested;
  return due ? requested : undefined;
}

/** How every authorization a rotation creates for this resource is described, before the request's value. */
function rotationMarker(facts: Facts): string {
  return `${ROTATION_MARKER} ${facts.resource.metadata.uid} `;
}

/** The credentials once a token rotation, if one was due, is done. */
interface TokenSettled {
  credentials: Credentials;
  /** The new token's authorization, when this reconcile replaced the token. */
  rotatedTo?: string;
}

function tokenNotRotated(facts: Facts, spec: EffectiveSpec, doing: string, failure: InfluxFailure): Finish {
  if (failure.kind !== 'rejected') return notReached(facts, spec, failure);
  return finish(facts, {
    reason: Reason.TokenNotRotated,
    message: `InfluxDB at ${spec.url} refused ${doing} with the operator token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); the Secret keeps its token, which works. Tried again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the resource changes`,
    requeue: READY_AGAIN(facts),
  });
}

/**
 * The authorization the Secret's token is: the one listed with that token (servers before v2.9),
 * else the one recorded with the token when the operator created it, else, for the token this
 * resource's own setup created, the ID the setup answered with, or (that answer lost in a crash)
 * the only authorization with the description a setup gives its token ("<username>'s Token").
 */
function currentAuthorization(
  facts: Facts,
  spec: EffectiveSpec,
  listed: readonly Authorization[],
  token: string,
  owner: TokenOwner,
): Authorization | undefined {
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const status = facts.resource.status ?? {};
  const listedWithToken = listed.find((entry) => entry.token === token);
  if (listedWithToken !== undefined) return listedWithToken;
  // A recorded ID that is not listed any more is from before the instance was set up again.
  const recorded = listed.find((entry) => entry.id === secret?.authorizationID);
  if (recorded !== undefined) return recorded;
  if (spec.tokenSecretRef !== undefined || status.adopted !== false) return undefined;
  const answered = listed.find((entry) => entry.id === status.authorizationID);
  if (answered !== undefined) return answered;
  const setupTokens = listed.filter((entry) => entry.description === `${owner.userName}'s Token`);
  return setupTokens.length === 1 ? setupTokens[0] : undefined;
}

/**
 * Operator token rotation on request (rotate-token annotation): a new authorization for the same
 * user with exactly the permissions of the Secret's, marked in its description; its token checked
 * with /me; then written to the Secret together with its authorization ID and the one it replaces;
 * then the replaced one deleted and the record of it dropped. The Secret never holds a token that
 * was not proven to work. A crash after the create leaves an orphan that carries the marker: the
 * next attempt deletes every marked authorization of the user that is not the Secret's before it
 * creates one. The replaced authorization is deleted only when the operator created it.
 */
function rotateToken(
  facts: Facts,
  spec: EffectiveSpec,
  credentials: Credentials,
  owner: TokenOwner,
): Step | TokenSettled {
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const deleted = (id: string) => facts.authorizationsDeleted?.find((entry) => entry.id === id)?.outcome;
  const created = facts.createdAuthorization?.ok ? facts.createdAuthorization.value : undefined;
  const replaced = secret?.replacedAuthorization;
  if (replaced !== undefined) {
    // Never the Secret's own (the instance was set up again since, and the ID came back with it).
    if (replaced === secret?.authorizationID)
      return {
        kind: 'writeSecret',
        secret: desiredSecret(spec, credentials, { replacedAuthorization: null }),
        credentials,
      };
    const outcome = deleted(replaced);
    if (outcome === undefined) return { kind: 'deleteAuthorization', token: credentials.token, id: replaced };
    if (!outcome.ok)
      return tokenNotRotated(facts, spec, `to delete the replaced authorization ${replaced}`, outcome.failure);
    return {
      kind: 'writeSecret',
      secret: desiredSecret(spec, credentials, { replacedAuthorization: null }),
      credentials,
    };
  }
  const requested = tokenRotationDue(facts, spec);
  const rotatedTo = created !== undefined && secret?.authorizationID === created.id ? created.id : undefined;
  const settled: TokenSettled = { credentials, ...(rotatedTo !== undefined && { rotatedTo }) };
  if (requested === undefined) return settled;

  const listing = facts.authorizations;
  if (listing === undefined) return { kind: 'listAuthorizations', token: credentials.token, userID: owner.userID };
  if (!listing.ok)
    return tokenNotRotated(facts, spec, `to list the authorizations of user ${owner.userName}`, listing.failure);
  const current = currentAuthorization(facts, spec, listing.value, credentials.token, owner);
  if (current === undefined) {
    return finish(facts, {
      reason: Reason.TokenNotRotated,
      message: `The operator token in Secret ${spec.credentialsSecretName} cannot be rotated: InfluxDB at ${spec.url} does not show which of user ${owner.userName}'s authorizations it is (v2.9+ never shows a token again), so its permissions cannot be copied. Create a new operator token (influx auth create --operator) and set spec.tokenSecretRef`,
      requeue: READY_AGAIN(facts),
    });
  }
  const marker = rotationMarker(facts);
  const orphan = listing.value.find(
    (entry) =>
      entry.description.startsWith(marker) &&
      entry.id !== current.id &&
      entry.id !== created?.id &&
      deleted(entry.id) === undefined,
  );
  if (orphan !== undefined) return { kind: 'deleteAuthorization', token: credentials.token, id: orphan.id };
  const failedDelete = facts.authorizationsDeleted?.find((entry) => !entry.outcome.ok);
  if (failedDelete !== undefined && !failedDelete.outcome.ok)
    return tokenNotRotated(
      facts,
      spec,
      `to delete the unused authorization ${failedDelete.id} of an earlier attempt`,
      failedDelete.outcome.failure,
    );

  const creation = facts.createdAuthorization;
  if (creation === undefined) {
    return {
      kind: 'createAuthorization',
      token: credentials.token,
      request: {
        orgID: current.orgID,
        userID: owner.userID,
        description: `${marker}${requested}`,
        permissions: current.permissions,
      },
    };
  }
  if (!creation.ok)
    return tokenNotRotated(facts, spec, `to create a new authorization for user ${owner.userName}`, creation.failure);
  const check = facts.createdTokenCheck;
  if (check === undefined) return { kind: 'checkNewToken', token: creation.value.token };
  if (!check.ok)
    return tokenNotRotated(
      facts,
      spec,
      `the token of the new authorization ${creation.value.id} (GET /api/v2/me; that authorization is deleted at the next attempt)`,
      check.failure,
    );
  const next = { ...credentials, token: creation.value.token };
  // Created by this operator: by an earlier rotation (marked), or by this resource's own setup.
  const status = facts.resource.status ?? {};
  const ours =
    current.description.startsWith(marker) ||
    (status.adopted === false &&
      (current.id === status.authorizationID || current.description === `${owner.userName}'s Token`));
  return {
    kind: 'writeSecret',
    secret: desiredSecret(spec, next, {
      tokenRotation: requested,
      authorizationID: creation.value.id,
      ...(ours && { replacedAuthorization: current.id }),
    }),
    credentials: next,
  };
}

/** The resource's rotate-password value, when it has one. */
function rotationRequested(facts: Facts): string | undefined {
  return facts.resource.metadata.annotations?.[ROTATE_PASSWORD_ANNOTATION];
}

/** The rotate-password request the Secret has not carried out yet; none while spec.passwordSecretRef supplies the password. */
function passwordRotationDue(facts: Facts, spec: EffectiveSpec): string | undefined {
  const requested = rotationRequested(facts);
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  const due =
    spec.passwordSecretRef === undefined &&
    secret !== undefined &&
    requested !== undefined &&
    secret.passwordRotation !== requested;
  return due ? requested : undefined;
}

/** The password the Secret (or, while it is gone, memory) held when this reconcile began, if any. */
function heldPassword(facts: Facts): string | undefined {
  const held = (credentialsIn(facts.secret) ?? facts.remembered)?.credentials.password;
  return held === '' ? undefined : held;
}

/** How the credentials are settled once a password rotation, if one was due, is done. */
interface Rotated {
  credentials: Credentials;
  record: RotationRecord;
  /** Where the new password came from, for the event; undefined when none was set. */
  source?: string;
}

/**
 * Password rotation, for the user the token belongs to. InfluxDB is asked to set the new password
 * only while some Secret already holds it, so that a crash at any point leaves it known and the
 * next reconcile repeats the request:
 * - from spec.passwordSecretRef (the referenced Secret holds it): set, then written to the Secret;
 *   applied when it differs from a password the Secret held (an adopted instance's unknown
 *   password is never overwritten; the sign-in check proves the one given);
 * - on request (rotate-password annotation, without passwordSecretRef): a generated password is
 *   written to the Secret's pending key first, then set, then promoted to `password` together
 *   with the request's value, so each request is done once.
 * Returns the step to take, or how to settle when nothing (more) is to be done.
 */
function rotatePassword(
  facts: Facts,
  spec: EffectiveSpec,
  credentials: Credentials,
  owner: TokenOwner,
): Step | Rotated {
  const requested = rotationRequested(facts);
  const referenced = spec.passwordSecretRef !== undefined;
  const set = facts.passwordSet;
  if (set !== undefined) {
    if (!set.outcome.ok) return passwordNotSet(facts, spec, owner, set.outcome.failure);
    const source = referenced
      ? `from Secret ${spec.passwordSecretRef?.name}`
      : `on request (${ROTATE_PASSWORD_ANNOTATION}: ${requested ?? 'none'})`;
    return {
      credentials: { ...credentials, password: set.password },
      record: { pendingPassword: null, ...(!referenced && requested !== undefined && { passwordRotation: requested }) },
      source,
    };
  }
  const setPassword = (password: string): Step => ({
    kind: 'setPassword',
    token: credentials.token,
    userID: owner.userID,
    password,
  });
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  if (referenced) {
    // A pending password InfluxDB may already have is replaced by the referenced one, never just dropped.
    const held = heldPassword(facts);
    const differs = (held !== undefined && held !== credentials.password) || secret?.pendingPassword !== undefined;
    return differs ? setPassword(credentials.password) : { credentials, record: {} };
  }
  if (secret?.pendingPassword !== undefined) return setPassword(secret.pendingPassword);
  if (passwordRotationDue(facts, spec) === undefined) return { credentials, record: {} };
  return {
    kind: 'writeSecret',
    secret: desiredSecret(spec, credentials, { pendingPassword: facts.generated.password }),
    credentials,
  };
}

function passwordNotSet(facts: Facts, spec: EffectiveSpec, owner: TokenOwner, failure: InfluxFailure): Finish {
  if (failure.kind !== 'rejected') return notReached(facts, spec, failure);
  return finish(facts, {
    reason: Reason.PasswordNotSet,
    message: `InfluxDB at ${spec.url} refused to set the new password of user ${owner.userName} with the operator token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); the Secret keeps the password InfluxDB has. Checked again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the spec changes`,
    requeue: READY_AGAIN(facts),
  });
}

/** A password to prove whose last sign-in check is older than --password-check-interval (or never was). */
function passwordCheckDue(facts: Facts, credentials: Credentials): boolean {
  const checkedAt = facts.resource.status?.passwordCheckedAt;
  return (
    credentials.password !== '' &&
    (checkedAt === undefined || Date.parse(facts.now) - Date.parse(checkedAt) >= facts.passwordCheckIntervalMs)
  );
}

/**
 * The Secret's password is proven by a sign-in (signed out again) every --password-check-interval,
 * and at once when it never was (a new or newly known password) or was just set. Returns the step,
 * a Finish when it does not sign in, or the time of a sign-in made now (undefined: none was due).
 * A setup this reconcile made (answered 201) created the user with exactly this password: that
 * answer proves it as a sign-in would, so it counts as the first check (the next one comes after
 * the interval like any other).
 */
function provePassword(
  facts: Facts,
  spec: EffectiveSpec,
  credentials: Credentials,
  rotated: boolean,
): Step | { checkedAt?: string } {
  if (credentials.password === '') return {};
  if (!rotated && !passwordCheckDue(facts, credentials)) return {};
  if (!rotated && facts.setupAnswer?.ok) return { checkedAt: facts.now };
  const check = facts.passwordCheck;
  if (check === undefined)
    return { kind: 'checkPassword', username: credentials.username, password: credentials.password };
  if (check.ok) return { checkedAt: facts.now };
  if (check.failure.kind !== 'rejected') return notReached(facts, spec, check.failure);
  const fix =
    spec.passwordSecretRef === undefined
      ? `annotate this resource with ${ROTATE_PASSWORD_ANNOTATION}=<a new value> to have a new password set`
      : `put the user's current password in Secret ${spec.passwordSecretRef.name} key ${spec.passwordSecretRef.key}`;
  return finish(facts, {
    reason: Reason.PasswordInvalid,
    message: `The password in Secret ${spec.credentialsSecretName} does not sign in to InfluxDB at ${spec.url} as user ${credentials.username} (${failureText(check.failure)}); the token works. To fix it, ${fix}`,
    requeue: READY_AGAIN(facts),
  });
}

/** What the Ready message adds when spec.username is not the user the token belongs to. */
function usernameNote(spec: EffectiveSpec, username: string): string {
  return username === spec.username
    ? ''
    : `. The token belongs to user ${username}, not spec.username ${spec.username}: the Secret names ${username}; spec.username is not applied to an instance that was set up before`;
}

/**
 * Ready with the credentials that InfluxDB accepted: make sure the Secret holds them (with the
 * name of the user the token belongs to), that the org and bucket it names exist with the
 * declared retention, fill in the IDs and version, then report success.
 */
function settle(facts: Facts, spec: EffectiveSpec, accepted: Credentials, outcome: Outcome): Step {
  const owner = facts.tokenCheck?.ok ? facts.tokenCheck.value : undefined;
  const named = owner === undefined ? accepted : { ...accepted, username: owner.userName };
  const token: Step | TokenSettled =
    owner === undefined ? { credentials: named } : rotateToken(facts, spec, named, owner);
  if (isStep(token)) return token;
  const rotation =
    owner === undefined
      ? { credentials: token.credentials, record: {} }
      : rotatePassword(facts, spec, token.credentials, owner);
  if (isStep(rotation)) return rotation;
  const { credentials } = rotation;
  // The authorization recorded with the Secret's token is gone (the instance was set up again with
  // that token), or belongs to the token a new tokenSecretRef replaces.
  const setUpNow = facts.setupAnswer?.ok ? facts.setupAnswer.value.authorizationID : undefined;
  const recorded = facts.secret.state === 'owned' ? facts.secret.authorizationID : undefined;
  const referenceReplaces =
    spec.tokenSecretRef !== undefined && credentialsIn(facts.secret)?.credentials.token !== credentials.token;
  const reset =
    recorded === undefined
      ? {}
      : setUpNow !== undefined && recorded !== setUpNow
        ? { authorizationID: setUpNow }
        : referenceReplaces
          ? { authorizationID: null }
          : {};
  const secret = desiredSecret(spec, credentials, { ...rotation.record, ...reset });
  if (!secretMatches(facts.secret, secret)) return { kind: 'writeSecret', secret, credentials };
  const status = facts.resource.status ?? {};
  // A token from a new tokenSecretRef, written over another this reconcile: the recorded authorization is the old token's.
  const tokenReplaced =
    spec.tokenSecretRef !== undefined &&
    facts.secretWritten === true &&
    facts.remembered?.credentials.token !== credentials.token;
  const authorizationKnown = status.authorizationID !== undefined && !tokenReplaced;
  const fields: Partial<InfluxOnboardingStatus> = {
    ...outcome.fields,
    // Undefined removes the field from the status (see patchStatus).
    ...(tokenReplaced && status.authorizationID !== undefined && { authorizationID: undefined }),
    secretName: spec.credentialsSecretName,
    username: credentials.username,
    adopted: outcome.reason === Reason.Adopted,
  };
  if (owner !== undefined) fields.userID = owner.userID;
  // A setup this reconcile made created the org and bucket as declared; otherwise they are checked.
  if (!facts.setupAnswer?.ok) {
    if (facts.ids === undefined) {
      const userID = owner?.userID;
      const lookupAuthorization = userID !== undefined && !authorizationKnown;
      return {
        kind: 'lookupIDs',
        token: credentials.token,
        org: spec.org,
        bucket: spec.bucket,
        ...(lookupAuthorization && { userID }),
      };
    }
    const ensured = ensureOrgAndBucket(facts, spec, credentials.token);
    if (isStep(ensured)) return ensured;
    const { orgID, bucketID, authorizationID } = ensured;
    if (orgID !== undefined) fields.orgID = orgID;
    if (bucketID !== undefined) fields.bucketID = bucketID;
    if (authorizationID !== undefined && !authorizationKnown) fields.authorizationID = authorizationID;
  }
  const proof = provePassword(facts, spec, credentials, rotation.source !== undefined);
  if (isStep(proof)) return proof;
  if (proof.checkedAt !== undefined) fields.passwordCheckedAt = proof.checkedAt;
  if (rotation.source !== undefined) fields.passwordRotatedAt = facts.now;
  if (token.rotatedTo !== undefined) fields.tokenRotatedAt = facts.now;
  // Recorded with the token, so it is right even when a status write was lost; a setup made now answered with a newer one.
  if (facts.secret.state === 'owned' && facts.secret.authorizationID !== undefined && !facts.setupAnswer?.ok)
    fields.authorizationID = facts.secret.authorizationID;
  // InfluxDB stamps its version on every answer; /health is asked only when that header is missing.
  const stamped = facts.setupStatus?.ok ? facts.setupStatus.value.version : undefined;
  if (stamped === undefined && facts.health === undefined) return { kind: 'checkHealth' };
  const version = stamped ?? (facts.health?.ok ? facts.health.value.version : undefined);
  if (version !== undefined) fields.influxdbVersion = version;
  if (status.onboardedAt === undefined && fields.onboardedAt === undefined) fields.onboardedAt = facts.now;
  const message = outcome.message + usernameNote(spec, credentials.username);
  const repairs = facts.repairs ?? [];
  const repairNote = repairs.length === 0 ? '' : ` (${repairs.join('; ')})`;
  const transition = previousReady(facts)?.reason !== outcome.reason;
  // One event per reconcile: a first success says what it repaired on the way; later repairs
  // have their own.
  const tokenRotated: ResourceEvent | undefined =
    token.rotatedTo === undefined
      ? undefined
      : {
          type: 'Normal',
          reason: 'TokenRotated',
          message: `The operator token in Secret ${spec.credentialsSecretName} was replaced by a new authorization ${token.rotatedTo} of user ${credentials.username} with the same permissions (${ROTATE_TOKEN_ANNOTATION}: ${tokenRotationRequested(facts) ?? 'none'}); the authorization it replaced is deleted when this operator created it, and left alone otherwise${repairNote}`,
        };
  const rotated: ResourceEvent | undefined =
    tokenRotated ??
    (rotation.source === undefined
      ? undefined
      : {
          type: 'Normal',
          reason: 'PasswordRotated',
          message: `The password of user ${credentials.username} at ${spec.url} was changed ${rotation.source}; Secret ${spec.credentialsSecretName} holds it${repairNote}`,
        });
  const event: ResourceEvent | undefined =
    outcome.event ??
    rotated ??
    (repairs.length === 0
      ? undefined
      : transition
        ? { type: 'Normal', reason: outcome.reason, message: message + repairNote }
        : { type: 'Normal', reason: 'Repaired', message: `InfluxDB at ${spec.url}: ${repairs.join('; ')}` });
  const wanted = targetOf(spec);
  const observed: CredentialsTarget = {
    ...(status.observedURL !== undefined && { url: status.observedURL }),
    ...(status.observedTLS !== undefined && { tls: status.observedTLS }),
  };
  fields.observedURL = wanted.url;
  fields.observedTLS = wanted.tls;
  if (sameTarget(observed, wanted)) return finish(facts, { ...outcome, message, fields, ...(event && { event }) });
  return finish(facts, {
    ...outcome,
    message,
    fields,
    event: {
      type: 'Normal',
      reason: 'Retargeted',
      message: `The credentials in Secret ${spec.credentialsSecretName} now belong to ${describeTarget(wanted)}, where their token was accepted; before, they belonged to ${describeTarget(observed)}${repairNote}`,
    },
  });
}

const READY_AGAIN = (facts: Facts): Requeue => ({ kind: 'after', ms: facts.driftCheckIntervalMs });

/**
 * The reason a working token is reported with: kept once Ready, else how the token was obtained.
 * Credentials this very reconcile wrote do not count as known before: only what the Secret (or
 * memory) held when it began tells an earlier setup of ours from an adoption.
 */
function successReason(facts: Facts, known: Credentials | undefined): Reason {
  const previous = previousReady(facts);
  if (previous && SUCCESS_REASONS.includes(previous.reason)) return previous.reason as Reason;
  // After a failed check: status remembers how the instance was obtained.
  const adopted = facts.resource.status?.adopted;
  if (adopted !== undefined) return adopted ? Reason.Adopted : Reason.Onboarded;
  const knownBefore = facts.secretWritten ? facts.remembered?.credentials : known;
  return knownBefore === undefined && referencedValue(facts.references.token) !== undefined
    ? Reason.Adopted
    : Reason.Onboarded;
}

function successMessage(reason: Reason, spec: EffectiveSpec): string {
  return reason === Reason.Adopted
    ? `Adopted InfluxDB at ${spec.url} with the token from Secret ${spec.tokenSecretRef?.name}; credentials are in Secret ${spec.credentialsSecretName}`
    : `InfluxDB at ${spec.url} is onboarded; credentials are in Secret ${spec.credentialsSecretName}`;
}

function afterSetupAnswer(facts: Facts, spec: EffectiveSpec, credentials: Credentials, reonboarding: boolean): Step {
  const answer = facts.setupAnswer;
  if (answer === undefined) throw new Error('afterSetupAnswer needs a setup answer');
  if (answer.ok) {
    const { userID, orgID, bucketID, authorizationID } = answer.value;
    const message = successMessage(Reason.Onboarded, spec);
    return settle(facts, spec, credentials, {
      reason: Reason.Onboarded,
      message,
      requeue: READY_AGAIN(facts),
      fields: { userID, orgID, bucketID, authorizationID, onboardedAt: facts.now },
      ...(reonboarding && {
        event: {
          type: 'Normal' as const,
          reason: 'Reonboarded',
          message: `InfluxDB at ${spec.url} was found fresh and set up again with the same credentials`,
        },
      }),
    });
  }
  const failure = answer.failure;
  if (failure.kind !== 'rejected') return notReached(facts, spec, failure);
  if (failure.code === 'conflict') return afterSetupConflict(facts, spec, failure);
  return finish(facts, {
    reason: Reason.SetupFailed,
    message: `InfluxDB at ${spec.url} refused the setup: ${failureText(failure)}. ${UNTIL_SPEC_CHANGES}`,
    requeue: NONE,
  });
}

/**
 * A setup answered `conflict`. Usually someone set the instance up between our check and our
 * request, and the next round sees who. But an instance that still says it is not set up refused
 * for another reason that posting again will not change (e.g. something in front of InfluxDB):
 * that waits for a spec change like any other refusal.
 */
function afterSetupConflict(facts: Facts, spec: EffectiveSpec, failure: InfluxFailure): Finish | Step {
  const recheck = facts.setupRecheck;
  if (recheck === undefined) return { kind: 'recheckSetupStatus' };
  if (!recheck.ok) return notReached(facts, spec, recheck.failure);
  if (recheck.value.allowed) {
    return finish(facts, {
      reason: Reason.SetupFailed,
      message: `InfluxDB at ${spec.url} refused the setup (${failureText(failure)}) but still reports that it is not set up, so it was not a race with another client. ${UNTIL_SPEC_CHANGES}`,
      requeue: NONE,
    });
  }
  return finish(facts, {
    reason: Reason.Progressing,
    message: `InfluxDB at ${spec.url} was set up by another client while this one tried; checking again`,
    requeue: BACKOFF,
  });
}

const UNTIL_SPEC_CHANGES = 'The same request would get the same answer: nothing is sent again until the spec changes';

/**
 * InfluxDB refused this generation's request for good (SetupFailed) or has no such route
 * (Unsupported): asking again before the spec changes would get the same answer, and every event
 * on the resource would send one more request.
 */
function refusedBefore(facts: Facts, reasons: readonly Reason[]): Finish | undefined {
  const previous = previousReady(facts);
  const { status, metadata } = facts.resource;
  if (
    previous === undefined ||
    !(reasons as readonly string[]).includes(previous.reason) ||
    status?.observedGeneration !== metadata.generation
  )
    return undefined;
  return finish(facts, { reason: previous.reason as Reason, message: previous.message, requeue: NONE });
}

/**
 * A token that worked once was rejected. A new one from spec.tokenSecretRef is only ever written
 * to the Secret once accepted, so the Secret may still hold the previous one: the message says
 * which token was rejected.
 */
function tokenInvalid(
  facts: Facts,
  spec: EffectiveSpec,
  known: Credentials | undefined,
  rejected: string,
  failure: InfluxFailure,
): Finish {
  const replacing = spec.tokenSecretRef !== undefined && known !== undefined && known.token !== rejected;
  return finish(facts, {
    reason: Reason.TokenInvalid,
    message: replacing
      ? `InfluxDB at ${spec.url} rejected the token from Secret ${spec.tokenSecretRef?.name} (${failureText(failure)}), so it did not replace the token in Secret ${spec.credentialsSecretName}. Put a valid operator token of this instance there`
      : `InfluxDB at ${spec.url} rejected the token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); it was revoked or the instance was replaced. Put a valid operator token in spec.tokenSecretRef`,
    requeue: BACKOFF,
  });
}

function decideSetup(
  facts: Facts,
  spec: EffectiveSpec,
  known: Credentials | undefined,
  credentials: Credentials,
  allowed: boolean,
): Step {
  const status = facts.resource.status ?? {};
  const onboardedBefore = status.onboardedAt !== undefined;
  if (allowed) {
    if (facts.setupAnswer !== undefined) return afterSetupAnswer(facts, spec, credentials, onboardedBefore);
    const refused = refusedBefore(facts, [Reason.SetupFailed]);
    if (refused !== undefined) return refused;
    if (onboardedBefore && spec.resetPolicy === 'Report') {
      return finish(facts, {
        reason: Reason.InstanceReset,
        message: `InfluxDB at ${spec.url} is not set up any more (its data was probably lost); resetPolicy Report leaves it alone. Set resetPolicy to Reonboard to set it up again with the credentials in Secret ${spec.credentialsSecretName}`,
        requeue: READY_AGAIN(facts),
      });
    }
    // The Secret must hold exactly what the request sends before the request can be sent: the
    // response is the only copy of the token that InfluxDB will ever give out.
    const toSend = postable(facts, credentials);
    const secret = desiredSecret(spec, toSend, initialRotationRecord(facts));
    if (!secretMatches(facts.secret, secret)) return { kind: 'writeSecret', secret, credentials: toSend };
    return { kind: 'postSetup', request: setupRequest(spec, toSend) };
  }

  if (known === undefined && referencedValue(facts.references.token) === undefined) {
    return finish(facts, {
      reason: Reason.AlreadyOnboarded,
      message: onboardedBefore
        ? `InfluxDB at ${spec.url} was set up by this resource, but Secret ${spec.credentialsSecretName} is gone and the operator no longer knows the token. Restore the Secret, or put the operator token in a Secret and set spec.tokenSecretRef`
        : `InfluxDB at ${spec.url} was already set up and no token for it is known. To adopt it, put its operator token in a Secret and set spec.tokenSecretRef`,
      requeue: BACKOFF,
    });
  }
  if (facts.tokenCheck === undefined) return { kind: 'checkToken', token: credentials.token };
  if (facts.tokenCheck.ok) {
    const reason = successReason(facts, known);
    return settle(facts, spec, credentials, {
      reason,
      message: successMessage(reason, spec),
      requeue: READY_AGAIN(facts),
    });
  }
  const failure = facts.tokenCheck.failure;
  if (failure.kind !== 'rejected') return notReached(facts, spec, failure);
  // Only a token that once worked can have been revoked; one that never did means someone else
  // set the instance up first.
  if (onboardedBefore) return tokenInvalid(facts, spec, known, credentials.token, failure);
  return finish(facts, {
    reason: Reason.AlreadyOnboarded,
    message: `InfluxDB at ${spec.url} was already set up and rejected the token from ${spec.tokenSecretRef ? `Secret ${spec.tokenSecretRef.name}` : `Secret ${spec.credentialsSecretName}`} (${failureText(failure)}). Put its operator token in a Secret and set spec.tokenSecretRef`,
    requeue: BACKOFF,
  });
}

function decideSetupUser(
  facts: Facts,
  spec: EffectiveSpec,
  known: Credentials | undefined,
  credentials: Credentials,
  allowed: boolean,
): Step {
  if (allowed) {
    return finish(facts, {
      reason: Reason.Progressing,
      message: `InfluxDB at ${spec.url} is not set up yet; mode SetupUser adds a user to an instance that is already set up`,
      requeue: BACKOFF,
    });
  }
  const refused = refusedBefore(facts, [Reason.Unsupported, Reason.SetupFailed]);
  if (refused !== undefined) return refused;
  const { status } = facts.resource;
  const onboardedBefore = status?.onboardedAt !== undefined;
  if (facts.setupAnswer === undefined && known !== undefined) {
    if (facts.tokenCheck === undefined) return { kind: 'checkToken', token: credentials.token };
    if (facts.tokenCheck.ok) {
      return settle(facts, spec, credentials, {
        reason: Reason.Onboarded,
        message: successMessage(Reason.Onboarded, spec),
        requeue: READY_AGAIN(facts),
      });
    }
    const failure = facts.tokenCheck.failure;
    if (failure.kind !== 'rejected') return notReached(facts, spec, failure);
    if (onboardedBefore) {
      return finish(facts, {
        reason: Reason.TokenInvalid,
        message: `InfluxDB at ${spec.url} rejected the token in Secret ${spec.credentialsSecretName} (${failureText(failure)}); it was revoked or the instance was replaced`,
        requeue: BACKOFF,
      });
    }
    // Not onboarded yet: the Secret was written before a request that never arrived.
  }
  const toSend = postable(facts, credentials);
  if (facts.setupAnswer === undefined) {
    const secret = desiredSecret(spec, toSend, initialRotationRecord(facts));
    if (!secretMatches(facts.secret, secret)) return { kind: 'writeSecret', secret, credentials: toSend };
    const authToken = referencedValue(facts.references.authToken) ?? '';
    return { kind: 'postSetupUser', request: setupRequest(spec, toSend), authToken };
  }
  const answer = facts.setupAnswer;
  if (!answer.ok && answer.failure.kind === 'rejected' && [401, 404, 405].includes(answer.failure.status)) {
    const refused =
      answer.failure.status === 401 ? 'refused the token from spec.authTokenSecretRef for' : 'does not offer';
    return finish(facts, {
      reason: Reason.Unsupported,
      message: `InfluxDB at ${spec.url} ${refused} /api/v2/setup/user (${failureText(answer.failure)}); OSS removed that route in v2.1. Use mode Setup on a fresh instance`,
      requeue: NONE,
    });
  }
  if (!answer.ok && answer.failure.kind === 'rejected' && answer.failure.code === 'conflict') {
    // Not a race as in mode Setup: the instance is set up, and a user, org or bucket of these
    // names exists on it. Posting again would get the same answer.
    return finish(facts, {
      reason: Reason.SetupFailed,
      message: `InfluxDB at ${spec.url} refused to add user ${spec.username}, org ${spec.org} and bucket ${spec.bucket}: ${failureText(answer.failure)}; that name exists on the instance already. Choose other names in the spec. ${UNTIL_SPEC_CHANGES}`,
      requeue: NONE,
    });
  }
  return afterSetupAnswer(facts, spec, toSend, false);
}

/**
 * The status a resource shows on its first visit, before anything slow happens (a request to an
 * unreachable InfluxDB can take the whole timeout): Ready Unknown, reason Progressing. Undefined
 * once a Ready condition exists.
 */
export function firstVisitStatus(facts: Pick<Facts, 'resource' | 'now'>): InfluxOnboardingStatus | undefined {
  const { resource, now } = facts;
  if (resource.status?.conditions?.some((condition) => condition.type === READY)) return undefined;
  const generation = resource.metadata.generation;
  return {
    ...resource.status,
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions: withReady(
      resource.status?.conditions,
      {
        status: 'Unknown',
        reason: Reason.Progressing,
        message: `Checking InfluxDB at ${resource.spec.url}`,
        ...(generation !== undefined && { observedGeneration: generation }),
      },
      now,
    ),
  };
}

/**
 * The drift check of a resource that is Ready and unchanged since (same generation, the Secret
 * holding what a full check would leave in it): ONE request, GET /api/v2/buckets/{bucketID} with
 * the Secret's token, proves what Ready promises. The token works (a deleted or inactive one gets
 * 401), the bucket exists in the org recorded in status (a deleted org takes its buckets with it)
 * under its declared name and retention, and the version in the answer's header is the one
 * recorded. Undefined when the full check must run instead: not eligible, or the answer was a
 * failure or showed any difference.
 */
/** Day-two work the one-request drift check cannot do: a rotation asked for or half done (or not yet in status), a sign-in check due. */
function dayTwoDue(facts: Facts, spec: EffectiveSpec, credentials: Credentials): boolean {
  const secret = facts.secret.state === 'owned' ? facts.secret : undefined;
  if (secret === undefined || secret.pendingPassword !== undefined || secret.replacedAuthorization !== undefined)
    return true;
  // A status write lost after a rotation: the full check records the Secret's authorization again.
  if (secret.authorizationID !== undefined && secret.authorizationID !== facts.resource.status?.authorizationID)
    return true;
  if (passwordRotationDue(facts, spec) !== undefined || tokenRotationDue(facts, spec) !== undefined) return true;
  return passwordCheckDue(facts, credentials);
}

function driftCheck(
  facts: Facts,
  spec: EffectiveSpec,
  inSecret: BoundCredentials | undefined,
  credentials: Credentials,
  moving: boolean,
): Step | undefined {
  const previous = previousReady(facts);
  const status = facts.resource.status ?? {};
  if (moving || inSecret === undefined || previous?.status !== 'True' || !SUCCESS_REASONS.includes(previous.reason))
    return undefined;
  if (dayTwoDue(facts, spec, credentials)) return undefined;
  if (
    status.observedGeneration !== facts.resource.metadata.generation ||
    status.orgID === undefined ||
    status.bucketID === undefined
  )
    return undefined;
  if (!secretMatches(facts.secret, desiredSecret(spec, { ...credentials, username: inSecret.credentials.username })))
    return undefined;
  const check = facts.bucketCheck;
  if (check === undefined) return { kind: 'checkBucket', token: credentials.token, bucketID: status.bucketID };
  if (!check.ok) return undefined;
  const bucket = check.value;
  const holds =
    bucket.name === spec.bucket &&
    bucket.orgID === status.orgID &&
    bucket.retentionSeconds === spec.retentionPeriodSeconds &&
    bucket.version === status.influxdbVersion;
  return holds
    ? finish(facts, { reason: previous.reason as Reason, message: previous.message, requeue: READY_AGAIN(facts) })
    : undefined;
}

/**
 * What to do next for one InfluxOnboarding, from what is known so far. Pure: the same facts
 * always give the same step, so every behaviour of the operator is a row in a table test.
 */
export function decide(facts: Facts): Step {
  const checked = checkSpec(facts.resource);
  if (!checked.ok) {
    return finish(facts, { reason: Reason.InvalidSpec, message: checked.problems.join('; '), requeue: NONE });
  }
  const spec = checked.spec;
  if (facts.duplicateOf !== undefined) {
    return finish(facts, {
      reason: Reason.DuplicateTarget,
      message: `InfluxOnboarding ${facts.duplicateOf} already onboards ${spec.url}; the resource that onboarded it first, else the older one, keeps it`,
      requeue: BACKOFF,
    });
  }
  const missing = referenceProblems(facts, spec);
  if (missing.length > 0) {
    return finish(facts, { reason: Reason.SecretNotFound, message: missing.join('; '), requeue: BACKOFF });
  }
  const withoutConsent = consentProblems(facts, spec);
  if (withoutConsent.length > 0) {
    return finish(facts, { reason: Reason.SecretNotPermitted, message: withoutConsent.join('; '), requeue: BACKOFF });
  }
  const invalid = credentialProblems(facts, spec);
  if (invalid.length > 0) {
    return finish(facts, { reason: Reason.InvalidSpec, message: invalid.join('; '), requeue: BACKOFF });
  }
  if (facts.secret.state === 'foreign') {
    return finish(facts, {
      reason: Reason.SecretConflict,
      message: `Secret ${spec.credentialsSecretName} exists and was not created for this InfluxOnboarding; it is never overwritten. Delete or rename it, or set spec.credentialsSecret.name`,
      requeue: BACKOFF,
    });
  }

  const inSecret = credentialsIn(facts.secret);
  const bound = inSecret ?? facts.remembered;
  const known = bound?.credentials;
  const credentials: Credentials = {
    username: spec.username,
    password: referencedValue(facts.references.password) ?? known?.password ?? '',
    token: referencedValue(facts.references.token) ?? known?.token ?? facts.generated.token,
  };
  const moving = bound !== undefined && !sameTarget(bound.target, targetOf(spec));
  if (moving && !(inSecret !== undefined && retargetApproved(facts.secret, spec))) {
    return targetChanged(facts, spec, bound.target, inSecret !== undefined);
  }

  if (facts.setupStatus === undefined)
    return driftCheck(facts, spec, inSecret, credentials, moving) ?? { kind: 'checkSetupStatus' };
  if (!facts.setupStatus.ok) return notReached(facts, spec, facts.setupStatus.failure);
  const allowed = facts.setupStatus.value.allowed;
  const refusal = moving ? retargetRefusal(facts, spec, allowed) : undefined;
  if (refusal !== undefined) return refusal;
  // Approved and verified so far: the usual path checks the token there and rewrites the Secret.
  return spec.mode === 'Setup'
    ? decideSetup(facts, spec, known, credentials, allowed)
    : decideSetupUser(facts, spec, known, credentials, allowed);
}
