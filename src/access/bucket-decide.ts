// The InfluxBucket decision: what to do next for one InfluxBucket, from its facts (bucket-facts.ts).
// Its deletion has phases of its own (bucket-deletion.ts); otherwise the preconditions below, then
// the phases that claim and keep its bucket (bucket-claim.ts, bucket-keep.ts). Pure.
import { bucketNamePrefix } from '../api/access-spec.js';
import { mayClaimBucketName, mayClaimDatabase, retentionBeyondLimits } from '../api/access-from.js';
import { after, NONE } from '../runtime/index.js';
import { failureVerdict, refusalMessage } from './access.js';
import { claimBucket } from './bucket-claim.js';
import { decideDeletion } from './bucket-deletion.js';
import {
  finish,
  hasFinalizer,
  isBucketStep,
  mappingStep,
  type BucketFacts,
  type BucketStep,
  type Granted,
} from './bucket-facts.js';
import { dropMappings } from './bucket-influxql.js';

/**
 * What an InfluxBucket needs next: its finalizer, access through its onboarding, the terms of its
 * grant, then its bucket claimed and kept as declared. Ownership is proven from the operator's
 * record and the bucket's marker, never from a status (see claimBucket). An existing bucket is
 * adopted only with spec.adopt and the onboarding's consent for this namespace; otherwise it is
 * BucketExists and left exactly as it is.
 */
export function decideBucket(facts: BucketFacts): BucketStep {
  if (facts.resource.metadata.deletionTimestamp !== undefined) return decideDeletion(facts);
  const granted = preconditions(facts);
  return isBucketStep(granted)
    ? granted
    : (outsideTerms(granted) ?? unclaimableDatabase(granted) ?? claimBucket(granted));
}

/** Nothing is sent to InfluxDB until these hold: a valid spec, the finalizer, access. */
function preconditions(facts: BucketFacts): Granted | BucketStep {
  const { resource, checked, access } = facts;
  if (!checked.ok) return finish(facts, { reason: 'InvalidSpec', message: checked.problems.join('; '), requeue: NONE });
  if (!hasFinalizer(resource)) return { kind: 'addFinalizer' };
  if (access.kind === 'not-permitted')
    return finish(facts, { reason: 'NotPermitted', message: access.message, requeue: NONE });
  if (access.kind === 'waiting')
    return finish(facts, {
      reason: access.reason,
      message: access.message,
      requeue: after(facts.driftCheckIntervalMs),
    });
  if (facts.failure) return finish(facts, failureVerdict(facts.failure.doing, facts.failure.failure));
  return { facts, spec: checked.spec, connection: access.connection, terms: access.terms };
}

/** The checks of the grant's terms that come before anything in InfluxDB: the name (point of consent) and the retention limits. */
function outsideTerms({ facts, spec, terms, connection }: Granted): BucketStep | undefined {
  const namespace = facts.resource.metadata.namespace;
  const onboarding = connection.onboarding;
  if (spec.chosenName && !mayClaimBucketName(spec.bucketName, namespace, terms)) {
    return finish(facts, {
      reason: 'NotPermitted',
      message: `spec.name ${spec.bucketName} is outside this namespace's own bucket names (${bucketNamePrefix(namespace)}*); InfluxOnboarding ${onboarding} must list it for namespace ${namespace} in spec.accessFrom.grants[].bucketNames. Nothing was created`,
      requeue: NONE,
    });
  }
  const beyond = terms.home ? undefined : retentionBeyondLimits(spec.retentionPeriodSeconds, terms.limits);
  if (beyond !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `spec.retentionPeriodSeconds ${spec.retentionPeriodSeconds} is ${beyond} that InfluxOnboarding ${onboarding} allows namespace ${namespace} (spec.accessFrom limits). Nothing was changed`,
      requeue: NONE,
    });
  }
  if (facts.refused !== undefined) {
    return finish(facts, {
      reason: 'QuotaExceeded',
      message: `${refusalMessage(facts.refused, 'InfluxBuckets', onboarding, namespace)}. Nothing was created`,
      requeue: after(facts.driftCheckIntervalMs),
    });
  }
  return undefined;
}

/**
 * A database the namespace may not map (outside its prefix, not in its grant's databases):
 * NotPermitted before any request; one mapped under a grant since withdrawn loses its mapping
 * first, as a withdrawn grant's tokens are revoked.
 */
function unclaimableDatabase({ facts, spec, terms, connection }: Granted): BucketStep | undefined {
  const { namespace, uid } = facts.resource.metadata;
  const database = spec.influxql?.database;
  if (database === undefined || mayClaimDatabase(database, namespace, terms)) return undefined;
  const why = `InfluxOnboarding ${connection.onboarding} does not let namespace ${namespace} map database ${database}`;
  const entry = facts.record?.buckets[uid];
  if (entry?.influxql === true && entry.id !== undefined) {
    const drop = dropMappings({ bucketID: entry.id, connection, mappings: facts.mappings ?? {} }, why);
    if (drop !== undefined) return mappingStep(facts, drop);
  }
  return finish(facts, {
    reason: 'NotPermitted',
    fields: { influxql: undefined },
    message: `spec.influxql.database ${database} is outside this namespace's own database names (${bucketNamePrefix(namespace)}*); InfluxOnboarding ${connection.onboarding} must list it for namespace ${namespace} in spec.accessFrom.grants[].databases. Nothing is mapped`,
    requeue: NONE,
  });
}
