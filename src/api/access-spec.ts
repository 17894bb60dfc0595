import {
  DEFAULT_ROTATION_GRACE_SECONDS,
  MAX_ROTATION_GRACE_SECONDS,
  type BucketDeletionPolicy,
  type InfluxBucket,
  type InfluxToken,
  type PermissionAction,
  TOKEN_SECRET_KEYS,
} from './access-types.js';
import { checkSecretTemplate } from './secret-template.js';
import type { SecretTemplate } from './template-types.js';
import {
  checkBucketName,
  checkRetention,
  influxQLName,
  integerIn,
  isRecord,
  namespaceName,
  oneOf,
  secretName,
} from './spec.js';
import type { AccessFrom, AccessLimits, ObjectMeta } from './types.js';

/**
 * The same rules as the InfluxBucket and InfluxToken CRDs' schemas, checked again inside the
 * operator before anything reaches InfluxDB (see checkSpec for why).
 */
export type Checked<T> = { ok: true; spec: T } | { ok: false; problems: string[] };

export interface OnboardingKey {
  namespace: string;
  name: string;
}

export interface EffectiveBucketSpec {
  onboarding: OnboardingKey;
  bucketName: string;
  /** spec.name was set: outside the namespace's prefix it needs the grant to list it. Else bucketName is the default. */
  chosenName: boolean;
  retentionPeriodSeconds: number;
  description: string;
  deletionPolicy: BucketDeletionPolicy;
  adopt: boolean;
  /** undefined: no DBRP mapping. */
  influxql?: InfluxQLMapping;
}

/** spec.influxql with its defaults: the mapping this bucket should have. */
export interface InfluxQLMapping {
  database: string;
  retentionPolicy: string;
  /** This mapping claims the database's default (a database's only mapping is its default anyway). */
  default: boolean;
}

export const DEFAULT_RETENTION_POLICY = 'autogen';

/** spec.influxql: a database (see influxQLName) and a retention policy (default autogen). */
function checkInfluxQL(value: unknown, problems: string[]): InfluxQLMapping | undefined {
  const field = 'spec.influxql';
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object {database, retentionPolicy, default}`);
    return undefined;
  }
  for (const key of Object.keys(value))
    if (!['database', 'retentionPolicy', 'default'].includes(key))
      problems.push(`${field}.${key}: unknown field; allowed: database, retentionPolicy, default`);
  const database = influxQLName(value.database, `${field}.database`, problems);
  const retentionPolicy = influxQLName(
    value.retentionPolicy ?? DEFAULT_RETENTION_POLICY,
    `${field}.retentionPolicy`,
    problems,
  );
  if (value.default !== undefined && typeof value.default !== 'boolean')
    problems.push(`${field}.default: must be true or false`);
  return { database, retentionPolicy, default: value.default === true };
}

interface Permission {
  action: PermissionAction;
  /** An InfluxBucket's metadata.name in the token's namespace. */
  bucket: string;
}

export interface EffectiveTokenSpec {
  onboarding: OnboardingKey;
  description: string;
  /** Sorted, without duplicates. */
  permissions: Permission[];
  secretName: string;
  rotationGracePeriodSeconds: number;
  /** undefined: the Secret holds the canonical keys only. */
  secretTemplate?: SecretTemplate;
  /** v1 credentials under this username; undefined: none. */
  v1?: { username: string };
}

const V1_USERNAME = /^[A-Za-z0-9._-]+$/;
const V1_USERNAME_MAX = 253;

/**
 * spec.v1: the username defaults to `<namespace>.<name>` (namespace names hold no dot, so the
 * defaults of two resources never collide); a chosen one must start with `<namespace>.`, because
 * v1 usernames are unique on the whole instance and one namespace must not take another's.
 */
function checkV1(
  value: unknown,
  namespace: string,
  name: string,
  problems: string[],
): { username: string } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    problems.push('spec.v1: must be an object, {} or {username}');
    return undefined;
  }
  for (const key of Object.keys(value))
    if (key !== 'username') problems.push(`spec.v1.${key}: unknown field; allowed: username`);
  const prefix = `${namespace}.`;
  const username = value.username ?? `${prefix}${name}`;
  if (
    typeof username !== 'string' ||
    username.length > V1_USERNAME_MAX ||
    !V1_USERNAME.test(username) ||
    !username.startsWith(prefix) ||
    username.length === prefix.length
  ) {
    problems.push(
      `spec.v1.username: must start with "${prefix}" (this namespace) and be at most ${V1_USERNAME_MAX} letters, digits, '.', '_' or '-'; got ${JSON.stringify(username)}`,
    );
    return undefined;
  }
  return { username };
}

const DESCRIPTION_MAX = 512;
const PERMISSIONS_MAX = 32;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkOnboardingRef(value: unknown, ownNamespace: string, problems: string[]): OnboardingKey {
  const field = 'spec.onboardingRef';
  if (!isRecord(value)) {
    problems.push(
      `${field}: required, {name, namespace} of an InfluxOnboarding (namespace defaults to this resource's)`,
    );
    return { namespace: ownNamespace, name: '' };
  }
  const name =
    typeof value.name === 'string' && value.name.length <= 253 && OBJECT_NAME.test(value.name) ? value.name : undefined;
  if (name === undefined)
    problems.push(`${field}.name: required, the name of an InfluxOnboarding (lowercase DNS subdomain)`);
  const namespace =
    value.namespace === undefined ? ownNamespace : namespaceName(value.namespace, `${field}.namespace`, problems);
  return { namespace, name: name ?? '' };
}

function checkDescription(value: unknown, problems: string[]): string {
  if (value === undefined) return '';
  if (typeof value === 'string' && value.length <= DESCRIPTION_MAX) return value;
  problems.push(`spec.description: must be a string of at most ${DESCRIPTION_MAX} characters`);
  return '';
}

/**
 * The bucket's name in InfluxDB when spec.name is not set. Bucket names are org-wide; a namespace
 * name holds no dot, so `<namespace>.` is a prefix no other namespace's default can share.
 */
export function defaultBucketName(namespace: string, name: string): string {
  return `${bucketNamePrefix(namespace)}${name}`;
}

/** The names a namespace may claim without the onboarding listing them. */
export function bucketNamePrefix(namespace: string): string {
  return `${namespace}.`;
}

/**
 * The default name before `<namespace>.<name>`: `a`/`b-c` and `a-b`/`c` shared it. A bucket the
 * operator made under it (its marker names exactly this resource) is taken over on upgrade.
 */
export function legacyDefaultBucketName(namespace: string, name: string): string {
  return `${namespace}-${name}`;
}

/**
 * The InfluxDB user a namespace's tokens are issued under (a user without a password: it holds
 * tokens and can never sign in). One user per namespace keeps each tenant's authorizations in a
 * list of their own (GET /api/v2/authorizations?userID=), never in the org-wide one.
 */
export function namespaceUserName(namespace: string): string {
  return `influx-onboarding-operator:${namespace}`;
}

/** The token Secret's name when spec.secretName is not set. */
function defaultTokenSecretName(name: string): string {
  return `${name}-influx-token`;
}

export function checkBucketSpec(resource: Pick<InfluxBucket, 'metadata' | 'spec'>): Checked<EffectiveBucketSpec> {
  const problems: string[] = [];
  const spec: unknown = resource.spec;
  if (!isRecord(spec)) return { ok: false, problems: ['spec: required'] };
  const { namespace, name } = resource.metadata;
  const onboarding = checkOnboardingRef(spec.onboardingRef, namespace, problems);
  const bucketName = checkBucketName(spec.name ?? defaultBucketName(namespace, name), 'spec.name', problems);
  const retentionPeriodSeconds = checkRetention(spec.retentionPeriodSeconds, problems);
  const description = checkDescription(spec.description, problems);
  const deletionPolicy = oneOf(
    spec.deletionPolicy,
    ['Retain', 'Delete'] as const,
    'Retain',
    'spec.deletionPolicy',
    problems,
  );
  if (spec.adopt !== undefined && typeof spec.adopt !== 'boolean') problems.push('spec.adopt: must be true or false');
  const influxql = checkInfluxQL(spec.influxql, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      onboarding,
      bucketName,
      chosenName: spec.name !== undefined,
      retentionPeriodSeconds,
      description,
      deletionPolicy,
      adopt: spec.adopt === true,
      ...(influxql && { influxql }),
    },
  };
}

function checkPermissions(value: unknown, problems: string[]): Permission[] {
  const field = 'spec.permissions';
  if (!Array.isArray(value) || value.length === 0 || value.length > PERMISSIONS_MAX) {
    problems.push(
      `${field}: required, a list of 1 to ${PERMISSIONS_MAX} {action: read|write, bucket: <InfluxBucket name in this namespace>}`,
    );
    return [];
  }
  const unique = new Map<string, Permission>();
  value.forEach((entry: unknown, index) => {
    const at = `${field}[${index}]`;
    if (!isRecord(entry)) {
      problems.push(`${at}: must be {action, bucket}`);
      return;
    }
    const action = oneOf(entry.action, ['read', 'write'] as const, 'read', `${at}.action`, problems);
    if (entry.action === undefined) problems.push(`${at}.action: required, one of read, write`);
    const bucket = entry.bucket;
    if (typeof bucket !== 'string' || bucket.length > 253 || !OBJECT_NAME.test(bucket)) {
      problems.push(
        `${at}.bucket: must be the metadata.name of an InfluxBucket in this namespace; got ${JSON.stringify(bucket)}`,
      );
      return;
    }
    unique.set(`${action}:${bucket}`, { action, bucket });
  });
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, permission]) => permission);
}

export function checkTokenSpec(resource: Pick<InfluxToken, 'metadata' | 'spec'>): Checked<EffectiveTokenSpec> {
  const problems: string[] = [];
  const spec: unknown = resource.spec;
  if (!isRecord(spec)) return { ok: false, problems: ['spec: required'] };
  const { namespace, name } = resource.metadata;
  const onboarding = checkOnboardingRef(spec.onboardingRef, namespace, problems);
  const description = checkDescription(spec.description, problems);
  const permissions = checkPermissions(spec.permissions, problems);
  const secret =
    spec.secretName === undefined
      ? defaultTokenSecretName(name)
      : secretName(spec.secretName, 'spec.secretName', problems);
  const rotationGracePeriodSeconds = integerIn(
    spec.rotationGracePeriodSeconds,
    'spec.rotationGracePeriodSeconds',
    DEFAULT_ROTATION_GRACE_SECONDS,
    0,
    MAX_ROTATION_GRACE_SECONDS,
    problems,
  );
  const secretTemplate = checkSecretTemplate(spec.secretTemplate, 'spec.secretTemplate', TOKEN_SECRET_KEYS, problems);
  const v1 = checkV1(spec.v1, namespace, name, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      onboarding,
      description,
      permissions,
      secretName: secret,
      rotationGracePeriodSeconds,
      ...(secretTemplate && { secretTemplate }),
      ...(v1 && { v1 }),
    },
  };
}

/** What a namespace may do through an onboarding that grants it (the onboarding's own namespace: anything). */
export interface GrantTerms {
  /** The onboarding's own namespace, whose editors hold the operator token anyway: no limits, any name, adoption with spec.adopt alone. */
  home: boolean;
  /** Bucket names outside the namespace's prefix it may claim. */
  bucketNames: readonly string[];
  /** Existing unmarked buckets it may adopt. */
  adoptBuckets: readonly string[];
  /** InfluxQL database names outside the namespace's prefix its InfluxBuckets may map. */
  databases: readonly string[];
  limits: AccessLimits;
}

const HOME: GrantTerms = { home: true, bucketNames: [], adoptBuckets: [], databases: [], limits: {} };

/**
 * Whether resources in `namespace` may use the onboarding, and on what terms: its own namespace
 * always, others only when its spec.accessFrom names them (in `namespaces` or `grants`) or (with
 * their labels known) selects them.
 */
export type Grant = { granted: true; terms: GrantTerms } | { granted: false };

export function grantFor(
  onboarding: { metadata: Pick<ObjectMeta, 'namespace' | 'name'>; spec: { accessFrom?: AccessFrom } },
  namespace: string,
  namespaceLabels?: Record<string, string>,
): Grant {
  if (namespace === onboarding.metadata.namespace) return { granted: true, terms: HOME };
  const accessFrom = onboarding.spec.accessFrom;
  const limits = accessFrom?.limits ?? {};
  const entry = accessFrom?.grants?.find((grant) => grant.namespace === namespace);
  if (entry !== undefined) {
    return {
      granted: true,
      terms: {
        home: false,
        bucketNames: entry.bucketNames ?? [],
        adoptBuckets: entry.adoptBuckets ?? [],
        databases: entry.databases ?? [],
        limits: { ...limits, ...entry.limits },
      },
    };
  }
  const general: Grant = {
    granted: true,
    terms: { home: false, bucketNames: [], adoptBuckets: [], databases: [], limits },
  };
  if (accessFrom?.namespaces?.includes(namespace)) return general;
  const matchLabels = accessFrom?.namespaceSelector?.matchLabels;
  if (
    matchLabels !== undefined &&
    namespaceLabels !== undefined &&
    Object.entries(matchLabels).every(([key, value]) => namespaceLabels[key] === value)
  ) {
    return general;
  }
  return { granted: false };
}

/**
 * What a namespace without a grant is told, the same whether the onboarding exists or not, and
 * nothing of its state: who may not use an onboarding learns nothing about it.
 */
export function notGrantedMessage(onboarding: OnboardingKey, namespace: string): string {
  return `InfluxOnboarding ${onboarding.namespace}/${onboarding.name} does not exist or does not grant namespace ${namespace} access; its owners grant it in spec.accessFrom`;
}

/** Whether the grant depends on the namespace's labels (only then are they worth reading). */
export function selectsByLabel(onboarding: { spec: { accessFrom?: AccessFrom } }): boolean {
  return onboarding.spec.accessFrom?.namespaceSelector?.matchLabels !== undefined;
}

/** The limits a record change is checked against; undefined: none (the onboarding's own namespace, or none set). */
export function limitsOf(terms: GrantTerms): AccessLimits | undefined {
  return terms.home || Object.keys(terms.limits).length === 0 ? undefined : terms.limits;
}

/** Whether a namespace may claim a bucket name: its own prefix, a name its grant lists, anything in the onboarding's own namespace. */
export function mayClaimBucketName(name: string, namespace: string, terms: GrantTerms): boolean {
  return (
    terms.home ||
    name.startsWith(bucketNamePrefix(namespace)) ||
    terms.bucketNames.includes(name) ||
    terms.adoptBuckets.includes(name)
  );
}

/**
 * Whether a namespace may map an InfluxQL database: database names are org-wide, so they are
 * claimed as bucket names are (its own prefix, a name its grant lists, anything at home).
 */
export function mayClaimDatabase(database: string, namespace: string, terms: GrantTerms): boolean {
  return terms.home || database.startsWith(bucketNamePrefix(namespace)) || terms.databases.includes(database);
}

/** Why a retention is outside the grant's limits (undefined: within them). 0 is infinite, longer than any. */
export function retentionBeyondLimits(seconds: number, limits: AccessLimits): string | undefined {
  const { minRetentionSeconds: min, maxRetentionSeconds: max } = limits;
  if (min !== undefined && seconds !== 0 && seconds < min)
    return `shorter than the minimum of ${min} s (minRetentionSeconds)`;
  if (max !== undefined && (seconds === 0 || seconds > max))
    return `longer than the maximum of ${max} s (maxRetentionSeconds)${seconds === 0 ? '; 0 is infinite' : ''}`;
  return undefined;
}
