/**
 * The application access API, influxdb.onboarding.dev/v1alpha1: InfluxBucket and InfluxToken.
 * crds/ holds their schemas; src/api/access-spec.ts checks the same rules inside the operator.
 */
import { DEFAULT_SECRET_TYPE } from './secret-template.js';
import { type API_VERSION, GROUP, type Condition, type ObjectMeta } from './types.js';

export const BUCKET_KIND = 'InfluxBucket';
export const BUCKET_PLURAL = 'influxbuckets';
export const TOKEN_KIND = 'InfluxToken';
export const TOKEN_PLURAL = 'influxtokens';

/** Finalizers: the InfluxDB side of the resource is dealt with before Kubernetes lets it go. */
export const BUCKET_FINALIZER = `${GROUP}/bucket`;
export const TOKEN_FINALIZER = `${GROUP}/token`;

/** On the token Secret: the InfluxToken it belongs to (by name, as the credentials Secret's owner label). */
export const TOKEN_OWNER_LABEL = `${GROUP}/token-name`;
/** On the token Secret, written with the token: its permissions (AUTHORIZATION_ANNOTATION: its authorization). */
export const PERMISSIONS_ANNOTATION = `${GROUP}/permissions`;
/** On the token Secret, written with the token: its SHA-256, so that a token edited by hand is noticed. */
export const TOKEN_DIGEST_ANNOTATION = `${GROUP}/token-sha256`;
/** On the token Secret: the replaced authorizations still alive for their grace period, as JSON. */
export const RETIRING_ANNOTATION = `${GROUP}/retiring`;
/**
 * On the token Secret: the label and annotation keys its secretTemplate set, as JSON
 * (`{"labels": [...], "annotations": [...]}`), so that a key dropped from the template is removed
 * and a key set by someone else is never taken for the template's.
 */
export const TEMPLATE_METADATA_ANNOTATION = `${GROUP}/template-metadata`;

/** The token Secret's canonical keys: the operator's own, which a secretTemplate cannot replace. */
export const TOKEN_SECRET_KEYS = [
  'url',
  'org',
  'bucket',
  'token',
  'v1-username',
  'v1-password',
  'v1-pending-password',
] as const;

/** On an InfluxToken: a new value requests a new v1 password (spec.v1). */
export const ROTATE_V1_PASSWORD_ANNOTATION = `${GROUP}/rotate-v1-password`;
/** On the token Secret: the v1 authorization its v1-username belongs to. */
export const V1_AUTHORIZATION_ANNOTATION = `${GROUP}/v1-authorization-id`;
/** On the token Secret: the permissions the v1 authorization was created with (permissionsKey). */
export const V1_PERMISSIONS_ANNOTATION = `${GROUP}/v1-permissions`;
/** On the token Secret: the rotate-v1-password value already handled. */
export const V1_ROTATED_ANNOTATION = `${GROUP}/v1-rotated`;

export const DEFAULT_ROTATION_GRACE_SECONDS = 300;
export const MAX_ROTATION_GRACE_SECONDS = 86_400;

interface OnboardingRef {
  name: string;
  /** Defaults to the referring resource's namespace. */
  namespace?: string;
}

export type BucketDeletionPolicy = 'Retain' | 'Delete';

interface InfluxBucketSpec {
  onboardingRef: OnboardingRef;
  name?: string;
  retentionPeriodSeconds?: number;
  description?: string;
  deletionPolicy?: BucketDeletionPolicy;
  adopt?: boolean;
  /** A DBRP mapping: the InfluxQL database and retention policy 1.x clients name for this bucket. */
  influxql?: { database: string; retentionPolicy?: string; default?: boolean };
}

/** The bucket's DBRP mapping as InfluxDB shows it. */
export interface InfluxQLStatus {
  database: string;
  retentionPolicy: string;
  /** Whether it is the database's default mapping (used when a 1.x client names no retention policy). */
  default: boolean;
  mappingID: string;
}

export interface InfluxBucketStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** The bucket's name and ID in InfluxDB. */
  bucketName?: string;
  bucketID?: string;
  /** The onboarding it lives under, namespace/name. */
  onboarding?: string;
  adopted?: boolean;
  /** With spec.influxql: the mapping, once it is in InfluxDB. */
  influxql?: InfluxQLStatus;
}

export interface InfluxBucket {
  apiVersion: typeof API_VERSION;
  kind: typeof BUCKET_KIND;
  metadata: ObjectMeta & { finalizers?: string[] };
  spec: InfluxBucketSpec;
  status?: InfluxBucketStatus;
}

export type PermissionAction = 'read' | 'write';

interface PermissionSpec {
  action: PermissionAction;
  /** An InfluxBucket's metadata.name in the token's namespace. */
  bucket: string;
}

interface InfluxTokenSpec {
  onboardingRef: OnboardingRef;
  description?: string;
  permissions: PermissionSpec[];
  secretName?: string;
  /** How long a replaced authorization keeps working after its successor is in the Secret. */
  rotationGracePeriodSeconds?: number;
  /** Extra keys (and type, labels, annotations) for the Secret; checked by src/api/secret-template.ts. */
  secretTemplate?: unknown;
  /** v1 credentials (username and password) with the token's permissions, for 1.x clients. */
  v1?: { username?: string };
}

export interface InfluxTokenStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  secretName?: string;
  authorizationID?: string;
  /** The permissions the authorization carries, e.g. `read:app-metrics,write:app-metrics`. */
  permissions?: string;
  /** Replaced authorizations still working until their grace period ends. */
  retiring?: RetiringAuthorization[];
  /** With spec.v1: the v1 username in the Secret and its authorization. */
  v1Username?: string;
  v1AuthorizationID?: string;
}

export interface RetiringAuthorization {
  id: string;
  deleteAfter: string;
}

export interface InfluxToken {
  apiVersion: typeof API_VERSION;
  kind: typeof TOKEN_KIND;
  metadata: ObjectMeta & { finalizers?: string[] };
  spec: InfluxTokenSpec;
  status?: InfluxTokenStatus;
}

/** Every reason the Ready condition of an InfluxBucket or InfluxToken can carry; docs/conditions.md explains each. */
export const AccessReason = {
  BucketReady: 'BucketReady',
  TokenReady: 'TokenReady',
  Progressing: 'Progressing',
  InvalidSpec: 'InvalidSpec',
  NotPermitted: 'NotPermitted',
  OnboardingNotFound: 'OnboardingNotFound',
  OnboardingNotReady: 'OnboardingNotReady',
  BucketExists: 'BucketExists',
  DatabaseTaken: 'DatabaseTaken',
  DefaultConflict: 'DefaultConflict',
  BucketNotFound: 'BucketNotFound',
  BucketNotReady: 'BucketNotReady',
  SecretConflict: 'SecretConflict',
  QuotaExceeded: 'QuotaExceeded',
  V1UsernameTaken: 'V1UsernameTaken',
  Unreachable: 'Unreachable',
  InfluxError: 'InfluxError',
  Deleting: 'Deleting',
} as const;
export type AccessReason = (typeof AccessReason)[keyof typeof AccessReason];

/**
 * What a Secret is besides its data: its type and the labels and annotations its secretTemplate
 * set (the operator's own are not part of it). Without a template: Opaque and nothing set.
 */
export interface SecretShape {
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The v1 credentials the token Secret holds: the username and password in its data (v1-username,
 * v1-password, and v1-pending-password between generating a new password and InfluxDB taking it),
 * the authorization and what it was created with in its annotations.
 */
export interface V1InSecret {
  username: string;
  authorizationID: string;
  permissions: string;
  /** The rotate-v1-password value already handled ('' for none). */
  rotated: string;
  password?: string;
  pendingPassword?: string;
}

/** A Secret without a template: Opaque, nothing set beside the operator's own metadata. */
export const PLAIN_SHAPE: SecretShape = { type: DEFAULT_SECRET_TYPE, labels: {}, annotations: {} };

/** The token Secret as observed: the token with the authorization it belongs to (annotations written with it). */
export type TokenSecret =
  | { state: 'absent' }
  /** Exists but was not written for this InfluxToken: never touched. */
  | { state: 'foreign' }
  | {
      state: 'owned';
      data: Record<string, string>;
      authorizationID?: string;
      permissions?: string;
      retiring: RetiringAuthorization[];
      resourceVersion?: string;
      /** The token is the one written with the authorization ID (not edited since). */
      tokenIntact: boolean;
      /** undefined: Opaque, with nothing a template set. */
      shape?: SecretShape;
      v1?: V1InSecret;
    };

export interface DesiredTokenSecret {
  name: string;
  /** The canonical keys and the template's, written together (never a new token beside stale template keys). */
  data: Record<string, string>;
  /** undefined: Opaque, nothing set (no template). */
  shape?: SecretShape;
  /** undefined: no v1 credentials. */
  v1?: V1InSecret;
  authorizationID: string;
  permissions: string;
  retiring: RetiringAuthorization[];
}
