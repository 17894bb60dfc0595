/**
 * The controller machinery, knowing nothing of what is being controlled. Typical wiring in main:
 *
 *   const connection = new KubeConnection(kubeConfig);
 *   const metrics = new RuntimeMetrics();
 *   const queue = new WorkQueue({ metrics: metrics.queueMetrics(name) });
 *   const things = new Informer<Thing>({ getter: connection, resource: { group, version, plural },
 *     namespaces, logger, metrics: metrics.informerMetrics(`${plural}.${group}`) });
 *   const secrets = new Informer<V1Secret>({ getter: connection, resource: { group: '', version: 'v1',
 *     plural: 'secrets' }, labelSelector, namespaces, logger, metrics: metrics.informerMetrics('secrets') });
 *   things.addHandlers(enqueueObject(queue));
 *   secrets.addHandlers(enqueueMapped(queue, secretToOwnerRequests));   // e.g. controllerOwner({ group, kind })
 *   const controller = new Controller({ name, queue, reconciler, logger, concurrency,
 *     metrics: metrics.controllerMetrics(name) });
 *   const leadership = { onStartedLeading: () => controller.start(),
 *     onStoppedLeading: () => void controller.stop(0), metrics: metrics.leaderMetrics(leaseName) };
 *   const election = leaderElect
 *     ? new LeaderElector({ ...leadership, identity, logger,
 *         store: kubernetesLeaseStore(connection.makeApiClient(CoordinationV1Api), leaseNamespace, leaseName) })
 *     : new AlwaysLeader(leadership, logger);
 *   const probes = new Probes();
 *   probes.addReadyCheck('informers', () => things.hasSynced() && secrets.hasSynced());
 *   probes.addHealthCheck('informers', () => things.isHealthy() && secrets.isHealthy());
 *   const probeServer = await probes.listen(':8081', logger);
 *   const metricsServer = await metrics.listen(':8443', logger, { certificates: selfSigned('my-operator', [hostname()]),
 *     review: cacheAccess(kubernetesAccessReview(connection.makeApiClient(AuthenticationV1Api),
 *       connection.makeApiClient(AuthorizationV1Api), { path: '/metrics', verb: 'get' })) });
 *   exitOnSignals({ logger, timeoutMs: 30_000, shutdown: async () => {
 *     await controller.stop(20_000);      // finish in-flight reconciles
 *     await election.release();           // successor takes over at once
 *     queue.shutDown();
 *     await Promise.all([things.stop(), secrets.stop(), probeServer.close(), metricsServer.close()]);
 *     connection.close();
 *   } });
 *   things.start(); secrets.start();
 *   await Promise.all([things.waitForSync(), secrets.waitForSync()]);
 *   election.start();                     // reconciles run only while leading
 *
 * The reconciler reads objects with things.get(namespace, name), never from the event.
 */
export { cacheAccess, kubernetesAccessReview } from './access-review.js';
export type { Access, AccessCacheOptions, AccessReview, NonResourceAccess } from './access-review.js';
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { ManualClock, sleep, systemClock } from './clock.js';
export type { Cancel, Clock } from './clock.js';
export { KubeConnection } from './connection.js';
export type { ApiGetter, KubeConnectionOptions, RequestAuth } from './connection.js';
export { Controller } from './controller.js';
export type { ControllerMetrics, ControllerOptions, ReconcileOutcome, Reconciler, Result } from './controller.js';
export { controllerOwner, enqueueMapped, enqueueObject } from './enqueue.js';
export type { KeyQueue, MapToRequests } from './enqueue.js';
export { parseBindAddress } from './http-server.js';
export type { BoundServer } from './http-server.js';
export { collectionPath, dropBookkeeping, Informer } from './informer.js';
export type { EventHandlers, InformerOptions, ResourceType } from './informer.js';
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
export { RuntimeMetrics } from './metrics.js';
export type { SecureServing } from './metrics.js';
export { Probes } from './probes.js';
export type { Check } from './probes.js';
export { WorkQueue } from './queue.js';
export type { QueueGauges, QueueMetrics, WorkQueueOptions } from './queue.js';
export type { RateLimiterOptions } from './rate-limiter.js';
export type { InformerMetrics, ReflectorTiming, WatchRestartReason } from './reflector.js';
export { certificateDirectory, selfSigned } from './serving-cert.js';
export type { CertificateSource, ServingCertificate } from './serving-cert.js';
export { exitOnSignals, FORCED_EXIT_CODE } from './signals.js';
export type { ShutdownOptions, SignalTarget } from './signals.js';
