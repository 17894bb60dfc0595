/**
 * The operator's own records of what it made for one namespace through one InfluxOnboarding: which
 * bucket ID belongs to which InfluxBucket, which InfluxTokens were issued, and the InfluxDB user a
 * namespace's tokens belong to. Kept where no tenant can write (a ConfigMap in the operator's own
 * namespace, see src/kube/access-records.ts), they are what a token's permissions and a bucket's
 * ownership are decided from; an InfluxBucket's status only reports them.
 */
import type { OnboardingKey } from './access-spec.js';
import type { AccessLimits } from './access-types.js';

/** Whose record: one namespace's, under one onboarding. */
export interface RecordKey {
  onboarding: OnboardingKey;
  namespace: string;
}

export interface RecordedBucket {
  /** The bucket's name in InfluxDB when it was created or adopted. */
  name: string;
  /** Absent while its create is under way: the record of the intent proves a bucket found with this resource's marker afterwards. */
  id?: string;
  /** It existed before and was adopted (spec.adopt with the onboarding's consent). */
  adopted?: boolean;
}

export interface AccessRecord {
  /** The InfluxDB user this namespace's tokens are issued under (listed per user: one tenant's tokens never crowd another's list). */
  userID?: string;
  /** By InfluxBucket UID. */
  buckets: Readonly<Record<string, RecordedBucket>>;
  /** By InfluxToken UID: its name, recorded before its first authorization is created. */
  tokens: Readonly<Record<string, string>>;
}

export const EMPTY_RECORD: AccessRecord = { buckets: {}, tokens: {} };

/**
 * One record holds at most this many buckets and tokens together: its ConfigMap stays far below
 * the API server's 1 MiB object limit (an entry takes under 150 bytes), and one namespace cannot
 * grow the operator's memory without bound.
 */
export const MAX_RECORD_ENTRIES = 5000;

export type RecordChange =
  | { kind: 'user'; userID: string }
  /** Records the intent (no id) or the outcome (id) of a create or adoption; `limits` is checked only for a new entry. */
  | { kind: 'bucket'; uid: string; bucket: RecordedBucket; limits?: AccessLimits }
  | { kind: 'forgetBucket'; uid: string }
  | { kind: 'token'; uid: string; name: string; limits?: AccessLimits }
  | { kind: 'forgetToken'; uid: string };

/** Why a change was refused: the namespace holds `count` of what a limit allows at most `max`. */
export interface RecordRefusal {
  limit: 'maxBuckets' | 'maxTokens' | 'entries';
  count: number;
  max: number;
}

export type RecordApplied =
  { ok: true; record: AccessRecord; changed: boolean } | { ok: false; refusal: RecordRefusal };

function refusal(
  record: AccessRecord,
  limit: RecordRefusal['limit'],
  max: number | undefined,
): RecordRefusal | undefined {
  const buckets = Object.keys(record.buckets).length;
  const tokens = Object.keys(record.tokens).length;
  if (buckets + tokens >= MAX_RECORD_ENTRIES)
    return { limit: 'entries', count: buckets + tokens, max: MAX_RECORD_ENTRIES };
  const count = limit === 'maxBuckets' ? buckets : tokens;
  return max !== undefined && count >= max ? { limit, count, max } : undefined;
}

function sameBucket(a: RecordedBucket | undefined, b: RecordedBucket): boolean {
  return a !== undefined && a.name === b.name && a.id === b.id && (a.adopted ?? false) === (b.adopted ?? false);
}

/** The record after a change; a new bucket or token over its limit is refused and changes nothing. */
export function applyRecordChange(record: AccessRecord, change: RecordChange): RecordApplied {
  const unchanged: RecordApplied = { ok: true, record, changed: false };
  switch (change.kind) {
    case 'user':
      return record.userID === change.userID
        ? unchanged
        : { ok: true, record: { ...record, userID: change.userID }, changed: true };
    case 'bucket': {
      const existing = record.buckets[change.uid];
      if (sameBucket(existing, change.bucket)) return unchanged;
      if (existing === undefined) {
        const refused = refusal(record, 'maxBuckets', change.limits?.maxBuckets);
        if (refused) return { ok: false, refusal: refused };
      }
      const bucket: RecordedBucket = {
        name: change.bucket.name,
        ...(change.bucket.id !== undefined && { id: change.bucket.id }),
        ...(change.bucket.adopted === true && { adopted: true }),
      };
      return { ok: true, record: { ...record, buckets: { ...record.buckets, [change.uid]: bucket } }, changed: true };
    }
    case 'forgetBucket': {
      if (record.buckets[change.uid] === undefined) return unchanged;
      const { [change.uid]: _forgotten, ...buckets } = record.buckets;
      return { ok: true, record: { ...record, buckets }, changed: true };
    }
    case 'token': {
      if (record.tokens[change.uid] === change.name) return unchanged;
      if (record.tokens[change.uid] === undefined) {
        const refused = refusal(record, 'maxTokens', change.limits?.maxTokens);
        if (refused) return { ok: false, refusal: refused };
      }
      return {
        ok: true,
        record: { ...record, tokens: { ...record.tokens, [change.uid]: change.name } },
        changed: true,
      };
    }
    case 'forgetToken': {
      if (record.tokens[change.uid] === undefined) return unchanged;
      const { [change.uid]: _forgotten, ...tokens } = record.tokens;
      return { ok: true, record: { ...record, tokens }, changed: true };
    }
  }
}
