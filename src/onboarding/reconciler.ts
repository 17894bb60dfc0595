import { checkSpec, type SpecCheck } from '../api/spec.js';
import { READY, type InfluxOnboarding, type InfluxOnboardingStatus, type Reason } from '../api/types.js';
import type { InfluxClient } from '../influx/index.js';
import {
  DriftSchedule,
  report,
  requestKey,
  runSteps,
  withStatus,
  type Reconciler,
  type Reporter,
  type Request,
  type Result,
} from '../runtime/index.js';
import { act, type Actor } from './act.js';
import { decide, firstVisitStatus } from './decide.js';
import { inputsOf, type CheckInputs } from './drift-schedule.js';
import type { Facts, References } from './facts.js';
import { CredentialMemory } from './memory.js';
import { observe } from './observe.js';
import type { OnboardingOptions, OnboardingPorts } from './ports.js';
import { progressingIfSlow, type Progressing } from './progressing.js';
import { InstanceLocks } from './serial.js';
import type { Finish } from './step.js';

// Spreads drift checks of resources created together over time.
const DRIFT_JITTER = 0.1;
const PROGRESSING_AFTER_MS = 1000;
// How soon a reconcile that found its instance locked by another resource's comes back.
const INSTANCE_BUSY_RETRY_MS = 1000;
/** The Warning that a stored spec was adjusted to be used (checkSpec's adjustments). */
const SPEC_ADJUSTED = 'SpecAdjusted';

/** The InfluxOnboarding reconciler, as the runtime calls it. */
export function createOnboardingReconciler(ports: OnboardingPorts, options: OnboardingOptions): Reconciler {
  const reconciler = new OnboardingReconciler(ports, options);
  return (request, signal) => reconciler.reconcile(request, signal);
}

/**
 * Observes the resource and what it depends on (observe.ts), runs the decision (decide.ts) step by
 * step through the ports (act.ts), and shows where it ended. It keeps: memory of credentials
 * (memory.ts), the schedule of drift checks (drift-schedule.ts), the first visit's Progressing
 * status (progressing.ts), a lock per InfluxDB instance that no reconcile waits for (serial.ts),
 * and which resources were told that their stored spec was adjusted. The resource it reads is the
 * runtime's read-your-writes view: the status this process wrote, until the cache shows it.
 */
class OnboardingReconciler {
  private readonly now: () => Date;
  private readonly memory: CredentialMemory;
  private readonly schedule: DriftSchedule<CheckInputs>;
  private readonly instanceLocks = new InstanceLocks();
  // The resources told with a Warning that checkSpec adjusted their stored spec, by uid: one
  // Warning per resource, not one per reconcile.
  private readonly toldAdjusted = new Map<string, string>();
  private readonly reporter: Reporter<InfluxOnboarding, InfluxOnboardingStatus, Reason>;

  constructor(
    private readonly ports: OnboardingPorts,
    private readonly options: OnboardingOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.memory = new CredentialMemory(options.secrets);
    this.schedule = new DriftSchedule<CheckInputs>(this.now);
    this.reporter = {
      writeStatus: (resource, status) => this.writeStatus(resource, status),
      recordEvent: (resource, event) => ports.recordEvent(resource, event),
      logger: options.logger,
      ...(options.onReason && { onReason: options.onReason }),
      jitter: DRIFT_JITTER,
      random: options.random ?? Math.random,
    };
  }

  reconcile(request: Request, signal: AbortSignal): Promise<Result> {
    const key = requestKey(request);
    const resource = this.ports.resource(request.namespace, request.name);
    if (resource === undefined || resource.metadata.deletionTimestamp !== undefined) {
      return Promise.resolve(this.forget(key));
    }
    const checked = checkSpec(resource);
    this.tellAdjusted(key, resource, checked);
    if (!checked.ok) return this.reconcileNow(request, signal);
    // Everything is observed under the per-instance lock: a reconcile after another one of the
    // instance must see the Secret and status that one wrote, not what was there before it. While
    // another resource's reconcile holds the instance, this one comes back shortly instead of
    // holding a worker for as long as that one takes. The instance as instance.ts reads it: two
    // spellings of one Service share the lock.
    const instance = this.ports.instance(resource.metadata.namespace, checked.spec.url).key;
    const locked = this.instanceLocks.tryRun(instance, () => this.reconcileNow(request, signal));
    if (locked !== undefined) return locked;
    this.options.logger.debug('another reconcile of the same instance is running; coming back shortly', {
      resource: key,
    });
    return Promise.resolve({ requeueAfterMs: INSTANCE_BUSY_RETRY_MS });
  }

  /** One Warning per resource whose stored spec had to be adjusted to be used. */
  private tellAdjusted(key: string, resource: InfluxOnboarding, checked: SpecCheck): void {
    const adjustments = checked.ok ? checked.adjustments : undefined;
    if (adjustments === undefined) {
      this.toldAdjusted.delete(key);
      return;
    }
    if (this.toldAdjusted.get(key) === resource.metadata.uid) return;
    this.toldAdjusted.set(key, resource.metadata.uid);
    this.ports.recordEvent(resource, { type: 'Warning', reason: SPEC_ADJUSTED, message: adjustments.join('; ') });
  }

  private async reconcileNow(request: Request, signal: AbortSignal): Promise<Result> {
    const key = requestKey(request);
    const resource = this.ports.resource(request.namespace, request.name);
    if (resource === undefined || resource.metadata.deletionTimestamp !== undefined) return this.forget(key);
    const checked = checkSpec(resource);
    const facts = await observe(this.ports, { ...this.options, now: this.now }, this.memory, key, resource, checked);
    const unchanged = this.schedule.unchangedFor(key, inputsOf(facts));
    if (unchanged !== undefined) {
      this.options.logger.debug('unchanged since its last check', {
        resource: key,
        nextCheck: `${Math.round(unchanged / 1000)}s`,
      });
      return { requeueAfterMs: unchanged };
    }
    const initial = checked.ok ? firstVisitStatus(facts) : undefined;
    const progressing =
      initial === undefined
        ? undefined
        : progressingIfSlow(
            resource,
            initial,
            this.options.progressingAfterMs ?? PROGRESSING_AFTER_MS,
            (target, status) => this.writeStatus(target, status),
          );
    const actor: Actor = {
      ports: this.ports,
      client: clientFor(this.ports, resource, checked, facts.references, signal),
      memory: this.memory,
      key,
    };
    try {
      return await runSteps(
        {
          decide,
          act: (step, known) => act(actor, step, known),
          conclude: (finish, known, steps) => this.conclude(finish, known, steps, progressing),
        },
        facts,
        signal,
      );
    } finally {
      progressing?.cancel();
    }
  }

  /** Shows the finish and schedules the next drift check of a resource it leaves Ready. */
  private async conclude(
    finish: Finish,
    facts: Facts,
    steps: readonly string[],
    progressing: Progressing | undefined,
  ): Promise<Result> {
    const key = requestKey(facts.resource.metadata);
    const current = progressing === undefined ? facts.resource : await progressing.settle();
    if (current === undefined) return { requeue: true };
    const { result, written } = await report(this.reporter, finish, current, steps);
    const ready = finish.status.conditions?.some(
      (condition) => condition.type === READY && condition.status === 'True',
    );
    if (written !== undefined && ready && result.requeueAfterMs !== undefined) {
      this.schedule.checked(key, inputsOf({ ...facts, resource: written }), result.requeueAfterMs);
    } else {
      this.schedule.forget(key);
    }
    return result;
  }

  /** Writes the status over the resource as read: the resource as written, or undefined when it changed since. */
  private async writeStatus(
    resource: InfluxOnboarding,
    status: InfluxOnboardingStatus,
  ): Promise<InfluxOnboarding | undefined> {
    const written = await this.ports.patchStatus(resource, status);
    return written.kind === 'stale' ? undefined : withStatus(resource, status, written.resourceVersion);
  }

  private forget(key: string): Result {
    this.toldAdjusted.delete(key);
    this.memory.forget(key);
    this.schedule.forget(key);
    this.options.onReason?.(key, undefined);
    return {};
  }
}

/**
 * InfluxDB's client for the spec's instance, made on first use: an invalid spec never reaches
 * InfluxDB. It acts for the resource's namespace: a single label is looked up there, and no
 * address of a namespace that did not let it in is connected to. Its requests end when the
 * reconcile's signal aborts (its deadline, a stop).
 */
function clientFor(
  ports: OnboardingPorts,
  resource: InfluxOnboarding,
  checked: SpecCheck,
  references: References,
  signal: AbortSignal,
): () => InfluxClient {
  let influx: InfluxClient | undefined;
  return () => {
    if (!checked.ok) throw new Error('an invalid spec never reaches InfluxDB');
    const ca = references.ca;
    influx ??= ports.influx({
      url: checked.spec.url,
      timeoutMs: checked.spec.requestTimeoutSeconds * 1000,
      insecureSkipVerify: checked.spec.insecureSkipVerify,
      tenant: resource.metadata.namespace,
      ...(ca?.found && { caPem: ca.value }),
      signal,
    });
    return influx;
  };
}
