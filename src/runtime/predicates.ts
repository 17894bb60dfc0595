import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventHandlers } from './informer.js';

/**
 * Which events may wake a controller, as controller-runtime's predicate.Funcs: a missing
 * function lets that kind of event through. A registration's predicates must all pass.
 */
export interface Predicate<T extends KubernetesObject = KubernetesObject> {
  create?(object: T): boolean;
  /** Also asked on every periodic resync, with previous === current. */
  update?(previous: T, current: T): boolean;
  delete?(lastKnown: T): boolean;
}

/** Passes an event that any of the predicates passes. */
export function anyOf<T extends KubernetesObject>(...predicates: ReadonlyArray<Predicate<T>>): Predicate<T> {
  return {
    create: (object) => predicates.some((predicate) => predicate.create?.(object) ?? true),
    update: (previous, current) => predicates.some((predicate) => predicate.update?.(previous, current) ?? true),
    delete: (object) => predicates.some((predicate) => predicate.delete?.(object) ?? true),
  };
}

/** A periodic resync: the informer re-delivers an object it already holds. */
const resync: Predicate = { update: (previous, current) => previous === current };

/** The spec changed (metadata.generation moves only on spec changes when there is a status subresource). */
export const generationChanged: Predicate = {
  update: (previous, current) => previous.metadata?.generation !== current.metadata?.generation,
};

/** The object's status condition of this type turned True (a Kubernetes convention: `status.conditions[].type`). */
export function conditionBecameTrue(type: string): Predicate {
  const isTrue = (object: KubernetesObject): boolean =>
    (object as { status?: { conditions?: Array<{ type?: string; status?: string }> } }).status?.conditions?.some(
      (condition) => condition.type === type && condition.status === 'True',
    ) ?? false;
  return { update: (previous, current) => !isTrue(previous) && isTrue(current) };
}

const deletionRequested: Predicate = {
  update: (previous, current) =>
    String(previous.metadata?.deletionTimestamp) !== String(current.metadata?.deletionTimestamp),
};

const labelsChanged: Predicate = {
  update: (previous, current) => JSON.stringify(previous.metadata?.labels) !== JSON.stringify(current.metadata?.labels),
};

const annotationsChanged: Predicate = {
  update: (previous, current) =>
    JSON.stringify(previous.metadata?.annotations) !== JSON.stringify(current.metadata?.annotations),
};

/**
 * Drops updates that changed only the status (a controller's own status patch must not wake it
 * again): spec changes (generation), deletion, label or annotation changes and resyncs pass.
 */
export const ignoreStatusOnlyUpdates: Predicate = anyOf(
  resync,
  generationChanged,
  deletionRequested,
  labelsChanged,
  annotationsChanged,
);

/** Handlers that pass on only the events every predicate lets through. */
export function filtered<T extends KubernetesObject>(
  handlers: EventHandlers<T>,
  predicates: ReadonlyArray<Predicate<T>>,
): EventHandlers<T> {
  return {
    onAdd: (object, isInInitialList) => {
      if (predicates.every((predicate) => predicate.create?.(object) ?? true))
        handlers.onAdd?.(object, isInInitialList);
    },
    onUpdate: (previous, current) => {
      if (predicates.every((predicate) => predicate.update?.(previous, current) ?? true))
        handlers.onUpdate?.(previous, current);
    },
    onDelete: (object) => {
      if (predicates.every((predicate) => predicate.delete?.(object) ?? true)) handlers.onDelete?.(object);
    },
  };
}
