// Shared pieces of the end-to-end onboarding tests (test/integration/onboarding-*.test.ts): the
// CRD installed on the shared control plane, namespaces with random suffixes, InfluxOnboarding
// and Secret helpers over admin clients, waits on the Ready condition, and the secrecy check that
// every file ends with.
import { randomBytes } from 'node:crypto';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import { BUCKET_PLURAL, TOKEN_PLURAL } from '../../src/api/access-types.js';
import {
  ALLOWED_URLS_ANNOTATION,
  GROUP,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PLURAL,
  VERSION,
  type InfluxOnboarding,
  type InfluxOnboardingSpec,
} from '../../src/api/types.js';
import { EVENT_HOLD_MS } from '../../src/controllers/shared.js';
import { adminKubeConfig, getControlPlane } from './cluster.js';
import type { ControlPlane, KubectlResult } from './controlplane.js';
import { startInfluxStandin, type InfluxStandin, type RecordedRequest, type StandinOptions } from './influx-standin.js';
import { startOperator, type RunningOperator } from './operator.js';
import { eventually, sleep } from './wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Harness {
  controlPlane: ControlPlane;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  /** kubectl that must succeed; returns stdout. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** kubectl whatever its outcome. */
  kubectlResult(args: string[], input?: string): Promise<KubectlResult>;
}

let harness: Promise<Harness> | undefined;

/** Admin clients on the shared control plane, with the operator's CRD installed and established. */
export function onboardingHarness(): Promise<Harness> {
  harness ??= (async () => {
    const controlPlane = await getControlPlane();
    const kubeConfig = await adminKubeConfig();
    const kubectlResult = (args: string[], input?: string) =>
      controlPlane.kubectl(args, input === undefined ? {} : { input });
    const kubectl = async (args: string[], input?: string) => {
      const result = await kubectlResult(args, input);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    };
    // Applied every time: an older copy from an earlier run would otherwise test the wrong schema.
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', `${root}crds/`]);
    await kubectl(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
    return {
      controlPlane,
      core: kubeConfig.makeApiClient(CoreV1Api),
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      kubectl,
      kubectlResult,
    };
  })();
  return harness;
}

export function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}

/** Whether the namespace is gone (deleting one takes a while: the namespace controller empties it first). */
export async function namespaceGone(name: string): Promise<boolean> {
  const { core } = await onboardingHarness();
  try {
    await core.readNamespace({ name });
    return false;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return true;
    throw error;
  }
}

/** A fresh namespace named prefix-<random>. */
export async function createNamespace(prefix: string): Promise<string> {
  const { core } = await onboardingHarness();
  const name = `${prefix}-${randomSuffix()}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** One operator for a test file, watching only that file's namespaces. */
export async function startFileOperator(
  namespaces: string[],
  extraArgs: string[] = [],
  name?: string,
): Promise<RunningOperator> {
  const { controlPlane } = await onboardingHarness();
  const operator = await startOperator({
    kubeconfigPath: controlPlane.kubeconfigPath,
    ...(name !== undefined && { name }),
    args: [`--namespaces=${namespaces.join(',')}`, '--drift-check-interval=1s', '--backoff-max=2s', ...extraArgs],
  });
  await operator.waitForReady(60_000);
  return operator;
}

/**
 * What one onboarding test file shares, passed to its tests as the uvu context: its namespace,
 * its operator processes (killed ones included, whose output is still checked for secrets), its
 * InfluxDB stand-ins and the ledger of every secret they saw.
 */
export class OnboardingFile {
  namespace = '';
  readonly operators: RunningOperator[] = [];
  readonly standins: InfluxStandin[] = [];
  readonly ledger = new SecretLedger();

  /** The file's first operator. */
  get operator(): RunningOperator {
    const [first] = this.operators;
    if (first === undefined) throw new Error('no operator was started for this file');
    return first;
  }

  async setUp(prefix: string, { withOperator = true } = {}): Promise<void> {
    await onboardingHarness();
    this.namespace = await createNamespace(prefix);
    if (withOperator) await this.startOperator();
  }

  /** An operator watching the file's namespace, or the given ones; kept for the closing checks. */
  async startOperator(extraArgs: string[] = [], namespaces = [this.namespace]): Promise<RunningOperator> {
    const started = await startFileOperator(
      namespaces,
      extraArgs,
      `${namespaces[0]}-operator-${this.operators.length + 1}`,
    );
    this.operators.push(started);
    return started;
  }

  async standin(options: StandinOptions = {}): Promise<InfluxStandin> {
    const started = await startInfluxStandin(options);
    this.standins.push(started);
    return started;
  }

  /** Adds a stand-in's passwords and tokens to the values no observable output may contain. */
  remember(influx: InfluxStandin): void {
    this.ledger.addStandin(influx);
  }

  /** Once every resource has settled, whatever its reason: the operator keeps checking and writes nothing. */
  async assertSteadyState(): Promise<void> {
    const reconciles = (): number => this.operator.records().filter((record) => record.message === 'reconciled').length;
    const before = await resourceVersions(this.namespace);
    const reconciledBefore = reconciles();
    await sleep(4500);
    const after = await resourceVersions(this.namespace);
    assert.ok(reconciles() > reconciledBefore + 10, 'the operator kept checking');
    assert.equal(changed(before, after), []);
  }

  /** SIGTERM ends the file's operator with exit code 0 after an orderly stop. */
  async assertCleanStop(): Promise<void> {
    assert.is(await this.operator.terminate(), 'exit code 0');
    assert.ok(
      this.operator.records().some((record) => record.message === 'stopped'),
      'it logged its orderly stop',
    );
  }

  /** No password or token this file handled appears in any operator output, Event or status of its namespace. */
  async assertNoSecretLeaked(minimumSecrets: number): Promise<void> {
    for (const influx of this.standins) this.remember(influx);
    await addManagedSecrets(this.ledger, [this.namespace]);
    assert.ok(
      this.ledger.size >= minimumSecrets,
      `the check covers the credentials of this file (${this.ledger.size})`,
    );
    const sources = await observableText(this.operators, [], [this.namespace]);
    assert.ok(
      this.operators.some((operator) => sources[`output of ${operator.name}`]?.includes('"reconciled"')),
      'the operator output was read',
    );
    assert.equal(this.ledger.leaks(sources), []);
  }

  async tearDown(): Promise<void> {
    for (const operator of this.operators) await operator.terminate();
    await Promise.all(this.standins.map((standin) => standin.close()));
  }
}

/** A suite's before hook that prints its error: uvu reports a failed hook without it. */
export function printingFailure<C>(start: (context: C) => Promise<void>): (context: C) => Promise<void> {
  return async (context) => {
    try {
      await start(context);
    } catch (error) {
      console.error(error);
      throw error;
    }
  };
}

/** The tests every onboarding file ends with, once its own have run: a quiet steady state, a clean stop, no credential leaked. */
export function closingChecks(tests: Test<OnboardingFile>, minimumSecrets: number): void {
  tests('once every resource has settled, whatever its reason, nothing in the namespace is written again', (context) =>
    context.assertSteadyState(),
  );
  tests('SIGTERM stops the operator cleanly', (context) => context.assertCleanStop());
  tests('secrecy: no password or token of this file in the operator output, any Event or any status', (context) =>
    context.assertNoSecretLeaked(minimumSecrets),
  );
}

export type SpecInput = Partial<InfluxOnboardingSpec> & Record<string, unknown>;

export function onboardingManifest(
  namespace: string,
  name: string,
  spec: SpecInput,
  labels?: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'InfluxOnboarding',
    metadata: { name, namespace, ...(labels && { labels }) },
    spec,
  };
}

/** Creates an InfluxOnboarding through the API (schema and CEL rules apply). */
export async function createOnboarding(
  namespace: string,
  name: string,
  spec: SpecInput,
  labels?: Record<string, string>,
): Promise<InfluxOnboarding> {
  const { custom } = await onboardingHarness();
  return (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
    body: onboardingManifest(namespace, name, spec, labels),
  })) as InfluxOnboarding;
}

export async function getOnboarding(namespace: string, name: string): Promise<InfluxOnboarding | undefined> {
  const { custom } = await onboardingHarness();
  try {
    return (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
    })) as InfluxOnboarding;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** A JSON merge patch of the spec: null removes a field. */
export async function patchOnboardingSpec(
  namespace: string,
  name: string,
  spec: SpecInput | { [K in keyof InfluxOnboardingSpec]?: null },
): Promise<void> {
  const { custom } = await onboardingHarness();
  await custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Sets (or, with null, removes) annotations on an InfluxOnboarding, as `kubectl annotate` does. */
export async function annotateOnboarding(
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  const { custom } = await onboardingHarness();
  await custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function deleteOnboarding(namespace: string, name: string): Promise<void> {
  const { custom } = await onboardingHarness();
  await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
}

export function readyOf(
  resource:
    { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } } | undefined,
): { status: string; reason: string; message: string } | undefined {
  return resource?.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** Waits until the Ready condition carries `reason` (and describes the current generation). */
export async function waitForReason(
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 30_000,
): Promise<InfluxOnboarding> {
  let last: InfluxOnboarding | undefined;
  try {
    return await eventually(
      `${namespace}/${name} to be ${reason}`,
      async () => {
        last = await getOnboarding(namespace, name);
        const ready = readyOf(last);
        return ready?.reason === reason && last?.status?.observedGeneration === last?.metadata.generation
          ? last
          : undefined;
      },
      { timeoutMs, intervalMs: 150 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last Ready: ${JSON.stringify(readyOf(last))}`, { cause: error });
  }
}

export interface SecretView {
  raw: V1Secret;
  data: Record<string, string>;
}

export async function getSecret(namespace: string, name: string): Promise<SecretView | undefined> {
  const { core } = await onboardingHarness();
  try {
    const raw = await core.readNamespacedSecret({ namespace, name });
    const data = Object.fromEntries(
      Object.entries(raw.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
    );
    return { raw, data };
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

export interface SecretMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export async function createSecret(
  namespace: string,
  name: string,
  data: Record<string, string>,
  metadata: SecretMetadata = {},
): Promise<V1Secret> {
  const { core } = await onboardingHarness();
  return core.createNamespacedSecret({
    namespace,
    body: { metadata: { name, namespace, ...metadata }, type: 'Opaque', stringData: data },
  });
}

/** The metadata by which a referenced Secret consents to its values being sent to these URLs. */
export function consentTo(...urls: string[]): SecretMetadata {
  return { annotations: { [ALLOWED_URLS_ANNOTATION]: urls.join(',') } };
}

/** Replaces the given keys of a Secret's data, as `kubectl patch` with stringData does. */
export async function updateSecretData(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const { core } = await onboardingHarness();
  await core.patchNamespacedSecret(
    { namespace, name, body: { stringData: data } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Sets (or, with null, removes) annotations on a Secret, as `kubectl annotate` does. */
export async function annotateSecret(
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  const { core } = await onboardingHarness();
  await core.patchNamespacedSecret(
    { namespace, name, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function deleteSecret(namespace: string, name: string): Promise<void> {
  const { core } = await onboardingHarness();
  await core.deleteNamespacedSecret({ namespace, name });
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  object: string;
}

/** Events about InfluxOnboardings in a namespace, read through core/v1 (what `kubectl get events` shows). */
export async function onboardingEvents(namespace: string, name?: string): Promise<EventView[]> {
  const { core } = await onboardingHarness();
  const list = await core.listNamespacedEvent({ namespace });
  return list.items
    .filter(
      (event) =>
        event.involvedObject.kind === 'InfluxOnboarding' && (name === undefined || event.involvedObject.name === name),
    )
    .map((event) => ({
      type: event.type ?? '',
      reason: event.reason ?? '',
      message: event.message ?? '',
      object: `${event.involvedObject.namespace}/${event.involvedObject.name}`,
    }));
}

/**
 * The resource's events once one with this reason (and, given `matching`, that matches) has been
 * recorded. Read Events this way, never right after a status: the operator holds each Event
 * EVENT_HOLD_MS and sends it in the background, so it lands after the status that goes with it.
 * They are sent in the order recorded, so every Event recorded before the awaited one is in too.
 */
export async function eventsOnceRecorded(
  namespace: string,
  name: string,
  reason: string,
  { matching = () => true, timeoutMs }: { matching?: (event: EventView) => boolean; timeoutMs?: number } = {},
): Promise<EventView[]> {
  return await eventually(
    `a ${reason} event on ${namespace}/${name}`,
    async () => {
      const events = await onboardingEvents(namespace, name);
      return events.some((event) => event.reason === reason && matching(event)) ? events : undefined;
    },
    { ...(timeoutMs !== undefined && { timeoutMs }) },
  );
}

/** The gaps in ms between consecutive timestamps. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((time, index) => time - (times[index] ?? time));
}

/**
 * The credentials a test file handled, and the check that none of them (nor their base64 forms)
 * appears in anything the operator wrote for people: its output, Events and statuses.
 */
export class SecretLedger {
  private readonly values = new Set<string>();

  add(...values: Array<string | undefined>): void {
    for (const value of values) if (value !== undefined && value.length >= 8) this.values.add(value);
  }

  /** Every credential a stand-in has seen or made: tokens, setup bodies, Authorization headers. */
  addStandin(influx: Pick<InfluxStandin, 'tokens' | 'onboarded' | 'requests'>): void {
    this.add(...influx.tokens(), influx.onboarded()?.password, influx.onboarded()?.token);
    this.addRequests(influx.requests);
  }

  /** The passwords and tokens in requests someone recorded: setup bodies, Authorization headers. */
  addRequests(requests: RecordedRequest[]): void {
    for (const request of requests) {
      const body = request.body;
      if (typeof body === 'object' && body !== null) {
        const { password, token } = body as Record<string, unknown>;
        this.add(typeof password === 'string' ? password : undefined, typeof token === 'string' ? token : undefined);
      }
      this.add(request.authorization?.replace(/^Token /, ''));
    }
  }

  addSecret(secret: SecretView | undefined): void {
    if (secret === undefined) return;
    this.add(secret.data.password, secret.data.token, secret.data['pending-password']);
  }

  get size(): number {
    return this.values.size;
  }

  /** Each value in the forms it could leak in: plain, base64 and base64url. */
  private forms(): Array<{ value: string; form: string; text: string }> {
    return [...this.values].flatMap((value) => {
      const base64 = Buffer.from(value, 'utf8').toString('base64');
      const base64url = Buffer.from(value, 'utf8').toString('base64url');
      return [
        { value, form: 'plain', text: value },
        { value, form: 'base64', text: base64 },
        { value, form: 'base64 without padding', text: base64.replace(/=+$/, '') },
        { value, form: 'base64url', text: base64url },
      ];
    });
  }

  /** Names every (source, form) in which a recorded value appears. */
  leaks(sources: Record<string, string>): string[] {
    const found: string[] = [];
    for (const [source, text] of Object.entries(sources)) {
      for (const { value, form, text: needle } of this.forms()) {
        if (text.includes(needle)) found.push(`${source} contains a credential (${value.slice(0, 4)}…, ${form})`);
      }
    }
    return found;
  }
}

/** The kinds whose status the operator writes: each status is read by the secrecy check. */
const STATUS_PLURALS = [PLURAL, BUCKET_PLURAL, TOKEN_PLURAL];

/**
 * Everything a person could read: operator output, every Event (core and events.k8s.io) and every
 * status the operator writes (InfluxOnboarding, InfluxBucket, InfluxToken) in `namespaces`.
 */
export async function observableText(
  operators: RunningOperator[],
  outputs: string[],
  namespaces: string[],
): Promise<Record<string, string>> {
  const { kubectl, custom } = await onboardingHarness();
  const sources: Record<string, string> = {};
  operators.forEach((operator) => (sources[`output of ${operator.name}`] = operator.output().join('\n')));
  outputs.forEach((output, index) => (sources[`saved operator output ${index + 1}`] = output));
  // Events are held before they are sent: those recorded by now are all in after twice the hold.
  await sleep(2 * EVENT_HOLD_MS);
  sources['kubectl get events -A'] = await kubectl(['get', 'events', '-A', '-o', 'json']);
  sources['kubectl get events.events.k8s.io -A'] = await kubectl(['get', 'events.events.k8s.io', '-A', '-o', 'json']);
  for (const namespace of namespaces) {
    for (const plural of STATUS_PLURALS) {
      const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace })) as {
        items: Array<{ status?: unknown }>;
      };
      sources[`${plural} statuses in ${namespace}`] = JSON.stringify(list.items.map((item) => item.status ?? {}));
    }
  }
  return sources;
}

/** Adds the credentials of every Secret the operator manages in `namespaces` (credentials and token Secrets) to the ledger. */
export async function addManagedSecrets(ledger: SecretLedger, namespaces: string[]): Promise<void> {
  const { core } = await onboardingHarness();
  for (const namespace of namespaces) {
    const list = await core.listNamespacedSecret({
      namespace,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    });
    for (const raw of list.items) {
      const data = Object.fromEntries(
        Object.entries(raw.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
      );
      ledger.addSecret({ raw, data });
    }
  }
}

/**
 * The secrecy check of a file that runs operators: no credential of the ledger, nor of any Secret
 * the operator manages in `namespaces`, appears in the operators' output, any Event or any status
 * there. `minimumSecrets` proves the check had something to look for.
 */
export async function assertNoCredentialLeaked(
  operators: RunningOperator[],
  namespaces: string[],
  minimumSecrets: number,
  ledger = new SecretLedger(),
): Promise<void> {
  await addManagedSecrets(ledger, namespaces);
  assert.ok(ledger.size >= minimumSecrets, `the check covers the credentials of this file (${ledger.size})`);
  const sources = await observableText(operators, [], namespaces);
  assert.ok(
    operators.every((operator) => sources[`output of ${operator.name}`] !== ''),
    'every operator output was read',
  );
  assert.equal(ledger.leaks(sources), []);
}

/** resourceVersion of every InfluxOnboarding and Secret in a namespace, by kind/name. */
export async function resourceVersions(namespace: string): Promise<Record<string, string>> {
  const { core, custom } = await onboardingHarness();
  const onboardings = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
  })) as {
    items: InfluxOnboarding[];
  };
  const secrets = await core.listNamespacedSecret({ namespace });
  return Object.fromEntries([
    ...onboardings.items.map((item) => [`InfluxOnboarding/${item.metadata.name}`, item.metadata.resourceVersion ?? '']),
    ...secrets.items.map((item) => [`Secret/${item.metadata?.name}`, item.metadata?.resourceVersion ?? '']),
  ]);
}

/** The objects whose resourceVersion changed between two snapshots, with both versions. */
export function changed(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after })
    .filter((key) => before[key] !== after[key])
    .map((key) => `${key}: ${before[key] ?? '(absent)'} -> ${after[key] ?? '(absent)'}`);
}

export function requestsTo(requests: Array<{ method: string; path: string }>, method: string, path: string): number {
  return requests.filter((request) => request.method === method && request.path.split('?')[0] === path).length;
}

/** The drift checks of a Ready resource among an instance's requests: GET /api/v2/buckets/{id}. */
export function driftChecks(
  requests: Array<{ method: string; path: string }>,
): Array<{ method: string; path: string; authorization?: string }> {
  return requests.filter(
    (request) => request.method === 'GET' && /^\/api\/v2\/buckets\/[^/?]+$/.test(request.path.split('?')[0] ?? ''),
  );
}
