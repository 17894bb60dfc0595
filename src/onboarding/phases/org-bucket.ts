// The org, bucket and retention the Secret names: they exist with the declared retention before
// the resource is Ready. Missing ones are created and a differing retention is set, with the
// operator token.
import { Reason, type EffectiveSpec } from '../../api/types.js';
import type { Outcome, ResourceIDs } from '../../influx/index.js';
import type { Facts } from '../facts.js';
import type { Repair, RepairStep, Step } from '../step.js';
import { passwordRotation } from './password.js';
import { tokenReplaced } from './secret.js';
import { failureText, finish, nextCheck, notReached, settled, type Situation, type Verdict } from './situation.js';
import { operatorToken } from './token.js';

// The reason this concern ends with, and its message.
const verdicts = {
  ensureFailed: (facts: Facts, spec: EffectiveSpec, doing: string, failure: string): Verdict => ({
    reason: Reason.EnsureFailed,
    message: `InfluxDB at ${spec.url} refused ${doing} with the operator token in Secret ${spec.credentialsSecretName} (${failure}); applications using the Secret need them. Checked again in ${Math.round(facts.driftCheckIntervalMs / 1000)} s or when the spec changes`,
    requeue: nextCheck(facts),
  }),
};

function describeRetention(seconds: number): string {
  return seconds === 0 ? 'infinite retention' : `retention ${seconds} s`;
}

/** A repair of `what`, told as done (for the event) and as being done (for a refusal). */
function repair(done: string, doing: string, what: string): Repair {
  return { done: `${done} ${what}`, doing: `${doing} ${what}` };
}

/** The IDs the org and bucket have once ensured, and the authorization the lookup found for the token's user. */
export type Ensured = Pick<ResourceIDs, 'orgID' | 'bucketID' | 'authorizationID'>;

/**
 * The org and bucket are ensured: looked up (with the token's authorization when status does not
 * know it), created or changed as needed. A setup this reconcile made created them as declared.
 */
export function orgAndBucket(s: Situation): Step | Ensured {
  const { facts, spec } = s;
  if (facts.setupAnswer?.ok) return {};
  const { credentials } = settled(s, passwordRotation);
  const { owner } = settled(s, operatorToken);
  if (facts.ids === undefined) {
    const authorizationKnown = facts.resource.status?.authorizationID !== undefined && !tokenReplaced(s);
    const lookupAuthorization = owner !== undefined && !authorizationKnown;
    return {
      kind: 'lookupIDs',
      token: credentials.token,
      org: spec.org,
      bucket: spec.bucket,
      ...(lookupAuthorization && { userID: owner.userID }),
    };
  }
  return ensure(s, facts.ids, credentials.token);
}

/** The next repair, a Finish when InfluxDB refused one, or the IDs once they are as declared. */
function ensure(s: Situation, ids: Outcome<ResourceIDs>, token: string): Step | Ensured {
  const { facts, spec } = s;
  const what = `org ${spec.org} and bucket ${spec.bucket} (${describeRetention(spec.retentionPeriodSeconds)})`;
  const failure = !ids.ok ? { failure: ids.failure, doing: `looking up ${what}` } : facts.repairFailure;
  if (failure !== undefined) {
    if (failure.failure.kind !== 'rejected') return notReached(s, failure.failure);
    return finish(facts, verdicts.ensureFailed(facts, spec, failure.doing, failureText(failure.failure)));
  }
  const found = ids.ok ? ids.value : {};
  const wanted = spec.retentionPeriodSeconds;
  if (found.orgID === undefined)
    return { kind: 'createOrg', token, org: spec.org, repair: repair('created', 'creating', `org ${spec.org}`) };
  if (found.bucketID === undefined) {
    const what = `bucket ${spec.bucket} with ${describeRetention(wanted)}`;
    const created = repair('created', 'creating', what);
    return {
      kind: 'createBucket',
      token,
      orgID: found.orgID,
      bucket: spec.bucket,
      retentionSeconds: wanted,
      repair: created,
    };
  }
  if (found.bucketRetentionSeconds !== wanted) {
    const what = `bucket ${spec.bucket} from ${describeRetention(found.bucketRetentionSeconds ?? 0)} to ${describeRetention(wanted)}`;
    const changed = repair('changed', 'changing', what);
    return { kind: 'setRetention', token, bucketID: found.bucketID, retentionSeconds: wanted, repair: changed };
  }
  return found;
}

/** The facts after a repair's answer: on success the IDs as they now are and what was done; else what was tried. */
export function withRepair(facts: Facts, step: RepairStep, outcome: Outcome<{ id: string }>): Facts {
  if (!outcome.ok) return { ...facts, repairFailure: { doing: step.repair.doing, failure: outcome.failure } };
  const ids = facts.ids?.ok ? facts.ids.value : {};
  const now: ResourceIDs =
    step.kind === 'createOrg'
      ? { orgID: outcome.value.id }
      : step.kind === 'createBucket'
        ? { ...ids, bucketID: outcome.value.id, bucketRetentionSeconds: step.retentionSeconds }
        : { ...ids, bucketRetentionSeconds: step.retentionSeconds };
  return { ...facts, ids: { ok: true, value: now }, repairs: [...(facts.repairs ?? []), step.repair.done] };
}
