import type { SecretKey } from './types.js';

/** Shapes of credentials as the operator observes and writes them, shared by the decision and the Kubernetes adapters. */

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
  /** resourceVersion: the version that was read, so that a write replaces exactly that one. */
  | { state: 'owned'; data: Partial<Record<SecretKey, string>>; garbageCollected: boolean; resourceVersion?: string };

/** The Secret as it must be: data plus whether Kubernetes may garbage-collect it with its owner. */
export interface DesiredSecret {
  name: string;
  data: Record<SecretKey, string>;
  garbageCollected: boolean;
}

export type Reference = { found: true; value: string } | { found: false; problem: string };

