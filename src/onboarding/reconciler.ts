import { checkSpec, instanceKey, type SpecCheck } from '../api/spec.js';
import { READY, type InfluxOnboarding, type InfluxOnboardingStatus, type Reason } from '../api/types.js';
import type { InfluxClient } from '../influx/index.js';
import {
  report,
  requestKey,
  runSteps,
  type Reconciler,
  type Reporter,
  type Request,
  type Result,
} from '../runtime/index.js';
import { act } from './act.js';
import { decide, firstVisitStatus } from './decide.js';
import { DriftSchedule, inputsOf } from './drift-schedule.js';
import type { Facts, References } from './facts.js';
import { CredentialMemory } from './memory.js';
import { observe } from './observe.js';
import type { OnboardingOptions, OnboardingPorts } from './ports.js';
import { progressingIfSlow, type Progressing } from './progressing.js';
import { PerKeySerializer } from './serial.js';
import { StatusWrites } from './status-writes.js';
import type { Finish } from './step.js';

// Spreads drift checks of resources created together over time.
const DRIFT_JITTER = 0.1;
const PROGRESSING_AFTER_MS = 1000;

/**
 * The InfluxOnboarding reconciler: observes the resource and what it depends on, runs the
 * decision (decide.ts) step by step through the ports, and shows where it ended. Its parts: memory
 * of credentials (memory.ts), the schedule of drift checks (drift-schedule.ts), the status this
 * process wrote (status-writes.ts), the first visit's Progressing status (progressing.ts), and a
 * lock per InfluxDB instance (serial.ts).
 */
export function createOnboardingReconciler(ports: OnboardingPorts, options: OnboardingOptions): Reconciler {
  const now = options.now ?? (() => new Date());
  const settings = { ...options, now };
  const memory = new CredentialMemory(options.secrets);
  const statusWrites = new StatusWrites(
    (namespace, name) => ports.resource(namespace, name),
    (resource, status) => ports.patchStatus(resource, status),
  );
  const schedule = new DriftSchedule(now);
  const perInstance = new PerKeySerializer();
  const progressingAfterMs = options.progressingAfterMs ?? PROGRESSING_AFTER_MS;
  const reporter: Reporter<InfluxOnboarding, InfluxOnboardingStatus, Reason> = {
    writeStatus: (resource, status) => statusWrites.write(requestKey(resource.metadata), resource, status),
    recordEvent: (resource, event) => ports.recordEvent(resource, event),
    logger: options.logger,
    ...(options.onReason && { onReason: options.onReason }),
    jitter: DRIFT_JITTER,
    random: options.random ?? Math.random,
  };

  function forget(key: string): Result {
    memory.forget(key);
    statusWrites.forget(key);
    schedule.forget(key);
    options.onReason?.(key, undefined);
    return {};
  }

  /** Shows the finish and schedules the next drift check of a resource it leaves Ready. */
  async function conclude(
    finish: Finish,
    facts: Facts,
    steps: readonly string[],
    progressing: Progressing | undefined,
  ): Promise<Result> {
    const key = requestKey(facts.resource.metadata);
    const current = progressing === undefined ? facts.resource : await progressing.settle();
    if (current === undefined) return { requeue: true };
    const { result, written } = await report(reporter, finish, current, steps);
    const ready = finish.status.conditions?.some(
      (condition) => condition.type === READY && condition.status === 'True',
    );
    if (written !== undefined && ready && result.requeueAfterMs !== undefined) {
      schedule.checked(key, inputsOf({ ...facts, resource: written }), result.requeueAfterMs);
    } else {
      schedule.forget(key);
    }
    return result;
  }

  async function reconcileNow(request: Request, signal: AbortSignal): Promise<Result> {
    const key = requestKey(request);
    statusWrites.dropCaughtUp();
    const cached = ports.resource(request.namespace, request.name);
    if (cached === undefined || cached.metadata.deletionTimestamp !== undefined) return forget(key);
    const resource = statusWrites.latest(key, cached);
    const checked = checkSpec(resource);
    const facts = await observe(ports, settings, memory, key, resource, checked);
    const unchanged = schedule.unchangedFor(key, inputsOf(facts));
    if (unchanged !== undefined) {
      options.logger.debug('unchanged since its last check', {
        resource: key,
        nextCheck: `${Math.round(unchanged / 1000)}s`,
      });
      return { requeueAfterMs: unchanged };
    }
    const initial = checked.ok ? firstVisitStatus(facts) : undefined;
    const progressing =
      initial === undefined
        ? undefined
        : progressingIfSlow(resource, initial, progressingAfterMs, (target, status) =>
            statusWrites.write(key, target, status),
          );
    const actor = { ports, client: clientFor(ports, checked, facts.references), memory, secrets: options.secrets, key };
    try {
      return await runSteps(
        {
          decide,
          act: (step, known) => act(actor, step, known),
          conclude: (finish, known, steps) => conclude(finish, known, steps, progressing),
        },
        facts,
        signal,
      );
    } finally {
      progressing?.cancel();
    }
  }

  return async (request, signal) => {
    const resource = ports.resource(request.namespace, request.name);
    if (resource === undefined || resource.metadata.deletionTimestamp !== undefined) {
      return forget(requestKey(request));
    }
    const checked = checkSpec(resource);
    // Everything is observed under the per-instance lock: a reconcile that waited for another
    // one must see the Secret and status that one wrote, not what was there before it.
    return checked.ok
      ? perInstance.run(instanceKey(checked.spec.url), () => reconcileNow(request, signal))
      : reconcileNow(request, signal);
  };
}

/** InfluxDB's client for the spec's instance, made on first use: an invalid spec never reaches InfluxDB. */
function clientFor(ports: OnboardingPorts, checked: SpecCheck, references: References): () => InfluxClient {
  let influx: InfluxClient | undefined;
  return () => {
    if (!checked.ok) throw new Error('an invalid spec never reaches InfluxDB');
    const ca = references.ca;
    influx ??= ports.influx({
      url: checked.spec.url,
      timeoutMs: checked.spec.requestTimeoutSeconds * 1000,
      insecureSkipVerify: checked.spec.insecureSkipVerify,
      ...(ca?.found && { caPem: ca.value }),
    });
    return influx;
  };
}
