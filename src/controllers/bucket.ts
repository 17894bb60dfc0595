import { createBucketReconciler } from '../access/bucket-reconciler.js';
import { BUCKET_KIND, BUCKET_PLURAL, type InfluxBucket } from '../api/access-types.js';
import { ignoreStatusOnlyUpdates, type Manager } from '../runtime/index.js';
import { ACCESS_CACHE, accessWiring } from './access.js';
import { ownKind, type ControllerDeps } from './shared.js';

/** The InfluxBucket controller: an application's own bucket in an onboarding's org. */
export function registerBucketController(manager: Manager, deps: ControllerDeps): void {
  const { config } = deps;
  const bucketType = ownKind(config, BUCKET_KIND, BUCKET_PLURAL);
  const buckets = manager.cache<InfluxBucket>(bucketType, ACCESS_CACHE);
  const access = accessWiring(manager, deps, buckets, {
    type: bucketType,
    kind: BUCKET_KIND,
    plural: BUCKET_PLURAL,
    reasonMetric: 'influx_bucket_resources',
  });
  manager.register({
    name: 'influxbucket',
    for: { type: bucketType, predicates: [ignoreStatusOnlyUpdates] },
    watches: access.watches,
    reconciler: createBucketReconciler(access.ports, access.options),
    concurrency: config.concurrency,
  });
}
