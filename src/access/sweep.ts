import type { AccessRecord, RecordApplied, RecordChange, RecordKey } from '../api/access-records.js';
import type { OnboardingKey } from '../api/access-spec.js';
import { checkAccessFrom } from '../api/access-from.js';
import type { InfluxOnboarding } from '../api/types.js';
import type { Logger, SecretRegistry } from '../log.js';
import type { InfluxClient } from '../influx/index.js';
import type { Reconciler, ResourceEvent, Result } from '../runtime/index.js';
import type { ListedAuthorization } from './token-authorizations.js';
import type { Connection } from './access.js';
import { abortingOn, accessThrough, type AccessPorts } from './reconciler.js';
import {
  decideSweep,
  leavesNothing,
  type LiveList,
  type LiveNamespace,
  type SweepReason,
  type SweepVerdict,
} from './sweep-decide.js';

/** What the sweep reads and writes; everything it decides from is read from the API server at the time. */
export interface SweepPorts extends Pick<AccessPorts, 'readCredentials' | 'readReference' | 'influx' | 'recordEvent'> {
  readOnboarding(namespace: string, name: string): Promise<InfluxOnboarding | undefined>;
  listRecords(onboarding: OnboardingKey): Promise<Array<{ namespace: string; record: AccessRecord }>>;
  /** How many changes of the onboarding's records this process has asked for (AccessRecords.changesOf). */
  recordChanges(onboarding: OnboardingKey): number;
  /**
   * The onboarding as the cache shows it (its UID and generation), undefined when it shows none:
   * a sweep rests only on the onboarding, and the spec (its instance, its grants), it swept.
   */
  cachedOnboarding(namespace: string, name: string): string | undefined;
  changeRecord(key: RecordKey, change: RecordChange): Promise<RecordApplied>;
  listTokens(namespace: string): Promise<LiveList>;
  listBuckets(namespace: string): Promise<LiveList>;
  readNamespace(name: string): Promise<LiveNamespace>;
  /** The caches, only to spare reads: by namespace and name, the InfluxToken's UID; whether an InfluxBucket of that UID is cached. */
  cachedTokenUID(namespace: string, name: string): string | undefined;
  cachedBucketUID(namespace: string, uid: string): boolean;
}

export interface SweepOptions {
  intervalMs: number;
  labelGrants: boolean;
  logger: Logger;
  secrets: SecretRegistry;
  /** Counts each authorization deleted, by why; and each namespace skipped. */
  onDeleted(reason: SweepReason): void;
  onSkipped(): void;
}

/** At most this many rounds of reads before a sweep decides: each round reads what the previous one found it needs. */
const READ_ROUNDS = 4;

/**
 * The periodic sweep of one onboarding (and a sweep at once when an InfluxToken is deleted or the
 * grant changes): lists the authorizations of every namespace's user the records name (and of the
 * operator's own user, for tokens issued before per-namespace users), and deletes those that
 * outlived their InfluxToken or its grant (see decideSweep). An onboarding whose sweep in this
 * leadership term left nothing (leavesNothing) is left alone, without a request to the API server
 * or InfluxDB, until this process changes one of its records: most onboardings never have a
 * token, and the pass over tens of thousands of them then keeps its interval.
 */
export function createSweepReconciler(ports: SweepPorts, options: SweepOptions): Reconciler {
  const again: Result = { requeueAfterMs: options.intervalMs };
  // Per leadership term (the runtime's `term`): the onboardings whose last sweep left nothing, with
  // what it swept (the onboarding's identity, and the changes of its records then) as one string.
  const settled = new WeakMap<object, Map<string, string>>();
  return async function sweep(request, signal, term) {
    const ref: OnboardingKey = { namespace: request.namespace, name: request.name };
    const key = `${ref.namespace}/${ref.name}`;
    let quiet = settled.get(term);
    if (quiet === undefined) settled.set(term, (quiet = new Map<string, string>()));
    const identity = ports.cachedOnboarding(ref.namespace, ref.name);
    const swept = `${identity} ${ports.recordChanges(ref)}`;
    if (identity !== undefined && quiet.get(key) === swept) return again;
    quiet.delete(key);
    const onboarding = await ports.readOnboarding(ref.namespace, ref.name);
    if (onboarding === undefined) return {};
    const access = await accessThrough(
      { ...ports, namespaceLabels: () => Promise.resolve(undefined) },
      options.secrets,
      ref.namespace,
      ref,
      onboarding,
    );
    if (access.kind !== 'ready') return again;
    // Its requests end with the reconcile (its deadline, a stop), as every reconciler's do.
    const round: SweepRound = {
      ports,
      options,
      ref,
      onboarding,
      connection: access.connection,
      client: abortingOn(ports, signal).influx(access.connection.target),
      signal,
    };
    const records = await ports.listRecords(ref);
    const listed = await listAuthorizations(round, records);
    const verdict = await readUntilDecided(round, records, listed.authorizations);
    const deleted = await carryOut(round, verdict, listed.unlisted);
    const outcome = {
      records: records.length,
      unlisted: listed.unlisted.length,
      skipped: verdict.skipped.length,
      undeleted: verdict.delete.length - deleted,
    };
    if (identity !== undefined && leavesNothing(outcome)) quiet.set(key, swept);
    options.logger.info('swept', {
      onboarding: access.connection.onboarding,
      users: listed.users,
      unlisted: listed.unlisted,
      authorizationCount: listed.authorizations.length,
      deleted,
      forgotten: verdict.forget.length,
      skipped: verdict.skipped.map((entry) => entry.namespace),
    });
    return again;
  };
}

/** One sweep of one onboarding: what its steps share. */
interface SweepRound {
  ports: SweepPorts;
  options: SweepOptions;
  ref: OnboardingKey;
  onboarding: InfluxOnboarding;
  connection: Connection;
  client: InfluxClient;
  /**
   * Aborted (its deadline, a stop, leadership lost): the sweep ends where it is, and decides,
   * deletes, forgets and reports nothing from lists the abort cut short.
   */
  signal: AbortSignal;
}

type Records = Awaited<ReturnType<SweepPorts['listRecords']>>;

/**
 * The authorizations of every user the records name, one list per user (a tenant whose list
 * cannot be read, too large say, holds up no one else's sweep), and the org's v1 authorizations.
 * unlisted: whose lists could not be read.
 */
async function listAuthorizations(
  round: SweepRound,
  records: Records,
): Promise<{ authorizations: ListedAuthorization[]; unlisted: string[]; users: number }> {
  const { client, connection, onboarding, options, signal } = round;
  const users = new Map<string, string>();
  for (const { namespace, record } of records) if (record.userID !== undefined) users.set(record.userID, namespace);
  // Tokens issued before each namespace had its own user belong to the operator's.
  if (onboarding.status?.userID !== undefined) users.set(onboarding.status.userID, `the operator's own user`);
  const authorizations: ListedAuthorization[] = [];
  const unlisted: string[] = [];
  const skip = (whose: string, message: string, error: string): void => {
    unlisted.push(whose);
    options.onSkipped();
    options.logger.warn(message, { onboarding: connection.onboarding, of: whose, error });
  };
  for (const [userID, whose] of users) {
    const listed = await client.listAuthorizations(connection.token, { userID });
    signal.throwIfAborted();
    if (listed.ok) authorizations.push(...listed.value.filter((entry) => entry.orgID === connection.orgID));
    else skip(whose, 'sweep could not list authorizations', listed.failure.message);
  }
  // v1 authorizations (InfluxToken spec.v1) are listed by org: the sweep judges them by the same marker.
  const v1 = await client.listV1Authorizations(connection.token, { orgID: connection.orgID });
  signal.throwIfAborted();
  if (v1.ok) authorizations.push(...v1.value.map(({ id, description }) => ({ id, description, v1: true as const })));
  else skip('the org (v1 authorizations)', 'sweep could not list v1 authorizations', v1.failure.message);
  return { authorizations, unlisted, users: users.size };
}

/** The sweep's verdict after at most READ_ROUNDS rounds of the live reads it asks for. */
async function readUntilDecided(
  round: SweepRound,
  records: Records,
  authorizations: ListedAuthorization[],
): Promise<SweepVerdict> {
  const { ports, options, onboarding, ref } = round;
  const liveTokens: Record<string, LiveList> = {};
  const liveBuckets: Record<string, LiveList> = {};
  const liveNamespaces: Record<string, LiveNamespace> = {};
  const facts = () => ({
    onboarding: ref,
    accessFrom: checkAccessFrom(onboarding.spec?.accessFrom, []),
    labelGrants: options.labelGrants,
    records,
    authorizations,
    cachedTokenUID: (namespace: string, name: string) => ports.cachedTokenUID(namespace, name),
    cachedBucketUID: (namespace: string, uid: string) => ports.cachedBucketUID(namespace, uid),
    liveTokens,
    liveBuckets,
    liveNamespaces,
  });
  let verdict = decideSweep(facts());
  for (let read = 0; read < READ_ROUNDS; read++) {
    const { tokensIn, bucketsIn, namespaces } = verdict.read;
    if (tokensIn.length + bucketsIn.length + namespaces.length === 0) break;
    for (const namespace of tokensIn) liveTokens[namespace] = await ports.listTokens(namespace);
    for (const namespace of bucketsIn) liveBuckets[namespace] = await ports.listBuckets(namespace);
    for (const namespace of namespaces) liveNamespaces[namespace] = await ports.readNamespace(namespace);
    verdict = decideSweep(facts());
  }
  return verdict;
}

/** Deletes what the verdict names, forgets records, and tells what was skipped; the count deleted. */
async function carryOut(round: SweepRound, verdict: SweepVerdict, unlisted: string[]): Promise<number> {
  const { ports, options, ref, onboarding, connection, client, signal } = round;
  let deleted = 0;
  for (const entry of verdict.delete) {
    signal.throwIfAborted();
    const outcome = entry.v1
      ? await client.deleteV1Authorization(connection.token, entry.id)
      : await client.deleteAuthorization(connection.token, entry.id);
    if (!outcome.ok) {
      options.logger.warn('sweep could not delete an authorization', {
        onboarding: connection.onboarding,
        authorizationID: entry.id,
        error: outcome.failure.message,
      });
      continue;
    }
    deleted++;
    options.onDeleted(entry.reason);
    options.logger.info('deleted authorization', {
      onboarding: connection.onboarding,
      authorizationID: entry.id,
      token: entry.token,
      why: SWEEP_REASONS[entry.reason],
    });
  }
  signal.throwIfAborted();
  for (const { namespace, change } of verdict.forget) await ports.changeRecord({ onboarding: ref, namespace }, change);
  for (const skipped of verdict.skipped) {
    options.onSkipped();
    const event: ResourceEvent = {
      type: 'Warning',
      reason: 'SweepSkipped',
      message: `could not read ${skipped.what} in namespace ${skipped.namespace}: the authorizations of its InfluxTokens were left as they are`,
    };
    ports.recordEvent(onboarding, event);
  }
  if (unlisted.length > 0) {
    ports.recordEvent(onboarding, {
      type: 'Warning',
      reason: 'SweepSkipped',
      message: `could not list the authorizations of ${unlisted.join(', ')}: they were left as they are`,
    });
  }
  return deleted;
}

const SWEEP_REASONS: Record<SweepReason, string> = {
  'token-gone': 'its InfluxToken is gone (deleted without its finalizer)',
  'token-recreated': 'its InfluxToken was deleted and created again (another UID)',
  'not-granted': "the onboarding no longer grants its token's namespace",
};
