import type { Health, InfluxFailure, Outcome, ResourceIDs, SetupRequest, SetupResult, TokenOwner } from '../influx/types.js';
import type { InfluxOnboarding, SecretKey } from '../api/types.js';

/** The three values that must be identical in the Secret and in the setup request. */
export interface Credentials {
  username: string;
  password: string;
  token: string;
}

/** What the credentials Secret looks like right now. */
export type CredentialsSecret =
  | { state: 'absent' }
  /** Exists but was not written for this resource: never touched. */
  | { state: 'foreign' }
  | { state: 'owned'; data: Partial<Record<SecretKey, string>>; garbageCollected: boolean };

/** The Secret as it must be: data plus whether Kubernetes may garbage-collect it with its owner. */
export interface DesiredSecret {
  name: string;
  data: Record<SecretKey, string>;
  garbageCollected: boolean;
}

export type Reference = { found: true; value: string } | { found: false; problem: string };

export interface References {
  password?: Reference;
  token?: Reference;
  authToken?: Reference;
  ca?: Reference;
}

export type { InfluxFailure, Outcome, SetupRequest, SetupResult };

/**
 * Everything one reconcile has learnt so far. The decision reads only this; the reconciler adds
 * one observation at a time, as the decision asks for it, so no request is made that the
 * decision does not need.
 */
export interface Facts {
  resource: InfluxOnboarding;
  now: string;
  driftCheckIntervalMs: number;
  /** Name of an older InfluxOnboarding (mode Setup) that targets the same InfluxDB. */
  duplicateOf?: string;
  references: References;
  secret: CredentialsSecret;
  /** Credentials this process last saw in, or wrote to, this resource's Secret. */
  remembered?: Credentials;
  /** Fresh random values, used only where nothing else provides a password or token. */
  generated: { password: string; token: string };
  setupStatus?: Outcome<{ allowed: boolean }>;
  tokenCheck?: Outcome<TokenOwner>;
  ids?: Outcome<ResourceIDs>;
  health?: Outcome<Health>;
  secretWritten?: boolean;
  setupAnswer?: Outcome<SetupResult>;
}

