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

/** Two recorded buckets are the same entry. */
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
  const { record: next, outcomes } = applyRecordChanges(record, [change]);
  const [outcome] = outcomes;
  if (outcome === undefined) throw new Error('one change has one outcome');
  return outcome.ok ? { ...outcome, record: next } : outcome;
}

/**
 * The record after each change in turn, each decided on the record the ones before it left (as
 * applyRecordChange one after another): a refused change changes nothing. For a batch written at
 * once (AccessRecords' group commit) the record is copied once, not once per change: at thousands
 * of entries in one record, a copy per change was most of a burst's CPU and garbage. Each outcome's
 * `record` is the record after the whole batch; unchanged, the very record given.
 */
export function applyRecordChanges(
  record: AccessRecord,
  changes: readonly RecordChange[],
): { record: AccessRecord; outcomes: RecordApplied[] } {
  const draft = new RecordDraft(record);
  const outcomes = changes.map((change) => draft.apply(change));
  const next = draft.result();
  return { record: next, outcomes: outcomes.map((outcome) => (outcome.ok ? { ...outcome, record: next } : outcome)) };
}

/** A record being changed in place: its maps copied on the first change, its size and counts kept as it goes. */
class RecordDraft {
  private userID: string | undefined;
  private buckets: Record<string, RecordedBucket> | undefined;
  private tokens: Record<string, string> | undefined;
  private bucketCount: number;
  private tokenCount: number;
  /** recordBytes of the record as it now is. */
  private bytes: number;
  private changed = false;

  constructor(private readonly original: AccessRecord) {
    this.userID = original.userID;
    this.bucketCount = Object.keys(original.buckets).length;
    this.tokenCount = Object.keys(original.tokens).length;
    this.bytes = recordBytes(original);
  }

  apply(change: RecordChange): RecordApplied {
    const unchanged: RecordApplied = { ok: true, record: this.original, changed: false };
    switch (change.kind) {
      case 'user':
        if (this.userID === change.userID) return unchanged;
        this.resize(USER_KEY, this.userID, change.userID);
        this.userID = change.userID;
        return this.done();
      case 'bucket': {
        const buckets = this.buckets ?? this.original.buckets;
        const existing = buckets[change.uid];
        if (sameBucket(existing, change.bucket)) return unchanged;
        const bucket: RecordedBucket = {
          name: change.bucket.name,
          ...(change.bucket.id !== undefined && { id: change.bucket.id }),
          ...(change.bucket.adopted === true && { adopted: true }),
          ...(change.bucket.influxql === true && { influxql: true }),
        };
        const key = `${BUCKET_PREFIX}${change.uid}`;
        const value = JSON.stringify(bucket);
        const refused =
          existing === undefined && this.refusal(key, value, 'maxBuckets', this.bucketCount, change.limits?.maxBuckets);
        if (refused) return { ok: false, refusal: refused };
        this.resize(key, existing && JSON.stringify(existing), value);
        if (existing === undefined) this.bucketCount++;
        this.writableBuckets()[change.uid] = bucket;
        return this.done();
      }
      case 'forgetBucket': {
        const existing = (this.buckets ?? this.original.buckets)[change.uid];
        if (existing === undefined) return unchanged;
        this.resize(`${BUCKET_PREFIX}${change.uid}`, JSON.stringify(existing), undefined);
        delete this.writableBuckets()[change.uid];
        this.bucketCount--;
        return this.done();
      }
      case 'token': {
        const existing = (this.tokens ?? this.original.tokens)[change.uid];
        if (existing === change.name) return unchanged;
        const key = `${TOKEN_PREFIX}${change.uid}`;
        const refused =
          existing === undefined &&
          this.refusal(key, change.name, 'maxTokens', this.tokenCount, change.limits?.maxTokens);
        if (refused) return { ok: false, refusal: refused };
        this.resize(key, existing, change.name);
        if (existing === undefined) this.tokenCount++;
        this.writableTokens()[change.uid] = change.name;
        return this.done();
      }
      case 'forgetToken': {
        const existing = (this.tokens ?? this.original.tokens)[change.uid];
        if (existing === undefined) return unchanged;
        this.resize(`${TOKEN_PREFIX}${change.uid}`, existing, undefined);
        delete this.writableTokens()[change.uid];
        this.tokenCount--;
        return this.done();
      }
    }
  }

  /** The record as changed (the very record given when nothing changed), its size remembered. */
  result(): AccessRecord {
    if (!this.changed) return this.original;
    const next: AccessRecord = {
      ...(this.userID !== undefined && { userID: this.userID }),
      buckets: this.buckets ?? this.original.buckets,
      tokens: this.tokens ?? this.original.tokens,
    };
    counted.set(next, this.bytes);
    return next;
  }

  private done(): RecordApplied {
    this.changed = true;
    return { ok: true, record: this.original, changed: true };
  }

  private writableBuckets(): Record<string, RecordedBucket> {
    return (this.buckets ??= { ...this.original.buckets });
  }

  private writableTokens(): Record<string, string> {
    return (this.tokens ??= { ...this.original.tokens });
  }

  private get entries(): number {
    return (this.userID === undefined ? 0 : 1) + this.bucketCount + this.tokenCount;
  }

  /** The bytes after one entry is added (before undefined), replaced, or removed (after undefined), as recordBytes counts them. */
  private resize(key: string, before: string | undefined, after: string | undefined): void {
    const entries = this.entries;
    if (before === undefined && after !== undefined)
      this.bytes = entries === 0 ? 1 + entryBytes(key, after) : this.bytes + entryBytes(key, after);
    else if (before !== undefined && after === undefined)
      this.bytes = entries <= 1 ? 2 : this.bytes - entryBytes(key, before);
    else if (before !== undefined && after !== undefined)
      this.bytes += entryBytes(key, after) - entryBytes(key, before);
  }

  /** A new entry over its limit (`count` of `max`), or one that would grow the record past its size. */
  private refusal(
    key: string,
    value: string,
    limit: 'maxBuckets' | 'maxTokens',
    count: number,
    max: number | undefined,
  ): RecordRefusal | undefined {
    if (max !== undefined && count >= max) return { limit, count, max };
    const bytes = this.entries === 0 ? 1 + entryBytes(key, value) : this.bytes + entryBytes(key, value);
    return bytes > MAX_RECORD_BYTES ? { limit: 'size', count: bytes, max: MAX_RECORD_BYTES } : undefined;
  }
}
