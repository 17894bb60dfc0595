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
import { controllerOwner, enqueueMapped, enqueueObject, labelOwner, settledLow } from './enqueue.js';
import type { SparedWriter } from './enqueue.js';
import type { BoundServer } from './http-server.js';
import { Informer } from './informer.js';
import type { EventHandlers, IndexFunction } from './informer.js';
import { requestFor, requestKey } from './keys.js';
import { AlwaysLeader, LeaderElector } from './leader.js';
import type { LeaderElection, LeaseStore } from './leader.js';
import { kubernetesLeaseStore } from './lease-store.js';
import { errorMessage, type Logger } from '../log.js';
import { RuntimeMetrics } from './metrics.js';
import type { SecureServing } from './metrics.js';
import { filtered } from './predicates.js';
import { ReadYourWrites, type Versioned } from './read-your-writes.js';
import { Probes } from './probes.js';
import {
  informerKey,
  informerName,
  kindConflict,
  registrationProblems,
  type ControllerRegistration,
  type ObjectType,
} from './registration.js';
import { WorkQueue } from './queue.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import { certificateDirectory, selfSigned } from './serving-cert.js';

/** The reads a reconciler or a map function makes from a manager's cache. */
export interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
  /** The objects an index declared through manager.cache files under `value`: a lookup, not a scan of the cache. */
  byIndex(name: string, value: string): T[];
  /** The values an index files `object` under; for the objects of the change being delivered, those the cache filed them under, not computed again. */
  indexValues(name: string, object: T): readonly string[];
  /** How many times the cache's contents changed: what is computed from them holds while it stays. */
  readonly changes: number;
  getByKey(key: string): T | undefined;
  /** Notifications of every change, delivered as the cache changes, before anything reads it: to keep what is derived from it current. */
  addHandlers(handlers: EventHandlers<T>): void;
}

export interface CacheOptions<T> {
  /**
   * Named indexes over the cache, as client-go's indexers, kept current with every change; every
   * declaration of a name for one ObjectType must give the same function.
   */
  indexes?: Readonly<Record<string, IndexFunction<T>>>;
}

interface LeaderElectionOptions {
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

interface MetricsServingOptions {
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

/** API groups whose writes a replica that does not lead may still send (see the constructor). */
const CHANGES_NOTHING = ['/apis/coordination.k8s.io/', '/apis/authentication.k8s.io/', '/apis/authorization.k8s.io/'];

/**
 * Whether a replica that does not lead may send this request: reads, its Lease, and reviews that
 * change nothing. Judged by the URL's path (the API server may sit under a path prefix), never by
 * its query.
 */
export function sendableWithoutLeading(method: string, url: string): boolean {
  if (method === 'GET') return true;
  const path = new URL(url, 'http://api-server').pathname;
  return CHANGES_NOTHING.some((group) => path.includes(group));
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
  /** One read-your-writes view per cache, shared by every writer of its kind. */
  private readonly views = new Map<string, ReadYourWrites<KubernetesObject>>();
  private readonly registered: Registered[] = [];
  private readonly drains: Array<() => Promise<void>> = [];
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  private readonly termStarts: Array<() => void> = [];
  private readonly servers: BoundServer[] = [];
  private readonly election: LeaderElection;
  private readonly stopping = new AbortController();
  private started = false;

  constructor(private readonly options: ManagerOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.election = this.makeElection(options.leaderElection);
    // The Lease itself is how a replica becomes leader again; reads change nothing, and neither do
    // the TokenReviews and SubjectAccessReviews with which every replica checks its metrics scrapers.
    this.connection.refuseWhen((method, url) => (sendableWithoutLeading(method, url) ? undefined : this.notLeading()));
  }

  /**
   * Why nothing may be changed now (in the API server, in InfluxDB), or undefined while this
   * replica leads. Judged by the clock at the moment of asking, so a process that was paused
   * past its Lease refuses before any timer or answer that waited for it can act.
   */
  notLeading(): string | undefined {
    return this.election.isLeader() ? undefined : 'not sent: this replica does not hold the leader Lease';
  }

  /** The shared cache of a type, for reconcilers and map functions; T is the caller's claim about its objects. */
  cache<T = KubernetesObject>(type: ObjectType, options: CacheOptions<T> = {}): Cache<T> {
    const informer = this.informerFor(type);
    if (options.indexes !== undefined)
      informer.addIndexes(options.indexes as unknown as Readonly<Record<string, IndexFunction<KubernetesObject>>>);
    return informer as unknown as Cache<T>;
  }

  /**
   * A read-your-writes view of a type's cache (see ReadYourWrites): it answers with what this
   * process wrote (recorded with `wrote`) until the cache shows it or moves on.
   */
  readYourWrites<T extends Versioned = KubernetesObject>(type: ObjectType): ReadYourWrites<T> {
    const key = informerKey(type);
    let view = this.views.get(key);
    if (view === undefined) {
      const informer = this.informerFor(type);
      view = new ReadYourWrites(informer, (object) => informer.prepare(object));
      informer.addHandlers(view.handlers());
      this.views.set(key, view);
    }
    // T is the caller's claim about the objects, as with cache().
    return view as unknown as ReadYourWrites<T>;
  }

  /** Adds a controller; throws, naming the field, if the declaration is not usable. */
  register(registration: ControllerRegistration): void {
    const problems = registrationProblems(registration, {
      started: this.started,
      names: this.registered.map(({ name }) => name),
      known: [...this.informers.values()].map(({ type }) => type),
    });
    if (problems.length > 0) throw new Error(`controller ${JSON.stringify(registration.name)}: ${problems.join('; ')}`);
    const { name, reconciler, concurrency = DEFAULT_CONCURRENCY } = registration;
    // One namespace may have as many reconciles in flight as there are workers (all of them, while
    // no other namespace has work), but no more: those of its reconciles that hand their worker on
    // (Controller) still count, so its servers that never answer cannot take every worker in turn.
    const queue = new WorkQueue({
      ...this.options.backoff,
      maxInFlightPerFlow: concurrency,
      metrics: this.metrics.queueMetrics(name),
    });
    const { wakeSuppression } = registration;
    const spared = (type: ObjectType): SparedWriter<KubernetesObject> | undefined =>
      wakeSuppression && ((object, key, wake) => wakeSuppression.holds(type, object, key, wake));
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
   * Runs `drain` during stop(), once no reconcile runs any more and while this replica still
   * holds the Lease: for writes the reconciles handed over to be sent in the background (Events),
   * which a replica that does not lead may not send. The successor waits for them.
   */
  onDrain(drain: () => Promise<void>): void {
    this.drains.push(drain);
  }

  /**
   * Runs `cleanup` during stop(), once no reconcile runs any more and before the API connection
   * and the servers close: for clients that only reconcilers use.
   */
  onStop(cleanup: () => void | Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /**
   * Runs `forget` each time this replica becomes leader, before any controller starts: for what a
   * process holds of objects only the leader writes. Another replica may have led (and written)
   * since this one last did, so what it held from an earlier term is no longer true.
   */
  onLeading(forget: () => void): void {
    this.termStarts.push(forget);
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
   * reconciles finish (bounded by shutdownTimeoutMs), what they left to send is sent (drains),
   * then the Lease is released so a successor takes over at once, then queues and caches stop,
   * cleanups run, and the connection closes; the probe and metrics servers answer until the very
   * end.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    await Promise.all(this.registered.map(({ controller }) => controller.stop(timeoutMs)));
    // A drain that fails must not keep the Lease from its successor.
    for (const outcome of await Promise.allSettled(this.drains.map((drain) => drain())))
      if (outcome.status === 'rejected') this.logger.warn('drain failed', { error: errorMessage(outcome.reason) });
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
      namespaces: type.clusterWide ? [] : this.options.namespaces,
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

  private makeElection({ id, lease }: LeaderElectionOptions): LeaderElection {
    const leadership = {
      onStartedLeading: () => {
        for (const forget of this.termStarts) forget();
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
