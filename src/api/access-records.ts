/**
 * The operator's own records of what it made for one namespace through one InfluxOnboarding: which
 * bucket ID belongs to which InfluxBucket, which InfluxTokens were issued, and the InfluxDB user a
 * namespace's tokens belong to. Kept where no tenant can write (a ConfigMap in the operator's own
 * namespace, see src/kube/access-records.ts), they are what a token's permissions and a bucket's
 * ownership are decided from; an InfluxBucket's status only reports them.
 */
import type { OnboardingKey } from './access-spec.js';
import type { AccessLimits } from './types.js';

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
  /**
   * The operator maps it for InfluxQL (spec.influxql), recorded before the first mapping is made:
   * only then are the bucket's mappings deleted once the field is gone (a mapping made by hand on
   * a bucket that never had the field stays).
   */
  influxql?: boolean;
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
 * One record's ConfigMap data stays under this many bytes, well below the API server's 1 MiB
 * object limit: one namespace can fill only its own record, and never make it unwritable. That is
 * about 7,000 entries of typical names, and still 2,500 of the longest (a 256-character bucket name).
 */
export const MAX_RECORD_BYTES = 768 * 1024;

const USER_KEY = 'user';
const BUCKET_PREFIX = 'bucket.';
const TOKEN_PREFIX = 'token.';

/** The record as ConfigMap data: `user`, `bucket.<uid>` (JSON), `token.<uid>` (the name). */
export function recordData(record: AccessRecord): Record<string, string> {
  const data: Record<string, string> = {};
  if (record.userID !== undefined) data[USER_KEY] = record.userID;
  for (const [uid, bucket] of Object.entries(record.buckets)) data[`${BUCKET_PREFIX}${uid}`] = JSON.stringify(bucket);
  for (const [uid, name] of Object.entries(record.tokens)) data[`${TOKEN_PREFIX}${uid}`] = name;
  return data;
}

function parseBucket(text: string): RecordedBucket | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { name, id, adopted, influxql } = value as Record<string, unknown>;
    if (typeof name !== 'string' || (id !== undefined && typeof id !== 'string')) return undefined;
    return {
      name,
      ...(typeof id === 'string' && { id }),
      ...(adopted === true && { adopted: true }),
      ...(influxql === true && { influxql: true }),
    };
  } catch {
    return undefined;
  }
}

/** The record ConfigMap data holds; an entry that cannot be read counts as absent (nothing is decided from it). */
export function recordFromData(data: Readonly<Record<string, string>>): AccessRecord {
  const buckets: Record<string, RecordedBucket> = {};
  const tokens: Record<string, string> = {};
  let userID: string | undefined;
  for (const [key, value] of Object.entries(data)) {
    if (key === USER_KEY && value !== '') userID = value;
    else if (key.startsWith(BUCKET_PREFIX)) {
      const bucket = parseBucket(value);
      if (bucket !== undefined) buckets[key.slice(BUCKET_PREFIX.length)] = bucket;
    } else if (key.startsWith(TOKEN_PREFIX)) tokens[key.slice(TOKEN_PREFIX.length)] = value;
  }
  return { ...(userID !== undefined && { userID }), buckets, tokens };
}

/** The bytes one entry takes in the data as JSON: `"key":"value",` (the value escaped as JSON escapes it). */
function entryBytes(key: string, value: string): number {
  return JSON.stringify(key).length + JSON.stringify(value).length + 2;
}

const counted = new WeakMap<AccessRecord, number>();

/** The bytes the record's data takes as JSON (what the API server stores, less metadata); counted once per record. */
export function recordBytes(record: AccessRecord): number {
  let bytes = counted.get(record);
  if (bytes === undefined) {
    const entries = Object.entries(recordData(record));
    bytes = entries.length === 0 ? 2 : 1 + entries.reduce((sum, [key, value]) => sum + entryBytes(key, value), 0);
    counted.set(record, bytes);
  }
  return bytes;
}

/** A new entry's bytes added to a record's: a record grown one entry at a time is never counted from scratch. */
function grown(record: AccessRecord, next: AccessRecord, key: string, value: string): number {
  const empty =
    Object.keys(record.buckets).length + Object.keys(record.tokens).length === 0 && record.userID === undefined;
  const bytes = recordBytes(record) + entryBytes(key, value) + (empty ? -1 : 0);
  counted.set(next, bytes);
  return bytes;
}

export type RecordChange =
  | { kind: 'user'; userID: string }
  /** Records the intent (no id) or the outcome (id) of a create or adoption; `limits` is checked only for a new entry. */
  | { kind: 'bucket'; uid: string; bucket: RecordedBucket; limits?: AccessLimits }
  | { kind: 'forgetBucket'; uid: string }
  | { kind: 'token'; uid: string; name: string; limits?: AccessLimits }
  | { kind: 'forgetToken'; uid: string };

/** Why a change was refused: the namespace holds `count` of what a limit allows at most `max` (for `size`: bytes). */
export interface RecordRefusal {
  limit: 'maxBuckets' | 'maxTokens' | 'size';
  count: number;
  max: number;
}

export type RecordApplied =
  { ok: true; record: AccessRecord; changed: boolean } | { ok: false; refusal: RecordRefusal };

/** A new entry (`key`, `value` as stored) over its limit, or one that would grow the record past its size. */
function refusal(
  record: AccessRecord,
  next: AccessRecord,
  entry: [key: string, value: string],
  limit: 'maxBuckets' | 'maxTokens',
  max: number | undefined,
): RecordRefusal | undefined {
  const count = Object.keys(limit === 'maxBuckets' ? record.buckets : record.tokens).length;
  if (max !== undefined && count >= max) return { limit, count, max };
  const bytes = grown(record, next, ...entry);
  return bytes > MAX_RECORD_BYTES ? { limit: 'size', count: bytes, max: MAX_RECORD_BYTES } : undefined;
}

function sameBucket(a: RecordedBucket | undefined, b: RecordedBucket): boolean {
  return (
    a !== undefined &&
    a.name === b.name &&
    a.id === b.id &&
    (a.adopted ?? false) === (b.adopted ?? false) &&
    (a.influxql ?? false) === (b.influxql ?? false)
  );
}

/** The record after a change; a new bucket or token over its limit (or the record's size) is refused and changes nothing. */
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
      const bucket: RecordedBucket = {
        name: change.bucket.name,
        ...(change.bucket.id !== undefined && { id: change.bucket.id }),
        ...(change.bucket.adopted === true && { adopted: true }),
        ...(change.bucket.influxql === true && { influxql: true }),
      };
      const next = { ...record, buckets: { ...record.buckets, [change.uid]: bucket } };
      const entry: [string, string] = [`${BUCKET_PREFIX}${change.uid}`, JSON.stringify(bucket)];
      const refused = existing === undefined && refusal(record, next, entry, 'maxBuckets', change.limits?.maxBuckets);
      return refused ? { ok: false, refusal: refused } : { ok: true, record: next, changed: true };
    }
    case 'forgetBucket': {
      if (record.buckets[change.uid] === undefined) return unchanged;
      const { [change.uid]: _forgotten, ...buckets } = record.buckets;
      return { ok: true, record: { ...record, buckets }, changed: true };
    }
    case 'token': {
      if (record.tokens[change.uid] === change.name) return unchanged;
      const next = { ...record, tokens: { ...record.tokens, [change.uid]: change.name } };
      const refused =
        record.tokens[change.uid] === undefined &&
        refusal(record, next, [`${TOKEN_PREFIX}${change.uid}`, change.name], 'maxTokens', change.limits?.maxTokens);
      return refused ? { ok: false, refusal: refused } : { ok: true, record: next, changed: true };
    }
    case 'forgetToken': {
      if (record.tokens[change.uid] === undefined) return unchanged;
      const { [change.uid]: _forgotten, ...tokens } = record.tokens;
      return { ok: true, record: { ...record, tokens }, changed: true };
    }
  }
}
