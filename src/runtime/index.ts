/**
 * The controller machinery, knowing nothing of what is being controlled. Typical wiring in main:
 *
 *   const manager = new Manager({ connection: new KubeConnection(kubeConfig), logger, namespaces,
 *     leaderElection: { id: 'my-operator', lease: { namespace, identity } },
 *     healthProbeBindAddress: ':8081', metrics: { bindAddress: ':8443', secure: { certificateName: 'my-operator' } } });
 *   const things = manager.cache<Thing>(THINGS, { indexes: { configMap: (thing) => [`${thing.metadata.namespace}/${thing.spec.configMap}`] } });
 *                                                         // shared: one informer per ObjectType
 *   manager.register({
 *     name: 'thing',
 *     for: { type: THINGS, predicates: [ignoreStatusOnlyUpdates] },
 *     owns: [{ type: SECRETS }],                          // via the controller ownerReference (or ownerLabel)
 *     watches: [{ type: CONFIG_MAPS, map: (configMap) => things.byIndex('configMap', objectKey(configMap)).map(requestFor) }],
 *     reconciler: (request, signal) => reconcileThing(things.get(request.namespace, request.name), signal),
 *   });
 *   exitOnSignals({ logger, shutdown: () => manager.stop() });
 *   await manager.start();   // probes and metrics, caches synced, then controllers run while leading
 *
 * The reconciler reads objects from the caches, never from the event. The pieces the manager
 * puts together (Informer, WorkQueue, Controller, LeaderElector, Probes, RuntimeMetrics) are
 * exported for tests and for wiring of a different shape.
 */
export { cacheAccess, kubernetesAccessReview } from './access-review.js';
export type { Access, AccessCacheOptions, AccessReview, NonResourceAccess } from './access-review.js';
export { BackgroundSender } from './background.js';
export type { BackgroundSenderOptions, DropReason } from './background.js';
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { ManualClock, sleep, systemClock } from './clock.js';
export type { Cancel, Clock } from './clock.js';
export { KubeConnection } from './connection.js';
export type { ApiGetter, KubeConnectionOptions, RequestAuth } from './connection.js';
export { Controller, DEFAULT_CONCURRENCY, DEFAULT_RECONCILE_TIMEOUT_MS, ReconcileDeadlineError } from './controller.js';
export type { ControllerMetrics, ControllerOptions, ReconcileOutcome, Reconciler, Result } from './controller.js';
export { controllerOwner, enqueueMapped, enqueueObject, labelOwner, settledLow } from './enqueue.js';
export type { KeyQueue, MapToRequests, RepeatPolicy, SparedWriter } from './enqueue.js';
export { parseBindAddress } from './http-server.js';
export type { BoundServer } from './http-server.js';
export { collectionPath, dropBookkeeping, identityOf, Informer, keepIdentity, shareCommonStrings } from './informer.js';
export type { EventHandlers, IndexFunction, InformerOptions, ResourceType } from './informer.js';
export { objectKey, requestFor, requestFromKey, requestKey } from './keys.js';
export type { Request } from './keys.js';
export { AlwaysLeader, LeaderElector } from './leader.js';
export type {
  LeaderElection,
  LeaderElectorOptions,
  LeaderMetrics,
  LeadershipCallbacks,
  LeaseRecord,
  LeaseStore,
  StoredLease,
} from './leader.js';
export { kubernetesLeaseStore } from './lease-store.js';
export { Manager } from './manager.js';
export type {
  Cache,
  CacheOptions,
  ControllerRegistration,
  LeaderElectionOptions,
  ManagerOptions,
  MetricsServingOptions,
  ObjectType,
} from './manager.js';
export { RuntimeMetrics } from './metrics.js';
export type { SecureServing } from './metrics.js';
export {
  annotationsChanged,
  anyOf,
  deletionRequested,
  filtered,
  generationChanged,
  ignoreStatusOnlyUpdates,
  labelsChanged,
  labelsMatch,
  resync,
} from './predicates.js';
export type { Predicate } from './predicates.js';
export { OwnWrites } from './own-writes.js';
export type { WrittenType } from './own-writes.js';
export { Probes } from './probes.js';
export type { Check } from './probes.js';
export { WorkQueue } from './queue.js';
export type { Priority, QueueGauges, QueueMetrics, WorkQueueOptions } from './queue.js';
export type { RateLimiterOptions } from './rate-limiter.js';
export type { InformerMetrics, ReflectorTiming, WatchRestartReason } from './reflector.js';
export { certificateDirectory, selfSigned } from './serving-cert.js';
export type { CertificateSource, ServingCertificate } from './serving-cert.js';
export { exitOnSignals, FORCED_EXIT_CODE } from './signals.js';
export type { ShutdownOptions, SignalTarget } from './signals.js';
