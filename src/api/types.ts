/** The InfluxOnboarding API, influxdb.onboarding.dev/v1alpha1. crds/ is its schema. */
import type { SecretTemplate } from './template-types.js';

export const GROUP = 'influxdb.onboarding.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'InfluxOnboarding';
export const PLURAL = 'influxonboardings';

/** Labels and annotations the operator puts on the credentials Secret it manages. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'influx-onboarding-operator';
export const OWNER_NAME_LABEL = `${GROUP}/owner-name`;
/** On the credentials Secret, written by the operator: the TLS settings its credentials were created with. */
export const TLS_ANNOTATION = `${GROUP}/tls`;
/** On the credentials Secret, set by a person: the new URL its credentials may be moved to (used once). */
export const RETARGET_ANNOTATION = `${GROUP}/retarget-to`;
/** On a Secret named by passwordSecretRef, tokenSecretRef or authTokenSecretRef: the URLs its value may be sent to. */
export const ALLOWED_URLS_ANNOTATION = `${GROUP}/allowed-urls`;
/** On an escrow Secret, set by an administrator of the escrow namespace: the UID of the resource its copy may be restored into. */
export const ESCROW_APPROVED_ANNOTATION = `${GROUP}/escrow-approved-uid`;
/** On a Service, set by its owner: the other namespaces whose InfluxOnboardings may target it (comma-separated). */
export const ONBOARD_FROM_ANNOTATION = `${GROUP}/onboard-from`;

/** On the InfluxOnboarding, set by a person: a new value requests a new generated password (without passwordSecretRef). */
export const ROTATE_PASSWORD_ANNOTATION = `${GROUP}/rotate-password`;
/** On the credentials Secret, written by the operator: the rotate-password value already handled. */
export const PASSWORD_ROTATION_ANNOTATION = `${GROUP}/password-rotation`;
/** The credentials Secret's key for a generated password being rotated to: persisted before InfluxDB is asked to set it. */
export const PENDING_PASSWORD_KEY = 'pending-password';

/** On the InfluxOnboarding, set by a person: a new value requests a new operator token (without tokenSecretRef). */
export const ROTATE_TOKEN_ANNOTATION = `${GROUP}/rotate-token`;
/** On the credentials Secret, written by the operator: the rotate-token value already handled. */
export const TOKEN_ROTATION_ANNOTATION = `${GROUP}/token-rotation`;
/**
 * On the credentials Secret and on an InfluxToken's Secret, written with a token the operator
 * created: that token's authorization ID.
 */
export const AUTHORIZATION_ANNOTATION = `${GROUP}/authorization-id`;
/** On the credentials Secret, written by the operator: the authorization a rotated token replaced, until it is deleted. */
export const REPLACED_AUTHORIZATION_ANNOTATION = `${GROUP}/replaced-authorization`;
/**
 * On the credentials Secret, written by the operator with the credentials a setup request is
 * about to send (when it was first sent), and removed once InfluxDB answered it or accepts the
 * token: while it stays, a set-up instance that rejects the token is one whose setup was cut.
 */
export const SETUP_SENT_ANNOTATION = `${GROUP}/setup-sent-at`;
/** Starts the description of every authorization a token rotation creates, followed by the resource's UID and a space. */
export const ROTATION_MARKER = 'influx-onboarding-operator rotation';

/** The keys of the credentials Secret (docs/secrets.md names each). */
export const SECRET_KEYS = ['url', 'org', 'bucket', 'username', 'password', 'token'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export interface SecretKeySelector {
  name: string;
  key: string;
}

type DeletionPolicy = 'Retain' | 'Delete';
type OnboardingMode = 'Setup' | 'SetupUser';
type ResetPolicy = 'Reonboard' | 'Report';

/** InfluxOnboarding.spec.accessFrom: which other namespaces may reference the onboarding, and on what terms. */
export interface AccessFrom {
  namespaces?: string[];
  namespaceSelector?: { matchLabels?: Record<string, string> };
  /** Limits for every namespace granted by `namespaces` or `namespaceSelector` (and the defaults of `grants` entries). */
  limits?: AccessLimits;
  /** One namespace each, with terms of its own; listing a namespace here grants it. */
  grants?: NamespaceGrant[];
}

/** What a granted namespace may create through the onboarding; an absent field sets no limit. */
export interface AccessLimits {
  maxBuckets?: number;
  maxTokens?: number;
  /** The shortest retention an InfluxBucket may ask for (infinite, 0, is longer than any). */
  minRetentionSeconds?: number;
  /** The longest retention an InfluxBucket may ask for; infinite (0) is then refused. */
  maxRetentionSeconds?: number;
}

/** InfluxOnboarding.spec.accessFrom.grants[]: one namespace's terms. */
export interface NamespaceGrant {
  namespace: string;
  /** Bucket names outside the namespace's own prefix (`<namespace>.`) its InfluxBuckets may claim. */
  bucketNames?: string[];
  /** Existing buckets (made by hand, without an operator marker) its InfluxBuckets may adopt (with spec.adopt). */
  adoptBuckets?: string[];
  /** InfluxQL database names outside the namespace's own prefix its InfluxBuckets may map (spec.influxql.database). */
  databases?: string[];
  /** Field by field over accessFrom.limits. */
  limits?: AccessLimits;
}

export interface InfluxOnboardingSpec {
  url: string;
  username: string;
  org: string;
  bucket: string;
  retentionPeriodSeconds?: number;
  passwordSecretRef?: SecretKeySelector;
  tokenSecretRef?: SecretKeySelector;
  authTokenSecretRef?: SecretKeySelector;
  credentialsSecret?: { name?: string; deletionPolicy?: DeletionPolicy };
  tls?: { caSecretRef?: SecretKeySelector; insecureSkipVerify?: boolean };
  mode?: OnboardingMode;
  resetPolicy?: ResetPolicy;
  requestTimeoutSeconds?: number;
  /** Other namespaces whose InfluxBucket and InfluxToken resources may reference this onboarding. */
  accessFrom?: AccessFrom;
  /** Extra keys, labels and annotations for the credentials Secret; checked by src/api/secret-template.ts. */
  secretTemplate?: unknown;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface InfluxOnboardingStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  secretName?: string;
  userID?: string;
  orgID?: string;
  bucketID?: string;
  authorizationID?: string;
  onboardedAt?: string;
  influxdbVersion?: string;
  /** The URL the credentials in the Secret belong to. */
  observedURL?: string;
  /** The TLS settings the credentials in the Secret were created with (see TLS_ANNOTATION). */
  observedTLS?: string;
  /** The name of the user the token in the Secret belongs to (the Secret's `username`). */
  username?: string;
  /** Whether the instance was adopted (set up before, token from tokenSecretRef) rather than set up by this resource. */
  adopted?: boolean;
  /** When the operator last set a new password in InfluxDB (from passwordSecretRef or on request). */
  passwordRotatedAt?: string;
  /** When the Secret's password last signed in (POST /api/v2/signin), every --password-check-interval. */
  passwordCheckedAt?: string;
  /** When the operator token was last replaced on request (rotate-token annotation). */
  tokenRotatedAt?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface InfluxOnboarding {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: InfluxOnboardingSpec;
  status?: InfluxOnboardingStatus;
}

export const READY = 'Ready';

/** Every reason the Ready condition can carry; docs/conditions.md explains each. */
export const Reason = {
  Onboarded: 'Onboarded',
  Adopted: 'Adopted',
  Progressing: 'Progressing',
  InvalidSpec: 'InvalidSpec',
  SecretNotFound: 'SecretNotFound',
  SecretConflict: 'SecretConflict',
  Unreachable: 'Unreachable',
  SetupFailed: 'SetupFailed',
  AlreadyOnboarded: 'AlreadyOnboarded',
  TokenInvalid: 'TokenInvalid',
  InstanceReset: 'InstanceReset',
  Unsupported: 'Unsupported',
  DuplicateTarget: 'DuplicateTarget',
  TargetChanged: 'TargetChanged',
  SecretNotPermitted: 'SecretNotPermitted',
  URLNotAllowed: 'URLNotAllowed',
  AddressRefused: 'AddressRefused',
  EnsureFailed: 'EnsureFailed',
  PasswordNotSet: 'PasswordNotSet',
  PasswordInvalid: 'PasswordInvalid',
  TokenNotRotated: 'TokenNotRotated',
  /** spec.url reaches an instance of another namespace that did not let this one onboard it. */
  NotPermitted: 'NotPermitted',
  /** The escrow holds credentials of an earlier resource of this name; an administrator must approve this one. */
  EscrowApprovalRequired: 'EscrowApprovalRequired',
  /** The setup this resource sent got no answer and the instance is half set up: the Secret's token was never made. */
  SetupInterrupted: 'SetupInterrupted',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Spec with every default applied: the only shape the decision reads. */
export interface EffectiveSpec {
  url: string;
  username: string;
  org: string;
  bucket: string;
  retentionPeriodSeconds: number;
  passwordSecretRef?: SecretKeySelector;
  tokenSecretRef?: SecretKeySelector;
  authTokenSecretRef?: SecretKeySelector;
  credentialsSecretName: string;
  deletionPolicy: DeletionPolicy;
  caSecretRef?: SecretKeySelector;
  insecureSkipVerify: boolean;
  mode: OnboardingMode;
  resetPolicy: ResetPolicy;
  requestTimeoutSeconds: number;
  accessFrom?: AccessFrom;
  /** undefined: the credentials Secret holds the canonical keys only. */
  secretTemplate?: SecretTemplate;
}

export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
/** The CRD's maximum of spec.requestTimeoutSeconds: one silent server holds a request no longer than this. */
export const MAX_REQUEST_TIMEOUT_SECONDS = 60;
/** The maximum before MAX_REQUEST_TIMEOUT_SECONDS: stored values up to it are clamped, not refused. */
export const LEGACY_MAX_REQUEST_TIMEOUT_SECONDS = 300;
export const MIN_RETENTION_SECONDS = 3600;
