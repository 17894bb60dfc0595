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
} from './fields.js';

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
