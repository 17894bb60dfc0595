import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  LEGACY_MAX_REQUEST_TIMEOUT_SECONDS,
  MAX_REQUEST_TIMEOUT_SECONDS,
  MIN_RETENTION_SECONDS,
  PENDING_PASSWORD_KEY,
  SECRET_KEYS,
  type EffectiveSpec,
  type InfluxOnboarding,
  type SecretKeySelector,
  type AccessFrom,
  type AccessLimits,
  type NamespaceGrant,
} from './types.js';
import { SECRET_DATA_KEY, isRecord } from './basics.js';
import { DEFAULT_SECRET_TYPE, checkSecretTemplate, renderSecretTemplate } from './secret-template.js';
import type { SecretTemplate } from './template-types.js';

export { SECRET_DATA_KEY, isRecord };

/**
 * The same rules as the CRD's OpenAPI schema and CEL rules. The API server enforces them first;
 * they are checked again here because an older CRD, a disabled validation or a hand-edited
 * object must still never let a value reach InfluxDB that could leave it half set up.
 */
export type SpecCheck =
  /** adjustments: what was changed to make a stored spec usable (each is reported once, as a Warning). */
  { ok: true; spec: EffectiveSpec; adjustments?: string[] } | { ok: false; problems: string[] };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

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
const URL_MAX = 2048;
// InfluxDB multiplies seconds into int64 nanoseconds; anything larger wraps to a negative duration.
const RETENTION_MAX = 9_223_372_036;

function nonEmpty(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length > 0 && value.length <= NAME_MAX) return value;
  problems.push(`${field}: required, a non-empty string of at most ${NAME_MAX} characters`);
  return '';
}

export function secretName(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value)) return value;
  problems.push(`${field}: must be a Secret name in this namespace (lowercase DNS subdomain, at most 253 characters)`);
  return '';
}

function selector(value: unknown, field: string, problems: string[]): SecretKeySelector | undefined {
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

function checkUrl(value: unknown, problems: string[]): string {
  const field = 'spec.url';
  if (typeof value !== 'string' || value.length === 0 || value.length > URL_MAX) {
    problems.push(`${field}: required, an http:// or https:// URL of at most ${URL_MAX} characters`);
    return '';
  }

  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    problems.push(`${field}: must be an absolute http:// or https:// URL; got an unparsable value`);
    return '';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`${field}: scheme must be http or https; got ${parsed.protocol.replace(/:$/, '')}`);
  } else if (!/^https?:\/\//i.test(value)) {
    // WHATWG URL parsing forgives what Kubernetes' CEL url() refuses (http:host, http:/host).
    problems.push(`${field}: must start with http:// or https://`);
  } else if (
    parsed.username !== '' ||
    parsed.password !== '' ||
    (value.slice(value.indexOf('//') + 2).split('/')[0] ?? '').includes('@')
  ) {
    problems.push(`${field}: must not carry user information; use passwordSecretRef and tokenSecretRef`);
  } else if (parsed.search !== '' || parsed.hash !== '' || value.includes('?') || value.includes('#')) {
    problems.push(`${field}: must not have a query or fragment`);
  } else if (parsed.hostname === '') {
    problems.push(`${field}: must name a host`);
  }
  return value;
}

/** A bucket name InfluxDB accepts, as spec.bucket of InfluxOnboarding and spec.name of InfluxBucket. */
export function checkBucketName(value: unknown, field: string, problems: string[]): string {
  const bucket = nonEmpty(value, field, problems);
  if (bucket.startsWith('_')) problems.push(`${field}: must not start with "_" (InfluxDB reserves those names)`);
  if (bucket.includes('"')) problems.push(`${field}: must not contain a double quote (")`);
  return bucket;
}

/** The values a template of the credentials Secret may read (the operator's own username and password are not among them). */
const CREDENTIALS_TEMPLATE_VALUES = { url: '', org: '', bucket: '', token: '' };

/**
 * spec.secretTemplate: InfluxToken's rules (src/api/secret-template.ts), over the values url, org,
 * bucket and token. The credentials Secret stays Opaque: it holds the operator token and is never
 * replaced, so a type it cannot have is refused here rather than met later.
 */
function checkCredentialsTemplate(value: unknown, problems: string[]): SecretTemplate | undefined {
  const field = 'spec.secretTemplate';
  const template = checkSecretTemplate(value, field, [...SECRET_KEYS, PENDING_PASSWORD_KEY], problems);
  if (template === undefined) return undefined;
  if (template.type !== DEFAULT_SECRET_TYPE)
    problems.push(
      `${field}.type: the credentials Secret stays ${DEFAULT_SECRET_TYPE}; an InfluxToken's Secret may have another type`,
    );
  const rendered = renderSecretTemplate(template, CREDENTIALS_TEMPLATE_VALUES, field);
  if (!rendered.ok) problems.push(...rendered.problems);
  return template;
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

/**
 * spec.requestTimeoutSeconds, 1 to MAX_REQUEST_TIMEOUT_SECONDS. A larger value up to what an older
 * CRD allowed may still be stored (the API server keeps an unchanged field that a newer schema
 * refuses): it is clamped to the maximum, and the adjustment said, rather than refused.
 */
function checkRequestTimeout(value: unknown, problems: string[], adjustments: string[]): number {
  const field = 'spec.requestTimeoutSeconds';
  const max = MAX_REQUEST_TIMEOUT_SECONDS;
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value > max &&
    value <= LEGACY_MAX_REQUEST_TIMEOUT_SECONDS
  ) {
    adjustments.push(
      `${field} is ${value}, above the maximum of ${max} (older versions allowed up to ${LEGACY_MAX_REQUEST_TIMEOUT_SECONDS}): ${max} is used; set it to at most ${max}`,
    );
    return max;
  }
  return integerIn(value, field, DEFAULT_REQUEST_TIMEOUT_SECONDS, 1, max, problems);
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
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A namespace name (a DNS label of at most 63 characters). */
export function namespaceName(value: unknown, field: string, problems: string[]): string {
  if (typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value)) return value;
  problems.push(
    `${field}: must be a namespace name (lowercase letters, digits and '-', at most 63 characters); got ${JSON.stringify(value)}`,
  );
  return '';
}

function labelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  return prefixOk && name.length <= 63 && LABEL_NAME.test(name);
}

/** spec.accessFrom of an InfluxOnboarding: namespaces by name, by label and with terms of their own, all optional. */
export function checkAccessFrom(value: unknown, problems: string[]): AccessFrom | undefined {
  const field = 'spec.accessFrom';
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object with namespaces, namespaceSelector, limits and/or grants`);
    return undefined;
  }
  const accessFrom: AccessFrom = {};
  if (value.namespaces !== undefined) {
    if (Array.isArray(value.namespaces)) {
      accessFrom.namespaces = value.namespaces.map((entry, index) =>
        namespaceName(entry, `${field}.namespaces[${index}]`, problems),
      );
    } else {
      problems.push(`${field}.namespaces: must be a list of namespace names`);
    }
  }
  const selector = value.namespaceSelector;
  if (selector !== undefined) {
    const labels = isRecord(selector) ? selector.matchLabels : undefined;
    if (
      !isRecord(selector) ||
      Object.keys(selector).some((key) => key !== 'matchLabels') ||
      !isRecord(labels) ||
      Object.keys(labels).length === 0
    ) {
      problems.push(`${field}.namespaceSelector: must be {matchLabels: {key: value, ...}} with at least one label`);
    } else {
      const matchLabels: Record<string, string> = {};
      for (const [key, label] of Object.entries(labels)) {
        if (!labelKey(key))
          problems.push(
            `${field}.namespaceSelector.matchLabels: ${JSON.stringify(key)} is not a label key ([prefix/]name, name at most 63 characters)`,
          );
        else if (typeof label !== 'string' || label.length > 63 || !LABEL_VALUE.test(label)) {
          problems.push(
            `${field}.namespaceSelector.matchLabels.${key}: must be a label value (at most 63 letters, digits, '-', '_', '.')`,
          );
        } else matchLabels[key] = label;
      }
      accessFrom.namespaceSelector = { matchLabels };
    }
  }
  const limits = checkLimits(value.limits, `${field}.limits`, problems);
  if (limits !== undefined) accessFrom.limits = limits;
  if (value.grants !== undefined) {
    if (!Array.isArray(value.grants) || value.grants.length > GRANTS_MAX) {
      problems.push(
        `${field}.grants: must be a list of at most ${GRANTS_MAX} {namespace, bucketNames, adoptBuckets, databases, limits}`,
      );
    } else {
      const seen = new Set<string>();
      accessFrom.grants = value.grants.flatMap((entry: unknown, index) => {
        const grant = checkNamespaceGrant(entry, `${field}.grants[${index}]`, problems);
        if (grant === undefined) return [];
        if (seen.has(grant.namespace))
          problems.push(
            `${field}.grants[${index}].namespace: ${grant.namespace} is listed twice; one entry per namespace`,
          );
        seen.add(grant.namespace);
        return [grant];
      });
    }
  }
  return accessFrom;
}

const GRANTS_MAX = 256;
/** The largest maxBuckets or maxTokens (a record holds a few thousand entries at most). */
const MAX_LIMIT = 5000;
const GRANT_BUCKETS_MAX = 256;

function checkNamespaceGrant(value: unknown, field: string, problems: string[]): NamespaceGrant | undefined {
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object {namespace, bucketNames, adoptBuckets, databases, limits}`);
    return undefined;
  }
  const grant: NamespaceGrant = { namespace: namespaceName(value.namespace, `${field}.namespace`, problems) };
  for (const key of ['bucketNames', 'adoptBuckets'] as const) {
    const names = value[key];
    if (names === undefined) continue;
    if (!Array.isArray(names) || names.length > GRANT_BUCKETS_MAX) {
      problems.push(`${field}.${key}: must be a list of at most ${GRANT_BUCKETS_MAX} bucket names`);
      continue;
    }
    grant[key] = names.map((name: unknown, index) => checkBucketName(name, `${field}.${key}[${index}]`, problems));
  }
  if (value.databases !== undefined) {
    if (!Array.isArray(value.databases) || value.databases.length > GRANT_BUCKETS_MAX)
      problems.push(`${field}.databases: must be a list of at most ${GRANT_BUCKETS_MAX} InfluxQL database names`);
    else
      grant.databases = value.databases.map((name: unknown, index) =>
        influxQLName(name, `${field}.databases[${index}]`, problems),
      );
  }
  const limits = checkLimits(value.limits, `${field}.limits`, problems);
  if (limits !== undefined) grant.limits = limits;
  return grant;
}

function checkLimits(value: unknown, field: string, problems: string[]): AccessLimits | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object {maxBuckets, maxTokens, minRetentionSeconds, maxRetentionSeconds}`);
    return undefined;
  }
  const limits: AccessLimits = {};
  const count = (key: 'maxBuckets' | 'maxTokens') => {
    if (value[key] !== undefined) limits[key] = integerIn(value[key], `${field}.${key}`, 0, 0, MAX_LIMIT, problems);
  };
  count('maxBuckets');
  count('maxTokens');
  if (value.minRetentionSeconds !== undefined)
    limits.minRetentionSeconds = integerIn(
      value.minRetentionSeconds,
      `${field}.minRetentionSeconds`,
      0,
      0,
      RETENTION_MAX,
      problems,
    );
  if (value.maxRetentionSeconds !== undefined) {
    limits.maxRetentionSeconds = integerIn(
      value.maxRetentionSeconds,
      `${field}.maxRetentionSeconds`,
      RETENTION_MAX,
      MIN_RETENTION_SECONDS,
      RETENTION_MAX,
      problems,
    );
  }
  const { minRetentionSeconds: min, maxRetentionSeconds: max } = limits;
  if (min !== undefined && max !== undefined && min > max)
    problems.push(`${field}.minRetentionSeconds: must not exceed maxRetentionSeconds (${min} > ${max})`);
  return limits;
}

/** The credentials Secret's name when spec.credentialsSecret.name is not set. */
export function defaultCredentialsSecretName(resourceName: string): string {
  return `${resourceName}-influxdb`;
}

/** spec.credentialsSecret: the Secret's name (by default from the resource's) and what happens to it with the resource. */
function checkCredentialsSecret(
  spec: Record<string, unknown>,
  resourceName: string,
  problems: string[],
): Pick<EffectiveSpec, 'credentialsSecretName' | 'deletionPolicy'> {
  const credentials = spec.credentialsSecret;
  if (credentials !== undefined && !isRecord(credentials)) problems.push('spec.credentialsSecret: must be an object');
  const record = isRecord(credentials) ? credentials : {};
  const credentialsSecretName =
    record.name === undefined
      ? defaultCredentialsSecretName(resourceName)
      : secretName(record.name, 'spec.credentialsSecret.name', problems);
  const deletionPolicy = oneOf(
    record.deletionPolicy,
    ['Retain', 'Delete'] as const,
    'Retain',
    'spec.credentialsSecret.deletionPolicy',
    problems,
  );
  return { credentialsSecretName, deletionPolicy };
}

/** spec.tls: the CA to trust, and whether to verify at all. */
function checkTls(
  spec: Record<string, unknown>,
  problems: string[],
): Pick<EffectiveSpec, 'caSecretRef' | 'insecureSkipVerify'> {
  const tls = spec.tls;
  if (tls !== undefined && !isRecord(tls)) problems.push('spec.tls: must be an object');
  const record = isRecord(tls) ? tls : {};
  const caSecretRef = selector(record.caSecretRef, 'spec.tls.caSecretRef', problems);
  const skip = record.insecureSkipVerify;
  if (skip !== undefined && typeof skip !== 'boolean')
    problems.push('spec.tls.insecureSkipVerify: must be true or false');
  return { ...(caSecretRef && { caSecretRef }), insecureSkipVerify: skip === true };
}

export function checkSpec(resource: Pick<InfluxOnboarding, 'metadata' | 'spec'>): SpecCheck {
  const problems: string[] = [];
  const adjustments: string[] = [];
  const spec: unknown = resource.spec;
  if (!isRecord(spec)) return { ok: false, problems: ['spec: required'] };

  const url = checkUrl(spec.url, problems);
  const username = nonEmpty(spec.username, 'spec.username', problems);
  const org = nonEmpty(spec.org, 'spec.org', problems);
  const bucket = checkBucketName(spec.bucket, 'spec.bucket', problems);
  const retentionPeriodSeconds = checkRetention(spec.retentionPeriodSeconds, problems);
  const passwordSecretRef = selector(spec.passwordSecretRef, 'spec.passwordSecretRef', problems);
  const tokenSecretRef = selector(spec.tokenSecretRef, 'spec.tokenSecretRef', problems);
  const authTokenSecretRef = selector(spec.authTokenSecretRef, 'spec.authTokenSecretRef', problems);

  const { credentialsSecretName, deletionPolicy } = checkCredentialsSecret(spec, resource.metadata.name, problems);
  const { caSecretRef, insecureSkipVerify } = checkTls(spec, problems);
  const mode = oneOf(spec.mode, ['Setup', 'SetupUser'] as const, 'Setup', 'spec.mode', problems);
  if (mode === 'SetupUser' && authTokenSecretRef === undefined) {
    problems.push(
      'spec.authTokenSecretRef: required when spec.mode is SetupUser (a token allowed to create users, orgs and buckets)',
    );
  }
  const resetPolicy = oneOf(
    spec.resetPolicy,
    ['Reonboard', 'Report'] as const,
    'Reonboard',
    'spec.resetPolicy',
    problems,
  );
  const requestTimeoutSeconds = checkRequestTimeout(spec.requestTimeoutSeconds, problems, adjustments);
  const accessFrom = checkAccessFrom(spec.accessFrom, problems);
  const secretTemplate = checkCredentialsTemplate(spec.secretTemplate, problems);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      url,
      username,
      org,
      bucket,
      retentionPeriodSeconds,
      ...(passwordSecretRef && { passwordSecretRef }),
      ...(tokenSecretRef && { tokenSecretRef }),
      ...(authTokenSecretRef && { authTokenSecretRef }),
      credentialsSecretName,
      deletionPolicy,
      ...(caSecretRef && { caSecretRef }),
      insecureSkipVerify,
      mode,
      resetPolicy,
      requestTimeoutSeconds,
      ...(accessFrom && { accessFrom }),
      ...(secretTemplate && { secretTemplate }),
    },
    ...(adjustments.length > 0 && { adjustments }),
  };
}

/**
 * A URL as compared with another the same resource's author wrote (an approval, a consent): two
 * URLs that differ only in letter case of scheme and host, a default port or a trailing slash
 * name the same server. (Which instance a URL reaches, whatever its spelling, and whose it is:
 * onboarding/instance.ts.)
 */
export function instanceKey(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/**
 * Whether two URLs name the same instance (see instanceKey). False when either is not a URL: a
 * hand-written annotation or Secret value that cannot be read never approves anything.
 */
export function sameInstance(a: string, b: string): boolean {
  try {
    return instanceKey(a) === instanceKey(b);
  } catch {
    return false;
  }
}

/** The TLS settings credentials are bound to, as one readable value, e.g. `caSecretRef=influx-ca/ca.crt,insecureSkipVerify=false`. */
export function tlsSettings(spec: Pick<EffectiveSpec, 'caSecretRef' | 'insecureSkipVerify'>): string {
  const ca = spec.caSecretRef === undefined ? 'none' : `${spec.caSecretRef.name}/${spec.caSecretRef.key}`;
  return `caSecretRef=${ca},insecureSkipVerify=${spec.insecureSkipVerify}`;
}
