import { hostname } from 'node:os';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { cacheAccess, kubernetesAccessReview } from './access-review.js';
import type { KubeConnection } from './connection.js';
import { Controller, DEFAULT_CONCURRENCY } from './controller.js';
import type { Reconciler } from './controller.js';
import { controllerOwner, enqueueMapped, enqueueObject, labelOwner, settledLow } from './enqueue.js';
import type { MapToRequests, SparedWriter } from './enqueue.js';
import type { BoundServer } from './http-server.js';
import { Informer } from './informer.js';
import type { IndexFunction } from './informer.js';
import { requestFor, requestKey } from './keys.js';
import { AlwaysLeader, LeaderElector } from './leader.js';
import type { LeaderElection, LeaseStore } from './leader.js';
import { kubernetesLeaseStore } from './lease-store.js';
import type { Logger } from '../log.js';
import type { OwnWrites } from './own-writes.js';
import { RuntimeMetrics } from './metrics.js';
import type { SecureServing } from './metrics.js';
import { filtered } from './predicates.js';
import type { Predicate } from './predicates.js';
import { Probes } from './probes.js';
import { WorkQueue } from './queue.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import { certificateDirectory, selfSigned } from './serving-cert.js';

/** A kind of object the manager caches. Registrations naming the same ObjectType share one informer. */
export interface ObjectType {
  /** '' for the core API. */
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** Only objects matching this label selector are listed, watched and cached. */
  labelSelector?: string;
  /** Only metadata is cached (PartialObjectMetadata): names and labels without contents. */
  metadataOnly?: boolean;
  /** A cluster-scoped kind (Namespace): watched cluster-wide even when the manager watches only some namespaces. */
  clusterScoped?: boolean;
  /**
   * What the cache keeps of each object, for a kind whose readers need less than dropBookkeeping
   * (or keepIdentity, with metadataOnly) leaves. Every registration of this type must name the
   * same function.
   */
  transform?: (object: KubernetesObject) => KubernetesObject;
}

/** The reads a reconciler or a map function makes from a manager's cache. */
export interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
  /** The objects an index declared through manager.cache files under `value`: a lookup, not a scan of the cache. */
  byIndex(name: string, value: string): T[];
}

export interface CacheOptions<T> {
  /**
   * Named indexes over the cache, as client-go's indexers, kept current with every change; every
   * declaration of a name for one ObjectType must give the same function.
   */
  indexes?: Readonly<Record<string, IndexFunction<T>>>;
}

/** A controller as a declaration, in controller-runtime's builder terms (For, Owns, Watches). */
export interface ControllerRegistration {
  /** Names the controller in logs and in its metrics' controller and queue labels; unique per manager. */
  name: string;
  /**
   * Its own objects: an event enqueues the object itself; all are enqueued on becoming leader and
   * at each resync, those whose status reports their generation at low priority (`settledLow`).
   */
  for: { type: ObjectType; predicates?: readonly Predicate[] };
  /**
   * Objects it writes: an event enqueues their owner, named by a controller ownerReference to the
   * `for` kind, or, with `ownerLabel`, by that label (same namespace). Their initial list and
   * resyncs enqueue nothing: the owners are queued by their own.
   */
  owns?: ReadonlyArray<{ type: ObjectType; ownerLabel?: string; predicates?: readonly Predicate[] }>;
  /** Other objects its objects depend on: an event enqueues whatever `map` names (as for `owns`, not their initial list nor resyncs). */
  watches?: ReadonlyArray<{
    type: ObjectType;
    map: MapToRequests<KubernetesObject>;
    predicates?: readonly Predicate[];
  }>;
  reconciler: Reconciler;
  /**
   * Where its reconciler records the objects it writes (OwnWrites.write): the event of such a
   * write, at exactly the version written, does not wake the writer again.
   */
  ownWrites?: OwnWrites;
  /** Objects reconciled at once; default 4. */
  concurrency?: number;
}

export interface LeaderElectionOptions {
  /** Names the Lease and labels leader_election_master_status. */
  id: string;
  /** Campaign for the Lease; absent: this process always leads. */
  lease?: {
    namespace: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    /** Default: the Lease `id` in `namespace` through the manager's connection. */
    store?: LeaseStore;
  };
}

export interface MetricsServingOptions {
  /** Like ":8443" or "127.0.0.1:0"; "0" serves no metrics. */
  bindAddress: string;
  /**
   * HTTPS, answering only bearer tokens whose user may get /metrics, with the certificate in
   * `certDir` (tls.crt, tls.key) or one made at start for `certificateName`. Absent: plain HTTP.
   */
  secure?: { certDir?: string; certificateName: string };
}

export interface ManagerOptions {
  /** The one API connection; the manager closes it on stop. */
  connection: KubeConnection;
  logger: Logger;
  /** Watch only these namespaces; empty: cluster-wide. */
  namespaces: readonly string[];
  /** How often every controller's own objects are queued again; 0 disables; default 10 h. */
  resyncPeriodMs?: number;
  /** The retry backoff of every controller's queue. */
  backoff?: RateLimiterOptions;
  leaderElection: LeaderElectionOptions;
  /** Serves /healthz and /readyz; "0" serves none. */
  healthProbeBindAddress: string;
  metrics: MetricsServingOptions;
  /** How long stop() lets running reconciles finish before aborting them; default 30 s. */
  shutdownTimeoutMs?: number;
  /** The deadline of every reconcile of every controller: its signal aborts then; default 2 min. */
  reconcileTimeoutMs?: number;
}

interface Registered {
  name: string;
  controller: Controller;
  queue: WorkQueue;
  primary: Informer;
}

/** The address convention of controller-runtime's flags: "0" turns a server off. */
const DISABLED = '0';

/**
 * The initial list and a resync deliver every cached object. For owned and watched objects that
 * only repeats, through a map (for every Secret, a scan of the resources that name it), requests
 * that the controller's own objects already make: their initial list, the queueing of all of
 * them on becoming leader, their resync.
 */
const dropRepeats = (): undefined => undefined;

function informerKey(type: ObjectType): string {
  return JSON.stringify([
    type.group,
    type.version,
    type.plural,
    type.labelSelector ?? '',
    type.metadataOnly === true,
    type.clusterScoped === true,
  ]);
}

/** The resource label of watch_restarts_total: the plural, "-metadata" for a metadata-only cache. */
function informerName(type: ObjectType): string {
  return type.metadataOnly ? `${type.plural}-metadata` : type.plural;
}

/**
 * Owns the machinery every controller shares, as controller-runtime's manager does: the API
 * connection, one informer per ObjectType, metrics, probes, leader election, the servers and
 * the order of shutdown. Controllers are registered before start() as declarations.
 */
export class Manager {
  readonly metrics = new RuntimeMetrics();
  readonly connection: KubeConnection;
  private readonly logger: Logger;
  private readonly informers = new Map<string, { type: ObjectType; informer: Informer }>();
  private readonly registered: Registered[] = [];
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  private readonly servers: BoundServer[] = [];
  private readonly election: LeaderElection;
  private readonly stopping = new AbortController();
  private started = false;

  constructor(private readonly options: ManagerOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.election = this.makeElection(options.leaderElection);
  }

  /** The shared cache of a type, for reconcilers and map functions; T is the caller's claim about its objects. */
  cache<T = KubernetesObject>(type: ObjectType, options: CacheOptions<T> = {}): Cache<T> {
    const informer = this.informerFor(type);
    if (options.indexes !== undefined)
      informer.addIndexes(options.indexes as unknown as Readonly<Record<string, IndexFunction<KubernetesObject>>>);
    return informer as unknown as Cache<T>;
  }

  /** Adds a controller; throws, naming the field, if the declaration is not usable. */
  register(registration: ControllerRegistration): void {
    this.validate(registration);
    const { name, reconciler, concurrency = DEFAULT_CONCURRENCY } = registration;
    // One namespace may have as many reconciles in flight as there are workers (all of them, while
    // no other namespace has work), but no more: those of its reconciles that hand their worker on
    // (Controller) still count, so its servers that never answer cannot take every worker in turn.
    const queue = new WorkQueue({
      ...this.options.backoff,
      maxInFlightPerFlow: concurrency,
      metrics: this.metrics.queueMetrics(name),
    });
    const { ownWrites } = registration;
    const spared = (type: ObjectType): SparedWriter<KubernetesObject> | undefined =>
      ownWrites && ((object, key, wake) => ownWrites.holds(type, object, key, wake));
    const primary = this.informerFor(registration.for.type);
    primary.addHandlers(
      filtered(enqueueObject(queue, settledLow, spared(registration.for.type)), registration.for.predicates ?? []),
    );
    for (const owned of registration.owns ?? []) {
      const toOwner =
        owned.ownerLabel !== undefined ? labelOwner(owned.ownerLabel) : controllerOwner(registration.for.type);
      this.informerFor(owned.type).addHandlers(
        filtered(enqueueMapped(queue, toOwner, dropRepeats, spared(owned.type)), owned.predicates ?? []),
      );
    }
    for (const watched of registration.watches ?? []) {
      this.informerFor(watched.type).addHandlers(
        filtered(enqueueMapped(queue, watched.map, dropRepeats, spared(watched.type)), watched.predicates ?? []),
      );
    }
    const controller = new Controller({
      name,
      queue,
      reconciler,
      logger: this.logger,
      concurrency,
      ...(this.options.reconcileTimeoutMs !== undefined && { reconcileTimeoutMs: this.options.reconcileTimeoutMs }),
      metrics: this.metrics.controllerMetrics(name),
    });
    this.registered.push({ name, controller, queue, primary });
  }

  /**
   * Runs `cleanup` during stop(), once no reconcile runs any more and before the API connection
   * and the servers close: for clients that only reconcilers use.
   */
  onStop(cleanup: () => void | Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /**
   * Serves probes and metrics, fills the caches, then campaigns for leadership; controllers run
   * only while leading. Resolves once campaigning has begun (or stop() came first).
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('manager already started');
    if (this.registered.length === 0)
      throw new Error('manager has no controllers: register at least one before start()');
    this.started = true;
    const informers = [...this.informers.values()].map(({ informer }) => informer);
    const probes = new Probes();
    probes.addReadyCheck('informers', () => informers.every((informer) => informer.hasSynced()));
    probes.addHealthCheck('informers', () => informers.every((informer) => informer.isHealthy()));
    if (this.options.healthProbeBindAddress !== DISABLED)
      this.servers.push(await probes.listen(this.options.healthProbeBindAddress, this.logger));
    const { bindAddress, secure } = this.options.metrics;
    if (bindAddress !== DISABLED)
      this.servers.push(await this.metrics.listen(bindAddress, this.logger, secure && this.secureServing(secure)));

    // stop() may have come while the servers were binding: then nothing more starts.
    if (this.stopping.signal.aborted) return;
    for (const informer of informers) informer.start();
    const synced = await Promise.all(informers.map((informer) => informer.waitForSync(this.stopping.signal)));
    if (!synced.every(Boolean)) return;
    const counts = Object.fromEntries(
      [...this.informers.values()].map(({ type, informer }) => [informerName(type), informer.list().length]),
    );
    this.logger.info('caches synced', counts);
    this.election.start();
  }

  /**
   * Stops in the order that keeps two replicas from writing at once and loses no work: running
   * reconciles finish (bounded by shutdownTimeoutMs), then the Lease is released so a successor
   * takes over at once, then queues and caches stop, cleanups run, and the connection closes;
   * the probe and metrics servers answer until the very end.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    await Promise.all(this.registered.map(({ controller }) => controller.stop(timeoutMs)));
    await this.election.release();
    for (const { queue } of this.registered) queue.shutDown();
    await Promise.all([...this.informers.values()].map(({ informer }) => informer.stop()));
    for (const cleanup of this.cleanups) await cleanup();
    this.connection.close();
    await Promise.all(this.servers.map((server) => server.close()));
    this.logger.info('stopped');
  }

  private informerFor(type: ObjectType): Informer {
    const known = this.informers.get(informerKey(type));
    if (known) {
      if (known.type.kind !== type.kind) throw new Error(kindConflict(known.type, type));
      if (known.type.transform !== type.transform)
        throw new Error(`${informerName(type)}: declared with two different transforms; one cache keeps one shape`);
      return known.informer;
    }
    if (this.started) throw new Error(`${informerName(type)}: caches can only be added before the manager starts`);
    const informer = new Informer({
      getter: this.connection,
      resource: { group: type.group, version: type.version, plural: type.plural },
      namespaces: type.clusterScoped ? [] : this.options.namespaces,
      ...(type.labelSelector !== undefined && { labelSelector: type.labelSelector }),
      ...(type.metadataOnly && { metadataOnly: true }),
      ...(type.transform !== undefined && { transform: type.transform }),
      ...(this.options.resyncPeriodMs !== undefined && { resyncPeriodMs: this.options.resyncPeriodMs }),
      logger: this.logger,
      metrics: this.metrics.informerMetrics(informerName(type)),
    });
    this.informers.set(informerKey(type), { type, informer });
    return informer;
  }

  private validate(registration: ControllerRegistration): void {
    const { name } = registration;
    const problems: string[] = [];
    if (this.started) problems.push('register controllers before the manager starts');
    if (typeof name !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name)) {
      problems.push('name: must be lowercase letters, digits, "-" or ".", starting and ending with a letter or digit');
    } else if (this.registered.some((registered) => registered.name === name)) {
      problems.push(`name: a controller named "${name}" is already registered`);
    }
    problems.push(...typeProblems('for.type', registration.for?.type));
    for (const [index, owned] of (registration.owns ?? []).entries()) {
      problems.push(...typeProblems(`owns[${index}].type`, owned.type));
      if (owned.ownerLabel === '') problems.push(`owns[${index}].ownerLabel: must not be empty`);
    }
    for (const [index, watched] of (registration.watches ?? []).entries()) {
      problems.push(...typeProblems(`watches[${index}].type`, watched.type));
      if (typeof watched.map !== 'function')
        problems.push(`watches[${index}].map: must be a function from an object to the requests it concerns`);
    }
    if (problems.length === 0) problems.push(...this.kindConflicts(registration));
    if (typeof registration.reconciler !== 'function') problems.push('reconciler: must be a function');
    const { concurrency } = registration;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
      problems.push('concurrency: must be a positive integer');
    if (problems.length > 0) throw new Error(`controller ${JSON.stringify(name)}: ${problems.join('; ')}`);
  }

  /** Checked before anything is built, so a refused registration leaves no handler behind. */
  private kindConflicts(registration: ControllerRegistration): string[] {
    const types = [
      registration.for.type,
      ...(registration.owns ?? []).map(({ type }) => type),
      ...(registration.watches ?? []).map(({ type }) => type),
    ];
    const seen = new Map([...this.informers.values()].map(({ type }) => [informerKey(type), type]));
    const problems: string[] = [];
    for (const type of types) {
      const known = seen.get(informerKey(type));
      if (known && known.kind !== type.kind) problems.push(kindConflict(known, type));
      else seen.set(informerKey(type), type);
    }
    return problems;
  }

  private makeElection({ id, lease }: LeaderElectionOptions): LeaderElection {
    const leadership = {
      onStartedLeading: () => {
        for (const { controller, queue, primary } of this.registered) {
          // Everything known is queued again: the previous leader may have left work unfinished.
          for (const object of primary.list()) queue.add(requestKey(requestFor(object)), settledLow(object));
          controller.start();
        }
      },
      // A successor may start soon after we stop leading: abort running reconciles at once rather
      // than let two replicas write to the same resources.
      onStoppedLeading: () => {
        for (const { controller } of this.registered) void controller.stop(0);
      },
      metrics: this.metrics.leaderMetrics(id),
    };
    if (lease === undefined) return new AlwaysLeader(leadership, this.logger);
    const { namespace, identity, store, ...timing } = lease;
    return new LeaderElector({
      ...leadership,
      ...timing,
      logger: this.logger,
      identity,
      store: store ?? kubernetesLeaseStore(this.connection.makeApiClient(CoordinationV1Api), namespace, id),
    });
  }

  private secureServing({ certDir, certificateName }: NonNullable<MetricsServingOptions['secure']>): SecureServing {
    return {
      certificates:
        certDir !== undefined
          ? certificateDirectory(certDir)
          : selfSigned(certificateName, ['localhost', '127.0.0.1', hostname()]),
      review: cacheAccess(
        kubernetesAccessReview(
          this.connection.makeApiClient(AuthenticationV1Api),
          this.connection.makeApiClient(AuthorizationV1Api),
          {
            path: '/metrics',
            verb: 'get',
          },
        ),
      ),
    };
  }
}

function kindConflict(known: ObjectType, type: ObjectType): string {
  return `${informerName(type)}: declared as kind ${known.kind} and as kind ${type.kind}; one plural has one kind`;
}

function typeProblems(field: string, type: ObjectType | undefined): string[] {
  if (type === undefined || type === null || typeof type !== 'object')
    return [`${field}: required (group, version, kind, plural)`];
  const problems: string[] = [];
  if (typeof type.group !== 'string') problems.push(`${field}.group: must be a string ('' for the core API)`);
  if (typeof type.version !== 'string' || type.version === '') problems.push(`${field}.version: must not be empty`);
  if (typeof type.kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(type.kind))
    problems.push(`${field}.kind: must be a CamelCase kind such as Secret`);
  if (typeof type.plural !== 'string' || !/^[a-z0-9]+$/.test(type.plural))
    problems.push(`${field}.plural: must be a lowercase plural such as secrets`);
  return problems;
}
