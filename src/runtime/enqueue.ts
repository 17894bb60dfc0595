import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventHandlers } from './informer.js';
import { requestFor, requestKey } from './keys.js';
import type { Request } from './keys.js';
import type { Priority } from './queue.js';

/** The part of the work queue an event handler needs. */
interface KeyQueue {
  add(key: string, priority?: Priority): void;
}

/**
 * Whether the key need not be woken by this version of the object (it wrote it itself), or is
 * woken later through `wake` (WakeSuppression.holds). Never asked about resyncs or deletions.
 */
export type SparedWriter<T> = (object: T, key: string, wake: () => void) => boolean;

/** Which objects a change to `object` concerns; the business rule lives with the caller. */
export type MapToRequests<T> = (object: T) => Request[];

/**
 * How an event that only repeats what is known is queued (an object of the initial list, or a
 * periodic resync): at the returned priority, or not at all when it returns undefined.
 */
type RepeatPolicy<T> = (object: T) => Priority | undefined;

/** controller-runtime's priority queue: repeats wait behind every change. */
const LOW: RepeatPolicy<unknown> = () => 'low';

/**
 * The repeat policy of a controller's own objects: low, unless the object's status does not
 * report its current generation (kstatus' observedGeneration): a new object, or one whose spec
 * changed while no controller ran, still waits for its work and goes before the settled ones.
 */
export function settledLow(object: KubernetesObject): Priority {
  const status = (object as { status?: { observedGeneration?: unknown } }).status;
  return status?.observedGeneration === object.metadata?.generation ? 'low' : 'normal';
}

/**
 * Handlers that enqueue whatever `map` says each changed object concerns. On update both the
 * old and the new object are mapped, as controller-runtime does, so a change of owner or label
 * reaches the previous owner too. A key both name is added once: added twice, a worker could
 * take it in between and reconcile it a second time for the same event.
 */
export function enqueueMapped<T>(
  queue: KeyQueue,
  map: MapToRequests<T>,
  repeats: RepeatPolicy<T> = LOW,
  spared?: SparedWriter<T>,
): EventHandlers<T> {
  const enqueue = (priority: Priority, objects: T[], written?: T): void => {
    const keys = new Set(objects.flatMap((object) => map(object).map(requestKey)));
    for (const key of keys) {
      if (written !== undefined && spared?.(written, key, () => queue.add(key, priority))) continue;
      queue.add(key, priority);
    }
  };
  const repeated = (object: T): void => {
    const priority = repeats(object);
    if (priority !== undefined) enqueue(priority, [object]);
  };
  return {
    onAdd: (object, isInInitialList) => (isInInitialList ? repeated(object) : enqueue('normal', [object], object)),
    onUpdate: (previous, current) =>
      previous === current ? repeated(current) : enqueue('normal', [previous, current], current),
    onDelete: (object) => enqueue('normal', [object]),
  };
}

/** Handlers that enqueue the changed object itself. */
export function enqueueObject<T extends KubernetesObject>(
  queue: KeyQueue,
  repeats: RepeatPolicy<T> = LOW,
  spared?: SparedWriter<T>,
): EventHandlers<T> {
  return enqueueMapped(queue, (object) => [requestFor(object)], repeats, spared);
}

/**
 * Maps an object to the object that controls it (ownerReference with controller: true) if that
 * owner is of the given group and kind — controller-runtime's EnqueueRequestForOwner with
 * OnlyControllerOwner. Owners are always in the object's own namespace.
 */
export function controllerOwner(owner: { group: string; kind: string }): MapToRequests<KubernetesObject> {
  return (object) => {
    const reference = object.metadata?.ownerReferences?.find((candidate) => candidate.controller === true);
    if (!reference || reference.kind !== owner.kind) return [];
    const slash = reference.apiVersion.indexOf('/');
    const group = slash < 0 ? '' : reference.apiVersion.slice(0, slash);
    if (group !== owner.group) return [];
    return [{ namespace: object.metadata?.namespace ?? '', name: reference.name }];
  };
}

/**
 * Maps an object to the owner its label `label` names, in the object's own namespace: for owned
 * objects that must outlive their owner and so carry no ownerReference.
 */
export function labelOwner(label: string): MapToRequests<KubernetesObject> {
  return (object) => {
    const owner = object.metadata?.labels?.[label];
    const namespace = object.metadata?.namespace;
    return owner && namespace ? [{ namespace, name: owner }] : [];
  };
}
