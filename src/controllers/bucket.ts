import type { KubernetesObject } from '@kubernetes/client-node';
import { createBucketReconciler } from '../access/bucket-reconciler.js';
import type { MappingPeer } from '../access/bucket-influxql.js';
import { checkBucketSpec } from '../api/access-spec.js';
import { BUCKET_KIND, BUCKET_PLURAL, type InfluxBucket } from '../api/access-types.js';
import { ignoreStatusOnlyUpdates, requestFor, requestKey, type Manager } from '../runtime/index.js';
import { ACCESS_CACHE, accessWiring, referencedOnboarding } from './access.js';
import { ownKind, type ControllerDeps } from './shared.js';

/** The InfluxQL database an InfluxBucket maps, as `<onboarding namespace>/<onboarding name>/<database>`. */
const MAPS_DATABASE = 'mapsDatabase';

/** Indexed over ACCESS_CACHE's onboarding index by the database each maps. */
const BUCKET_CACHE = {
  indexes: {
    ...ACCESS_CACHE.indexes,
    [MAPS_DATABASE]: (bucket: InfluxBucket) => {
      const database = mappedDatabase(bucket);
      return database === undefined ? [] : [database];
    },
  },
};

function mappedDatabase(bucket: InfluxBucket): string | undefined {
  const onboarding = referencedOnboarding(bucket);
  const database = bucket.spec?.influxql?.database;
  return onboarding === undefined || typeof database !== 'string' ? undefined : `${onboarding}/${database}`;
}

/** The InfluxBucket controller: an application's own bucket in an onboarding's org. */
export function registerBucketController(manager: Manager, deps: ControllerDeps): void {
  const { config } = deps;
  const bucketType = ownKind(config, BUCKET_KIND, BUCKET_PLURAL);
  const buckets = manager.cache<InfluxBucket>(bucketType, BUCKET_CACHE);
  const access = accessWiring(manager, deps, buckets, {
    type: bucketType,
    kind: BUCKET_KIND,
    plural: BUCKET_PLURAL,
    reasonMetric: 'influx_bucket_resources',
  });
  const peers = (onboarding: { namespace: string; name: string }, database: string): MappingPeer[] =>
    buckets.byIndex(MAPS_DATABASE, `${onboarding.namespace}/${onboarding.name}/${database}`).map((bucket) => {
      const checked = checkBucketSpec(bucket);
      const { namespace, name, uid, deletionTimestamp } = bucket.metadata;
      return {
        metadata: { namespace, name, uid, ...(deletionTimestamp !== undefined && { deletionTimestamp }) },
        ...(checked.ok && checked.spec.influxql && { influxql: checked.spec.influxql }),
      };
    });
  // A bucket's mapping (its default claim above all) decides its peers' Ready: a change wakes the others of the same database.
  const samePeers = (object: KubernetesObject) => {
    const database = mappedDatabase(object as InfluxBucket);
    if (database === undefined) return [];
    const key = requestKey(requestFor(object));
    return buckets
      .byIndex(MAPS_DATABASE, database)
      .map(requestFor)
      .filter((peer) => requestKey(peer) !== key);
  };
  manager.register({
    name: 'influxbucket',
    for: { type: bucketType, predicates: [ignoreStatusOnlyUpdates] },
    watches: [...access.watches, { type: bucketType, map: samePeers, predicates: [ignoreStatusOnlyUpdates] }],
    reconciler: createBucketReconciler({ ...access.ports, influxqlPeers: peers }, access.options),
    concurrency: config.concurrency,
  });
}
