import { isDeepStrictEqual } from 'node:util';
import { validCredentials, type CredentialsSecret, type DesiredSecret, type Reference } from '../api/credentials.js';
import { redactionOwner, type ReconcileOutcome, type ReconcileRequest, type ResourceEvent } from '../api/reconcile.js';
import { checkSpec, instanceKey, setupInstance, type SpecCheck } from '../api/spec.js';
import {
  KIND,
  READY,
  type InfluxOnboarding,
  type InfluxOnboardingStatus,
  type Reason,
  type SecretKeySelector,
} from '../api/types.js';
import type { Created, InfluxClient, InfluxTarget, Outcome } from '../influx/types.js';
import type { StatusWrite } from '../kube/status.js';
import type { Logger, SecretRegistry } from '../log.js';
import {
  credentialsIn,
  decide,
  firstVisitStatus,
  withRepair,
  type Finish,
  type RepairStep,
  type Step,
} from './decide.js';
import type { BoundCredentials, Facts, References } from './facts.js';
import { generatePassword, generateToken } from './generate.js';
import { InstanceLocks } from './serial.js';

/** Everything the reconciler reads and writes, as thin adapters around Kubernetes and InfluxDB. */
export interface OnboardingPorts {
  /** The resource as the cache holds it now (the level, never an event's payload). */
  resource(namespace: string, name: string): InfluxOnboarding | undefined;
  /** The cached resources that set up this instance (setupInstance gives it), to find two that onboard it. */
  settingUp(instance: string): readonly InfluxOnboarding[];
  readSecret(owner: InfluxOnboarding, name: string): Promise<CredentialsSecret>;
  /** Writes over the Secret as observed (409 if it changed since); returns the Secret as it now is. */
  writeSecret(owner: InfluxOnboarding, desired: DesiredSecret, observed: CredentialsSecret): Promise<CredentialsSecret>;
  readReference(namespace: string, selector: SecretKeySelector): Promise<Reference>;
  patchStatus(resource: InfluxOnboarding, status: InfluxOnboardingStatus): Promise<StatusWrite>;
  /** Queues the event; it is sent in the background and never fails the reconcile. */
  recordEvent(resource: InfluxOnboarding, event: ResourceEvent): void;
  /**
   * The escrow (--escrow-namespace), absent when off: a copy of each resource's credentials outside
   * its namespace, written before its Secret and read when the Secret is gone.
   */
  escrow?: {
    read(owner: InfluxOnboarding): Promise<BoundCredentials | undefined>;
    write(owner: InfluxOnboarding, desired: DesiredSecret): Promise<void>;
  };
  influx(target: InfluxTarget): InfluxClient;
}

export interface OnboardingOptions {
  driftCheckIntervalMs: number;
  passwordCheckIntervalMs: number;
  /** Referenced credentials go only to URLs their Secret's allowed-urls annotation names. */
  requireSecretConsent: boolean;
  logger: Logger;
  /** Every credential handled is registered here so that no log line can carry it. */
  secrets: SecretRegistry;
  now?: () => Date;
  random?: () => number;
  /** Called with each resource's Ready reason (undefined once it is gone), for metrics. */
  onReason?: (key: string, reason: Reason | undefined) => void;
  /**
   * A first visit still running after this long shows Ready Unknown (Progressing) meanwhile; a
   * faster one goes straight to its outcome with one status write. Default 1 s.
   */
  progressingAfterMs?: number;
}

// A decision needs at most a handful of steps; more means a bug, and must not spin forever.
const MAX_STEPS = 24;
// Spreads drift checks of resources created together over time.
const DRIFT_JITTER = 0.1;
const PROGRESSING_AFTER_MS = 1000;
// How soon a reconcile that found its instance locked by another resource's comes back.
const INSTANCE_BUSY_RETRY_MS = 1000;
/** The Warning that a stored spec was adjusted to be used (checkSpec's adjustments). */
export const SPEC_ADJUSTED = 'SpecAdjusted';
// Records of earlier status writes each reconcile checks against the cache (dropCaughtUpWrites):
// more than one, so that they are dropped faster than a burst of onboardings adds them.
const CAUGHT_UP_CHECKS_PER_RECONCILE = 2;

/**
 * Everything a reconcile decides on besides the clock and InfluxDB: the resource's version (its
 * spec, labels, annotations and status), the credentials Secret, the referenced Secrets and any
 * resource it collides with. The Secret counts by its version, not by its decoded contents: these
 * are held for every Ready resource, and the credentials are held once already (`remembered`).
 */
interface Inputs {
  resourceVersion: string | undefined;
  secret: string | undefined;
  references: References;
  duplicateOf: string | undefined;
}

/**
 * Which Secret a reconcile saw: one version of a Secret has one content. undefined when that is
 * not known (a Secret without a version), and such inputs never count as unchanged.
 */
function secretVersion(secret: CredentialsSecret): string | undefined {
  if (secret.state !== 'owned') return secret.state;
  return secret.resourceVersion === undefined ? undefined : `owned ${secret.resourceVersion}`;
}

export type OnboardingReconciler = (request: ReconcileRequest, signal: AbortSignal) => Promise<ReconcileOutcome>;

export function createOnboardingReconciler(ports: OnboardingPorts, options: OnboardingOptions): OnboardingReconciler {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const instanceLocks = new InstanceLocks();
  // The resources whose spec checkSpec had to adjust (requestTimeoutSeconds above the maximum) and
  // that were told so with a Warning, by uid: one Warning per resource, not one per reconcile.
  const toldAdjusted = new Map<string, string>();
  // What this process last saw in, or wrote to, each resource's Secret, and the instance it
  // belongs to: restores a deleted Secret with the same credentials, for that instance only. It is
  // memory of one resource (its uid), not of a name: a resource deleted and created again under the
  // same name gets nothing from it, even when its informer never showed the deletion (a relist
  // after a broken watch shows the new object as an update); only the escrow serves a new resource.
  const remembered = new Map<string, { uid: string | undefined; bound: BoundCredentials }>();
  // The last status this process wrote to each resource, and every resourceVersion that write
  // (with the writes just before it) replaced. The cache can lag behind those writes (a reconcile
  // triggered by our own Secret write can start before the status update arrives); deciding on
  // the older copy would repeat what the write recorded as done, e.g. send InfluxDB a request it
  // already refused for good.
  const ownWrites = new Map<string, { replaced: Array<string | undefined>; resource: InfluxOnboarding }>();
  // What each Ready resource's last check decided on, and when its next drift check is due. The
  // events of the operator's own writes (the Secret it created, coming back through two informers)
  // and resyncs find the same inputs before then: checking again would only repeat the requests.
  const lastReady = new Map<string, { inputs: Inputs; dueAt: number }>();
  const progressingAfterMs = options.progressingAfterMs ?? PROGRESSING_AFTER_MS;
  const secretsOwner = (key: string): string => redactionOwner(KIND, key);

  /** The cached resource, or what this process wrote over it when the cache has not caught up yet. */
  function latest(key: string, cached: InfluxOnboarding): InfluxOnboarding {
    const own = ownWrites.get(key);
    if (own === undefined) return cached;
    if (own.replaced.includes(cached.metadata.resourceVersion)) return own.resource;
    ownWrites.delete(key);
    return cached;
  }

  /**
   * Drops the oldest records of status writes the cache has caught up with, a few per reconcile.
   * The cache catches up within moments, but only a reconcile of the same resource used to notice
   * (latest), and the next one may be a drift interval away: each record holds a whole copy of its
   * resource, so with thousands onboarded at once they would double what the cache holds.
   */
  function dropCaughtUpWrites(): void {
    let checked = 0;
    for (const [key, own] of ownWrites) {
      if (checked++ === CAUGHT_UP_CHECKS_PER_RECONCILE) return;
      const { namespace, name } = own.resource.metadata;
      const cached = ports.resource(namespace, name);
      if (cached === undefined) ownWrites.delete(key);
      else latest(key, cached);
    }
  }

  async function writeStatus(
    key: string,
    resource: InfluxOnboarding,
    status: InfluxOnboardingStatus,
  ): Promise<InfluxOnboarding | undefined> {
    const written = await ports.patchStatus(resource, status);
    if (written.kind === 'stale') return undefined;
    const updated = {
      ...resource,
      metadata: { ...resource.metadata, resourceVersion: written.resourceVersion },
      status,
    };
    const previous = ownWrites.get(key);
    const chained =
      previous !== undefined && previous.resource.metadata.resourceVersion === resource.metadata.resourceVersion;
    ownWrites.set(key, {
      replaced: [...(chained ? previous.replaced : []), resource.metadata.resourceVersion],
      resource: updated,
    });
    return updated;
  }

  function remember(key: string, resource: InfluxOnboarding, bound: BoundCredentials): void {
    // Every reconcile decodes the Secret afresh: the first copy of equal credentials is kept (the
    // one the log redaction holds too), not one more copy per resource.
    // (An entry of another uid was dropped when this reconcile began.)
    if (isDeepStrictEqual(remembered.get(key)?.bound, bound)) return;
    remembered.set(key, { uid: resource.metadata.uid, bound });
    const { password, token } = bound.credentials;
    options.secrets.hold(secretsOwner(key), 'credentials', validCredentials({ password, tokens: [token] }));
  }

  function rememberSecret(key: string, resource: InfluxOnboarding, secret: CredentialsSecret): void {
    const bound = credentialsIn(secret);
    if (bound !== undefined) remember(key, resource, bound);
    holdPending(key, secret.state === 'owned' ? secret.pendingPassword : undefined);
  }

  /** The generated password a rotation is moving to, while the Secret carries one. */
  function holdPending(key: string, pendingPassword: string | undefined): void {
    options.secrets.hold(secretsOwner(key), 'pending', validCredentials({ password: pendingPassword }));
  }

  function duplicateOf(resource: InfluxOnboarding, checked: SpecCheck): string | undefined {
    const instance = setupInstance(checked);
    if (instance === undefined) return undefined;
    const ahead = ports
      .settingUp(instance)
      .filter((other) => other.metadata.uid !== resource.metadata.uid && other.metadata.deletionTimestamp === undefined)
      .filter((other) => precedes(other, resource));
    const first = ahead.sort((a, b) => (precedes(a, b) ? -1 : 1))[0];
    return first && `${first.metadata.namespace}/${first.metadata.name}`;
  }

  async function readReferences(key: string, resource: InfluxOnboarding): Promise<References> {
    const { spec } = resource;
    const { namespace } = resource.metadata;
    const read = async (selector: SecretKeySelector | undefined): Promise<Reference | undefined> =>
      selector === undefined ? undefined : ports.readReference(namespace, selector);
    const [password, token, authToken, ca] = await Promise.all([
      read(spec.passwordSecretRef),
      read(spec.tokenSecretRef),
      read(spec.authTokenSecretRef),
      read(spec.tls?.caSecretRef),
    ]);
    // What the references hold now replaces what they held (a replaced Secret's old value is
    // forgotten); only values valid as a password or token, and never the CA, which is public.
    const value = (reference: Reference | undefined) => (reference?.found ? reference.value : undefined);
    options.secrets.hold(
      secretsOwner(key),
      'references',
      validCredentials({ password: value(password), tokens: [value(token), value(authToken)] }),
    );
    return {
      ...(password && { password }),
      ...(token && { token }),
      ...(authToken && { authToken }),
      ...(ca && { ca }),
    };
  }

  async function act(
    step: Exclude<Step, Finish>,
    facts: Facts,
    client: () => InfluxClient,
    key: string,
  ): Promise<Facts> {
    switch (step.kind) {
      case 'checkBucket':
        return { ...facts, bucketCheck: await client().bucket(step.token, step.bucketID) };
      case 'checkSetupStatus':
        return { ...facts, setupStatus: await client().setupStatus() };
      case 'recheckSetupStatus':
        return { ...facts, setupRecheck: await client().setupStatus() };
      case 'checkToken':
        return { ...facts, tokenCheck: await client().checkToken(step.token) };
      case 'lookupIDs':
        return { ...facts, ids: await client().lookupIDs(step.token, step.org, step.bucket, step.userID) };
      case 'createOrg':
      case 'createBucket':
      case 'setRetention':
        return withRepair(facts, step, await repair(client(), step));
      case 'checkHealth':
        return { ...facts, health: await client().health() };
      case 'listAuthorizations':
        return { ...facts, authorizations: await client().listAuthorizations(step.token, { userID: step.userID }) };
      case 'createAuthorization': {
        const created = await client().createAuthorization(step.token, step.request);
        if (created.ok)
          options.secrets.hold(secretsOwner(key), 'created', validCredentials({ tokens: [created.value.token] }));
        return { ...facts, createdAuthorization: created };
      }
      case 'checkNewToken':
        return { ...facts, createdTokenCheck: await client().checkToken(step.token) };
      case 'deleteAuthorization':
        return {
          ...facts,
          authorizationsDeleted: [
            ...(facts.authorizationsDeleted ?? []),
            { id: step.id, outcome: await client().deleteAuthorization(step.token, step.id) },
          ],
        };
      case 'setPassword':
        return {
          ...facts,
          passwordSet: {
            password: step.password,
            outcome: await client().setPassword(step.token, step.userID, step.password),
          },
        };
      case 'checkPassword':
        return { ...facts, passwordCheck: await client().checkPassword(step.username, step.password) };
      case 'writeSecret': {
        remember(key, facts.resource, {
          credentials: step.credentials,
          target: { url: step.secret.data.url, tls: step.secret.tls },
        });
        const { pendingPassword } = step.secret;
        if (pendingPassword !== undefined) holdPending(key, pendingPassword ?? undefined);
        await ports.escrow?.write(facts.resource, step.secret);
        const secret = await ports.writeSecret(facts.resource, step.secret, facts.secret);
        return { ...facts, secret, secretWritten: secret.state === 'owned' };
      }
      case 'postSetup':
        return { ...facts, setupAnswer: await client().setup(step.request) };
      case 'postSetupUser':
        return { ...facts, setupAnswer: await client().setupUser(step.request, step.authToken) };
    }
  }

  async function conclude(finish: Finish, facts: Facts, steps: string[], key: string): Promise<ReconcileOutcome> {
    const { resource } = facts;
    let resourceVersion = resource.metadata.resourceVersion;
    if (!isDeepStrictEqual(finish.status, resource.status ?? {})) {
      const written = await writeStatus(key, resource, finish.status);
      if (written === undefined) {
        // Decided on an outdated copy (the cache lags behind a write): decide again, quietly.
        options.logger.debug('resource changed while reconciling; deciding again', { resource: key });
        lastReady.delete(key);
        return { requeue: true };
      }
      resourceVersion = written.metadata.resourceVersion;
    }
    if (finish.event) ports.recordEvent(resource, finish.event);
    options.onReason?.(key, finish.reason);
    const requeue = finish.requeue;
    options.logger.info('reconciled', {
      resource: key,
      generation: resource.metadata.generation,
      reason: finish.reason,
      detail: finish.message,
      steps,
      requeue: requeue.kind === 'after' ? `${Math.round(requeue.ms / 1000)}s` : requeue.kind,
    });
    const requeueAfterMs =
      requeue.kind === 'after' ? Math.round(requeue.ms * (1 + DRIFT_JITTER * random())) : undefined;
    const ready = finish.status.conditions?.some(
      (condition) => condition.type === READY && condition.status === 'True',
    );
    if (ready && requeueAfterMs !== undefined) {
      const inputs: Inputs = {
        resourceVersion,
        secret: secretVersion(facts.secret),
        references: facts.references,
        duplicateOf: facts.duplicateOf,
      };
      lastReady.set(key, { inputs, dueAt: now().getTime() + requeueAfterMs });
    } else {
      lastReady.delete(key);
    }
    if (requeue.kind === 'backoff') return { requeue: true };
    if (requeueAfterMs !== undefined) return { requeueAfterMs };
    return {};
  }

  /** When the resource is Ready and nothing it depends on changed since its last check: the time until its next one. */
  function unchangedUntil(key: string, inputs: Inputs): number | undefined {
    const last = lastReady.get(key);
    if (last === undefined || inputs.secret === undefined || !isDeepStrictEqual(last.inputs, inputs)) return undefined;
    const remaining = last.dueAt - now().getTime();
    return remaining > 0 ? remaining : undefined;
  }

  /**
   * Writes the first visit's Progressing status only if the reconcile is still running after
   * progressingAfterMs. settle() stops the timer and gives the resource to conclude on: as that
   * write left it, undefined when it was refused as stale, or the original when none was made.
   */
  function progressingIfSlow(key: string, resource: InfluxOnboarding, status: InfluxOnboardingStatus) {
    let write: Promise<InfluxOnboarding | undefined> | undefined;
    const timer = setTimeout(() => {
      write = writeStatus(key, resource, status);
      // Awaited by settle(); a reconcile that fails first must not leave it unhandled.
      write.catch(() => undefined);
    }, progressingAfterMs);
    return {
      settle: async (): Promise<InfluxOnboarding | undefined> => {
        clearTimeout(timer);
        return write === undefined ? resource : await write;
      },
      cancel: () => clearTimeout(timer),
    };
  }

  function forget(key: string): ReconcileOutcome {
    toldAdjusted.delete(key);
    remembered.delete(key);
    options.secrets.release(secretsOwner(key));
    ownWrites.delete(key);
    lastReady.delete(key);
    options.onReason?.(key, undefined);
    return {};
  }

  async function reconcileNow(request: ReconcileRequest, signal: AbortSignal): Promise<ReconcileOutcome> {
    const key = `${request.namespace}/${request.name}`;
    dropCaughtUpWrites();
    const cached = ports.resource(request.namespace, request.name);
    if (cached === undefined || cached.metadata.deletionTimestamp !== undefined) return forget(key);
    const resource = latest(key, cached);
    const checked = checkSpec(resource);
    const references = checked.ok ? await readReferences(key, resource) : {};
    const secret = checked.ok
      ? await ports.readSecret(resource, checked.spec.credentialsSecretName)
      : { state: 'absent' as const };
    if (remembered.get(key)?.uid !== resource.metadata.uid) {
      remembered.delete(key);
      options.secrets.hold(secretsOwner(key), 'credentials', []);
    }
    rememberSecret(key, resource, secret);
    // Nothing in the Secret nor in memory (the resource, or its whole namespace, was deleted and
    // created again; the operator restarted): the escrow's copy, bound to its instance like memory.
    if (secret.state === 'absent' && !remembered.has(key) && ports.escrow !== undefined) {
      const escrowed = await ports.escrow.read(resource);
      if (escrowed !== undefined) remember(key, resource, escrowed);
    }
    const known = remembered.get(key)?.bound;
    const duplicate = duplicateOf(resource, checked);
    let facts: Facts = {
      resource,
      now: now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
      passwordCheckIntervalMs: options.passwordCheckIntervalMs,
      requireSecretConsent: options.requireSecretConsent,
      references,
      secret,
      ...(known && { remembered: known }),
      ...(duplicate && { duplicateOf: duplicate }),
      generated: { password: generatePassword(), token: generateToken() },
    };

    const unchanged = unchangedUntil(key, {
      resourceVersion: resource.metadata.resourceVersion,
      secret: secretVersion(secret),
      references,
      duplicateOf: duplicate,
    });
    if (unchanged !== undefined) {
      options.logger.debug('unchanged since its last check', {
        resource: key,
        nextCheck: `${Math.round(unchanged / 1000)}s`,
      });
      return { requeueAfterMs: unchanged };
    }

    const initial = checked.ok ? firstVisitStatus(facts) : undefined;
    const progressing = initial === undefined ? undefined : progressingIfSlow(key, resource, initial);

    let influx: InfluxClient | undefined;
    const client = (): InfluxClient => {
      if (!checked.ok) throw new Error('an invalid spec never reaches InfluxDB');
      const ca = references.ca;
      influx ??= ports.influx({
        url: checked.spec.url,
        timeoutMs: checked.spec.requestTimeoutSeconds * 1000,
        insecureSkipVerify: checked.spec.insecureSkipVerify,
        ...(ca?.found && { caPem: ca.value }),
        signal,
      });
      return influx;
    };
    const steps: string[] = [];
    try {
      for (let count = 0; count < MAX_STEPS; count++) {
        // Aborted (deadline, stop, lost leadership): nothing more is decided, sent or written; the
        // facts of an abandoned request are no observation to report.
        signal.throwIfAborted();
        const step = decide(facts);
        if (step.kind === 'finish') {
          const current = progressing === undefined ? facts.resource : await progressing.settle();
          if (current === undefined) return { requeue: true };
          return await conclude(step, { ...facts, resource: current }, steps, key);
        }
        steps.push(step.kind);
        facts = await act(step, facts, client, key);
      }
    } finally {
      progressing?.cancel();
    }
    throw new Error(`no decision after ${MAX_STEPS} steps (${steps.join(', ')})`);
  }

  /** One Warning per resource whose stored spec had to be adjusted to be used. */
  function tellAdjusted(key: string, resource: InfluxOnboarding, checked: SpecCheck): void {
    const adjustments = checked.ok ? checked.adjustments : undefined;
    if (adjustments === undefined) {
      toldAdjusted.delete(key);
      return;
    }
    if (toldAdjusted.get(key) === resource.metadata.uid) return;
    toldAdjusted.set(key, resource.metadata.uid);
    ports.recordEvent(resource, { type: 'Warning', reason: SPEC_ADJUSTED, message: adjustments.join('; ') });
  }

  return async function reconcile(request: ReconcileRequest, signal: AbortSignal): Promise<ReconcileOutcome> {
    const key = `${request.namespace}/${request.name}`;
    const resource = ports.resource(request.namespace, request.name);
    if (resource === undefined || resource.metadata.deletionTimestamp !== undefined) return forget(key);
    const checked = checkSpec(resource);
    tellAdjusted(key, resource, checked);
    if (!checked.ok) return reconcileNow(request, signal);
    // Everything is observed under the per-instance lock: a reconcile after another one of the
    // instance must see the Secret and status that one wrote, not what was there before it. While
    // another resource's reconcile holds the instance, this one comes back shortly instead of
    // holding a worker for as long as that one takes.
    const locked = instanceLocks.tryRun(instanceKey(checked.spec.url), () => reconcileNow(request, signal));
    if (locked !== undefined) return locked;
    options.logger.debug('another reconcile of the same instance is running; coming back shortly', {
      resource: key,
    });
    return { requeueAfterMs: INSTANCE_BUSY_RETRY_MS };
  };
}

function repair(influx: InfluxClient, step: RepairStep): Promise<Outcome<Created>> {
  switch (step.kind) {
    case 'createOrg':
      return influx.createOrg(step.token, step.org);
    case 'createBucket':
      return influx.createBucket(step.token, step.orgID, step.bucket, step.retentionSeconds);
    case 'setRetention':
      return influx.setRetention(step.token, step.bucketID, step.retentionSeconds);
  }
}

/**
 * Which of two resources aimed at one instance may onboard it: the one that already did (its
 * status says when), else the older one. Age alone is not enough: creationTimestamp has whole
 * seconds, so a newcomer created in the same second as the resource that onboarded the instance
 * could win the name tie-break, turn the incumbent into a DuplicateTarget and itself find the
 * instance set up with no token it knows: nobody Ready.
 */
function precedes(a: InfluxOnboarding, b: InfluxOnboarding): boolean {
  const aHolds = a.status?.onboardedAt !== undefined;
  const bHolds = b.status?.onboardedAt !== undefined;
  if (aHolds !== bHolds) return aHolds;
  return isOlder(a, b);
}

function isOlder(a: InfluxOnboarding, b: InfluxOnboarding): boolean {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at < bt;
  return `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}`;
}
