import type { AccessRecord, RecordApplied, RecordChange, RecordKey, RecordRefusal } from '../api/access-records.js';
import { selectsByLabel } from '../api/access-from.js';
import { type Checked, type OnboardingKey } from '../api/access-spec.js';
import type { AccessReason } from '../api/access-types.js';
import { redactionOwner, validCredentials, type CredentialsSecret, type Reference } from '../api/credentials.js';
import { checkSpec } from '../api/spec.js';
import { KIND, READY, type InfluxOnboarding, type ObjectMeta, type SecretKeySelector } from '../api/types.js';
import type { InfluxClient, InfluxTarget } from '../influx/index.js';
import type { Logger, SecretRegistry } from '../log.js';
import {
  ended,
  report,
  type Ended,
  type Reporter,
  type ResourceEvent,
  type Result,
  type StatusWrite,
  type StepLoop,
} from '../runtime/index.js';
import { resolveAccess, type AccessFinish, type FinalizerStep, type OnboardingAccess } from './access.js';

/** An InfluxBucket or InfluxToken as both reconcilers handle it. */
type Resource = { apiVersion: string; kind: string; metadata: ObjectMeta & { finalizers?: string[] } };

/** What both access reconcilers read: the onboarding, its Secret and CA, the namespace's labels, and InfluxDB. */
export interface AccessPorts {
  onboarding(namespace: string, name: string): InfluxOnboarding | undefined;
  readCredentials(onboarding: InfluxOnboarding, secretName: string): Promise<CredentialsSecret>;
  readReference(namespace: string, selector: SecretKeySelector): Promise<Reference>;
  /** Only asked when the onboarding grants by namespaceSelector; undefined when the namespace cannot be read. */
  namespaceLabels(namespace: string): Promise<Record<string, string> | undefined>;
  influx(target: InfluxTarget): InfluxClient;
  /** Queues the event; it is sent in the background and never fails the reconcile. */
  recordEvent(resource: Resource, event: ResourceEvent): void;
  /** The operator's record of what it made for a namespace under an onboarding (src/kube/access-records.ts). */
  readRecord(key: RecordKey): Promise<AccessRecord>;
  changeRecord(key: RecordKey, change: RecordChange): Promise<RecordApplied>;
}

/** The ports with every InfluxDB request also ending when `signal` aborts (the reconcile's deadline, a stop). */
export function abortingOn<P extends Pick<AccessPorts, 'influx'>>(ports: P, signal: AbortSignal): P {
  return { ...ports, influx: (target: InfluxTarget) => ports.influx({ ...target, signal }) };
}

/** What each kind reads and writes of its own resources. */
export interface KindPorts<R, S> {
  resource(namespace: string, name: string): R | undefined;
  patchStatus(resource: R, status: S): Promise<StatusWrite>;
  patchFinalizers(resource: R, finalizers: string[]): Promise<StatusWrite>;
}

export interface AccessOptions {
  driftCheckIntervalMs: number;
  logger: Logger;
  /** Every token handled is registered here so that no log line can carry it. */
  secrets: SecretRegistry;
  now?: () => Date;
  /** Called with each resource's Ready reason (undefined once it is gone), for metrics. */
  onReason?: (key: string, reason: AccessReason | undefined) => void;
}

// An invalid spec names no usable onboarding; both decisions end on the spec before they read access.
export const UNRESOLVED: OnboardingAccess = {
  kind: 'waiting',
  reason: 'OnboardingNotReady',
  message: 'the spec is invalid',
  gone: false,
};

/** What the resource may do through the onboarding it references, read from the caches and the onboarding's Secrets. */
export function observeAccess(
  ports: AccessPorts,
  secrets: SecretRegistry,
  namespace: string,
  ref: OnboardingKey,
): Promise<OnboardingAccess> {
  return accessThrough(ports, secrets, namespace, ref, ports.onboarding(ref.namespace, ref.name));
}

/** Access for `namespace` through the onboarding as given (from the cache, or read live by the sweep). */
export async function accessThrough(
  ports: Pick<AccessPorts, 'readCredentials' | 'readReference' | 'namespaceLabels'>,
  secrets: SecretRegistry,
  namespace: string,
  ref: OnboardingKey,
  onboarding: InfluxOnboarding | undefined,
): Promise<OnboardingAccess> {
  if (onboarding === undefined) return resolveAccess({ namespace, ref });
  const checked = checkSpec(onboarding);
  const ready = onboarding.status?.conditions?.find((condition) => condition.type === READY)?.status === 'True';
  if (!checked.ok || !ready) return resolveAccess({ namespace, ref, onboarding });
  const credentials = await ports.readCredentials(onboarding, checked.spec.credentialsSecretName);
  // The onboarding's own part of its values, held for as long as that onboarding exists.
  const { token, password } = credentials.state === 'owned' ? credentials.data : {};
  secrets.hold(
    redactionOwner(KIND, `${ref.namespace}/${ref.name}`),
    'access',
    validCredentials({ password, tokens: [token] }),
  );
  const caRef = checked.spec.caSecretRef;
  const ca = caRef === undefined ? undefined : await ports.readReference(ref.namespace, caRef);
  const labels =
    namespace !== ref.namespace && selectsByLabel(onboarding) ? await ports.namespaceLabels(namespace) : undefined;
  return resolveAccess({
    namespace,
    ref,
    onboarding,
    credentials,
    ...(ca && { ca }),
    ...(labels && { namespaceLabels: labels }),
  });
}

/** One kind's shell: its ports, options and finalizer. */
export interface AccessShell<R, S> {
  ports: AccessPorts & KindPorts<R, S>;
  options: AccessOptions;
  finalizer: string;
}

/**
 * The step loop of an InfluxBucket or InfluxToken: the finalizer steps here, the kind's own steps
 * by `act`; the finish is shown through the runtime's report. Removing the finalizer, or a
 * resource that changed meanwhile, ends the round early.
 */
export function accessLoop<R extends Resource & { status?: S }, S, F extends Keyed<R>, Step extends { kind: string }>(
  shell: AccessShell<R, S>,
  decide: (facts: F) => Step | FinalizerStep | AccessFinish<S>,
  act: (step: Step, facts: F) => Promise<F>,
  concluded?: (finish: AccessFinish<S>, facts: F, written: R | undefined, result: Result) => void,
): StepLoop<F, Step | FinalizerStep, S, AccessReason> {
  const { ports, options } = shell;
  const reporter: Reporter<R, S, AccessReason> = {
    writeStatus: async (resource, status) => {
      const written = await ports.patchStatus(resource, status);
      return written.kind === 'stale' ? undefined : resource;
    },
    recordEvent: (resource, event) => ports.recordEvent(resource, event),
    logger: options.logger,
    ...(options.onReason && { onReason: options.onReason }),
  };
  return {
    decide,
    act: (step, facts, steps) => (isFinalizerStep(step) ? finalize(shell, step, facts, steps) : act(step, facts)),
    conclude: async (finish, facts, steps) => {
      const { result, written } = await report(reporter, finish, facts.resource, steps);
      concluded?.(finish, facts, written, result);
      return result;
    },
  };
}

function isFinalizerStep(step: { kind: string }): step is FinalizerStep {
  return step.kind === 'addFinalizer' || step.kind === 'removeFinalizer';
}

/** Facts that name their resource and its checked spec (whose onboarding says whose record it is in). */
type Keyed<R> = { resource: R; checked: Checked<{ onboarding: OnboardingKey }> };

/**
 * Adds the finalizer and goes on, or removes it (with its event, and its entry in the record
 * forgotten first) and ends the round; a resource changed meanwhile ends it too.
 */
async function finalize<R extends Resource, S, F extends Keyed<R>>(
  shell: AccessShell<R, S>,
  step: FinalizerStep,
  facts: F,
  steps: readonly string[],
): Promise<F | Ended> {
  const { ports, options } = shell;
  const { resource } = facts;
  const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
  if (step.kind === 'addFinalizer') {
    const updated = await setFinalizer(shell, resource, true);
    if (updated !== undefined) return { ...facts, resource: updated };
  } else {
    if (step.forget !== undefined && facts.checked.ok)
      await ports.changeRecord(recordKey(facts.checked.spec, resource), step.forget);
    if (step.event) ports.recordEvent(resource, step.event);
    await setFinalizer(shell, resource, false);
    options.onReason?.(key, undefined);
  }
  options.logger.info('reconciled', { kind: resource.kind, resource: key, steps });
  return ended(step.kind === 'removeFinalizer' ? {} : { requeue: true });
}

/** Adds or removes the finalizer; returns the resource as it now is, or undefined when it changed meanwhile (or is gone). */
async function setFinalizer<R extends Resource, S>(
  shell: AccessShell<R, S>,
  resource: R,
  present: boolean,
): Promise<R | undefined> {
  const others = (resource.metadata.finalizers ?? []).filter((finalizer) => finalizer !== shell.finalizer);
  const finalizers = present ? [...others, shell.finalizer] : others;
  const written = await shell.ports.patchFinalizers(resource, finalizers);
  if (written.kind === 'stale') return undefined;
  return { ...resource, metadata: { ...resource.metadata, finalizers, resourceVersion: written.resourceVersion } };
}

/** Whose record a resource's entry belongs to: its namespace's, under the onboarding its spec names. */
export function recordKey(spec: { onboarding: OnboardingKey }, resource: { metadata: ObjectMeta }): RecordKey {
  return { onboarding: spec.onboarding, namespace: resource.metadata.namespace };
}

/** The shell's answer to a record step: the record as written, or the refusal the decision reports. */
export async function recordStep<F extends Keyed<Resource> & { record?: AccessRecord; refused?: RecordRefusal }>(
  ports: Pick<AccessPorts, 'changeRecord'>,
  change: RecordChange,
  facts: F,
): Promise<F> {
  if (!facts.checked.ok) throw new Error('a record is changed only with a valid spec');
  const applied = await ports.changeRecord(recordKey(facts.checked.spec, facts.resource), change);
  return applied.ok ? { ...facts, record: applied.record } : { ...facts, refused: applied.refusal };
}
