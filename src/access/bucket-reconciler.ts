import { checkBucketSpec } from '../api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket, type InfluxBucketStatus } from '../api/access-types.js';
import { runSteps, type Reconciler } from '../runtime/index.js';
import type { FinalizerStep, AccessFinish } from './access.js';
import { decideBucket, type BucketFacts, type BucketStep } from './bucket-decide.js';
import {
  abortingOn,
  accessLoop,
  observeAccess,
  UNRESOLVED,
  type AccessOptions,
  type AccessPorts,
  type AccessShell,
  type KindPorts,
} from './reconciler.js';

export interface BucketPorts extends AccessPorts, KindPorts<InfluxBucket, InfluxBucketStatus> {}

type BucketAction = Exclude<BucketStep, AccessFinish<InfluxBucketStatus> | FinalizerStep>;

/** The InfluxBucket reconciler: an application's own bucket in its onboarding's org. */
export function createBucketReconciler(ports: BucketPorts, options: AccessOptions): Reconciler {
  const now = options.now ?? (() => new Date());
  const shell: AccessShell<InfluxBucket, InfluxBucketStatus> = { ports, options, finalizer: BUCKET_FINALIZER };
  return async (request, signal) => {
    const key = `${request.namespace}/${request.name}`;
    const resource = ports.resource(request.namespace, request.name);
    if (resource === undefined) {
      options.onReason?.(key, undefined);
      return {};
    }
    const checked = checkBucketSpec(resource);
    const access = checked.ok
      ? await observeAccess(ports, options.secrets, request.namespace, checked.spec.onboarding)
      : UNRESOLVED;
    const facts: BucketFacts = {
      resource,
      checked,
      access,
      now: now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
    };
    const influx = abortingOn(ports, signal);
    const loop = accessLoop(shell, decideBucket, (step: BucketAction, known: BucketFacts) => act(influx, step, known));
    return runSteps(loop, facts, signal);
  };
}

/** Carries out one step in InfluxDB; its answer (or what InfluxDB refused) becomes a fact. */
async function act(ports: BucketPorts, step: BucketAction, facts: BucketFacts): Promise<BucketFacts> {
  const client = ports.influx(step.connection.target);
  const { token, orgID } = step.connection;
  switch (step.kind) {
    case 'findBucket':
      return { ...facts, bucket: await client.findBucket(token, orgID, step.name) };
    case 'createBucket': {
      const created = await client.createBucket(token, orgID, step.name, step.retentionSeconds, step.description);
      if (!created.ok)
        return { ...facts, failure: { doing: `creating bucket ${step.name}`, failure: created.failure } };
      const bucket = {
        id: created.value.id,
        name: step.name,
        retentionSeconds: step.retentionSeconds,
        description: step.description,
      };
      return { ...facts, bucket: { ok: true, value: bucket }, changes: [...(facts.changes ?? []), step.change] };
    }
    case 'setRetention':
    case 'describeBucket': {
      const answer =
        step.kind === 'setRetention'
          ? await client.setRetention(token, step.bucketID, step.retentionSeconds)
          : await client.describeBucket(token, step.bucketID, step.description);
      if (!answer.ok) return { ...facts, failure: { doing: step.change, failure: answer.failure } };
      const previous = facts.bucket?.ok ? facts.bucket.value : null;
      if (previous === null) throw new Error('a bucket was changed without being found first');
      const bucket =
        step.kind === 'setRetention'
          ? { ...previous, retentionSeconds: step.retentionSeconds }
          : { ...previous, description: step.description };
      return { ...facts, bucket: { ok: true, value: bucket }, changes: [...(facts.changes ?? []), step.change] };
    }
    case 'deleteBucket': {
      const deleted = await client.deleteBucket(token, step.bucketID);
      return deleted.ok
        ? { ...facts, deleted: true }
        : { ...facts, failure: { doing: 'deleting the bucket', failure: deleted.failure } };
    }
  }
}
