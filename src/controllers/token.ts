import type { KubernetesObject } from '@kubernetes/client-node';
import { createTokenReconciler } from '../access/token-reconciler.js';
import {
  BUCKET_KIND,
  BUCKET_PLURAL,
  TOKEN_KIND,
  TOKEN_OWNER_LABEL,
  TOKEN_PLURAL,
  type InfluxBucket,
  type InfluxToken,
} from '../api/access-types.js';
import { existsOnServer } from '../kube/status.js';
import { TokenSecrets } from '../kube/token-secret.js';
import {
  ignoreStatusOnlyUpdates,
  objectKey,
  requestFor,
  requestKey,
  type Cache,
  type Manager,
  type Request,
} from '../runtime/index.js';
import { ACCESS_CACHE, accessWiring } from './access.js';
import { MANAGED_SECRETS, ownKind, type ControllerDeps } from './shared.js';

/** The InfluxToken controller: an InfluxDB authorization with exactly the declared permissions, in a Secret of the token's namespace. */
export function registerTokenController(manager: Manager, deps: ControllerDeps): void {
  const { config } = deps;
  const bucketType = ownKind(config, BUCKET_KIND, BUCKET_PLURAL);
  const tokenType = ownKind(config, TOKEN_KIND, TOKEN_PLURAL);
  const buckets = manager.cache<InfluxBucket>(bucketType, ACCESS_CACHE);
  const tokens = manager.cache<InfluxToken>(tokenType, {
    indexes: { ...ACCESS_CACHE.indexes, [NAMES_BUCKET]: namesBuckets },
  });
  const access = accessWiring(manager, deps, tokens, {
    type: tokenType,
    kind: TOKEN_KIND,
    plural: TOKEN_PLURAL,
    reasonMetric: 'influx_token_resources',
  });
  const tokenSecrets = new TokenSecrets(deps.core, deps.managedSecrets);
  manager.register({
    name: 'influxtoken',
    for: { type: tokenType, predicates: [ignoreStatusOnlyUpdates] },
    // A deleted or edited token Secret is written again at once.
    owns: [{ type: MANAGED_SECRETS, ownerLabel: TOKEN_OWNER_LABEL }],
    // A bucket's status (its ID above all) concerns every token of its namespace whose permissions name it.
    watches: [...access.watches, { type: bucketType, map: namingBucket(tokens) }],
    reconciler: createTokenReconciler(
      {
        ...access.ports,
        bucket: (namespace, name) => buckets.get(namespace, name),
        readSecret: (owner, name) => tokenSecrets.read(owner, name),
        confirmSecret: (owner, name) => tokenSecrets.readFromServer(owner, name),
        writeSecret: (owner, desired, observed) => tokenSecrets.write(owner, desired, observed),
        existsOnServer: (owner) => existsOnServer(deps.customObjects, owner, TOKEN_PLURAL),
      },
      access.options,
    ),
    concurrency: config.concurrency,
  });
}

/** Every InfluxBucket a token's permissions name, as `namespace/name` (a token names buckets of its own namespace). */
const NAMES_BUCKET = 'namesBucket';

function namesBuckets(token: InfluxToken): string[] {
  return (token.spec?.permissions ?? []).map((permission) =>
    requestKey({ namespace: token.metadata.namespace, name: permission.bucket }),
  );
}

/** The tokens in the bucket's namespace whose permissions name it. */
function namingBucket(tokens: Cache<InfluxToken>): (bucket: KubernetesObject) => Request[] {
  return (bucket) => tokens.byIndex(NAMES_BUCKET, objectKey(bucket)).map(requestFor);
}
