// The soak's invariant checker. At each quiet point (every fault healed, every operation landed)
// it waits for the resources to settle and proves, from outside the operator, what the rules
// promise: a Ready Secret works as an application uses it, credentials go only to the instance
// they belong to, no instance is set up twice, no credential is lost or left working outside a
// Secret, a Ready token can do exactly what it declares, nothing secret is readable, every
// resource settles, a replica that lost the Lease changes nothing, and memory stays bounded.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BUCKET_PLURAL, TOKEN_PLURAL, type InfluxToken } from '../../../src/api/access-types.js';
import { GROUP, PLURAL, VERSION, type InfluxOnboarding } from '../../../src/api/types.js';
import { readStatus, useCredentials, writeStatus } from '../influx-app.js';
import { InfluxAdmin } from '../influx-http.js';
import type { ProxiedRequest } from '../influx-proxy.js';
import { SecretLedger } from '../onboarding.js';
import {
  ONBOARDING_READY,
  TOKEN_MARKER,
  bucketExpectation,
  bucketID,
  onboardingExpectation,
  tokenAuthorizationID,
  tokenExpectation,
  type Expectation,
} from './expectations.js';
import { credentialsSecretName, onboardingName, tokenSecretName } from './operations.js';
import { INSTANCES, SYSTEM_NAMESPACE, TENANTS, instancePlan, type Model } from './plan.js';
import { chartMemoryLimitBytes, type ReplicaHandle, type SoakWorld } from './world.js';

const run = promisify(execFile);
const gcScript = fileURLToPath(new URL('../../../bench/inspector-gc.ts', import.meta.url));

/** The replicas' --drift-check-interval (test/support/soak/world.ts). */
const DRIFT_CHECK_MS = 15_000;

/** Every resource settles within this long of the last heal. */
export const SETTLE_LIMIT_MS = 120_000;

export interface Violation {
  invariant: string;
  detail: string;
  at: string;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

interface Resource {
  metadata: { name: string; namespace: string; uid: string; generation?: number; deletionTimestamp?: string };
  status?: Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };
  spec?: Record<string, unknown>;
}

interface SecretView {
  namespace: string;
  name: string;
  data: Record<string, string>;
  annotations: Record<string, string>;
}

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  requestObject?: { spec?: { holderIdentity?: string } };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

const readyOf = (resource: Resource | undefined): Condition | undefined =>
  resource?.status?.conditions?.find((condition) => condition.type === 'Ready');

function tokenIn(request: ProxiedRequest): string | undefined {
  const header = request.authorization ?? '';
  return header.startsWith('Token ') ? header.slice('Token '.length) : undefined;
}

function basicPassword(request: ProxiedRequest): string | undefined {
  const header = request.authorization ?? '';
  if (!header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');
const objectOf = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** Where a credential came from: the instance that made or was given it, and whether it is an operator's. */
interface Issued {
  instance: string;
  incarnation: number;
  kind: 'setup' | 'rotation' | 'application' | 'password';
}

export class Checker {
  readonly violations: Violation[] = [];
  readonly checks = new Map<string, number>();
  private readonly ledger = new SecretLedger();
  /** Credentials by value: which instance they belong to. */
  private readonly issued = new Map<string, Issued>();
  /** How far each proxy's records were read. */
  private readonly proxyRead = new Map<string, number>();
  /** How far each log file was scanned for secrets. */
  private readonly scanned = new Map<string, number>();
  private auditRead = 0;
  /** Lease holders over time, from the audit log: [ms, identity]. */
  private readonly holders: Array<[number, string]> = [];
  /** Peak RSS (VmHWM) seen per process, and RSS after GC per process at each quiet point. */
  private readonly peaks = new Map<string, number>();
  private readonly afterGc = new Map<string, number[]>();
  /** Tokens found rejected in the current incarnation of an instance (never retried). */
  private readonly dead = new Map<string, Set<string>>();
  private readonly memoryLimit = chartMemoryLimitBytes();

  constructor(
    private readonly world: SoakWorld,
    private readonly log: (line: string) => void,
  ) {}

  private count(kind: string, by = 1): void {
    this.checks.set(kind, (this.checks.get(kind) ?? 0) + by);
  }

  private violate(invariant: string, detail: string): void {
    this.violations.push({ invariant, detail, at: new Date().toISOString() });
    this.log(`VIOLATION ${invariant}: ${detail}`);
  }

  incarnationOf(instance: string): number {
    return this.world.instances.get(instance)?.wipes.length ?? 0;
  }

  /** Samples each running replica's peak RSS; called often, and before a replica is stopped. */
  samplePeaks(): void {
    for (const replica of this.world.replicas.values()) {
      const operator = replica.current;
      if (operator === undefined) continue;
      try {
        const status = readFileSync(`/proc/${operator.pid}/status`, 'utf8');
        const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        this.peaks.set(operator.name, Math.max(this.peaks.get(operator.name) ?? 0, peak));
      } catch {
        // Exited.
      }
    }
  }

  // ---- reading the world -------------------------------------------------------------------

  private async list(plural: string, namespace: string): Promise<Resource[]> {
    const answer = (await this.world.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural,
      namespace,
    })) as {
      items: Resource[];
    };
    return answer.items;
  }

  private async secrets(): Promise<SecretView[]> {
    const views: SecretView[] = [];
    for (const namespace of [...TENANTS, SYSTEM_NAMESPACE]) {
      const list = await this.world.core.listNamespacedSecret({ namespace });
      for (const secret of list.items) {
        views.push({
          namespace,
          name: secret.metadata?.name ?? '',
          annotations: secret.metadata?.annotations ?? {},
          data: Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([key, value]) => [
              key,
              Buffer.from(value, 'base64').toString('utf8'),
            ]),
          ),
        });
      }
    }
    return views;
  }

  /** Every request the proxies recorded since the last call, with the instance it reached. */
  private newRequests(): Array<{ instance: string; request: ProxiedRequest }> {
    const fresh: Array<{ instance: string; request: ProxiedRequest }> = [];
    for (const [id, instance] of this.world.instances) {
      for (const [address, proxy] of Object.entries(instance.proxies)) {
        const name = `${id}/${address}`;
        const from = this.proxyRead.get(name) ?? 0;
        for (const request of proxy.requests.slice(from)) fresh.push({ instance: id, request });
        this.proxyRead.set(name, proxy.requests.length);
      }
    }
    return fresh.sort((a, b) => a.request.at - b.request.at);
  }

  /** The incarnation of an instance at a time (wipes before it). */
  private incarnationAt(instance: string, at: number): number {
    return (this.world.instances.get(instance)?.wipes ?? []).filter((wipe) => wipe <= at).length;
  }

  /** Learns every credential the new requests carried or were answered with. */
  private learn(requests: Array<{ instance: string; request: ProxiedRequest }>): void {
    for (const { instance, request } of requests) {
      const incarnation = this.incarnationAt(instance, request.at);
      const body = objectOf(request.body);
      const path = request.path.split('?')[0] ?? '';
      const note = (value: unknown, kind: Issued['kind']): void => {
        if (typeof value !== 'string' || value.length < 8) return;
        this.ledger.add(value);
        const known = this.issued.get(value);
        if (known === undefined || known.instance === instance) this.issued.set(value, { instance, incarnation, kind });
      };
      if (request.method === 'POST' && path === '/api/v2/setup') {
        note(body.token, 'setup');
        note(body.password, 'password');
      }
      if (request.method === 'POST' && /^\/api\/v2\/users\/[^/]+\/password$/.test(path))
        note(body.password, 'password');
      if (request.method === 'POST' && path === '/api/v2/authorizations' && request.status === 201) {
        const answer = objectOf(request.answer);
        const description = textOf(answer.description);
        note(answer.token, TOKEN_MARKER.test(description) ? 'application' : 'rotation');
      }
      this.ledger.add(tokenIn(request), basicPassword(request));
    }
  }

  // ---- settling ------------------------------------------------------------------------------

  private async expectations(
    model: Model,
  ): Promise<Array<{ what: string; expected: Expectation | 'absent'; found?: Resource }>> {
    const rows: Array<{ what: string; expected: Expectation | 'absent'; found?: Resource }> = [];
    const byKey = async (plural: string): Promise<Map<string, Resource>> => {
      const map = new Map<string, Resource>();
      for (const namespace of TENANTS)
        for (const item of await this.list(plural, namespace)) map.set(`${namespace}/${item.metadata.name}`, item);
      return map;
    };
    const [onboardings, buckets, tokens] = [await byKey(PLURAL), await byKey(BUCKET_PLURAL), await byKey(TOKEN_PLURAL)];
    for (const plan of INSTANCES) {
      const key = `${plan.namespace}/${onboardingName(plan.id)}`;
      const present = model.onboardings[plan.id]?.present ?? false;
      rows.push({
        what: `InfluxOnboarding ${key}`,
        expected: present ? onboardingExpectation() : 'absent',
        found: onboardings.get(key),
      });
    }
    for (const bucket of Object.values(model.buckets)) {
      const key = `${bucket.namespace}/${bucket.name}`;
      rows.push({
        what: `InfluxBucket ${key}`,
        expected: bucket.present ? bucketExpectation(model, bucket) : 'absent',
        found: buckets.get(key),
      });
    }
    for (const token of Object.values(model.tokens)) {
      const key = `${token.namespace}/${token.name}`;
      rows.push({
        what: `InfluxToken ${key}`,
        expected: token.present ? tokenExpectation(model, token) : 'absent',
        found: tokens.get(key),
      });
    }
    return rows;
  }

  private static unsettled(row: { expected: Expectation | 'absent'; found?: Resource }): string | undefined {
    const { expected, found } = row;
    if (expected === 'absent') return found === undefined ? undefined : 'still exists';
    if (found === undefined) return 'does not exist';
    const ready = readyOf(found);
    if (ready === undefined) return 'no Ready condition';
    const generation = found.metadata.generation;
    const observed = ready.observedGeneration ?? found.status?.observedGeneration;
    if (generation !== undefined && observed !== generation)
      return `Ready describes generation ${observed}, not ${generation}`;
    if (expected.orWaiting?.includes(ready.reason))
      return ready.status === 'False' ? undefined : `Ready=${ready.status}`;
    if (!expected.reasons.includes(ready.reason)) {
      const reasons = [...expected.reasons, ...(expected.orWaiting ?? [])];
      return `${ready.status}/${ready.reason} (${ready.message.slice(0, 200)}), expected ${reasons.join(' or ')}`;
    }
    if (expected.ready !== (ready.status === 'True')) return `Ready=${ready.status}`;
    return undefined;
  }

  /**
   * Waits until every resource is as the model wants it, twice in a row; what is not by the limit
   * is a violation. `react`: what a person does meanwhile on reading a status (before each look).
   */
  async settle(model: Model, healedAt: number, react?: () => Promise<void>): Promise<number> {
    let stableSince: number | undefined;
    for (;;) {
      await react?.().catch((error: unknown) => this.log(`a reaction failed, tried again: ${String(error)}`));
      const rows = await this.expectations(model).catch(() => undefined);
      const open = rows
        ?.map((row) => ({ row, problem: Checker.unsettled(row) }))
        .filter((entry) => entry.problem !== undefined);
      if (open !== undefined && open.length === 0) {
        stableSince ??= Date.now();
        if (Date.now() - stableSince >= 3000) {
          this.count('liveness', rows?.length ?? 0);
          return Date.now() - healedAt;
        }
      } else stableSince = undefined;
      if (Date.now() - healedAt > SETTLE_LIMIT_MS) {
        for (const { row, problem } of open ?? [])
          this.violate(
            'liveness',
            `${row.what} not settled ${SETTLE_LIMIT_MS / 1000} s after the last heal: ${problem}`,
          );
        if (open === undefined) this.violate('liveness', 'the API server could not be read to check');
        this.count('liveness', rows?.length ?? 0);
        return Date.now() - healedAt;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  // ---- the quiet point -----------------------------------------------------------------------

  async quietPoint(model: Model, healedAt: number, react?: () => Promise<void>): Promise<{ settledMs: number }> {
    // A wipe or a revoked token is seen at the next drift check: Ready is only as fresh as that.
    const seen = healedAt + DRIFT_CHECK_MS + 2000 - Date.now();
    if (seen > 0) await new Promise((resolve) => setTimeout(resolve, seen));
    const settledMs = await this.settle(model, healedAt, react);
    // Texts are cut here, before the ledger grows: whatever they hold was written by credentials known by now.
    const logEnds = this.logEnds();
    const requests = this.newRequests();
    this.learn(requests);
    const secrets = await this.secrets();
    for (const secret of secrets)
      if (secret.annotations !== undefined)
        this.ledger.add(secret.data.token, secret.data.password, secret.data['pending-password']);
    for (const instance of this.world.instances.values()) this.ledger.add(instance.adoptedToken);

    await this.checkSecretsWork(model, secrets);
    this.checkRouting(requests);
    this.checkSetupOnce();
    await this.checkNothingLost(secrets);
    await this.checkApplicationTokens(model, secrets);
    await this.checkSecrecy(logEnds);
    this.checkStaleLeader(requests);
    await this.checkMemory();
    return { settledMs };
  }

  /** Every Ready onboarding's Secret works as an application uses it, and names the instance it belongs to. */
  private async checkSecretsWork(model: Model, secrets: SecretView[]): Promise<void> {
    for (const plan of INSTANCES) {
      if (!model.onboardings[plan.id]?.present) continue;
      const resource = (await this.list(PLURAL, plan.namespace)).find(
        (item) => item.metadata.name === onboardingName(plan.id),
      ) as InfluxOnboarding | undefined;
      if (!ONBOARDING_READY.includes(readyOf(resource as Resource | undefined)?.reason ?? '')) continue;
      this.count('secret-works');
      const secret = secrets.find(
        (view) => view.namespace === plan.namespace && view.name === credentialsSecretName(plan.id),
      );
      if (secret === undefined) {
        this.violate('secret-works', `${plan.namespace}/${onboardingName(plan.id)} is Ready without its Secret`);
        continue;
      }
      const { url = '', org = '', bucket = '', username = '', password = '', token = '' } = secret.data;
      if (url !== resource?.spec.url || this.world.instanceAt(url) !== plan.id) {
        this.violate(
          'secret-works',
          `the Secret of ${plan.id} names ${url}, not its instance at ${resource?.spec.url}`,
        );
        continue;
      }
      try {
        const used = await useCredentials({ url, org, bucket, username, password, token });
        const expected = { me: 200, rows: 1, ...(password ? { signIn: 204 } : {}) };
        if (JSON.stringify(used) !== JSON.stringify(expected))
          this.violate(
            'secret-works',
            `the Secret of Ready ${plan.id} does not work as an application uses it: ${JSON.stringify(used)}`,
          );
      } catch (error) {
        this.violate(
          'secret-works',
          `the Secret of Ready ${plan.id} failed an application's write or query: ${String(error)}`,
        );
      }
    }
  }

  /** No Authorization header or setup body carried another instance's credential. */
  private checkRouting(requests: Array<{ instance: string; request: ProxiedRequest }>): void {
    for (const { instance, request } of requests) {
      if (request.from === undefined || request.from === 'soak') continue;
      this.count('credential-routing');
      const body = objectOf(request.body);
      for (const value of [tokenIn(request), basicPassword(request), body.token, body.password]) {
        if (typeof value !== 'string') continue;
        const owner = this.issued.get(value);
        if (owner !== undefined && owner.instance !== instance)
          this.violate(
            'credential-routing',
            `${request.from} sent a credential of ${owner.instance} to ${instance}: ${request.method} ${request.path.split('?')[0]}`,
          );
      }
    }
  }

  /**
   * An InfluxOnboarding reports SetupInterrupted (before the person wipes the instance): true only
   * when a setup the operator sent to this incarnation got no answer, the instance is set up and
   * rejects that setup's token, and the Secret still holds the username, password and token sent.
   */
  async checkSetupInterrupted(id: string): Promise<void> {
    this.count('setup-interrupted');
    const instance = this.world.instances.get(id);
    const plan = instancePlan(id);
    if (instance === undefined) return;
    const secret = (await this.secrets()).find(
      (view) => view.namespace === plan.namespace && view.name === credentialsSecretName(id),
    );
    const { username, password, token = '' } = secret?.data ?? {};
    const unanswered = Object.values(instance.proxies).some((proxy) =>
      proxy.requests.some((request) => {
        const body = objectOf(request.body);
        return (
          request.method === 'POST' &&
          request.path.split('?')[0] === '/api/v2/setup' &&
          request.status === undefined &&
          this.incarnationAt(id, request.at) === this.incarnationOf(id) &&
          body.username === username &&
          body.password === password &&
          body.token === token
        );
      }),
    );
    const admin = new InfluxAdmin(instance.server.url);
    const setUp = !(await admin.setupAllowed().catch(() => true));
    const rejected = (await admin.meStatus(token).catch(() => 0)) === 401;
    if (!unanswered || !setUp || !rejected)
      this.violate(
        'setup-interrupted',
        `${id} reported SetupInterrupted, but ${!unanswered ? 'no unanswered setup of this incarnation carried the credentials its Secret holds' : !setUp ? 'the instance is not set up' : 'the instance accepts the token'}`,
      );
  }

  /** At most one setup that InfluxDB accepted per instance and incarnation. */
  private checkSetupOnce(): void {
    for (const [id, instance] of this.world.instances) {
      this.count('setup-once');
      const setups = new Map<number, number>();
      for (const proxy of Object.values(instance.proxies))
        for (const request of proxy.requests)
          if (request.method === 'POST' && request.path.split('?')[0] === '/api/v2/setup' && request.status === 201) {
            const incarnation = this.incarnationAt(id, request.at);
            setups.set(incarnation, (setups.get(incarnation) ?? 0) + 1);
          }
      for (const [incarnation, count] of setups)
        if (count > 1 && !this.violations.some((v) => v.detail.startsWith(`${id} incarnation ${incarnation} `)))
          this.violate('setup-once', `${id} incarnation ${incarnation} was set up ${count} times`);
    }
  }

  /**
   * Every operator credential an instance accepts now (made by a setup or a rotation) is in a
   * Secret or the escrow; and every instance the operator set up has its working credentials in
   * one of them (a token that works, a password that signs in).
   */
  private async checkNothingLost(secrets: SecretView[]): Promise<void> {
    const kept = new Set<string>();
    for (const secret of secrets) for (const value of Object.values(secret.data)) kept.add(value);
    for (const [value, issued] of this.issued) {
      if (issued.kind !== 'setup' && issued.kind !== 'rotation') continue;
      if (issued.incarnation !== this.incarnationOf(issued.instance)) continue;
      const dead = this.dead.get(issued.instance) ?? new Set<string>();
      this.dead.set(issued.instance, dead);
      if (dead.has(value)) continue;
      const instance = this.world.instances.get(issued.instance);
      if (instance === undefined) continue;
      this.count('no-credential-outside-secrets');
      const status = await new InfluxAdmin(instance.server.url).meStatus(value).catch(() => 0);
      if (status === 401) {
        dead.add(value);
        continue;
      }
      if (status === 200 && !kept.has(value))
        this.violate(
          'no-credential-outside-secrets',
          `${issued.instance} accepts a ${issued.kind} token (${value.slice(0, 4)}…) that no Secret and no escrow copy holds`,
        );
    }
    for (const plan of INSTANCES) {
      if (plan.adopted) continue;
      const instance = this.world.instances.get(plan.id);
      if (instance === undefined) continue;
      const admin = new InfluxAdmin(instance.server.url);
      if (await admin.setupAllowed().catch(() => true)) continue;
      this.count('no-credential-lost');
      const candidates = secrets.filter(
        (secret) => secret.data.token !== undefined && this.world.instanceAt(secret.data.url ?? '') === plan.id,
      );
      let holds = false;
      for (const secret of candidates) {
        const { token = '', username = '', password = '' } = secret.data;
        if ((await admin.meStatus(token).catch(() => 0)) !== 200) continue;
        const pending = secret.data['pending-password'];
        const signs = !password || (await admin.signInStatus(username, password).catch(() => 0)) === 204;
        const signsPending =
          pending !== undefined && (await admin.signInStatus(username, pending).catch(() => 0)) === 204;
        if (signs || signsPending) holds = true;
      }
      if (!holds)
        this.violate('no-credential-lost', `no Secret or escrow copy holds a working token and password of ${plan.id}`);
    }
  }

  /** A Ready token can do exactly what it declares; every marked authorization is a live token's own. */
  private async checkApplicationTokens(model: Model, secrets: SecretView[]): Promise<void> {
    const tokens = new Map<string, Resource>();
    const buckets = new Map<string, Resource>();
    for (const namespace of TENANTS) {
      for (const item of await this.list(TOKEN_PLURAL, namespace))
        tokens.set(`${namespace}/${item.metadata.name}`, item);
      for (const item of await this.list(BUCKET_PLURAL, namespace))
        buckets.set(`${namespace}/${item.metadata.name}`, item);
    }
    for (const plan of INSTANCES) {
      if (!model.onboardings[plan.id]?.present) continue;
      const onboarding = secrets.find(
        (view) => view.namespace === plan.namespace && view.name === credentialsSecretName(plan.id),
      );
      const operatorToken = onboarding?.data.token;
      const instance = this.world.instances.get(plan.id);
      if (operatorToken === undefined || instance === undefined) continue;
      const admin = new InfluxAdmin(instance.server.url);
      const listed = await admin
        .request({ path: '/api/v2/authorizations', token: operatorToken })
        .catch(() => undefined);
      if (listed?.status !== 200) continue;
      const authorizations = ((objectOf(listed.json).authorizations as unknown[] | undefined) ?? []).map(objectOf);
      for (const authorization of authorizations) {
        const marker = TOKEN_MARKER.exec(textOf(authorization.description));
        if (marker === null) continue;
        this.count('no-orphan-authorization');
        const [, namespace, name, uid] = marker;
        const owner = tokens.get(`${namespace}/${name}`);
        const secret = secrets.find(
          (view) => view.namespace === namespace && view.name === tokenSecretName(name ?? ''),
        );
        const own =
          owner?.metadata.uid === uid &&
          (secret?.annotations['influxdb.onboarding.dev/authorization-id'] === authorization.id ||
            tokenAuthorizationID(owner?.status) === authorization.id);
        if (!own)
          this.violate(
            'no-orphan-authorization',
            `${plan.id} has authorization ${String(authorization.id)} of InfluxToken ${namespace}/${name} (uid ${uid}) that no live token's Secret names`,
          );
      }
      for (const token of Object.values(model.tokens)) {
        if (token.instance !== plan.id || !token.present) continue;
        const resource = tokens.get(`${token.namespace}/${token.name}`) as InfluxToken | undefined;
        if (readyOf(resource as Resource | undefined)?.reason !== 'TokenReady') continue;
        this.count('token-permissions');
        const id = tokenAuthorizationID(resource?.status as Record<string, unknown> | undefined);
        const authorization = authorizations.find((entry) => entry.id === id);
        const declared = token.permissions
          .map((permission) => {
            const bucket = buckets.get(`${token.namespace}/${permission.bucket}`);
            return `${permission.action}:${bucketID(bucket?.status) ?? '?'}`;
          })
          .sort();
        const actual = ((authorization?.permissions as unknown[] | undefined) ?? [])
          .map(objectOf)
          .map(
            (permission) =>
              `${String(permission.action)}:${String(objectOf(permission.resource).id ?? objectOf(permission.resource).type)}`,
          )
          .sort();
        if (JSON.stringify(declared) !== JSON.stringify(actual)) {
          this.violate(
            'token-permissions',
            `Ready ${token.namespace}/${token.name} has ${actual.join(',')}, declares ${declared.join(',')}`,
          );
          continue;
        }
        const secret = secrets.find(
          (view) => view.namespace === token.namespace && view.name === tokenSecretName(token.name),
        );
        const credentials = {
          url: secret?.data.url ?? '',
          org: secret?.data.org ?? '',
          token: secret?.data.token ?? '',
        };
        const bucketName = textOf(
          buckets.get(`${token.namespace}/${token.permissions[0]?.bucket}`)?.status?.bucketName,
        );
        const writes = token.permissions.some((permission) => permission.action === 'write');
        const reads = token.permissions.some((permission) => permission.action === 'read');
        const wrote = await writeStatus({ ...credentials, bucket: bucketName }).catch(() => 0);
        const read = (await readStatus({ ...credentials, bucket: bucketName }).catch(() => ({ status: 0 }))).status;
        if ((wrote === 204) !== writes || (read === 200) !== reads)
          this.violate(
            'token-permissions',
            `Ready ${token.namespace}/${token.name} (${token.permissions.map((p) => p.action).join('+')}): write ${wrote}, read ${read}`,
          );
      }
    }
  }

  // ---- secrecy -------------------------------------------------------------------------------

  private logFiles(): string[] {
    return [...this.world.replicas.values()].flatMap((replica) =>
      replica.processes.map((operator) => operator.logFile),
    );
  }

  private logEnds(): Map<string, number> {
    return new Map(this.logFiles().map((file) => [file, statSync(file).size]));
  }

  /** No credential in any replica's output since the last scan, any Event, any status or /metrics. */
  private async checkSecrecy(ends: Map<string, number>): Promise<void> {
    const sources: Record<string, string> = {};
    for (const [file, end] of ends) {
      const start = this.scanned.get(file) ?? 0;
      if (end > start)
        sources[`log ${file} (bytes ${start}-${end})`] = readFileSync(file).subarray(start, end).toString('utf8');
      this.scanned.set(file, end);
    }
    const events = await this.world.controlPlane.kubectl(['get', 'events', '-A', '-o', 'json']);
    sources['events'] = events.stdout;
    for (const namespace of TENANTS)
      for (const plural of [PLURAL, BUCKET_PLURAL, TOKEN_PLURAL])
        sources[`${plural} statuses in ${namespace}`] = JSON.stringify(
          (await this.list(plural, namespace)).map((item) => item.status ?? {}),
        );
    for (const replica of this.world.replicas.values()) {
      const metrics = await replica.current?.metrics().catch(() => undefined);
      if (metrics !== undefined) sources[`/metrics of ${replica.current?.name}`] = metrics;
    }
    this.count('secrecy', Object.keys(sources).length);
    for (const leak of this.ledger.leaks(sources)) this.violate('secrecy', leak);
  }

  // ---- the stale leader ----------------------------------------------------------------------

  private readAudit(): AuditEvent[] {
    const path = this.world.controlPlane.auditLogPath;
    if (path === undefined) return [];
    const text = readFileSync(path, 'utf8');
    const fresh = text.slice(this.auditRead);
    const complete = fresh.lastIndexOf('\n') + 1;
    this.auditRead += complete;
    return fresh
      .slice(0, complete)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.stage === 'ResponseComplete');
  }

  private replicaOfUser(user: string): ReplicaHandle | undefined {
    return [...this.world.replicas.values()].find((replica) => replica.user === user);
  }

  /** The identity holding the Lease at `at` ('' when none). */
  private holderAt(at: number): string {
    let holder = '';
    for (const [time, identity] of this.holders) {
      if (time > at) break;
      holder = identity;
    }
    return holder;
  }

  /**
   * A replica may change things only while it holds the Lease: a write it sent (the audit log,
   * by its user) at a moment another held it, or nobody, must have failed (its precondition);
   * a request it sent to InfluxDB then is a violation in itself.
   */
  private checkStaleLeader(requests: Array<{ instance: string; request: ProxiedRequest }>): void {
    const events = this.readAudit();
    for (const event of events) {
      if (event.objectRef?.resource !== 'leases' || !WRITE_VERBS.has(event.verb)) continue;
      if ((event.responseStatus?.code ?? 0) >= 300 || event.objectRef.name !== 'soak-operator') continue;
      this.holders.push([Date.parse(event.stageTimestamp), event.requestObject?.spec?.holderIdentity ?? '']);
    }
    this.holders.sort((a, b) => a[0] - b[0]);
    const holds = (replica: ReplicaHandle, at: number): boolean => replica.identities.has(this.holderAt(at));
    for (const event of events) {
      const replica = this.replicaOfUser(event.user.username);
      if (replica === undefined || !WRITE_VERBS.has(event.verb) || event.objectRef?.resource === 'leases') continue;
      this.count('stale-leader');
      const sent = Date.parse(event.requestReceivedTimestamp);
      const code = event.responseStatus?.code ?? 0;
      if (!holds(replica, sent) && code < 300)
        this.violate(
          'stale-leader',
          `${replica.name} ${event.verb} ${event.objectRef?.resource} ${event.objectRef?.namespace}/${event.objectRef?.name} landed (${code}) at ${event.requestReceivedTimestamp} while ${this.holderAt(sent) || 'nobody'} held the Lease`,
        );
    }
    for (const { instance, request } of requests) {
      const replica = [...this.world.replicas.values()].find((candidate) => candidate.name === request.from);
      if (replica === undefined) continue;
      this.count('stale-leader');
      if (!holds(replica, request.at))
        this.violate(
          'stale-leader',
          `${replica.name} sent ${request.method} ${request.path.split('?')[0]} to ${instance} at ${new Date(request.at).toISOString()} while ${this.holderAt(request.at) || 'nobody'} held the Lease`,
        );
    }
  }

  // ---- memory --------------------------------------------------------------------------------

  /** Peak RSS under the chart's limit; RSS after full GCs now, per process, for the first-to-last comparison. */
  private async checkMemory(): Promise<void> {
    this.samplePeaks();
    for (const [name, peak] of this.peaks) {
      this.count('memory-peak');
      if (peak > this.memoryLimit)
        this.violate(
          'memory',
          `${name} peaked at ${(peak / 1024 / 1024).toFixed(1)} MiB, over the chart's limit of ${this.memoryLimit / 1024 / 1024} MiB`,
        );
    }
    const websocket = process.allowedNodeEnvironmentFlags.has('--experimental-websocket')
      ? ['--experimental-websocket']
      : [];
    for (const replica of this.world.replicas.values()) {
      const operator = replica.current;
      if (operator === undefined) continue;
      try {
        await run(
          process.execPath,
          [...websocket, '--no-warnings', '--import', 'tsx', gcScript, String(replica.inspectorPort)],
          {
            maxBuffer: 1 << 24,
          },
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        const rss =
          Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${operator.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
        const samples = this.afterGc.get(operator.name) ?? [];
        samples.push(rss);
        this.afterGc.set(operator.name, samples);
      } catch (error) {
        this.log(`could not collect garbage in ${operator.name}: ${String(error)}`);
      }
    }
  }

  /**
   * The end of the run: RSS after GC at each process's last quiet point within 10% of its first.
   * A run of two quiet points or more where no process lived through two of them proved nothing.
   */
  finish(quietPoints: number): void {
    let compared = 0;
    for (const [name, samples] of this.afterGc) {
      if (samples.length < 2) continue;
      compared++;
      this.count('memory-after-gc');
      const first = samples[0] ?? 0;
      const last = samples.at(-1) ?? 0;
      if (last > first * 1.1)
        this.violate(
          'memory',
          `${name}: RSS after GC ${(last / 1024 / 1024).toFixed(1)} MiB at its last quiet point, over 110% of ${(first / 1024 / 1024).toFixed(1)} MiB at its first`,
        );
    }
    if (quietPoints >= 2 && compared === 0)
      this.violate('memory', 'no replica process lived through two quiet points: RSS after GC was never compared');
  }

  /** Figures for the report: peak RSS and RSS after GC (first, last) per process, MiB. */
  memoryFigures(): Array<{ process: string; peakMiB: number; afterGcMiB: number[] }> {
    const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
    return [...this.peaks].map(([name, peak]) => ({
      process: name,
      peakMiB: mib(peak),
      afterGcMiB: (this.afterGc.get(name) ?? []).map(mib),
    }));
  }
}

export { instancePlan };
