// What the soak assumes of the operator's surface, in one place so that a change of a reason, a
// field or an annotation (other work reshapes them) is one edit here: which Ready reasons count as
// settled for each state of the model, where the status keeps what the checker reads, and how
// the operator marks the authorizations it makes.
import { AccessReason } from '../../../src/api/access-types.js';
import { Reason } from '../../../src/api/types.js';
import { instancePlan, type BucketModel, type Model, type TokenModel } from './plan.js';

/** The Ready reasons a resource may settle on: the first list when it should work, else why it waits. */
export interface Expectation {
  ready: boolean;
  reasons: string[];
  /** Waiting reasons (Ready=False) it may settle on instead, where real timing decides between the two. */
  orWaiting?: string[];
}

export const ONBOARDING_READY = [Reason.Onboarded, Reason.Adopted] as string[];

function granted(model: Model, instance: string, namespace: string): boolean {
  return (
    instancePlan(instance).namespace === namespace ||
    (model.onboardings[instance]?.grants ?? []).includes(namespace as never)
  );
}

/**
 * Why a resource whose onboarding is absent waits: OnboardingNotFound in the onboarding's own
 * namespace; elsewhere NotPermitted, the same text as an onboarding that does not grant it (a
 * namespace without a grant learns nothing of the onboarding, not even whether it exists).
 */
function absent(resource: { instance: string; namespace: string }): string {
  return instancePlan(resource.instance).namespace === resource.namespace
    ? AccessReason.OnboardingNotFound
    : AccessReason.NotPermitted;
}

export function onboardingExpectation(): Expectation {
  return { ready: true, reasons: ONBOARDING_READY };
}

export function bucketExpectation(model: Model, bucket: BucketModel): Expectation {
  if (!model.onboardings[bucket.instance]?.present) return { ready: false, reasons: [absent(bucket)] };
  if (!granted(model, bucket.instance, bucket.namespace)) return { ready: false, reasons: [AccessReason.NotPermitted] };
  // The bucket a Retain deletion left (unless a wipe took it) is not the new resource's to claim.
  const leftover = bucket.recreated ? { orWaiting: [AccessReason.BucketExists] } : {};
  return { ready: true, reasons: [AccessReason.BucketReady], ...leftover };
}

export function tokenExpectation(model: Model, token: TokenModel): Expectation {
  const waiting: string[] = [];
  if (!model.onboardings[token.instance]?.present) waiting.push(absent(token));
  if (!granted(model, token.instance, token.namespace)) waiting.push(AccessReason.NotPermitted);
  const buckets = token.permissions.map((permission) =>
    Object.values(model.buckets).find(
      (bucket) => bucket.name === permission.bucket && bucket.namespace === token.namespace,
    ),
  );
  if (buckets.some((bucket) => !bucket?.present)) waiting.push(AccessReason.BucketNotFound);
  // A bucket that waits itself (its onboarding gone or not granted) keeps the token waiting for it.
  if (buckets.some((bucket) => bucket?.present && !bucketExpectation(model, bucket).ready))
    waiting.push(AccessReason.BucketNotReady);
  if (waiting.length > 0) return { ready: false, reasons: waiting };
  // A bucket that may settle waiting (BucketExists) may keep the token waiting for it.
  const maybeWaiting = buckets.some((bucket) => bucket !== undefined && bucketExpectation(model, bucket).orWaiting);
  return {
    ready: true,
    reasons: [AccessReason.TokenReady],
    ...(maybeWaiting && { orWaiting: [AccessReason.BucketNotReady] }),
  };
}

/** The description marker of an InfluxToken's authorizations: `[InfluxToken <namespace>/<name> uid=<uid>]`. */
export const TOKEN_MARKER = /\[InfluxToken ([^/\s]+)\/([^\s\]]+) uid=([^\]\s]+)\]/;

/** Where a Ready InfluxToken's status keeps its authorization's ID. */
export const tokenAuthorizationID = (status: Record<string, unknown> | undefined): string | undefined =>
  typeof status?.authorizationID === 'string' ? status.authorizationID : undefined;

/** Where a Ready InfluxBucket's status keeps the bucket's ID. */
export const bucketID = (status: Record<string, unknown> | undefined): string | undefined =>
  typeof status?.bucketID === 'string' ? status.bucketID : undefined;
