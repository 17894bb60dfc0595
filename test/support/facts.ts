/**
 * Builders for the decision's inputs, and `drive`: runs decide() to completion against a scripted
 * world the way the reconciler does (each step's answer becomes the next fact), recording every
 * step, so a test reads "given this world, these steps happen, this finish results".
 */
import {
  API_VERSION,
  KIND,
  READY,
  type Condition,
  type InfluxOnboarding,
  type InfluxOnboardingSpec,
  type InfluxOnboardingStatus,
} from '../../src/api/types.js';
import type { Credentials, CredentialsSecret, DesiredSecret, Reference } from '../../src/api/credentials.js';
import { checkSpec } from '../../src/api/spec.js';
import { sameInstance, tlsSettings } from '../../src/api/instance-identity.js';
import type {
  Authorization,
  BucketState,
  CreatedAuthorization,
  Deletion,
  Health,
  InfluxFailure,
  Outcome,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  SetupStatus,
  TokenOwner,
  UnreachableReason,
} from '../../src/influx/types.js';
import { decide } from '../../src/onboarding/decide.js';
import { situation, type Situation } from '../../src/onboarding/phases/situation.js';
import { withRepair } from '../../src/onboarding/phases/org-bucket.js';
import type { Finish, RepairStep, Step } from '../../src/onboarding/step.js';
import type { BoundCredentials, Facts } from '../../src/onboarding/facts.js';

// ---------------------------------------------------------------------------------------------
// Values. Every credential is distinctive so that a leak into a message is found by substring.

export const NOW = '2026-03-01T12:00:00Z';
export const EARLIER = '2026-01-01T08:00:00Z';
/** Within PASSWORD_CHECK_MS before NOW: a password checked then is not checked again yet. */
export const RECENTLY = '2026-03-01T11:30:00Z';
export const DRIFT_MS = 300_000;
export const PASSWORD_CHECK_MS = 3_600_000;
export const INFLUX_URL = 'http://influxdb.data.svc:8086';
/** The TLS settings of a spec without spec.tls, as the credentials Secret records them. */
export const NO_TLS = tlsSettings({ insecureSkipVerify: false });
export const NAME = 'metrics';
export const NAMESPACE = 'monitoring';
export const SECRET_NAME = `${NAME}-influxdb`;

export const GEN_PASSWORD = 'GenPw-7f3a9c21-Qx';
export const GEN_TOKEN = 'GenTok-1b2c3d4e5f60718293a4b5c6d7e8f9==';
export const REF_PASSWORD = 'RefPw-d41d8cd98f-Zy';
export const REF_TOKEN = 'RefTok-9e107d9d372bb6826bd81d3542a419d6';
export const AUTH_TOKEN = 'AuthTok-e4d909c290d0fb1ca068ffaddf22cbd0';
export const STORED_PASSWORD = 'StoredPw-8277e0910d750195b4';
export const STORED_TOKEN = 'StoredTok-0cc175b9c0f1b6a831c399e269772661';
export const MEMO_PASSWORD = 'MemoPw-92eb5ffee6ae2fec3a';
export const MEMO_TOKEN = 'MemoTok-4a8a08f09d37b73795649038408b5f33';
/** The token of an authorization a token rotation creates. */
export const ROTATED_TOKEN = 'RotTok-8f14e45fceea167a5a36dedd4bea2543';

/** Every credential value a test may put into facts: none may ever appear in a Finish. */
export const SECRET_VALUES: readonly string[] = [
  GEN_PASSWORD,
  GEN_TOKEN,
  REF_PASSWORD,
  REF_TOKEN,
  AUTH_TOKEN,
  STORED_PASSWORD,
  STORED_TOKEN,
  MEMO_PASSWORD,
  MEMO_TOKEN,
  ROTATED_TOKEN,
];

export const IDS = {
  userID: '0a1b2c3d4e5f6071',
  orgID: '1a1b2c3d4e5f6072',
  bucketID: '2a1b2c3d4e5f6073',
  authorizationID: '3a1b2c3d4e5f6074',
} as const;
export const VERSION = 'v2.7.12';
export const ROTATED_AUTHORIZATION_ID = '4a1b2c3d4e5f6075';

/** Read and write on every resource type, global: the setup token's permissions (abridged). */
export const OPERATOR_PERMISSIONS = ['orgs', 'users', 'buckets', 'authorizations'].flatMap((type) =>
  ['read', 'write'].map((action) => ({ action, resource: { type } })),
);

/** An authorization of IDS.userID as InfluxDB lists it; `token` only where tokens are still shown (before v2.9). */
export function authorization(id: string, description: string, token?: string): Authorization {
  return {
    id,
    description,
    orgID: IDS.orgID,
    userID: IDS.userID,
    active: true,
    permissions: OPERATOR_PERMISSIONS,
    ...(token !== undefined && { token }),
  };
}

// ---------------------------------------------------------------------------------------------
// Resources

export const BASE_SPEC: InfluxOnboardingSpec = { url: INFLUX_URL, username: 'admin', org: 'acme', bucket: 'telemetry' };

export interface ResourceOptions {
  spec?: Partial<InfluxOnboardingSpec> & Record<string, unknown>;
  status?: InfluxOnboardingStatus;
  generation?: number;
  name?: string;
  annotations?: Record<string, string>;
}

export function resource(options: ResourceOptions = {}): InfluxOnboarding {
  const generation = options.generation ?? 1;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: options.name ?? NAME,
      namespace: NAMESPACE,
      uid: '6f1d2c3b-0000-4000-8000-000000000001',
      generation,
      creationTimestamp: EARLIER,
      ...(options.annotations && { annotations: options.annotations }),
    },
    spec: { ...BASE_SPEC, ...options.spec },
    ...(options.status && { status: options.status }),
  };
}

export function readyCondition(
  status: Condition['status'],
  reason: string,
  message = `previous ${reason}`,
  lastTransitionTime = EARLIER,
  observedGeneration = 1,
): Condition {
  return { type: READY, status, observedGeneration, lastTransitionTime, reason, message };
}

/** The status a resource has after a successful onboarding (as decide() writes it). */
export function onboardedStatus(
  overrides: Partial<InfluxOnboardingStatus> = {},
  message?: string,
): InfluxOnboardingStatus {
  return {
    observedGeneration: 1,
    conditions: [
      readyCondition(
        'True',
        'Onboarded',
        message ?? `InfluxDB at ${INFLUX_URL} is onboarded; credentials are in Secret ${SECRET_NAME}`,
      ),
    ],
    secretName: SECRET_NAME,
    ...IDS,
    onboardedAt: EARLIER,
    influxdbVersion: VERSION,
    observedURL: INFLUX_URL,
    observedTLS: NO_TLS,
    username: 'admin',
    adopted: false,
    passwordCheckedAt: RECENTLY,
    ...overrides,
  };
}

export function failedStatus(reason: string, overrides: Partial<InfluxOnboardingStatus> = {}): InfluxOnboardingStatus {
  return { observedGeneration: 1, conditions: [readyCondition('False', reason)], ...overrides };
}

// ---------------------------------------------------------------------------------------------
// Secrets and references

export function credentials(username = 'admin', password = STORED_PASSWORD, token = STORED_TOKEN): Credentials {
  return { username, password, token };
}

/** The data decide() writes for BASE_SPEC (with spec overrides) and these credentials. */
export function secretData(creds: Credentials, spec: Partial<InfluxOnboardingSpec> = {}): DesiredSecret['data'] {
  const effective = { ...BASE_SPEC, ...spec };
  return {
    url: effective.url,
    org: effective.org,
    bucket: effective.bucket,
    username: creds.username,
    password: creds.password,
    token: creds.token,
  };
}

/** `annotations`: what the Secret records besides its data (its annotations and pending password). */
export function ownedSecret(
  data: Partial<DesiredSecret['data']>,
  garbageCollected = false,
  annotations: Omit<Extract<CredentialsSecret, { state: 'owned' }>, 'state' | 'data' | 'garbageCollected'> = {
    tls: NO_TLS,
  },
): CredentialsSecret {
  return { state: 'owned', data, garbageCollected, ...annotations };
}

/** The Secret decide() writes for BASE_SPEC (with spec overrides) and these credentials. */
export function desiredSecret(
  creds: Credentials,
  garbageCollected = false,
  spec: Partial<InfluxOnboardingSpec> = {},
): DesiredSecret {
  return { name: SECRET_NAME, garbageCollected, tls: NO_TLS, data: secretData(creds, spec) };
}

/** Credentials remembered by the reconciler, bound to INFLUX_URL (or `url`) without TLS. */
export function rememberedAt(creds: Credentials, url = INFLUX_URL): BoundCredentials {
  return { credentials: creds, target: { url, tls: NO_TLS } };
}

export const ABSENT: CredentialsSecret = { state: 'absent' };
export const FOREIGN: CredentialsSecret = { state: 'foreign' };

/** A referenced Secret's value; by default its Secret consents to INFLUX_URL. */
export const found = (value: string, allowedUrls: readonly string[] = [INFLUX_URL]): Reference => ({
  found: true,
  value,
  allowedUrls,
});
export const missing = (problem: string): Reference => ({ found: false, problem });

// ---------------------------------------------------------------------------------------------
// Outcomes

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failed = <T>(failure: InfluxFailure): Outcome<T> => ({ ok: false, failure });

export function unreachableFailure(
  reason: UnreachableReason = 'network',
  message = 'connect ECONNREFUSED 10.0.0.7:8086',
): InfluxFailure {
  return { kind: 'unreachable', reason, message };
}

export function rejectedFailure(status: number, code: string, message: string): InfluxFailure {
  return { kind: 'rejected', status, code, message };
}

export const unreachable = <T>(reason?: UnreachableReason, message?: string): Outcome<T> =>
  failed(unreachableFailure(reason, message));
/** The client's address policy refused the address: nothing was sent. */
export const refused = <T>(
  reason: Extract<InfluxFailure, { kind: 'refused' }>['reason'],
  message = 'refused before connecting: the address 169.254.169.254 is link-local',
): Outcome<T> => failed({ kind: 'refused', reason, message });
export const rejected = <T>(status: number, code: string, message: string): Outcome<T> =>
  failed(rejectedFailure(status, code, message));
export const unauthorized = <T>(): Outcome<T> => rejected(401, 'unauthorized', 'unauthorized access');
export const alreadySetUp = <T>(): Outcome<T> => rejected(422, 'conflict', 'onboarding has already been completed');

export const setupResult = (ids: Partial<SetupResult> = {}): SetupResult => ({ ...IDS, ...ids });
export const owner = (userID: string = IDS.userID, userName = 'admin'): TokenOwner => ({ userID, userName });
/** `null`: a /health answer without a version. */
export const health = (version: string | null = VERSION): Health => ({
  status: 'pass',
  ...(version !== null && { version }),
});

// ---------------------------------------------------------------------------------------------
// Facts

/** What every phase of the decision reads, for facts whose spec is valid. */
export function situationOf(input: Facts): Situation {
  const checked = checkSpec(input.resource);
  if (!checked.ok) throw new Error(`invalid spec: ${checked.problems.join('; ')}`);
  return situation(input, checked.spec);
}

export function facts(overrides: Partial<Facts> = {}): Facts {
  return {
    resource: resource(),
    now: NOW,
    driftCheckIntervalMs: DRIFT_MS,
    passwordCheckIntervalMs: PASSWORD_CHECK_MS,
    requireSecretConsent: true,
    references: {},
    secret: ABSENT,
    generated: { password: GEN_PASSWORD, token: GEN_TOKEN },
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Every Finish any test produced, so one test can scan them all for leaked credentials.

export const finishesSeen: Finish[] = [];

/** decide(), recording the finish it returns. */
export function decideRecorded(input: Facts): Step {
  const step = decide(input);
  if (step.kind === 'finish') finishesSeen.push(step);
  return step;
}

/** Where a credential value shows up in a Finish (message, status, event), as paths; empty when clean. */
export function leaks(finish: Finish, values: readonly string[] = SECRET_VALUES): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      for (const secret of values)
        if (secret !== '' && value.includes(secret)) found.push(`${path} contains ${secret}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) visit(item, `${path}.${key}`);
    }
  };
  visit(finish, 'finish');
  return found;
}

// ---------------------------------------------------------------------------------------------
// drive

type Answer<S, T> = Outcome<T> | ((step: S) => Outcome<T>);
type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

/** How the world answers each kind of step. A step without an answer makes drive() throw: it was not expected. */
export interface World {
  /** The drift check of a Ready resource. */
  bucket?: Answer<StepOf<'checkBucket'>, BucketState>;
  setupStatus?: Answer<StepOf<'checkSetupStatus' | 'recheckSetupStatus'>, SetupStatus>;
  /** After a setup answered conflict; default: as setupStatus answers. */
  setupRecheck?: Answer<StepOf<'recheckSetupStatus'>, SetupStatus>;
  /** checkToken, and checkNewToken (a rotated token's /me). */
  checkToken?: Answer<StepOf<'checkToken' | 'checkNewToken'>, TokenOwner>;
  lookupIDs?: Answer<StepOf<'lookupIDs'>, ResourceIDs>;
  /** createOrg, createBucket and setRetention. */
  repair?: Answer<RepairStep, { id: string }>;
  health?: Answer<StepOf<'checkHealth'>, Health>;
  setPassword?: Answer<StepOf<'setPassword'>, true>;
  listAuthorizations?: Answer<StepOf<'listAuthorizations'>, Authorization[]>;
  createAuthorization?: Answer<StepOf<'createAuthorization'>, CreatedAuthorization>;
  deleteAuthorization?: Answer<StepOf<'deleteAuthorization'>, Deletion>;
  checkPassword?: Answer<StepOf<'checkPassword'>, true>;
  /** Default 'written'; 'foreign' is a Secret someone else created in the meantime. */
  writeSecret?: 'written' | 'foreign' | ((step: StepOf<'writeSecret'>) => 'written' | 'foreign');
  postSetup?: Answer<StepOf<'postSetup'>, SetupResult>;
  postSetupUser?: Answer<StepOf<'postSetupUser'>, SetupResult>;
}

export interface Drive {
  /** The steps before the finish, in order. */
  steps: Array<Exclude<Step, Finish>>;
  kinds: string[];
  finish: Finish;
  /** The facts the finish was decided from. */
  facts: Facts;
  /** Each step with the facts it was decided from (for invariants over the whole run). */
  trace: Array<{ facts: Facts; step: Step }>;
}

const MAX_STEPS = 24;

function answer<S, T>(given: Answer<S, T> | undefined, step: S & { kind: string }): Outcome<T> {
  if (given === undefined) throw new Error(`drive: the world has no answer for step ${step.kind}`);
  return typeof given === 'function' ? given(step) : given;
}

/**
 * GET /api/v2/buckets/{id} as a world without an explicit `bucket` answer would answer it: the
 * token as checkToken judges it, the bucket as lookupIDs finds it (404 under another ID), the
 * version as /health reports it.
 */
function bucketSeenBy(current: Facts, step: StepOf<'checkBucket'>, world: World): Outcome<BucketState> {
  // A world that knows no token is an instance that accepts none (fresh, or wiped).
  if (world.checkToken === undefined) return unauthorized();
  const token = answer(world.checkToken, { kind: 'checkToken', token: step.token });
  if (!token.ok) return token;
  const { org, bucket } = current.resource.spec;
  if (world.lookupIDs === undefined) return rejected(404, 'not found', 'bucket not found');
  const ids = answer(world.lookupIDs, { kind: 'lookupIDs', token: step.token, org, bucket });
  if (!ids.ok) return ids;
  const { orgID, bucketID, bucketRetentionSeconds } = ids.value;
  if (orgID === undefined || bucketID !== step.bucketID) return rejected(404, 'not found', 'bucket not found');
  const status = world.health === undefined ? undefined : answer(world.health, { kind: 'checkHealth' });
  const version = status?.ok ? status.value.version : undefined;
  return ok({
    name: bucket,
    orgID,
    retentionSeconds: bucketRetentionSeconds ?? 0,
    ...(version !== undefined && { version }),
  });
}

/** The facts after the world answered `step`, exactly as the reconciler builds them. */
export function apply(current: Facts, step: Exclude<Step, Finish>, world: World): Facts {
  switch (step.kind) {
    case 'checkBucket':
      return {
        ...current,
        bucketCheck: world.bucket === undefined ? bucketSeenBy(current, step, world) : answer(world.bucket, step),
      };
    case 'checkSetupStatus':
      return { ...current, setupStatus: answer(world.setupStatus, step) };
    case 'recheckSetupStatus':
      return { ...current, setupRecheck: answer(world.setupRecheck ?? world.setupStatus, step) };
    case 'checkToken':
      return { ...current, tokenCheck: answer(world.checkToken, step) };
    case 'lookupIDs':
      return { ...current, ids: answer(world.lookupIDs, step) };
    case 'createOrg':
    case 'createBucket':
    case 'setRetention':
      return withRepair(current, step, answer(world.repair, step));
    case 'checkHealth':
      return { ...current, health: answer(world.health, step) };
    case 'listAuthorizations':
      return { ...current, authorizations: answer(world.listAuthorizations, step) };
    case 'createAuthorization':
      return { ...current, createdAuthorization: answer(world.createAuthorization, step) };
    case 'checkNewToken':
      return { ...current, createdTokenCheck: answer(world.checkToken, step) };
    case 'deleteAuthorization':
      return {
        ...current,
        authorizationsDeleted: [
          ...(current.authorizationsDeleted ?? []),
          { id: step.id, outcome: answer(world.deleteAuthorization, step) },
        ],
      };
    case 'setPassword':
      return { ...current, passwordSet: { password: step.password, outcome: answer(world.setPassword, step) } };
    case 'checkPassword':
      return { ...current, passwordCheck: answer(world.checkPassword, step) };
    case 'writeSecret': {
      const given = world.writeSecret ?? 'written';
      const written = typeof given === 'function' ? given(step) : given;
      const before = current.secret.state === 'owned' ? current.secret : undefined;
      // As the Secret adapter writes it: records kept unless replaced (or, given null, removed); the authorization ID goes with its token.
      const passwordRotation = step.secret.passwordRotation ?? before?.passwordRotation;
      const tokenRotation = step.secret.tokenRotation ?? before?.tokenRotation;
      const pendingPassword =
        step.secret.pendingPassword === null ? undefined : (step.secret.pendingPassword ?? before?.pendingPassword);
      const authorizationID =
        step.secret.authorizationID === null
          ? undefined
          : (step.secret.authorizationID ??
            (before?.data.token === step.secret.data.token ? before?.authorizationID : undefined));
      // An approval to move is used up once the credentials are at that URL.
      const retargetTo =
        before?.retargetTo !== undefined && !sameInstance(before.retargetTo, step.secret.data.url)
          ? before.retargetTo
          : undefined;
      const replacedAuthorization =
        step.secret.replacedAuthorization === null
          ? undefined
          : (step.secret.replacedAuthorization ?? before?.replacedAuthorization);
      const secret: CredentialsSecret =
        written === 'foreign'
          ? FOREIGN
          : {
              state: 'owned',
              data: step.secret.data,
              garbageCollected: step.secret.garbageCollected,
              tls: step.secret.tls,
              ...(pendingPassword !== undefined && { pendingPassword }),
              ...(passwordRotation !== undefined && { passwordRotation }),
              ...(tokenRotation !== undefined && { tokenRotation }),
              ...(authorizationID !== undefined && { authorizationID }),
              ...(replacedAuthorization !== undefined && { replacedAuthorization }),
              ...(retargetTo !== undefined && { retargetTo }),
            };
      return { ...current, secret, secretWritten: written === 'written' };
    }
    case 'postSetup':
      return { ...current, setupAnswer: answer(world.postSetup, step) };
    case 'postSetupUser':
      return { ...current, setupAnswer: answer(world.postSetupUser, step) };
  }
}

/** Runs decide() until it finishes, answering every step from `world`. */
export function drive(initial: Facts, world: World): Drive {
  let current = initial;
  const steps: Array<Exclude<Step, Finish>> = [];
  const trace: Drive['trace'] = [];
  for (let count = 0; count < MAX_STEPS; count++) {
    const step = decideRecorded(current);
    trace.push({ facts: current, step });
    if (step.kind === 'finish') return { steps, kinds: steps.map((s) => s.kind), finish: step, facts: current, trace };
    steps.push(step);
    current = apply(current, step, world);
  }
  throw new Error(`drive: no finish after ${MAX_STEPS} steps (${steps.map((s) => s.kind).join(', ')})`);
}

/** The only step of a kind in a drive; throws unless there is exactly one. */
export function only<K extends Exclude<Step, Finish>['kind']>(run: Drive, kind: K): StepOf<K> {
  const matching = run.steps.filter((step): step is Extract<Exclude<Step, Finish>, { kind: K }> => step.kind === kind);
  if (matching.length !== 1)
    throw new Error(`expected exactly one ${kind} step, got ${matching.length} (${run.kinds.join(', ')})`);
  return matching[0];
}

/** A world whose InfluxDB is fresh and accepts the setup. */
export function freshWorld(extra: World = {}): World {
  return {
    setupStatus: ok({ allowed: true }),
    postSetup: ok(setupResult()),
    health: ok(health()),
    checkPassword: ok(true),
    ...extra,
  };
}

/** A world whose InfluxDB is set up and accepts exactly `token`. */
export function setUpWorld(token: string, extra: World = {}): World {
  return {
    setupStatus: ok({ allowed: false }),
    checkToken: (step) => (step.token === token ? ok(owner()) : unauthorized()),
    lookupIDs: (step) =>
      step.token === token
        ? ok({
            orgID: IDS.orgID,
            bucketID: IDS.bucketID,
            bucketRetentionSeconds: 0,
            ...(step.userID && { authorizationID: IDS.authorizationID }),
          })
        : unauthorized(),
    // A bucket whose retention differs from the spec's gets it set.
    repair: (step) =>
      step.token === token ? ok({ id: step.kind === 'createOrg' ? IDS.orgID : IDS.bucketID }) : unauthorized(),
    health: ok(health()),
    setPassword: (step) => (step.token === token ? ok(true) : unauthorized()),
    checkPassword: ok(true),
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness for property tests.

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, choices: readonly T[]): T {
  if (choices.length === 0) throw new Error('pick from an empty list');
  return choices[Math.floor(random() * choices.length)];
}

export type { Credentials, CredentialsSecret, DesiredSecret, Facts, Finish, SetupRequest, Step };
