import type { AccessReason } from '../api/access-types.js';
import type { RecordChange, RecordRefusal } from '../api/access-records.js';
import { checkAccessFrom, grantFor, notGrantedMessage, type GrantTerms } from '../api/access-from.js';
import type { OnboardingKey } from '../api/access-spec.js';
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
  | { kind: 'ready'; connection: Connection; terms: GrantTerms }
  /**
   * No grant (also: no such onboarding, for another namespace). connection: present when the
   * onboarding is usable, so that what was created under a withdrawn grant can be removed.
   */
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

/**
 * The grant is decided first: a namespace without one learns nothing of the onboarding, not even
 * whether it exists (one message for both). Only a granted namespace hears why it must wait.
 */
export function resolveAccess(facts: AccessFacts): OnboardingAccess {
  const { ref, onboarding } = facts;
  const name = `${ref.namespace}/${ref.name}`;
  const foreign = facts.namespace !== ref.namespace;
  const notGranted: OnboardingAccess = { kind: 'not-permitted', message: notGrantedMessage(ref, facts.namespace) };
  const gone: OnboardingAccess = {
    kind: 'waiting',
    reason: 'OnboardingNotFound',
    message: `InfluxOnboarding ${name} not found`,
    gone: true,
  };
  if (onboarding === undefined) return foreign ? notGranted : gone;
  // The grant alone decides who hears more; an invalid spec elsewhere does not hide a valid grant.
  const accessFrom = checkAccessFrom(onboarding.spec?.accessFrom, []);
  const grant = grantFor(
    { metadata: onboarding.metadata, spec: accessFrom === undefined ? {} : { accessFrom } },
    facts.namespace,
    facts.namespaceLabels,
  );
  const connection = usableConnection(facts, onboarding, name);
  if (!grant.granted) return connection === undefined ? notGranted : { ...notGranted, connection };
  if (onboarding.metadata.deletionTimestamp !== undefined) return gone;
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
  if (connection === undefined) {
    return checked.spec.caSecretRef !== undefined && !facts.ca?.found
      ? notReady('has a CA Secret the operator cannot read')
      : notReady('has no usable credentials Secret yet');
  }
  return { kind: 'ready', connection, terms: grant.terms };
}

/** How the onboarding's instance is reached, when it is Ready with its credentials Secret (and CA) at hand. */
function usableConnection(facts: AccessFacts, onboarding: InfluxOnboarding, name: string): Connection | undefined {
  if (onboarding.metadata.deletionTimestamp !== undefined) return undefined;
  const checked = checkSpec(onboarding);
  const ready = onboarding.status?.conditions?.find((condition) => condition.type === READY);
  const secret = facts.credentials;
  const orgID = onboarding.status?.orgID;
  if (!checked.ok || ready?.status !== 'True') return undefined;
  if (secret?.state !== 'owned' || !secret.data.url || !secret.data.token || !secret.data.org || orgID === undefined)
    return undefined;
  if (checked.spec.caSecretRef !== undefined && !facts.ca?.found) return undefined;
  const bucketID = onboarding.status?.bucketID;
  return {
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
}

/** The finalizer steps both kinds take; removing it lets Kubernetes delete the resource, with an event saying why when InfluxDB was left as it was. */
export type FinalizerStep =
  | { kind: 'addFinalizer' }
  /** forget: the resource's entry in the operator's record, which goes with it. */
  | { kind: 'removeFinalizer'; event?: ResourceEvent; forget?: RecordChange };

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

/** Why a namespace may not have one more InfluxBucket or InfluxToken, naming the limit. */
export function refusalMessage(
  refusal: RecordRefusal,
  what: 'InfluxBuckets' | 'InfluxTokens',
  onboarding: string,
  namespace: string,
): string {
  if (refusal.limit === 'size') {
    return `the operator's record of namespace ${namespace} under InfluxOnboarding ${onboarding} is full (${Math.round(refusal.count / 1024)} KiB of ${Math.round(refusal.max / 1024)} KiB): delete InfluxBuckets or InfluxTokens there`;
  }
  return `namespace ${namespace} already has ${refusal.count} ${what} under InfluxOnboarding ${onboarding}, the most its grant allows (spec.accessFrom limits.${refusal.limit}: ${refusal.max})`;
}
