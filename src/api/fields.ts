// The field checks every spec check shares (the onboarding's, the access kinds', the templates'):
// one value, the field it came from, and the list its problems go to; each problem names the field
// and what is allowed.
import { MIN_RETENTION_SECONDS, type SecretKeySelector } from './types.js';

export const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The entries of a comma-separated list (a flag, an annotation), trimmed, empty ones dropped. */
export function commaSeparated(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

export function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T,
  field: string,
  problems: string[],
): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${field}: must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return fallback;
}

const NAME_MAX = 256;

// InfluxDB multiplies seconds into int64 nanoseconds; anything larger wraps to a negative duration.
export const RETENTION_MAX = 9_223_372_036;

export function nonEmpty(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length > 0 && value.length <= NAME_MAX) return value;
  problems.push(`${field}: required, a non-empty string of at most ${NAME_MAX} characters`);
  return '';
}

export function secretName(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value)) return value;
  problems.push(`${field}: must be a Secret name in this namespace (lowercase DNS subdomain, at most 253 characters)`);
  return '';
}

export function selector(value: unknown, field: string, problems: string[]): SecretKeySelector | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object with name and key`);
    return undefined;
  }
  const name = secretName(value.name, `${field}.name`, problems);
  const key = value.key;
  if (typeof key !== 'string' || key.length === 0 || key.length > 253 || !SECRET_DATA_KEY.test(key)) {
    problems.push(`${field}.key: must be a Secret data key (letters, digits, '-', '_', '.')`);
    return undefined;
  }
  return { name, key };
}

export function integerIn(
  value: unknown,
  field: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  problems.push(`${field}: must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
  return fallback;
}

/** A bucket name InfluxDB accepts, as spec.bucket of InfluxOnboarding and spec.name of InfluxBucket. */
export function checkBucketName(value: unknown, field: string, problems: string[]): string {
  const bucket = nonEmpty(value, field, problems);
  if (bucket.startsWith('_')) problems.push(`${field}: must not start with "_" (InfluxDB reserves those names)`);
  if (bucket.includes('"')) problems.push(`${field}: must not contain a double quote (")`);
  return bucket;
}

const INFLUXQL_NAME = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * An InfluxQL database or retention policy name: 1 to 255 of `[A-Za-z0-9._-]`, not `.` or `..`.
 * InfluxDB allows more, but its own message names these, and they are safe in every client's config.
 */
export function influxQLName(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && INFLUXQL_NAME.test(value) && value !== '.' && value !== '..') return value;
  problems.push(`${field}: 1 to 255 letters, digits, '.', '_' or '-' (not "." or ".."); got ${JSON.stringify(value)}`);
  return '';
}

/** 0 (infinite) or at least an hour, as InfluxDB accepts; undefined is 0. */
export function checkRetention(value: unknown, problems: string[]): number {
  const field = 'spec.retentionPeriodSeconds';
  if (value === undefined) return 0;
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    (value === 0 || (value >= MIN_RETENTION_SECONDS && value <= RETENTION_MAX))
  ) {
    return value;
  }
  problems.push(
    `${field}: must be 0 (infinite) or an integer from ${MIN_RETENTION_SECONDS} (1h) to ${RETENTION_MAX}; got ${JSON.stringify(value)}`,
  );
  return 0;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A namespace name (a DNS label of at most 63 characters). */
export function namespaceName(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value)) return value;
  problems.push(
    `${field}: must be a namespace name (lowercase letters, digits and '-', at most 63 characters); got ${JSON.stringify(value)}`,
  );
  return '';
}
