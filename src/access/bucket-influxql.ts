// An InfluxBucket's DBRP mapping (spec.influxql): the InfluxQL database and retention policy 1.x
// clients name, mapped to the bucket. Pure: what to do next from the mappings InfluxDB listed.
import type { RecordChange, RecordedBucket } from '../api/access-records.js';
import { checkAccessFrom, grantFor, mayClaimDatabase } from '../api/access-from.js';
import type { InfluxQLMapping } from '../api/access-spec.js';
import type { InfluxOnboarding } from '../api/types.js';
import type { InfluxQLStatus } from '../api/access-types.js';
import type { DbrpMapping, DbrpRequest, DbrpUpdate, InfluxFailure, Outcome } from '../influx/index.js';
import type { Connection } from './access.js';

/** What one reconcile has learnt of the mappings; the shell lists them again after each change. */
export interface MappingFacts {
  /** The physical mappings whose bucketID is this resource's bucket: the only ones that are its. */
  ofBucket?: Outcome<DbrpMapping[]>;
  /** The physical mappings of spec.influxql.database in the org, whoever made them. */
  ofDatabase?: Outcome<DbrpMapping[]>;
  /** InfluxDB refused a create or change as a conflict (422): mapped by someone else since the list. */
  conflicted?: boolean;
}

export type MappingStep =
  | { kind: 'listMappings'; connection: Connection; of: 'bucket'; bucketID: string }
  | { kind: 'listMappings'; connection: Connection; of: 'database'; database: string }
  /** change: what a success did, in words, for the event and facts.changes. */
  | { kind: 'createMapping'; connection: Connection; request: DbrpRequest; change: string }
  | { kind: 'updateMapping'; connection: Connection; mappingID: string; update: DbrpUpdate; change: string }
  | { kind: 'deleteMapping'; connection: Connection; mappingID: string; change: string };

/** What the mapping phase decided: a step, a refusal to report, or the mapping in sync (undefined: none wanted). */
export type MappingDecision =
  | { kind: 'step'; step: MappingStep | { kind: 'record'; change: RecordChange } }
  /** A list InfluxDB did not answer: what was tried and why. */
  | { kind: 'failed'; doing: string; failure: InfluxFailure }
  /** status: the bucket's mapping as it is (DefaultConflict: it works, without the default); none when taken. */
  | { kind: 'refused'; reason: 'DatabaseTaken' | 'DefaultConflict'; message: string; status?: InfluxQLStatus }
  | { kind: 'done'; status?: InfluxQLStatus };

/** Anything but done: what the reconcile must do or report before the mapping is in sync. */
export type MappingAction = Exclude<MappingDecision, { kind: 'done' }>;

export interface MappingInput {
  /** spec.influxql; undefined: the bucket should have no mapping (deleted only if the record says the operator mapped it). */
  want?: InfluxQLMapping;
  uid: string;
  entry: RecordedBucket;
  bucketID: string;
  connection: Connection;
  mappings: MappingFacts;
  /**
   * Other InfluxBuckets of the same onboarding that may map the database and declare `default: true`
   * for it, as `namespace/name`; read from the operator's cache of specs (never from a status).
   */
  defaultClaimants: readonly string[];
  namespace: string;
}

/** An InfluxBucket as the claim on a database's default reads it: its identity and spec.influxql. */
export interface MappingPeer {
  metadata: { namespace: string; name: string; uid: string; deletionTimestamp?: string };
  influxql?: InfluxQLMapping;
}

/**
 * Which other InfluxBuckets contest this one's claim on a database's default: those of the same
 * onboarding declaring `default: true` for the same database whose namespace may map it (its own
 * prefix, its grant's `databases`, the onboarding's own namespace). A namespace that may not map
 * the database cannot make another's bucket DefaultConflict by writing a spec.
 */
export function defaultClaimants(
  self: Pick<MappingPeer['metadata'], 'uid'>,
  database: string,
  peers: readonly MappingPeer[],
  onboarding: InfluxOnboarding,
): string[] {
  const accessFrom = checkAccessFrom(onboarding.spec?.accessFrom, []);
  const spec = accessFrom === undefined ? {} : { accessFrom };
  return peers
    .filter(({ metadata, influxql }) => {
      if (metadata.uid === self.uid || metadata.deletionTimestamp !== undefined) return false;
      if (influxql?.database !== database || !influxql.default) return false;
      const grant = grantFor({ metadata: onboarding.metadata, spec }, metadata.namespace);
      const terms = grant.granted ? grant.terms : undefined;
      return terms !== undefined
        ? mayClaimDatabase(database, metadata.namespace, terms)
        : database.startsWith(`${metadata.namespace}.`);
    })
    .map(({ metadata }) => `${metadata.namespace}/${metadata.name}`)
    .sort();
}

/** The listed mappings, or the step or failure that must come first. */
function listed(
  outcome: Outcome<DbrpMapping[]> | undefined,
  step: MappingStep,
  doing: string,
): DbrpMapping[] | MappingAction {
  if (outcome === undefined) return next(step);
  if (!outcome.ok) return { kind: 'failed', doing, failure: outcome.failure };
  return outcome.value.filter((mapping) => !mapping.virtual);
}

function describe(mapping: Pick<DbrpMapping, 'database' | 'retentionPolicy'>): string {
  return `database ${mapping.database} retention policy ${mapping.retentionPolicy}`;
}

const next = (step: MappingStep | { kind: 'record'; change: RecordChange }): MappingAction => ({ kind: 'step', step });

/** The next deletion of this bucket's own mappings, or undefined when it has none left. */
export function dropMappings(
  input: Pick<MappingInput, 'bucketID' | 'connection' | 'mappings'>,
  why: string,
): MappingAction | undefined {
  const { bucketID, connection } = input;
  const list: MappingStep = { kind: 'listMappings', connection, of: 'bucket', bucketID };
  const own = listed(input.mappings.ofBucket, list, "listing the bucket's DBRP mappings");
  if (!Array.isArray(own)) return own;
  const [first] = own;
  if (first === undefined) return undefined;
  return next({
    kind: 'deleteMapping',
    connection,
    mappingID: first.id,
    change: `deleted the DBRP mapping of ${describe(first)} (${why})`,
  });
}

/** Names the other claimants: this namespace's by name, another's without (not this namespace's business). */
function claimantsText(claimants: readonly string[], namespace: string): string {
  const names = claimants.map((key) =>
    key.startsWith(`${namespace}/`)
      ? `InfluxBucket ${key.slice(namespace.length + 1)}`
      : 'an InfluxBucket of another namespace',
  );
  return [...new Set(names)].join(', ');
}

/**
 * The mapping phase, after the bucket itself is in sync. A mapping is this resource's only when its
 * bucketID is this resource's bucket (DBRPs carry no description to mark them). A database and
 * retention policy mapped to another bucket is never taken over (DatabaseTaken). The default is
 * claimed only by a bucket no other claimant contests: two InfluxBuckets that both declare
 * `default: true` both report DefaultConflict and neither PATCHes it, so nothing flips back and
 * forth; `default: false` never takes the default away (InfluxDB keeps one per database).
 */
export function decideMapping(input: MappingInput): MappingDecision {
  const { want, entry, uid, bucketID, connection, mappings } = input;
  if (want === undefined) {
    if (entry.influxql !== true) return { kind: 'done' };
    const drop = dropMappings(input, 'spec.influxql was removed');
    if (drop !== undefined) return drop;
    const { influxql: _mapped, ...rest } = entry;
    return next({ kind: 'record', change: { kind: 'bucket', uid, bucket: rest } });
  }
  // Recorded before the first mapping is made, so that a mapping made by a lost answer is still deleted with the field.
  if (entry.influxql !== true)
    return next({ kind: 'record', change: { kind: 'bucket', uid, bucket: { ...entry, influxql: true } } });

  const own = listed(
    mappings.ofBucket,
    { kind: 'listMappings', connection, of: 'bucket', bucketID },
    "listing the bucket's DBRP mappings",
  );
  if (!Array.isArray(own)) return own;
  const { database, retentionPolicy } = want;
  const kept =
    own.find((mapping) => mapping.database === database && mapping.retentionPolicy === retentionPolicy) ??
    own.find((mapping) => mapping.database === database);
  const extra = own.find((mapping) => mapping !== kept);
  if (extra !== undefined) {
    return next({
      kind: 'deleteMapping',
      connection,
      mappingID: extra.id,
      change: `deleted the DBRP mapping of ${describe(extra)} (spec.influxql names ${describe(want)})`,
    });
  }

  return mapInDatabase(input, want, kept);
}

/** The database's mappings listed; DatabaseTaken when another bucket maps the wanted retention policy. */
function takenBy(input: MappingInput, want: InfluxQLMapping): MappingAction | undefined {
  const { bucketID, connection, mappings } = input;
  const { database, retentionPolicy } = want;
  const ofDatabase = listed(
    mappings.ofDatabase,
    { kind: 'listMappings', connection, of: 'database', database },
    `listing the DBRP mappings of database ${database}`,
  );
  if (!Array.isArray(ofDatabase)) return ofDatabase;
  const taken =
    mappings.conflicted === true ||
    ofDatabase.some((mapping) => mapping.bucketID !== bucketID && mapping.retentionPolicy === retentionPolicy);
  if (!taken) return undefined;
  return {
    kind: 'refused',
    reason: 'DatabaseTaken',
    message: `InfluxQL ${describe(want)} is mapped to another bucket in org ${connection.org}; that mapping was left as it is (spec.influxql)`,
  };
}

/** With this bucket's other mappings gone: the one wanted made or changed (the database's mappings listed first when it meets them). */
function mapInDatabase(input: MappingInput, want: InfluxQLMapping, kept: DbrpMapping | undefined): MappingDecision {
  const { bucketID, connection } = input;
  const { database, retentionPolicy } = want;
  // Only a mapping still to be made or moved can meet another's (database and retention policy
  // are unique in the org): a Ready bucket's drift check lists its own mappings only.
  if (kept?.retentionPolicy !== retentionPolicy) {
    const taken = takenBy(input, want);
    if (taken !== undefined) return taken;
  }
  const contested = want.default && input.defaultClaimants.length > 0;
  const claimsDefault = want.default && !contested;
  if (kept === undefined) {
    return next({
      kind: 'createMapping',
      connection,
      request: { orgID: connection.orgID, bucketID, database, retentionPolicy, default: claimsDefault },
      change: `mapped InfluxQL ${describe(want)} to the bucket`,
    });
  }
  const update = (change: DbrpUpdate, text: string) =>
    next({ kind: 'updateMapping', connection, mappingID: kept.id, update: change, change: text });
  if (kept.retentionPolicy !== retentionPolicy)
    return update(
      { retentionPolicy },
      `set the DBRP mapping's retention policy to ${retentionPolicy} (was ${kept.retentionPolicy})`,
    );
  if (claimsDefault && !kept.default)
    return update({ default: true }, `made retention policy ${retentionPolicy} the default of database ${database}`);
  const status = { database, retentionPolicy, default: kept.default, mappingID: kept.id };
  if (contested) {
    return {
      kind: 'refused',
      reason: 'DefaultConflict',
      status,
      message: `${claimantsText(input.defaultClaimants, input.namespace)} also declares spec.influxql.default: true for database ${database}; neither takes the default from the other, so set it on one only (this mapping, retention policy ${retentionPolicy}, works for clients that name it)`,
    };
  }
  return { kind: 'done', status };
}
