import type { CoreV1Api, CustomObjectsApi, KubernetesObject } from '@kubernetes/client-node';
import { Counter } from 'prom-client';
import { createSweepReconciler, type SweepPorts } from '../access/sweep.js';
import type { LiveList, LiveNamespace, LiveResource } from '../access/sweep-decide.js';
import {
  BUCKET_KIND,
  BUCKET_PLURAL,
  TOKEN_KIND,
  TOKEN_PLURAL,
  type InfluxBucket,
  type InfluxToken,
} from '../api/access-types.js';
import { GROUP, PLURAL, READY, VERSION, type InfluxOnboarding } from '../api/types.js';
import { apiStatus, kubeCall } from '../kube/errors.js';
import { readReference } from '../kube/references.js';
import {
  anyOf,
  conditionBecameTrue,
  generationChanged,
  requestFromKey,
  type Manager,
  type Request,
} from '../runtime/index.js';
import { referencedOnboarding } from './access.js';
import { onboardingsOf, ownKind, type ControllerDeps } from './shared.js';

/** A page of a live list: a namespace with thousands of resources is read in pieces, never at once. */
const PAGE = 500;

/**
 * The token sweep: per InfluxOnboarding, every --token-sweep-interval, and at once when an
 * InfluxToken is deleted (its finalizer may have been removed by hand), the onboarding's spec
 * (its grants) changes, or the onboarding turns Ready. It reads what it decides from live (the onboarding, the InfluxTokens and
 * InfluxBuckets of suspect namespaces, namespaces' labels), never from a cache alone.
 */
export function registerSweepController(manager: Manager, deps: ControllerDeps): void {
  const { config } = deps;
  const metrics = sweepMetrics(manager);
  manager.register({
    name: 'influxtoken-sweep',
    // Created (or on becoming leader), on every spec change (a grant withdrawn), and whenever it turns Ready (back
    // from an outage, or created again: what was missed meanwhile, e.g. an InfluxToken deleted while its
    // onboarding was absent, goes at once); then every interval by its own requeue.
    for: { type: onboardingsOf(config), predicates: [anyOf(generationChanged, conditionBecameTrue(READY))] },
    watches: [
      {
        type: ownKind(config, TOKEN_KIND, TOKEN_PLURAL),
        map: onboardingOfToken,
        predicates: [{ create: () => false, update: () => false }],
      },
    ],
    reconciler: createSweepReconciler(sweepPorts(manager, deps), {
      intervalMs: config.tokenSweepIntervalMs,
      labelGrants: config.namespaceLabelGrants,
      logger: deps.logger,
      secrets: deps.secrets,
      onDeleted: (reason) => metrics.deleted.inc({ reason }),
      onSkipped: () => metrics.skipped.inc(),
    }),
    // Onboardings are swept side by side (each its own instance, as a rule): one at a time, a pass over
    // tens of thousands of them took longer than the interval.
    concurrency: config.concurrency,
  });
}

function sweepMetrics(manager: Manager): { deleted: Counter<'reason'>; skipped: Counter } {
  return {
    deleted: new Counter({
      name: 'influx_token_sweep_deleted_total',
      help: 'Authorizations the token sweep deleted, by why: token-gone (its InfluxToken was deleted without its finalizer), token-recreated (another UID), not-granted (its namespace lost the grant)',
      labelNames: ['reason'] as const,
      registers: [manager.metrics.registry],
    }),
    skipped: new Counter({
      name: 'influx_token_sweep_skipped_total',
      help: "What a token sweep could not read (a namespace, 403; a user's list of authorizations) and so left undecided",
      registers: [manager.metrics.registry],
    }),
  };
}

/** Live reads from the API server; the caches only to spare reads. */
function sweepPorts(manager: Manager, deps: ControllerDeps): SweepPorts {
  const { config, core, customObjects, events, records } = deps;
  const tokens = manager.cache<InfluxToken>(ownKind(config, TOKEN_KIND, TOKEN_PLURAL));
  const buckets = manager.cache<InfluxBucket>(ownKind(config, BUCKET_KIND, BUCKET_PLURAL));
  const onboardings = manager.cache<InfluxOnboarding>(onboardingsOf(config));
  return {
    readOnboarding: (namespace, name) => readOnboarding(customObjects, namespace, name),
    readCredentials: (onboarding, name) => deps.credentials.read(onboarding, name),
    readReference: (namespace, selector) => readReference(core, namespace, selector),
    influx: deps.influx,
    recordEvent: events,
    listRecords: (onboarding) => records.list(onboarding),
    recordChanges: (onboarding) => records.changesOf(onboarding),
    cachedOnboarding: (namespace, name) => {
      const metadata = onboardings.get(namespace, name)?.metadata;
      return metadata && `${metadata.uid}/${metadata.generation}`;
    },
    changeRecord: (key, change) => records.change(key, change),
    listTokens: (namespace) => liveList(customObjects, TOKEN_PLURAL, namespace),
    listBuckets: (namespace) => liveList(customObjects, BUCKET_PLURAL, namespace),
    readNamespace: (name) => readNamespace(core, name),
    cachedTokenUID: (namespace, name) => tokens.get(namespace, name)?.metadata.uid,
    cachedBucketUID: (namespace, uid) => buckets.list(namespace).some((bucket) => bucket.metadata.uid === uid),
  };
}

async function readOnboarding(
  customObjects: CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<InfluxOnboarding | undefined> {
  try {
    return (await kubeCall(`read InfluxOnboarding ${namespace}/${name}`, () =>
      customObjects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }),
    )) as InfluxOnboarding;
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}

async function liveList(customObjects: CustomObjectsApi, plural: string, namespace: string): Promise<LiveList> {
  const items: LiveResource[] = [];
  let next: string | undefined;
  try {
    do {
      const page = (await kubeCall(`list ${plural} in ${namespace}`, () =>
        customObjects.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural,
          limit: PAGE,
          ...(next !== undefined && { _continue: next }),
        }),
      )) as { items?: Array<InfluxToken | InfluxBucket>; metadata?: { continue?: string } };
      for (const item of page.items ?? []) {
        items.push({
          name: item.metadata.name,
          uid: item.metadata.uid,
          onboarding: referencedOnboarding(item) ?? '',
          deleting: item.metadata.deletionTimestamp !== undefined,
        });
      }
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
  } catch (error) {
    if (apiStatus(error) === 403) return { kind: 'forbidden' };
    throw error;
  }
  return { kind: 'listed', items };
}

async function readNamespace(core: CoreV1Api, name: string): Promise<LiveNamespace> {
  try {
    const namespace = await kubeCall(`read namespace ${name}`, () => core.readNamespace({ name }));
    return { kind: 'found', labels: namespace.metadata?.labels ?? {} };
  } catch (error) {
    if (apiStatus(error) === 404) return { kind: 'absent' };
    if (apiStatus(error) === 403) return { kind: 'forbidden' };
    throw error;
  }
}

/** A deleted InfluxToken's onboarding: swept at once, so a token whose finalizer was removed by hand stops working now. */
function onboardingOfToken(token: KubernetesObject): Request[] {
  const onboarding = referencedOnboarding(token as InfluxToken);
  return onboarding === undefined ? [] : [requestFromKey(onboarding)];
}
