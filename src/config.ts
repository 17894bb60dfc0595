import { parseArgs } from 'node:util';
import { commaSeparated, namespaceName } from './api/fields.js';
import { MAX_REQUEST_TIMEOUT_SECONDS } from './api/types.js';
import { parseAllowedTargets, type AllowedTarget } from './influx/index.js';
import type { LogFormat, LogLevel } from './log.js';

/** Everything the operator can be told, after flags and environment have been read and checked. */
export interface Config {
  namespaces: string[];
  labelSelector?: string;
  concurrency: number;
  resyncPeriodMs: number;
  driftCheckIntervalMs: number;
  passwordCheckIntervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  reconcileTimeoutMs: number;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metricsBindAddress: string;
  metricsSecure: boolean;
  /** tls.crt and tls.key for /metrics; undefined: a self-signed certificate made at start. */
  metricsCertDir?: string;
  healthProbeBindAddress: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  shutdownTimeoutMs: number;
  allowLinkLocal: boolean;
  /** The only InfluxDB hosts and networks the operator talks to; empty: any (but link-local ones). An entry with a tenant (a namespace) is reserved for it. */
  allowedUrls: AllowedTarget[];
  /** The cluster's DNS domain: Service URLs are `<service>.<namespace>.svc.<clusterDomain>`. */
  clusterDomain: string;
  requireSecretConsent: boolean;
  /** Honour InfluxOnboarding.spec.accessFrom.namespaceSelector: watch namespaces' labels (cluster-wide). */
  namespaceLabelGrants: boolean;
  /** The namespace of the credentials escrow (the operator's own); undefined: no escrow. */
  escrowNamespace?: string;
  /** The operator's own namespace, where its access records live; undefined: each onboarding's own namespace. */
  operatorNamespace?: string;
  /** How often each onboarding's authorizations are swept for tokens that outlived their InfluxToken or grant. */
  tokenSweepIntervalMs: number;
  identity: string;
}

type ConfigResult =
  | { kind: 'run'; config: Config }
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'invalid'; problems: string[] };

interface Flag {
  name: string;
  type: 'string' | 'boolean';
  default: string;
  help: string;
}

const ENV_PREFIX = 'INFLUX_OPERATOR_';

const FLAGS: readonly Flag[] = [
  {
    name: 'namespaces',
    type: 'string',
    default: '',
    help: 'Comma-separated namespaces to watch; empty watches all (then it needs cluster-wide RBAC).',
  },
  {
    name: 'label-selector',
    type: 'string',
    default: '',
    help: 'Only reconcile InfluxOnboardings, InfluxBuckets and InfluxTokens matching this label selector (to shard across deployments).',
  },
  { name: 'concurrency', type: 'string', default: '4', help: 'Resources reconciled in parallel.' },
  {
    name: 'resync-period',
    type: 'string',
    default: '10m',
    help: 'Every resource is queued again this often, events or not.',
  },
  {
    name: 'drift-check-interval',
    type: 'string',
    default: '5m',
    help: 'How often a Ready resource checks its token and setup state (jittered by 10%).',
  },
  {
    name: 'password-check-interval',
    type: 'string',
    default: '1h',
    help: "How often a Ready resource proves the Secret's password with a sign-in (each sign-in opens a session, closed again at once).",
  },
  {
    name: 'escrow-namespace',
    type: 'string',
    default: '',
    help: "Keep a copy of each resource's credentials in a Secret of this namespace (the operator's own), restored when the resource's Secret is gone; empty: no escrow.",
  },
  {
    name: 'operator-namespace',
    type: 'string',
    default: '',
    help: "The operator's own namespace: its records of the buckets, tokens and InfluxDB users it made for each namespace live there, as ConfigMaps no tenant can write. Empty: POD_NAMESPACE; outside a pod without either, each InfluxOnboarding's own namespace.",
  },
  {
    name: 'token-sweep-interval',
    type: 'string',
    default: '10m',
    help: "How often each InfluxOnboarding's authorizations are swept: one whose InfluxToken is gone (read from the API server), was re-created, or whose namespace lost its grant is deleted (also at once when an InfluxToken or the grant goes).",
  },
  {
    name: 'backoff-base',
    type: 'string',
    default: '5ms',
    help: 'First retry delay of a failing resource; doubles per failure.',
  },
  { name: 'backoff-max', type: 'string', default: '1000s', help: 'Longest retry delay of a failing resource.' },
  {
    name: 'reconcile-timeout',
    type: 'string',
    default: '2m',
    help: 'Deadline of one reconcile: whatever it still waits for is abandoned then (as after a timeout) and the resource is retried with backoff. At least 60s: one request to InfluxDB may take spec.requestTimeoutSeconds, up to 60 s.',
  },
  {
    name: 'leader-elect',
    type: 'boolean',
    default: 'false',
    help: 'Elect a leader through a Lease so only one replica reconciles.',
  },
  {
    name: 'leader-election-namespace',
    type: 'string',
    default: '',
    help: "Namespace of the Lease; defaults to the pod's namespace (POD_NAMESPACE).",
  },
  { name: 'leader-election-id', type: 'string', default: 'influx-onboarding-operator', help: 'Name of the Lease.' },
  {
    name: 'lease-duration',
    type: 'string',
    default: '15s',
    help: 'How long a leader holds the Lease without renewing.',
  },
  {
    name: 'renew-deadline',
    type: 'string',
    default: '10s',
    help: 'A leader that cannot renew within this stops reconciling.',
  },
  {
    name: 'retry-period',
    type: 'string',
    default: '2s',
    help: 'How often candidates try to acquire or renew the Lease.',
  },
  { name: 'metrics-bind-address', type: 'string', default: ':8443', help: 'Address of /metrics; "0" turns it off.' },
  {
    name: 'metrics-secure',
    type: 'boolean',
    default: 'true',
    help: 'Serve /metrics over HTTPS to bearer tokens allowed to get /metrics (TokenReview and SubjectAccessReview; needs create on both). false: plain HTTP that anyone who reaches the port can read (weaker).',
  },
  {
    name: 'metrics-cert-dir',
    type: 'string',
    default: '',
    help: 'Directory with tls.crt and tls.key for /metrics (a mounted kubernetes.io/tls Secret, e.g. from cert-manager; re-read every minute). Empty: a self-signed certificate made at start.',
  },
  {
    name: 'health-probe-bind-address',
    type: 'string',
    default: ':8081',
    help: 'Address of /healthz and /readyz; "0" turns it off.',
  },
  { name: 'log-level', type: 'string', default: 'info', help: 'error, warn, info or debug.' },
  { name: 'log-format', type: 'string', default: 'json', help: 'json or text.' },
  {
    name: 'shutdown-timeout',
    type: 'string',
    default: '30s',
    help: 'How long in-flight reconciles may run after SIGTERM.',
  },
  {
    name: 'allow-link-local',
    type: 'boolean',
    default: 'false',
    help: 'Allow InfluxDB URLs that resolve to link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata).',
  },
  {
    name: 'allowed-urls',
    type: 'string',
    default: '',
    help: 'Comma-separated InfluxDB targets the operator may talk to, each a host pattern (influxdb.data.svc, *.monitoring.svc) or an IP/CIDR (10.0.0.0/8) with an optional :port ([fd00::/8]:8086 for IPv6); a name matches a CIDR when every address it resolves to at connect time lies in it. An entry prefixed NAMESPACE= (team-a=influx.example.com:8086) is reserved for that namespace: only its resources may target what it matches. Empty: any.',
  },
  {
    name: 'cluster-domain',
    type: 'string',
    default: 'cluster.local',
    help: "The cluster's DNS domain: a URL naming <service>.<namespace>.svc.<domain> (or a shorter form of it) targets that namespace's Service, and is looked up by that absolute name.",
  },
  {
    name: 'require-secret-consent',
    type: 'boolean',
    default: 'true',
    help: 'Send a value from passwordSecretRef, tokenSecretRef or authTokenSecretRef only to a URL its Secret names in the annotation influxdb.onboarding.dev/allowed-urls. false is weaker: whoever may edit an InfluxOnboarding can then send any such value to any URL.',
  },
  {
    name: 'namespace-label-grants',
    type: 'boolean',
    default: 'false',
    help: 'Let InfluxOnboarding.spec.accessFrom.namespaceSelector grant namespaces by their labels. Watches the metadata of every namespace (needs list/watch on namespaces, cluster-wide). false: a selector grants nothing.',
  },
];

function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

function helpText(): string {
  const lines = FLAGS.map((flag) => {
    const usage = flag.type === 'boolean' ? `--${flag.name}[=true|false]` : `--${flag.name}=<value>`;
    return `  ${usage}\n      ${flag.help} (default: ${flag.default === '' ? 'empty' : flag.default}; env ${envName(flag.name)})`;
  });
  return [
    'influx-onboarding-operator: onboards InfluxDB 2.x instances declared as InfluxOnboarding resources.',
    '',
    'Usage: influx-onboarding-operator [flags]',
    '',
    'Connects with the in-cluster service account inside a pod, else with KUBECONFIG or ~/.kube/config.',
    'Durations take a unit: 500ms, 30s, 5m, 1h. Every flag can also be set by its environment variable.',
    '',
    'Flags:',
    ...lines,
    '  --version',
    '      Print the version and exit.',
    '  --help',
    '      Print this help and exit.',
  ].join('\n');
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000));
}

/** Reads flags (which win) and INFLUX_OPERATOR_* environment variables into a checked Config. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ConfigResult {
  const parsed = parseFlags(argv);
  if ('kind' in parsed) return parsed;
  const flags = new FlagReader(parsed.values, parsed.assignedBooleans, env);
  const config = readConfig(flags, env);
  return flags.problems.length > 0 ? { kind: 'invalid', problems: flags.problems } : { kind: 'run', config };
}

/** The flags as given, with boolean flags of the `--name=value` form apart; help, version or a parse error end here. */
function parseFlags(
  argv: readonly string[],
): ConfigResult | { values: Record<string, string | boolean | undefined>; assignedBooleans: Map<string, string> } {
  // parseArgs refuses `--leader-elect=false`, the form Kubernetes manifests use: take those apart first.
  const booleanNames = new Set(FLAGS.filter((flag) => flag.type === 'boolean').map((flag) => flag.name));
  const assignedBooleans = new Map<string, string>();
  const rest = argv.filter((arg) => {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match || !booleanNames.has(match[1] ?? '')) return true;
    assignedBooleans.set(match[1] ?? '', match[2] ?? '');
    return false;
  });
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries([
      ...FLAGS.map((flag) => [flag.name, { type: flag.type }] as const),
      ['help', { type: 'boolean' }] as const,
      ['version', { type: 'boolean' }] as const,
    ]);
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    return { kind: 'invalid', problems: [`${(error as Error).message}. See --help.`] };
  }
  if (values.help === true) return { kind: 'help', text: helpText() };
  if (values.version === true) return { kind: 'version' };
  return { values, assignedBooleans };
}

/** Each flag's value (given, else its environment variable, else its default) as the type it has; problems are collected. */
class FlagReader {
  readonly problems: string[] = [];

  constructor(
    private readonly values: Record<string, string | boolean | undefined>,
    private readonly assignedBooleans: Map<string, string>,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  raw(name: string): string {
    const value = this.values[name];
    if (typeof value === 'boolean') return String(value);
    if (typeof value === 'string') return value;
    return this.env[envName(name)] ?? FLAGS.find((flag) => flag.name === name)?.default ?? '';
  }

  bool(name: string): boolean {
    const text = this.assignedBooleans.get(name) ?? this.raw(name);
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0' || text === '') return false;
    this.problems.push(`--${name}: must be true or false; got ${JSON.stringify(text)}`);
    return false;
  }

  /** `atLeast`: the shortest allowed, as text (e.g. '60s'), and why. */
  duration(name: string, atLeast?: { text: string; why: string }): number {
    const text = this.raw(name);
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      this.problems.push(
        `--${name}: must be a positive duration such as 500ms, 30s, 5m or 1h; got ${JSON.stringify(text)}`,
      );
      return 1;
    }
    if (atLeast !== undefined && ms < (parseDuration(atLeast.text) ?? 0)) {
      this.problems.push(`--${name}: must be at least ${atLeast.text}, ${atLeast.why}; got ${JSON.stringify(text)}`);
    }
    return ms;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const text = this.raw(name);
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problems.push(`--${name}: must be one of ${allowed.join(', ')}; got ${JSON.stringify(text)}`);
    return allowed[0];
  }
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// `team-a=influx.example.com:8086`: what follows `=` may hold no `=` itself.
const RESERVED_ENTRY = /^([^=]*)=([^=]*)$/;

/** --allowed-urls: the influx allow-list's entries, each optionally reserved for a namespace by a `NAMESPACE=` prefix. */
function parseAllowedUrls(entries: readonly string[], problems: string[]): AllowedTarget[] {
  const targets: AllowedTarget[] = [];
  for (const entry of entries) {
    const reserved = RESERVED_ENTRY.exec(entry);
    const tenant = reserved
      ? namespaceName(reserved[1], `--allowed-urls: the prefix of ${JSON.stringify(entry)}`, problems)
      : undefined;
    const parsed = parseAllowedTargets([reserved ? (reserved[2] ?? '') : entry]);
    if (!parsed.ok) problems.push(...parsed.problems.map((problem) => `--allowed-urls: ${problem}`));
    else if (tenant !== '')
      targets.push(...parsed.targets.map((target) => ({ ...target, ...(tenant !== undefined && { tenant }) })));
  }
  return targets;
}

function readConfig(flags: FlagReader, env: NodeJS.ProcessEnv): Config {
  const { problems } = flags;
  const concurrencyText = flags.raw('concurrency');
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    problems.push(`--concurrency: must be an integer from 1 to 1000; got ${JSON.stringify(concurrencyText)}`);
  }
  const labelSelector = flags.raw('label-selector').trim();
  const escrowNamespace = flags.raw('escrow-namespace').trim();
  if (escrowNamespace !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(escrowNamespace)) {
    problems.push(
      `--escrow-namespace: must be a namespace name (lowercase DNS label); got ${JSON.stringify(escrowNamespace)}`,
    );
  }
  const operatorNamespace = flags.raw('operator-namespace').trim() || env.POD_NAMESPACE || undefined;
  if (operatorNamespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(operatorNamespace)) {
    problems.push(
      `--operator-namespace: must be a namespace name (lowercase DNS label); got ${JSON.stringify(operatorNamespace)}`,
    );
  }
  const allowedUrls = parseAllowedUrls(commaSeparated(flags.raw('allowed-urls')), problems);
  const clusterDomain = flags.raw('cluster-domain').trim().toLowerCase().replace(/\.$/, '');
  if (!DNS_NAME.test(clusterDomain)) {
    problems.push(
      `--cluster-domain: must be a DNS name such as cluster.local; got ${JSON.stringify(flags.raw('cluster-domain'))}`,
    );
  }
  const reconcileTimeoutMs = flags.duration('reconcile-timeout', {
    text: `${MAX_REQUEST_TIMEOUT_SECONDS}s`,
    why: `the longest single request to InfluxDB (spec.requestTimeoutSeconds is at most ${MAX_REQUEST_TIMEOUT_SECONDS})`,
  });
  const backoffBaseMs = flags.duration('backoff-base');
  const backoffMaxMs = flags.duration('backoff-max');
  if (backoffBaseMs > backoffMaxMs) problems.push('--backoff-base: must not exceed --backoff-max');
  return {
    namespaces: commaSeparated(flags.raw('namespaces')),
    ...(labelSelector !== '' && { labelSelector }),
    ...(escrowNamespace !== '' && { escrowNamespace }),
    ...(operatorNamespace !== undefined && { operatorNamespace }),
    tokenSweepIntervalMs: flags.duration('token-sweep-interval'),
    concurrency,
    resyncPeriodMs: flags.duration('resync-period'),
    driftCheckIntervalMs: flags.duration('drift-check-interval'),
    passwordCheckIntervalMs: flags.duration('password-check-interval'),
    backoffBaseMs,
    backoffMaxMs,
    reconcileTimeoutMs,
    ...readLeaderElection(flags, env),
    ...readServing(flags),
    logLevel: flags.oneOf('log-level', ['info', 'error', 'warn', 'debug'] as const),
    logFormat: flags.oneOf('log-format', ['json', 'text'] as const),
    shutdownTimeoutMs: flags.duration('shutdown-timeout'),
    allowLinkLocal: flags.bool('allow-link-local'),
    allowedUrls,
    clusterDomain,
    requireSecretConsent: flags.bool('require-secret-consent'),
    namespaceLabelGrants: flags.bool('namespace-label-grants'),
    identity: env.POD_NAME ?? `${process.pid}@${env.HOSTNAME ?? 'local'}`,
  };
}

function readLeaderElection(
  flags: FlagReader,
  env: NodeJS.ProcessEnv,
): Pick<
  Config,
  | 'leaderElect'
  | 'leaderElectionNamespace'
  | 'leaderElectionId'
  | 'leaseDurationMs'
  | 'renewDeadlineMs'
  | 'retryPeriodMs'
> {
  const { problems } = flags;
  const leaderElect = flags.bool('leader-elect');
  const leaderElectionNamespace = flags.raw('leader-election-namespace') || env.POD_NAMESPACE || undefined;
  if (leaderElect && leaderElectionNamespace === undefined) {
    problems.push('--leader-election-namespace: required with --leader-elect outside a pod (POD_NAMESPACE is not set)');
  }
  const leaseDurationMs = flags.duration('lease-duration');
  const renewDeadlineMs = flags.duration('renew-deadline');
  const retryPeriodMs = flags.duration('retry-period');
  if (renewDeadlineMs >= leaseDurationMs) problems.push('--renew-deadline: must be shorter than --lease-duration');
  if (retryPeriodMs >= renewDeadlineMs) problems.push('--retry-period: must be shorter than --renew-deadline');
  return {
    leaderElect,
    ...(leaderElectionNamespace !== undefined && { leaderElectionNamespace }),
    leaderElectionId: flags.raw('leader-election-id'),
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  };
}

function readServing(
  flags: FlagReader,
): Pick<Config, 'metricsBindAddress' | 'metricsSecure' | 'metricsCertDir' | 'healthProbeBindAddress'> {
  const metricsSecure = flags.bool('metrics-secure');
  const metricsCertDir = flags.raw('metrics-cert-dir').trim();
  if (metricsCertDir !== '' && !metricsSecure)
    flags.problems.push('--metrics-cert-dir: only with --metrics-secure=true (plain HTTP uses no certificate)');
  return {
    metricsBindAddress: flags.raw('metrics-bind-address'),
    metricsSecure,
    ...(metricsCertDir !== '' && { metricsCertDir }),
    healthProbeBindAddress: flags.raw('health-probe-bind-address'),
  };
}
