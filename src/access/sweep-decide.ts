import type { AccessRecord, RecordChange } from '../api/access-records.js';
import { grantFor } from '../api/access-from.js';
import type { OnboardingKey } from '../api/access-spec.js';
import type { AccessFrom } from '../api/types.js';
import { tokenOf, type ListedAuthorization } from './token-authorizations.js';

/** An InfluxToken or InfluxBucket as one list shows it: enough to tell whether an authorization or record entry is still its. */
export interface LiveResource {
  name: string;
  uid: string;
  /** namespace/name of the onboarding its spec references. */
  onboarding: string;
  deleting: boolean;
}

/** A namespace's resources of one kind, listed from the API server now; forbidden: the operator may not list them there. */
export type LiveList = { kind: 'listed'; items: readonly LiveResource[] } | { kind: 'forbidden' };

/** A namespace as the API server shows it now (only read for grants by label). */
export type LiveNamespace =
  { kind: 'found'; labels: Record<string, string> } | { kind: 'absent' } | { kind: 'forbidden' };

export interface SweepFacts {
  onboarding: OnboardingKey;
  /** spec.accessFrom of the onboarding, read from the API server at the start of the sweep. */
  accessFrom: AccessFrom | undefined;
  /** Whether grants by namespace labels are honoured (--namespace-label-grants); without it a selector grants nothing. */
  labelGrants: boolean;
  /** The onboarding's records, read from the API server. */
  records: ReadonlyArray<{ namespace: string; record: AccessRecord }>;
  /** The authorizations of each user listed (the namespaces' users, and the operator's own for tokens issued before them). */
  authorizations: readonly ListedAuthorization[];
  /** What the cache holds, by `namespace/name`: only ever a reason not to suspect (a cache may lag, never decide). */
  cachedTokenUID(namespace: string, name: string): string | undefined;
  cachedBucketUID(namespace: string, uid: string): boolean;
  /** Live lists, by namespace, once asked for. */
  liveTokens: Readonly<Record<string, LiveList>>;
  liveBuckets: Readonly<Record<string, LiveList>>;
  liveNamespaces: Readonly<Record<string, LiveNamespace>>;
}

export type SweepReason = 'token-gone' | 'token-recreated' | 'not-granted';

export interface SweepVerdict {
  /** What the sweep still has to read before it may decide (empty: nothing). */
  read: { tokensIn: string[]; bucketsIn: string[]; namespaces: string[] };
  /** Authorizations to delete, each with why. */
  /** v1: a v1 (legacy) authorization of the token's spec.v1. */
  delete: Array<{ id: string; token: string; reason: SweepReason; v1?: true }>;
  /** Record entries whose resource is gone. */
  forget: Array<{ namespace: string; change: RecordChange }>;
  /** Namespaces the operator could not read: nothing in them was decided. */
  skipped: Array<{ namespace: string; what: string }>;
}

function granted(facts: SweepFacts, namespace: string, labels: Record<string, string> | undefined): boolean {
  return grantFor(
    { metadata: facts.onboarding, spec: facts.accessFrom === undefined ? {} : { accessFrom: facts.accessFrom } },
    namespace,
    labels,
  ).granted;
}

/** Whether a grant by labels could apply: only then is the namespace itself worth reading. */
function selectorCouldGrant(facts: SweepFacts): boolean {
  return facts.labelGrants && facts.accessFrom?.namespaceSelector?.matchLabels !== undefined;
}

/**
 * One sweep of an onboarding, decided from what the API server says now: an authorization whose
 * marker names an InfluxToken that is gone (a finalizer removed by hand), was re-created (another
 * UID), or whose namespace is no longer granted, is deleted. The cache only spares reads (a token
 * it shows with the marker's UID is not suspected); a namespace the operator cannot read is
 * skipped and reported, never decided. Record entries of resources that are gone are forgotten.
 */
export function decideSweep(facts: SweepFacts): SweepVerdict {
  const reads = liveReads(facts);
  const doomed = judgeAuthorizations(facts, reads);
  const forget = forgetGone(facts, reads);
  return {
    read: { tokensIn: [...reads.needTokens], bucketsIn: [...reads.needBuckets], namespaces: [...reads.needNamespaces] },
    delete: doomed,
    forget,
    skipped: [...reads.skipped].map(([namespace, what]) => ({ namespace, what })),
  };
}

/** What the sweep learned live so far, and what it still needs to read (or could not: skipped, by namespace). */
interface LiveReads {
  needTokens: Set<string>;
  needBuckets: Set<string>;
  needNamespaces: Set<string>;
  skipped: Map<string, string>;
  /** Whether `namespace` is granted now: true, false, or undefined while its labels are unread (or unreadable). */
  grantedNow(namespace: string): boolean | undefined;
  /** The live list of a namespace, or undefined while unread (it is then needed) or forbidden (skipped). */
  liveIn(
    lists: Readonly<Record<string, LiveList>>,
    need: Set<string>,
    namespace: string,
    what: string,
  ): readonly LiveResource[] | undefined;
}

function liveReads(facts: SweepFacts): LiveReads {
  const reads: LiveReads = {
    needTokens: new Set(),
    needBuckets: new Set(),
    needNamespaces: new Set(),
    skipped: new Map(),
    grantedNow(namespace) {
      if (granted(facts, namespace, undefined)) return true;
      if (!selectorCouldGrant(facts)) return false;
      const live = facts.liveNamespaces[namespace];
      if (live === undefined) {
        reads.needNamespaces.add(namespace);
        return undefined;
      }
      if (live.kind === 'forbidden') {
        reads.skipped.set(namespace, 'the namespace (403)');
        return undefined;
      }
      return live.kind === 'found' && granted(facts, namespace, live.labels);
    },
    liveIn(lists, need, namespace, what) {
      const live = lists[namespace];
      if (live === undefined) need.add(namespace);
      else if (live.kind === 'forbidden') reads.skipped.set(namespace, `${what} (403)`);
      return live?.kind === 'listed' ? live.items : undefined;
    },
  };
  return reads;
}

/** The authorizations to delete: their InfluxToken gone, created again, or its namespace no longer granted. */
function judgeAuthorizations(facts: SweepFacts, reads: LiveReads): SweepVerdict['delete'] {
  const doomed: SweepVerdict['delete'] = [];
  const home = facts.onboarding.namespace;
  for (const authorization of facts.authorizations) {
    const marker = tokenOf(authorization.description);
    if (marker === undefined) continue;
    const { namespace, name, uid } = marker;
    const grant = namespace === home ? true : reads.grantedNow(namespace);
    const cached = facts.cachedTokenUID(namespace, name) === uid;
    if (cached && grant !== false) continue;
    const items = reads.liveIn(facts.liveTokens, reads.needTokens, namespace, 'InfluxTokens');
    if (items === undefined) continue;
    const live = items.find((item) => item.name === name);
    const entry = {
      id: authorization.id,
      token: `${namespace}/${name}`,
      ...(authorization.v1 && { v1: authorization.v1 }),
    };
    if (live === undefined) doomed.push({ ...entry, reason: 'token-gone' });
    else if (live.uid !== uid) doomed.push({ ...entry, reason: 'token-recreated' });
    // Its finalizer revokes it; an InfluxToken that now references another onboarding is that one's to judge.
    else if (live.deleting || live.onboarding !== `${facts.onboarding.namespace}/${facts.onboarding.name}`) continue;
    else if (grant === false) doomed.push({ ...entry, reason: 'not-granted' });
  }
  return doomed;
}

/** Record entries of InfluxTokens and InfluxBuckets the API server no longer has. */
function forgetGone(facts: SweepFacts, reads: LiveReads): SweepVerdict['forget'] {
  const forget: SweepVerdict['forget'] = [];
  for (const { namespace, record } of facts.records) {
    const tokenEntries = Object.entries(record.tokens).filter(
      ([uid, name]) => facts.cachedTokenUID(namespace, name) !== uid,
    );
    if (tokenEntries.length > 0) {
      const items = reads.liveIn(facts.liveTokens, reads.needTokens, namespace, 'InfluxTokens');
      for (const [uid] of items === undefined ? [] : tokenEntries)
        if (!items?.some((item) => item.uid === uid)) forget.push({ namespace, change: { kind: 'forgetToken', uid } });
    }
    const bucketEntries = Object.keys(record.buckets).filter((uid) => !facts.cachedBucketUID(namespace, uid));
    if (bucketEntries.length > 0) {
      const items = reads.liveIn(facts.liveBuckets, reads.needBuckets, namespace, 'InfluxBuckets');
      for (const uid of items === undefined ? [] : bucketEntries)
        if (!items?.some((item) => item.uid === uid)) forget.push({ namespace, change: { kind: 'forgetBucket', uid } });
    }
  }
  return forget;
}

/** What one sweep of an onboarding found and left, as far as its next sweep may rely on it. */
export interface SweepOutcome {
  /** The onboarding's records, as listed at the sweep's start. */
  records: number;
  /** Lists that could not be read (a user's authorizations, the org's v1 authorizations). */
  unlisted: number;
  /** Namespaces (or their lists) the sweep could not read. */
  skipped: number;
  /** Authorizations it was to delete and could not. */
  undeleted: number;
}

/**
 * Whether the sweep may leave the onboarding's InfluxDB alone until one of its records is written:
 * this sweep found no record of it (no namespace was given a bucket or token through it, or all
 * were forgotten) and finished all it found to do, the operator's own user's authorizations (from
 * before the records) and the org's v1 authorizations included. Every authorization the operator
 * makes for an InfluxToken is recorded before it is created, and only the leader records; so while
 * no record of the onboarding is written in this leadership term, nothing of the operator's can
 * have appeared there, and none can have been orphaned: an InfluxToken deleted while the operator
 * was down left its record behind, which the first sweep of the next term lists.
 */
export function leavesNothing(outcome: SweepOutcome): boolean {
  return outcome.records === 0 && outcome.unlisted === 0 && outcome.skipped === 0 && outcome.undeleted === 0;
}
