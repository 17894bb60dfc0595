// Shared pieces of the controller-runtime integration tests (test/integration/runtime-*.test.ts),
// on top of test/support/onboarding.ts (control plane, CRD, namespaces, resources): InfluxOnboardings
// pointed at in-process InfluxDB stand-ins, operators (optionally behind an API tap), and readers
// for the operator's 'reconciled' records and Prometheus text.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type InfluxOnboarding } from '../../src/api/types.js';
import { startApiTap, type ApiTap } from './api-tap.js';
import { startInfluxStandin, type InfluxStandin } from './influx-standin.js';
import { SecretLedger, assertNoCredentialLeaked, createOnboarding, onboardingHarness } from './onboarding.js';
import { startOperator, type LogRecord, type RunningOperator } from './operator.js';

export async function startTap(): Promise<ApiTap> {
  const { controlPlane } = await onboardingHarness();
  return startApiTap({
    upstream: controlPlane.server,
    upstreamCaPem: controlPlane.caPem,
    token: controlPlane.adminToken,
  });
}

/**
 * An operator watching `namespace`, with drift checks far enough apart that every reconcile a
 * test sees was caused by the test. `kubeconfigPath` defaults to the control plane's.
 */
export async function startRuntimeOperator(
  namespace: string,
  options: { kubeconfigPath?: string; args?: string[]; name?: string; waitForReady?: boolean } = {},
): Promise<RunningOperator> {
  const { controlPlane } = await onboardingHarness();
  const operator = await startOperator({
    kubeconfigPath: options.kubeconfigPath ?? controlPlane.kubeconfigPath,
    ...(options.name !== undefined && { name: options.name }),
    args: [`--namespaces=${namespace}`, '--drift-check-interval=10m', ...(options.args ?? [])],
  });
  if (options.waitForReady ?? true) await operator.waitForReady(60_000);
  return operator;
}

/** An InfluxOnboarding aimed at the stand-in (one stand-in per resource: one instance, one onboarding). */
export function createResource(
  namespace: string,
  name: string,
  standin: InfluxStandin,
  labels?: Record<string, string>,
): Promise<InfluxOnboarding> {
  return createOnboarding(
    namespace,
    name,
    { url: standin.url, username: 'admin', org: 'example', bucket: 'default' },
    labels,
  );
}

export async function patchLabels(namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  const { custom } = await onboardingHarness();
  await custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { metadata: { labels } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** The operator's 'reconciled' records for namespace/name, oldest first. */
export function reconciledRecords(operator: RunningOperator, key: string): LogRecord[] {
  return operator.records().filter((record) => record.message === 'reconciled' && record.resource === key);
}

export function recordTime(record: LogRecord): number {
  return Date.parse(String(record.timestamp));
}

/** Waits for a 'reconciled' record for `key` written at or after `since` (ms since the epoch). */
export function waitForReconciled(
  operator: RunningOperator,
  key: string,
  since = 0,
  timeoutMs = 30_000,
): Promise<LogRecord> {
  return operator.waitForLog(
    `'reconciled' for ${key}`,
    (record) => record.message === 'reconciled' && record.resource === key && recordTime(record) >= since,
    timeoutMs,
  );
}

export async function startStandins(count: number): Promise<InfluxStandin[]> {
  return Promise.all(Array.from({ length: count }, () => startInfluxStandin()));
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function metricSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

export async function scrape(operator: RunningOperator): Promise<Sample[]> {
  return parseMetrics(await operator.metrics());
}

/** The secrecy check of a runtime test file: no credential its stand-ins saw or its Secrets hold in any output, Event or status. */
export async function assertNoStandinCredentialLeaked(
  operators: RunningOperator[],
  namespace: string,
  standins: InfluxStandin[],
  minimumSecrets: number,
): Promise<void> {
  const ledger = new SecretLedger();
  for (const standin of standins) ledger.addStandin(standin);
  await assertNoCredentialLeaked(operators, [namespace], minimumSecrets, ledger);
}

/** The flags of a replica under leader election on the Lease `lease` in `namespace`, with short timings. */
export function leaderElectionArgs(
  namespace: string,
  lease: string,
  timing: { leaseMs: number; renewDeadlineMs: number; retryMs: number },
): string[] {
  return [
    '--leader-elect=true',
    `--leader-election-namespace=${namespace}`,
    `--leader-election-id=${lease}`,
    `--lease-duration=${timing.leaseMs}ms`,
    `--renew-deadline=${timing.renewDeadlineMs}ms`,
    `--retry-period=${timing.retryMs}ms`,
  ];
}
