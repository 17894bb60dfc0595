// The InfluxOnboarding spec's rules (checkSpec): each field checked, with defaults, into the
// EffectiveSpec the decision reads. spec.accessFrom's rules are access-from.ts's.
import { checkAccessFrom } from './access-from.js';
import {
  checkBucketName,
  checkRetention,
  integerIn,
  isRecord,
  nonEmpty,
  oneOf,
  secretName,
  selector,
} from './fields.js';
import { DEFAULT_SECRET_TYPE, checkSecretTemplate, renderSecretTemplate } from './secret-template.js';
import type { SecretTemplate } from './template-types.js';
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  LEGACY_MAX_REQUEST_TIMEOUT_SECONDS,
  MAX_REQUEST_TIMEOUT_SECONDS,
  PENDING_PASSWORD_KEY,
  SECRET_KEYS,
  type EffectiveSpec,
  type InfluxOnboarding,
} from './types.js';

/**
 * The same rules as the CRD's OpenAPI schema and CEL rules. The API server enforces them first;
 * they are checked again here because an older CRD, a disabled validation or a hand-edited
 * object must still never let a value reach InfluxDB that could leave it half set up.
 */
export type SpecCheck =
  /** adjustments: what was changed to make a stored spec usable (each is reported once, as a Warning). */
  { ok: true; spec: EffectiveSpec; adjustments?: string[] } | { ok: false; problems: string[] };

const URL_MAX = 2048;

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

/**
 * spec.url when checkSpec accepts it (checkUrl's rules), without checking the rest of the spec:
 * what the onboarding cache's targets index files a resource under, for every object listed.
 */
export function acceptedUrl(spec: unknown): string | undefined {
  if (!isRecord(spec)) return undefined;
  const problems: string[] = [];
  const url = checkUrl(spec.url, problems);
  return problems.length === 0 ? url : undefined;
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
