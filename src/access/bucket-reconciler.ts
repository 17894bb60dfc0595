import { checkBucketSpec, type OnboardingKey } from '../api/access-spec.js';
import { BUCKET_FINALIZER, type InfluxBucket, type InfluxBucketStatus } from '../api/access-types.js';
import type { BucketInfo, Outcome } from '../influx/index.js';
import { runSteps, type Reconciler } from '../runtime/index.js';
import type { FinalizerStep, AccessFinish } from './access.js';
import { decideBucket } from './bucket-decide.js';
import type { BucketFacts, BucketStep } from './bucket-facts.js';
import { defaultClaimants, type MappingPeer, type MappingStep } from './bucket-influxql.js';
import {
  abortingOn,
  accessLoop,
  observeAccess,
  recordKey,
  recordStep,
  UNRESOLVED,
  type AccessOptions,
  type AccessPorts,
  type AccessShell,
  type KindPorts,
} from './reconciler.js';

export interface BucketPorts extends AccessPorts, KindPorts<InfluxBucket, InfluxBucketStatus> {
  /** The InfluxBuckets (any namespace) under this onboarding whose spec.influxql names this database, from the cache. */
  influxqlPeers(onboarding: OnboardingKey, database: string): MappingPeer[];
}

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
    const influxql = checked.ok ? checked.spec.influxql : undefined;
    const onboarding = checked.ok
      ? ports.onboarding(checked.spec.onboarding.namespace, checked.spec.onboarding.name)
      : undefined;
    const facts: BucketFacts = {
      resource,
      checked,
      access,
      ...(checked.ok &&
        influxql?.default &&
        onboarding && {
          defaultClaimants: defaultClaimants(
            resource.metadata,
            influxql.database,
            ports.influxqlPeers(checked.spec.onboarding, influxql.database),
            onboarding,
          ),
        }),
      ...(checked.ok && { record: await ports.readRecord(recordKey(checked.spec, resource)) }),
      now: now().toISOString(),
      driftCheckIntervalMs: options.driftCheckIntervalMs,
    };
    const influx = abortingOn(ports, signal);
    const loop = accessLoop(shell, decideBucket, (step: BucketAction, known: BucketFacts) => act(influx, step, known));
    return runSteps(loop, facts, signal);
  };
}

/** The bucket of this ID as this reconcile saw it, changed; wherever it was seen (by ID or by name). */
function changedBucket(facts: BucketFacts, bucketID: string, change: Partial<BucketInfo>): BucketFacts {
  const update = (outcome: Outcome<BucketInfo | null>): Outcome<BucketInfo | null> =>
    outcome.ok && outcome.value?.id === bucketID ? { ok: true, value: { ...outcome.value, ...change } } : outcome;
  return {
    ...facts,
    ...(facts.recorded && { recorded: { id: facts.recorded.id, found: update(facts.recorded.found) } }),
    ...(facts.named && {
      named: Object.fromEntries(Object.entries(facts.named).map(([name, outcome]) => [name, update(outcome)])),
    }),
  };
}

/** What this reconcile changed in InfluxDB, with one change more. */
function withChange(facts: BucketFacts, change: string): string[] {
  return [...(facts.changes ?? []), change];
}

/** Carries out one step in the operator's record or in InfluxDB; its answer (or what was refused) becomes a fact. */
async function act(ports: BucketPorts, step: BucketAction, facts: BucketFacts): Promise<BucketFacts> {
  switch (step.kind) {
    case 'record':
      return recordStep(ports, step.change, facts);
    case 'listMappings':
    case 'createMapping':
    case 'updateMapping':
    case 'deleteMapping':
      return actMapping(ports, step, facts);
    case 'renameBucket':
    case 'setRetention':
    case 'describeBucket':
      return editBucket(ports, step, facts);
    default:
      return actBucket(ports, step, facts);
  }
}

type BucketEdit = Extract<BucketAction, { kind: 'renameBucket' | 'setRetention' | 'describeBucket' }>;

/** Finds, reads, creates or deletes the bucket. */
async function actBucket(
  ports: BucketPorts,
  step: Exclude<BucketAction, MappingStep | BucketEdit | { kind: 'record' }>,
  facts: BucketFacts,
): Promise<BucketFacts> {
  const client = ports.influx(step.connection.target);
  const { token, orgID } = step.connection;
  switch (step.kind) {
    case 'findBucket':
      return { ...facts, named: { ...facts.named, [step.name]: await client.findBucket(token, orgID, step.name) } };
    case 'readBucket':
      return { ...facts, recorded: { id: step.bucketID, found: await client.findBucketByID(token, step.bucketID) } };
    case 'createBucket': {
      const created = await client.createBucket(token, orgID, step.name, step.retentionSeconds, step.description);
      if (!created.ok)
        return { ...facts, failure: { doing: `creating bucket ${step.name}`, failure: created.failure } };
      const bucket: BucketInfo = {
        id: created.value.id,
        name: step.name,
        retentionSeconds: step.retentionSeconds,
        description: step.description,
      };
      return {
        ...facts,
        named: { ...facts.named, [step.name]: { ok: true, value: bucket } },
        changes: withChange(facts, step.change),
      };
    }
    case 'deleteBucket': {
      const deleted = await client.deleteBucket(token, step.bucketID);
      return deleted.ok
        ? { ...facts, deleted: true }
        : { ...facts, failure: { doing: 'deleting the bucket', failure: deleted.failure } };
    }
  }
}

/** Puts one property of the bucket back as declared: its name, retention or description. */
async function editBucket(ports: BucketPorts, step: BucketEdit, facts: BucketFacts): Promise<BucketFacts> {
  const client = ports.influx(step.connection.target);
  const { token } = step.connection;
  const answer =
    step.kind === 'renameBucket'
      ? await client.renameBucket(token, step.bucketID, step.name)
      : step.kind === 'setRetention'
        ? await client.setRetention(token, step.bucketID, step.retentionSeconds)
        : await client.describeBucket(token, step.bucketID, step.description);
  if (!answer.ok) return { ...facts, failure: { doing: step.change, failure: answer.failure } };
  const change: Partial<BucketInfo> =
    step.kind === 'renameBucket'
      ? { name: step.name }
      : step.kind === 'setRetention'
        ? { retentionSeconds: step.retentionSeconds }
        : { description: step.description };
  return { ...changedBucket(facts, step.bucketID, change), changes: withChange(facts, step.change) };
}

/** Lists, creates, changes or deletes a DBRP mapping (spec.influxql). */
async function actMapping(ports: BucketPorts, step: MappingStep, facts: BucketFacts): Promise<BucketFacts> {
  const client = ports.influx(step.connection.target);
  const { token, orgID } = step.connection;
  if (step.kind === 'listMappings') {
    const listed =
      step.of === 'bucket'
        ? await client.listDbrps(token, { orgID, bucketID: step.bucketID })
        : await client.listDbrps(token, { orgID, database: step.database });
    const known = facts.mappings ?? {};
    return {
      ...facts,
      mappings: step.of === 'bucket' ? { ...known, ofBucket: listed } : { ...known, ofDatabase: listed },
    };
  }
  const answer =
    step.kind === 'createMapping'
      ? await client.createDbrp(token, step.request)
      : step.kind === 'updateMapping'
        ? await client.updateDbrp(token, orgID, step.mappingID, step.update)
        : await client.deleteDbrp(token, orgID, step.mappingID);
  // A conflict: the database and retention policy were mapped by someone else after the list.
  if (!answer.ok && answer.failure.kind === 'rejected' && answer.failure.status === 422)
    return { ...facts, mappings: { conflicted: true } };
  if (!answer.ok) return { ...facts, failure: { doing: step.change, failure: answer.failure } };
  // A change to one mapping may change others (InfluxDB keeps one default per database): list again.
  return { ...facts, mappings: {}, changes: withChange(facts, step.change) };
}
