import type { SetupRequest } from './types.js';

const MIN_PASSWORD_BYTES = 8;
// bcrypt ignores everything past 72 bytes; InfluxDB 2.7.6+ refuses longer passwords.
const MAX_PASSWORD_BYTES = 72;
const MIN_RETENTION_SECONDS = 3600;

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/**
 * Finds what InfluxDB would refuse, and what it would refuse only after creating the user and
 * org (bucket name, retention): such a request leaves the instance half set up for good, so it
 * must never be sent. Returns the problem, naming the field and what is allowed, or undefined.
 */
export function findSetupRequestProblem(request: SetupRequest): string | undefined {
  if (!isNonEmptyString(request.username)) return 'username must be a non-empty string';
  if (typeof request.password !== 'string') return 'password must be a string';
  const passwordBytes = Buffer.byteLength(request.password, 'utf8');
  if (passwordBytes < MIN_PASSWORD_BYTES || passwordBytes > MAX_PASSWORD_BYTES) {
    return `password must be ${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes long (UTF-8)`;
  }
  if (!isNonEmptyString(request.org)) return 'org must be a non-empty string';
  if (!isNonEmptyString(request.bucket)) return 'bucket must be a non-empty string';
  if (request.bucket.startsWith('_')) return "bucket must not start with '_' (reserved for system buckets)";
  if (request.bucket.includes('"')) return 'bucket must not contain a double quote (")';
  const retention = request.retentionPeriodSeconds;
  if (!Number.isSafeInteger(retention) || (retention !== 0 && retention < MIN_RETENTION_SECONDS)) {
    return `retentionPeriodSeconds must be 0 (infinite) or an integer of at least ${MIN_RETENTION_SECONDS}`;
  }
  if (!isNonEmptyString(request.token)) return 'token must be a non-empty string';
  return undefined;
}
