// What an InfluxOnboarding's spec.accessFrom says and grants: its rules (checkAccessFrom), and the
// terms on which a namespace may use the onboarding (grantFor), with what those terms allow.
import { bucketNamePrefix, type OnboardingKey } from './access-spec.js';
import {
  DNS_SUBDOMAIN,
  RETENTION_MAX,
  checkBucketName,
  influxQLName,
  integerIn,
  isRecord,
  namespaceName,
} from './fields.js';
import {
  MIN_RETENTION_SECONDS,
  type AccessFrom,
  type AccessLimits,
  type NamespaceGrant,
  type ObjectMeta,
} from './types.js';

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

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
  const namespaces = checkNamespaces(value.namespaces, `${field}.namespaces`, problems);
  const namespaceSelector = checkNamespaceSelector(value.namespaceSelector, `${field}.namespaceSelector`, problems);
  const limits = checkLimits(value.limits, `${field}.limits`, problems);
  const grants = checkGrants(value.grants, `${field}.grants`, problems);
  return {
    ...(namespaces && { namespaces }),
    ...(namespaceSelector && { namespaceSelector }),
    ...(limits && { limits }),
    ...(grants && { grants }),
  };
}

function checkNamespaces(value: unknown, field: string, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${field}: must be a list of namespace names`);
    return undefined;
  }
  return value.map((entry, index) => namespaceName(entry, `${field}[${index}]`, problems));
}

function checkNamespaceSelector(
  value: unknown,
  field: string,
  problems: string[],
): { matchLabels: Record<string, string> } | undefined {
  if (value === undefined) return undefined;
  const labels = isRecord(value) ? value.matchLabels : undefined;
  if (
    !isRecord(value) ||
    Object.keys(value).some((key) => key !== 'matchLabels') ||
    !isRecord(labels) ||
    Object.keys(labels).length === 0
  ) {
    problems.push(`${field}: must be {matchLabels: {key: value, ...}} with at least one label`);
    return undefined;
  }
  const matchLabels: Record<string, string> = {};
  for (const [key, label] of Object.entries(labels)) {
    if (!labelKey(key))
      problems.push(
        `${field}.matchLabels: ${JSON.stringify(key)} is not a label key ([prefix/]name, name at most 63 characters)`,
      );
    else if (typeof label !== 'string' || label.length > 63 || !LABEL_VALUE.test(label)) {
      problems.push(`${field}.matchLabels.${key}: must be a label value (at most 63 letters, digits, '-', '_', '.')`);
    } else matchLabels[key] = label;
  }
  return { matchLabels };
}

/** spec.accessFrom.grants: at most one entry per namespace. */
function checkGrants(value: unknown, field: string, problems: string[]): NamespaceGrant[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > GRANTS_MAX) {
    problems.push(
      `${field}: must be a list of at most ${GRANTS_MAX} {namespace, bucketNames, adoptBuckets, databases, limits}`,
    );
    return undefined;
  }
  const seen = new Set<string>();
  return value.flatMap((entry: unknown, index) => {
    const grant = checkNamespaceGrant(entry, `${field}[${index}]`, problems);
    if (grant === undefined) return [];
    if (seen.has(grant.namespace))
      problems.push(`${field}[${index}].namespace: ${grant.namespace} is listed twice; one entry per namespace`);
    seen.add(grant.namespace);
    return [grant];
  });
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

/** What a namespace may do through an onboarding that grants it (the onboarding's own namespace: anything). */
export interface GrantTerms {
  /** The onboarding's own namespace, whose editors hold the operator token anyway: no limits, any name, adoption with spec.adopt alone. */
  home: boolean;
  /** Bucket names outside the namespace's prefix it may claim. */
  bucketNames: readonly string[];
  /** Existing unmarked buckets it may adopt. */
  adoptBuckets: readonly string[];
  /** InfluxQL database names outside the namespace's prefix its InfluxBuckets may map. */
  databases: readonly string[];
  limits: AccessLimits;
}

const HOME: GrantTerms = { home: true, bucketNames: [], adoptBuckets: [], databases: [], limits: {} };

/**
 * Whether resources in `namespace` may use the onboarding, and on what terms: its own namespace
 * always, others only when its spec.accessFrom names them (in `namespaces` or `grants`) or (with
 * their labels known) selects them.
 */
export type Grant = { granted: true; terms: GrantTerms } | { granted: false };

export function grantFor(
  onboarding: { metadata: Pick<ObjectMeta, 'namespace' | 'name'>; spec: { accessFrom?: AccessFrom } },
  namespace: string,
  namespaceLabels?: Record<string, string>,
): Grant {
  if (namespace === onboarding.metadata.namespace) return { granted: true, terms: HOME };
  const accessFrom = onboarding.spec.accessFrom;
  const limits = accessFrom?.limits ?? {};
  const entry = accessFrom?.grants?.find((grant) => grant.namespace === namespace);
  if (entry !== undefined) {
    return {
      granted: true,
      terms: {
        home: false,
        bucketNames: entry.bucketNames ?? [],
        adoptBuckets: entry.adoptBuckets ?? [],
        databases: entry.databases ?? [],
        limits: { ...limits, ...entry.limits },
      },
    };
  }
  const general: Grant = {
    granted: true,
    terms: { home: false, bucketNames: [], adoptBuckets: [], databases: [], limits },
  };
  if (accessFrom?.namespaces?.includes(namespace)) return general;
  const matchLabels = accessFrom?.namespaceSelector?.matchLabels;
  if (
    matchLabels !== undefined &&
    namespaceLabels !== undefined &&
    Object.entries(matchLabels).every(([key, value]) => namespaceLabels[key] === value)
  ) {
    return general;
  }
  return { granted: false };
}

/**
 * What a namespace without a grant is told, the same whether the onboarding exists or not, and
 * nothing of its state: who may not use an onboarding learns nothing about it.
 */
export function notGrantedMessage(onboarding: OnboardingKey, namespace: string): string {
  return `InfluxOnboarding ${onboarding.namespace}/${onboarding.name} does not exist or does not grant namespace ${namespace} access; its owners grant it in spec.accessFrom`;
}

/** Whether the grant depends on the namespace's labels (only then are they worth reading). */
export function selectsByLabel(onboarding: { spec: { accessFrom?: AccessFrom } }): boolean {
  return onboarding.spec.accessFrom?.namespaceSelector?.matchLabels !== undefined;
}

/** The limits a record change is checked against; undefined: none (the onboarding's own namespace, or none set). */
export function limitsOf(terms: GrantTerms): AccessLimits | undefined {
  return terms.home || Object.keys(terms.limits).length === 0 ? undefined : terms.limits;
}

/** Whether a namespace may claim a bucket name: its own prefix, a name its grant lists, anything in the onboarding's own namespace. */
export function mayClaimBucketName(name: string, namespace: string, terms: GrantTerms): boolean {
  return (
    terms.home ||
    name.startsWith(bucketNamePrefix(namespace)) ||
    terms.bucketNames.includes(name) ||
    terms.adoptBuckets.includes(name)
  );
}

/**
 * Whether a namespace may map an InfluxQL database: database names are org-wide, so they are
 * claimed as bucket names are (its own prefix, a name its grant lists, anything at home).
 */
export function mayClaimDatabase(database: string, namespace: string, terms: GrantTerms): boolean {
  return terms.home || database.startsWith(bucketNamePrefix(namespace)) || terms.databases.includes(database);
}

/** Why a retention is outside the grant's limits (undefined: within them). 0 is infinite, longer than any. */
export function retentionBeyondLimits(seconds: number, limits: AccessLimits): string | undefined {
  const { minRetentionSeconds: min, maxRetentionSeconds: max } = limits;
  if (min !== undefined && seconds !== 0 && seconds < min)
    return `shorter than the minimum of ${min} s (minRetentionSeconds)`;
  if (max !== undefined && (seconds === 0 || seconds > max))
    return `longer than the maximum of ${max} s (maxRetentionSeconds)${seconds === 0 ? '; 0 is infinite' : ''}`;
  return undefined;
}
