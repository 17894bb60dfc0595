import type { KubernetesObject } from '@kubernetes/client-node';
import type { MapToRequests } from './enqueue.js';
import type { Reconciler } from './controller.js';
import type { Predicate } from './predicates.js';
import type { WakeSuppression } from './wake-suppression.js';

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
  /**
   * Listed and watched cluster-wide even when the manager watches only some namespaces: a
   * cluster-scoped kind (Namespace), or a namespaced kind whose objects matter in every namespace.
   */
  clusterWide?: boolean;
  /**
   * What the cache keeps of each object, for a kind whose readers need less than dropBookkeeping
   * (or keepIdentity, with metadataOnly) leaves. Every registration of this type must name the
   * same function.
   */
  transform?: (object: KubernetesObject) => KubernetesObject;
}

/** Objects a controller's objects depend on, and the requests an event of one names. */
export interface Watch {
  type: ObjectType;
  map: MapToRequests<KubernetesObject>;
  predicates?: readonly Predicate[];
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
  watches?: readonly Watch[];
  reconciler: Reconciler;
  /**
   * Where its reconciler records the objects it writes (WakeSuppression.write): the event of such
   * a write, at exactly the version written, does not wake the writer again.
   */
  wakeSuppression?: WakeSuppression;
  /** Objects reconciled at once; default 4. */
  concurrency?: number;
}

export function informerKey(type: ObjectType): string {
  return JSON.stringify([
    type.group,
    type.version,
    type.plural,
    type.labelSelector ?? '',
    type.metadataOnly === true,
    type.clusterWide === true,
  ]);
}

/** The resource label of watch_restarts_total: the plural, "-metadata" for a metadata-only cache. */
export function informerName(type: ObjectType): string {
  return type.metadataOnly ? `${type.plural}-metadata` : type.plural;
}

/** What makes a registration unusable, each naming its field; none: it may be added. */
export function registrationProblems(
  registration: ControllerRegistration,
  manager: { started: boolean; names: readonly string[]; known: readonly ObjectType[] },
): string[] {
  const { name } = registration;
  const problems: string[] = [];
  if (manager.started) problems.push('register controllers before the manager starts');
  if (typeof name !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name)) {
    problems.push('name: must be lowercase letters, digits, "-" or ".", starting and ending with a letter or digit');
  } else if (manager.names.includes(name)) {
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
  if (problems.length === 0) problems.push(...kindConflicts(registration, manager.known));
  if (typeof registration.reconciler !== 'function') problems.push('reconciler: must be a function');
  const { concurrency } = registration;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    problems.push('concurrency: must be a positive integer');
  return problems;
}

/** Checked before anything is built, so a refused registration leaves no handler behind. */
function kindConflicts(registration: ControllerRegistration, known: readonly ObjectType[]): string[] {
  const types = [
    registration.for.type,
    ...(registration.owns ?? []).map(({ type }) => type),
    ...(registration.watches ?? []).map(({ type }) => type),
  ];
  const seen = new Map(known.map((type) => [informerKey(type), type]));
  const problems: string[] = [];
  for (const type of types) {
    const known = seen.get(informerKey(type));
    if (known && known.kind !== type.kind) problems.push(kindConflict(known, type));
    else seen.set(informerKey(type), type);
  }
  return problems;
}

export function kindConflict(known: ObjectType, type: ObjectType): string {
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
