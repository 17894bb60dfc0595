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
 * The reconciler reads objects from the caches, never from the event. This file is the runtime's
 * public face: what the operator's other rooms use. The pieces the manager puts together
 * (Informer, WorkQueue, Controller, LeaderElector, Probes, RuntimeMetrics) live in their own
 * files, where tests reach them.
 */
export { BackgroundSender } from './background.js';
export { KubeConnection } from './connection.js';
export { DriftSchedule } from './drift-schedule.js';
export { FreshReads } from './fresh-reads.js';
export type { Reconciler, Result } from './controller.js';
export { identityOf, shareCommonStrings } from './cached-object.js';
export { objectKey, requestFor, requestFromKey, requestKey } from './keys.js';
export type { Request } from './keys.js';
export { Manager } from './manager.js';
export type { Cache, CacheOptions } from './manager.js';
export type { ObjectType, Watch } from './registration.js';
export { anyOf, conditionBecameTrue, generationChanged, ignoreStatusOnlyUpdates } from './predicates.js';
export { withStatus } from './read-your-writes.js';
export { RunMemory } from './run-memory.js';
export type { ReadYourWrites } from './read-your-writes.js';
export { exitOnSignals } from './signals.js';
export { WakeSuppression } from './wake-suppression.js';
export { after, BACKOFF, ended, NONE, report, runSteps } from './steps.js';
export type { Ended, Finish, Reporter, Requeue, ResourceEvent, StatusWrite, StepLoop } from './steps.js';
