import type { AccessReason } from '../api/access-types.js';
import { grantFor, type OnboardingKey } from '../api/access-spec.js';
import type { CredentialsSecret, Reference } from '../api/credentials.js';
import { readyFinish, type Readiness, type Verdict } from '../api/reconcile.js';
import { checkSpec } from '../api/spec.js';
import { READY, type Condition, type InfluxOnboarding, type ObjectMeta } from '../api/types.js';
import type { InfluxFailure, InfluxTarget } from '../influx/index.js';
import { BACKOFF, NONE, type Finish, type ResourceEvent } from '../runtime/index.js';

/**
 * What an InfluxBucket or InfluxToken may do with the onboarding it references: the instance, org
 * and operator token it acts through. The operator token only ever goes to the URL its own
 * Secret names, and never into anything the application namespace can read.
 */
export interface Connection {
  onboarding: string;
  target: InfluxTarget;
  token: string;
  org: string;
  orgID: string;
  /** The onboarding's own bucket, never adopted nor touched. */
  onboardingBucket: string;
  onboardingBucketID?: string;
}

/** What an InfluxBucket or InfluxToken may do through the onboarding it references. */
export type OnboardingAccess =
  | { kind: 'ready'; connection: Connection }
  /** connection: present when the onboarding is usable, so that what was created under a withdrawn grant can be removed. */
  | { kind: 'not-permitted'; message: string; connection?: Connection }
  /** gone: the onboarding no longer exists, so nothing in InfluxDB can be reached through it. */
  | { kind: 'waiting'; reason: 'OnboardingNotFound' | 'OnboardingNotReady'; message: string; gone: boolean };

/** The observations access is decided from; all read by the shell before the decision. */
interface AccessFacts {
  namespace: string;
  ref: OnboardingKey;
  onboarding?: InfluxOnboarding;
  /** The onboarding's credentials Secret. */
  credentials?: CredentialsSecret;
  /** The onboarding's CA, when its spec names one. */
  ca?: Reference;
  /** The requesting namespace's labels, read only when a namespaceSelector grant needs them. */
  namespaceLabels?: Record<string, string>;
}

export function resolveAccess(facts: AccessFacts): OnboardingAccess {
  const { ref, onboarding } = facts;
  const name = `${ref.namespace}/${ref.name}`;
  if (onboarding === undefined || onboarding.metadata.deletionTimestamp !== undefined) {
    return { kind: 'waiting', reason: 'OnboardingNotFound', message: `InfluxOnboarding ${name} not found`, gone: true };
  }
  const notReady = (why: string): OnboardingAccess => ({
    kind: 'waiting',
    reason: 'OnboardingNotReady',
    message: `InfluxOnboarding ${name} ${why}`,
    gone: false,
  });
  const checked = checkSpec(onboarding);
  if (!checked.ok) return notReady('has an invalid spec');
  const ready = onboarding.status?.conditions?.find((condition) => condition.type === READY);
  if (ready?.status !== 'True') return notReady(`is not Ready (${ready?.reason ?? 'not reconciled yet'})`);
  const secret = facts.credentials;
  const orgID = onboarding.status?.orgID;
  if (secret?.state !== 'owned' || !secret.data.url || !secret.data.token || !secret.data.org || orgID === undefined) {
    return notReady('has no usable credentials Secret yet');
  }
  if (checked.spec.caSecretRef !== undefined && !facts.ca?.found)
    return notReady('has a CA Secret the operator cannot read');
  const bucketID = onboarding.status?.bucketID;
  const connection: Connection = {
    onboarding: name,
    target: {
      url: secret.data.url,
      timeoutMs: checked.spec.requestTimeoutSeconds * 1000,
      insecureSkipVerify: checked.spec.insecureSkipVerify,
      // The onboarding's namespace: a single-label host is its Service, and no address of a
      // namespace that did not let it in is ever connected to (onboarding/instance.ts).
      tenant: onboarding.metadata.namespace,
      ...(facts.ca?.found && { caPem: facts.ca.value }),
    },
    token: secret.data.token,
    org: secret.data.org,
    orgID,
    onboardingBucket: secret.data.bucket ?? checked.spec.bucket,
    ...(bucketID !== undefined && { onboardingBucketID: bucketID }),
  };
  const grant = grantFor({ metadata: onboarding.metadata, spec: checked.spec }, facts.namespace, facts.namespaceLabels);
  return grant.granted ? { kind: 'ready', connection } : { kind: 'not-permitted', message: grant.message, connection };
}

/** The finalizer steps both kinds take; removing it lets Kubernetes delete the resource, with an event saying why when InfluxDB was left as it was. */
export type FinalizerStep = { kind: 'addFinalizer' } | { kind: 'removeFinalizer'; event?: ResourceEvent };

export type AccessFinish<S> = Finish<S, AccessReason>;

const READINESS: Readiness<AccessReason> = {
  success: ['BucketReady', 'TokenReady'],
  quiet: ['Progressing', 'Deleting'],
};

/**
 * The status to show and the event to record: Ready True on success, Unknown while progressing or
 * deleting, else False; an event when the reason changes (Normal on success, Warning otherwise).
 */
export function accessFinish<S extends { observedGeneration?: number; conditions?: Condition[] }>(
  resource: { metadata: ObjectMeta; status?: S },
  now: string,
  verdict: Verdict<AccessReason, S>,
): AccessFinish<S> {
  return readyFinish(resource, now, verdict, READINESS);
}

/** An InfluxDB failure as a reason: outages and refusals by the address policy are Unreachable, answers are InfluxError. */
export function failureVerdict(doing: string, failure: InfluxFailure): Verdict<AccessReason, never> {
  const text = failure.kind === 'rejected' ? `${failure.status} ${failure.code}: ${failure.message}` : failure.message;
  return {
    reason: failure.kind === 'rejected' ? 'InfluxError' : 'Unreachable',
    message: `${doing}: ${text}`,
    requeue: failure.kind === 'refused' ? NONE : BACKOFF,
  };
}
