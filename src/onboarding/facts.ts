import type {
  Authorization,
  BucketState,
  CreatedAuthorization,
  Deletion,
  Health,
  InfluxFailure,
  Outcome,
  ResourceIDs,
  SetupResult,
  SetupStatus,
  TokenOwner,
} from '../influx/index.js';
import type { Credentials, CredentialsSecret, CredentialsTarget, Reference } from '../api/credentials.js';
import type { InfluxOnboarding } from '../api/types.js';

export interface References {
  password?: Reference;
  token?: Reference;
  authToken?: Reference;
  ca?: Reference;
}

/** Credentials together with the instance they belong to. */
export interface BoundCredentials {
  credentials: Credentials;
  target: CredentialsTarget;
}

/**
 * Everything one reconcile has learnt so far. The decision reads only this; the reconciler adds
 * one observation at a time, as the decision asks for it, so no request is made that the
 * decision does not need.
 */
export interface Facts {
  resource: InfluxOnboarding;
  now: string;
  driftCheckIntervalMs: number;
  /** --password-check-interval: how often the Secret's password is proven by a sign-in. */
  passwordCheckIntervalMs: number;
  /** --require-secret-consent: referenced credentials go only to URLs their Secret names. */
  requireSecretConsent: boolean;
  /** Name of an older InfluxOnboarding (mode Setup) that targets the same InfluxDB. */
  duplicateOf?: string;
  /** spec.url reaches an instance of another namespace that does not let this one in: why (see instance.ts). */
  notPermitted?: string;
  /**
   * The Secret is gone and the escrow holds credentials taken from another resource of this name
   * (another UID) that nobody approved for this one: the escrow Secret to approve it on.
   */
  escrowApprovalNeeded?: { namespace: string; name: string };
  references: References;
  secret: CredentialsSecret;
  /** Credentials this process last saw in, or wrote to, this resource's Secret, with their target. */
  remembered?: BoundCredentials;
  /** Fresh random values, used only where nothing else provides a password or token. */
  generated: { password: string; token: string };
  /** The drift check of a Ready resource: its bucket, read with the Secret's token. */
  bucketCheck?: Outcome<BucketState>;
  setupStatus?: Outcome<SetupStatus>;
  /** GET /api/v2/setup asked again after the setup answered `conflict`. */
  setupRecheck?: Outcome<SetupStatus>;
  tokenCheck?: Outcome<TokenOwner>;
  ids?: Outcome<ResourceIDs>;
  health?: Outcome<Health>;
  secretWritten?: boolean;
  setupAnswer?: Outcome<SetupResult>;
  /** The password this reconcile asked InfluxDB to set for the token's user, and its answer. */
  passwordSet?: { password: string; outcome: Outcome<true> };
  /** Token rotation: the user's authorizations, the ones deleted so far, the one created, and /me with its token. */
  authorizations?: Outcome<Authorization[]>;
  authorizationsDeleted?: Array<{ id: string; outcome: Outcome<Deletion> }>;
  createdAuthorization?: Outcome<CreatedAuthorization>;
  createdTokenCheck?: Outcome<TokenOwner>;
  /** Sign-in (and sign-out) with the Secret's username and password. */
  passwordCheck?: Outcome<true>;
  /** What this reconcile created or changed to ensure the org and bucket (for the event). */
  repairs?: string[];
  /** A repair InfluxDB did not do: what was tried and its answer. */
  repairFailure?: { doing: string; failure: InfluxFailure };
}
