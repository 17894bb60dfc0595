import type { SecretKey } from './types.js';

/** Shapes of credentials as the operator observes and writes them, shared by the decision and the Kubernetes adapters. */

/** InfluxDB's limits of a password, in bytes: bcrypt under it counts bytes, not characters. */
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 72;
/** Far longer than any token InfluxDB issues (88 characters): a longer value is no token. */
export const TOKEN_MAX_BYTES = 4096;
// A token travels in an HTTP header: whitespace (a trailing newline from `echo` is the usual one)
// or a control character would make every request fail in ways that look like a revoked token.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TOKEN_FORBIDDEN = /[\s\x00-\x1f\x7f]/;

/** Why InfluxDB would refuse this password, or undefined when it would take it. */
export function passwordProblem(password: string): string | undefined {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes >= PASSWORD_MIN_BYTES && bytes <= PASSWORD_MAX_BYTES) return undefined;
  return `the password must be ${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES} bytes long (InfluxDB's limit); it has ${bytes}`;
}

/** Why this value cannot be a token, or undefined when it can. */
export function tokenProblem(token: string): string | undefined {
  if (token.length === 0) return 'the token is empty';
  if (TOKEN_FORBIDDEN.test(token)) return 'the token contains whitespace or a control character (a trailing newline?)';
  const bytes = Buffer.byteLength(token, 'utf8');
  return bytes > TOKEN_MAX_BYTES
    ? `the token is ${bytes} bytes long; a token has at most ${TOKEN_MAX_BYTES}`
    : undefined;
}

/**
 * The owner a resource's credential values are held under in the log redaction (SecretRegistry),
 * released when the resource is gone; `key` is its `namespace/name`.
 */
export function redactionOwner(kind: string, key: string): string {
  return `${kind} ${key}`;
}

/** The values worth masking in logs: those valid as what they are (a tenant's megabyte-long "password" is none). */
export function validCredentials(values: {
  password?: string | undefined;
  tokens?: ReadonlyArray<string | undefined>;
}): string[] {
  const { password, tokens = [] } = values;
  const valid = password !== undefined && passwordProblem(password) === undefined ? [password] : [];
  for (const token of tokens) if (token !== undefined && tokenProblem(token) === undefined) valid.push(token);
  return valid;
}

/** The three values that must be identical in the Secret and in the setup request. */
export interface Credentials {
  username: string;
  password: string;
  token: string;
}

/**
 * The instance credentials belong to: the URL and TLS settings they were created with. Absent
 * parts are unknown (a Secret written before the operator recorded them) and match anything.
 */
export interface CredentialsTarget {
  url?: string;
  tls?: string;
}

/** What the credentials Secret looks like right now. */
export type CredentialsSecret =
  | { state: 'absent' }
  /** Exists but was not written for this resource: never touched. */
  | { state: 'foreign' }
  /**
   * resourceVersion: the version that was read, so that a write replaces exactly that one.
   * tls: the TLS settings the credentials were created with; retargetTo: a person's approval to
   * move them to that URL (both annotations). pendingPassword: a generated password being rotated
   * to (PENDING_PASSWORD_KEY); passwordRotation: the rotate-password request already handled.
   */
  | {
      state: 'owned';
      data: Partial<Record<SecretKey, string>>;
      garbageCollected: boolean;
      resourceVersion?: string;
      tls?: string;
      retargetTo?: string;
      pendingPassword?: string;
      passwordRotation?: string;
      /** The rotate-token request already handled; the token's authorization ID; an authorization to delete. */
      tokenRotation?: string;
      authorizationID?: string;
      replacedAuthorization?: string;
      /** When a setup request with these credentials was first sent, while its outcome is not known. */
      setupSentAt?: string;
      /** What the spec's secretTemplate set last (the keys the Secret's template annotation names); absent: nothing. */
      templated?: TemplatedSecret;
    };

/** What a secretTemplate adds to the credentials Secret: keys rendered from its data, labels and annotations. */
export interface TemplatedSecret {
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The Secret as it must be: data, the TLS settings it is bound to, and whether Kubernetes may garbage-collect it with its owner. */
export interface DesiredSecret {
  name: string;
  data: Record<SecretKey, string>;
  tls: string;
  garbageCollected: boolean;
  /** Written when a string, removed when null, kept when absent (like replacedAuthorization). */
  pendingPassword?: string | null;
  /** Written when present; absent keeps what the Secret records. */
  passwordRotation?: string;
  tokenRotation?: string;
  /** Written when a string, removed when null; absent keeps it while the token stays, and removes it with a new token. */
  authorizationID?: string | null;
  /** Written when a string, removed when null, kept when absent. */
  replacedAuthorization?: string | null;
  /** Written when a string, removed when null, kept when absent. */
  setupSentAt?: string | null;
  /** The spec's secretTemplate, rendered; absent: none (what an earlier template set is removed). */
  templated?: TemplatedSecret;
}

/** A referenced Secret's key; allowedUrls: the URLs its owner consents to its value being sent to. */
export type Reference =
  { found: true; value: string; allowedUrls: readonly string[] } | { found: false; problem: string };

/** Credentials kept in escrow, with the instance they belong to (as the reconciler remembers them). */
export interface Escrowed {
  credentials: { username: string; password: string; token: string };
  target: { url: string; tls: string };
}

/**
 * What the escrow holds for a resource: a copy it may have back (taken from it, the same UID, or
 * approved for its UID by an administrator of the escrow namespace), or one that needs that
 * approval first, named by the escrow Secret to annotate.
 */
export type EscrowCopy =
  { kind: 'restorable'; escrowed: Escrowed } | { kind: 'approval-needed'; secret: { namespace: string; name: string } };
