// Shared pieces of the InfluxBucket/InfluxToken end-to-end tests: create, patch, delete and wait
// on the two kinds over the admin client of the shared control plane.
import * as assert from 'uvu/assert';
import {
  BUCKET_KIND,
  BUCKET_PLURAL,
  TOKEN_KIND,
  TOKEN_PLURAL,
  type InfluxBucket,
  type InfluxToken,
} from '../../src/api/access-types.js';
import { API_VERSION, GROUP, VERSION } from '../../src/api/types.js';
import type { InfluxServer } from './influxdb.js';
import {
  OnboardingFile,
  createOnboarding,
  getSecret,
  onboardingHarness,
  readyOf,
  waitForReason,
} from './onboarding.js';
import { eventually } from './wait.js';

type Kind = 'InfluxBucket' | 'InfluxToken';

/**
 * The chart's default flags (values.yaml, as deployment.yaml renders them), for tests that attack
 * the operator as it is installed; a test adds --namespaces to keep it to its own namespaces.
 */
export function chartDefaultFlags(operatorNamespace: string): string[] {
  return [
    '--concurrency=4',
    '--resync-period=10m',
    '--drift-check-interval=5m',
    '--password-check-interval=1h',
    '--token-sweep-interval=10m',
    `--operator-namespace=${operatorNamespace}`,
    '--backoff-max=1000s',
    '--allow-link-local=false',
    '--require-secret-consent=true',
    '--namespace-label-grants=false',
  ];
}
const PLURALS: Record<Kind, string> = { [BUCKET_KIND]: BUCKET_PLURAL, [TOKEN_KIND]: TOKEN_PLURAL };

/**
 * A test file whose own namespace onboards one InfluxDB as InfluxOnboarding `influxdb` (org acme,
 * bucket platform) and grants other namespaces: its operator token and org ID at hand for playing
 * the platform, and the ledger holding every token seen.
 */
export class InstanceFile extends OnboardingFile {
  server!: InfluxServer;
  operatorToken = '';
  orgID = '';
  readonly onboardingBucket = 'platform';

  async onboard(server: InfluxServer, accessFrom: Record<string, unknown>): Promise<void> {
    this.server = server;
    await createOnboarding(this.namespace, 'influxdb', {
      url: server.url,
      username: 'admin',
      org: 'acme',
      bucket: this.onboardingBucket,
      accessFrom,
    });
    const onboarded = await waitForReason(this.namespace, 'influxdb', 'Onboarded', 60_000);
    const secret = await getSecret(this.namespace, 'influxdb-influxdb');
    this.ledger.addSecret(secret);
    this.operatorToken = secret?.data.token ?? '';
    this.orgID = onboarded.status?.orgID ?? '';
  }

  ref(name = 'influxdb'): { name: string; namespace: string } {
    return { name, namespace: this.namespace };
  }

  /** Descriptions of the org's authorizations that carry this marker UID. */
  async marked(uid: string | undefined): Promise<string[]> {
    return (await this.server.admin.authorizationDescriptions(this.operatorToken, this.orgID)).filter((description) =>
      description.endsWith(`uid=${uid ?? 'none'}]`),
    );
  }
}

let established: Promise<void> | undefined;

/** The harness, with the access CRDs established too. */
export async function accessHarness(): ReturnType<typeof onboardingHarness> {
  const harness = await onboardingHarness();
  established ??= (async () => {
    for (const plural of [BUCKET_PLURAL, TOKEN_PLURAL])
      await harness.kubectl(['wait', '--for=condition=Established', `crd/${plural}.${GROUP}`, '--timeout=60s']);
  })();
  await established;
  return harness;
}

export async function createAccess(
  kind: Kind,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): Promise<void> {
  const { custom } = await accessHarness();
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    body: { apiVersion: API_VERSION, kind, metadata: { name, namespace, ...(labels && { labels }) }, spec },
  });
}

export async function getAccess<T extends InfluxBucket | InfluxToken>(
  kind: Kind,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  const { custom } = await accessHarness();
  try {
    return (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS[kind],
      namespace,
      name,
    })) as T;
  } catch {
    return undefined;
  }
}

export async function patchAccessSpec(
  kind: Kind,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const { kubectl } = await accessHarness();
  await kubectl([
    'patch',
    `${PLURALS[kind]}.${GROUP}`,
    name,
    '-n',
    namespace,
    '--type=merge',
    '-p',
    JSON.stringify({ spec }),
  ]);
}

export async function deleteAccess(kind: Kind, namespace: string, name: string): Promise<void> {
  const { kubectl } = await accessHarness();
  await kubectl(['delete', `${PLURALS[kind]}.${GROUP}`, name, '-n', namespace, '--wait=false']);
}

/** Waits for the Ready reason; fails with the last status seen. */
export async function waitForAccess<T extends InfluxBucket | InfluxToken>(
  kind: Kind,
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 60_000,
): Promise<T> {
  let last: T | undefined;
  try {
    return await eventually(
      `${kind} ${namespace}/${name} to be ${reason}`,
      async () => {
        last = await getAccess<T>(kind, namespace, name);
        return readyOf(last)?.reason === reason && last;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    assert.unreachable(
      `${error instanceof Error ? error.message : String(error)}; last Ready: ${JSON.stringify(readyOf(last))}`,
    );
    throw error;
  }
}

export async function waitForGone(kind: Kind, namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `${kind} ${namespace}/${name} to be gone`,
    async () => (await getAccess(kind, namespace, name)) === undefined,
    { timeoutMs, intervalMs: 200 },
  );
}
