import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type EventsV1Event,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { Counter, Gauge, Histogram } from 'prom-client';
import { TOKEN_OWNER_LABEL } from '../api/access-types.js';
import { GROUP, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL, PLURAL, VERSION } from '../api/types.js';
import type { Config } from '../config.js';
import { InfluxClientPool, type InfluxClient, type InfluxTarget, type PoolOptions } from '../influx/index.js';
import { AccessRecords } from '../kube/access-records.js';
import {
  ClusterDirectory,
  ENDPOINT_SLICE_INDEXES,
  SERVICE_INDEXES,
  keepEndpointSliceRouting,
  keepServiceRouting,
} from '../kube/cluster-directory.js';
import { CredentialsSecrets } from '../kube/credentials-secret.js';
import { CredentialsEscrow } from '../kube/escrow.js';
import { EventWriter } from '../kube/events.js';
import { patchStatus } from '../kube/status.js';
import type { ObjectMeta } from '../api/types.js';
import { type Logger, type SecretRegistry, errorMessage } from '../log.js';
import { connectGuard, type InstanceSettings } from '../onboarding/instance.js';
import {
  BackgroundSender,
  identityOf,
  shareCommonStrings,
  type Manager,
  withStatus,
  type ObjectType,
  type ReadYourWrites,
  type ResourceEvent,
  type StatusWrite,
} from '../runtime/index.js';

const REPORTING_CONTROLLER = `${GROUP}/influx-onboarding-operator`;
// How long shutdown waits for queued events; exitOnSignals allows 5 s beyond the reconciles' own timeout.
const EVENT_FLUSH_MS = 2_000;
/**
 * How long an Event is held before it is sent. The status write it follows then stays etcd's
 * newest revision for a moment: a client listing the resources (a consistent read, which the API
 * server answers from its watch cache once that cache has seen etcd's newest revision) sees the
 * status at once. An Event sent at once is a newer revision that the resources' cache never sees,
 * and every list after it waits for etcd's next progress notification, up to 100 ms
 * (docs/cost-curve.md, "The tail"). 100 ms is 4x the time a 5 ms list poll took to see a status
 * at p99 under load, and no longer than the wait an Event sent at once costs each list.
 */
export const EVENT_HOLD_MS = 100;

/** Queues an event on a resource; it is sent in the background and never fails the caller. */
type RecordEvent = (resource: { apiVersion: string; kind: string; metadata: ObjectMeta }, event: ResourceEvent) => void;

/**
 * The most data and annotations a Secret the operator writes for a resource holds, summed as
 * stored (base64 data, annotation text): a credentials Secret's URL (2048 characters), names (256
 * each), token (4096) and passwords (72 each) with its few annotations come to a fifth of it, an
 * InfluxToken's Secret to less.
 */
export const OWN_SECRET_MAX_BYTES = 32 * 1024;

function storedBytes(
  data: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
): number {
  let bytes = 0;
  for (const record of [data, annotations])
    for (const [key, value] of Object.entries(record ?? {})) bytes += key.length + value.length;
  return bytes;
}

/**
 * What the cache keeps of a Secret with the operator's label. Of one the operator writes for a
 * resource (it names an InfluxOnboarding in the owner-name label, or an InfluxToken in the
 * token-name label), everything its readers use and everything a replace of it must carry (the
 * writers build the new Secret over the cached one): name, namespace, version, labels,
 * annotations, owners, finalizers, deletion, type and data; left out are uid and
 * creationTimestamp, which the API server keeps on a replace by itself, and managedFields. With
 * 10,000 resources the cache holds 10,000 of these.
 *
 * Of any other (an escrow copy, read from the API server; one a tenant labelled like the
 * operator's) and of one larger than the operator writes, only its identity, as the metadata
 * caches keep it (with an escrow copy's owner annotation, which says whom its approval wakes): the label is anyone's to set, and what it costs here must not be the tenant's to
 * choose. A reader that finds a Secret without data reads it from the API server.
 */
export function keepManagedSecret(object: KubernetesObject): KubernetesObject {
  const secret: V1Secret = shareCommonStrings(object);
  const metadata = secret.metadata ?? {};
  const { labels, annotations, finalizers } = metadata;
  // The managed-by label's value, once for all (the selector guarantees it is this one).
  if (labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE;
  const kept = identityOf(metadata);
  const trimmed: V1Secret = { apiVersion: secret.apiVersion, kind: secret.kind, metadata: kept, type: secret.type };
  if (secret.immutable !== undefined) trimmed.immutable = secret.immutable;
  const named = labels?.[OWNER_NAME_LABEL] !== undefined || labels?.[TOKEN_OWNER_LABEL] !== undefined;
  if (!named || storedBytes(secret.data, annotations) > OWN_SECRET_MAX_BYTES) {
    // An escrow copy keeps the resource it names, so that its approval wakes that resource.
    const escrowOwner = CredentialsEscrow.ownerAnnotations(secret);
    if (escrowOwner !== undefined) kept.annotations = escrowOwner;
    return trimmed;
  }
  if (annotations !== undefined) kept.annotations = annotations;
  if (finalizers !== undefined) kept.finalizers = finalizers;
  if (secret.data !== undefined) trimmed.data = secret.data;
  return trimmed;
}

/** The Secrets this operator writes (credentials Secrets and InfluxToken Secrets), as keepManagedSecret keeps them. */
export const MANAGED_SECRETS: ObjectType = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
  transform: keepManagedSecret,
};

/**
 * Names of the Secrets in the watched namespaces that the operator did not write, without their
 * data: a Secret that a resource references (or that stands in the way of its credentials Secret)
 * may appear, change or go at any time, and the resource must hear of it then, not at its next
 * backoff retry. The operator's own Secrets are already cached whole (MANAGED_SECRETS, the
 * complement of this selector, so a Secret whose label changes moves from one to the other);
 * keeping their names here too would hold each a second time.
 */
export const UNMANAGED_SECRET_NAMES: ObjectType = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  labelSelector: `${MANAGED_BY_LABEL}!=${MANAGED_BY_VALUE}`,
  metadataOnly: true,
};

/**
 * Every Service and EndpointSlice of the cluster, trimmed to who owns which address
 * (cluster-directory.ts): watched cluster-wide whatever --namespaces says, since an address or a
 * name of any namespace may be written into a resource of a watched one.
 */
export const SERVICES: ObjectType = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  clusterWide: true,
  transform: keepServiceRouting,
};
export const ENDPOINT_SLICES: ObjectType = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  clusterWide: true,
  transform: keepEndpointSliceRouting,
};

/** What every controller is built from: the configuration and the clients they all share. */
export interface ControllerDeps {
  config: Config;
  logger: Logger;
  secrets: SecretRegistry;
  influx: (target: InfluxTarget) => InfluxClient;
  core: CoreV1Api;
  customObjects: CustomObjectsApi;
  events: RecordEvent;
  /** The Secrets the operator writes, through the read-your-writes view every writer of them records in. */
  managedSecrets: ReadYourWrites<V1Secret>;
  credentials: CredentialsSecrets;
  records: AccessRecords;
  /** Who owns which address in the cluster, and how instances are read from URLs. */
  cluster: ClusterDirectory;
  instances: InstanceSettings;
}

/**
 * The status writes of one kind (`plural`), through the /status subresource, recorded in the
 * kind's read-your-writes view: the next reconcile decides on the status written even while the
 * cache still shows the one it replaced.
 */
export function statusWriter<T extends { kind: string; metadata: ObjectMeta; status?: S }, S extends object>(
  resources: ReadYourWrites<T>,
  api: CustomObjectsApi,
  plural: string,
): (resource: T, status: S) => Promise<StatusWrite> {
  return async (resource, status) => {
    const written = await patchStatus(api, resource, status, plural);
    if (written.kind === 'patched') resources.wrote(resource, withStatus(resource, status, written.resourceVersion));
    return written;
  };
}

/** One InfluxDB client pool, one API client per group and one event recorder for all controllers. */
export function controllerDeps(
  manager: Manager,
  config: Config,
  logger: Logger,
  secrets: SecretRegistry,
  version: string,
): ControllerDeps {
  const { connection } = manager;
  const core = connection.makeApiClient(CoreV1Api);
  // The operator's own Secrets as it last wrote them, until the cache shows them (read-your-writes).
  const managedSecrets = manager.readYourWrites<V1Secret>(MANAGED_SECRETS);
  const otherSecretNames = manager.cache(UNMANAGED_SECRET_NAMES);
  const cluster = new ClusterDirectory(
    manager.cache(SERVICES, { indexes: SERVICE_INDEXES }),
    manager.cache(ENDPOINT_SLICES, { indexes: ENDPOINT_SLICE_INDEXES }),
  );
  const instances: InstanceSettings = { clusterDomain: config.clusterDomain, allowedTargets: config.allowedUrls };
  const records = new AccessRecords(core, {
    namespaceOf: (onboarding) => config.operatorNamespace ?? onboarding.namespace,
    maxAgeMs: config.resyncPeriodMs,
  });
  manager.onLeading(() => records.newTerm());
  return {
    config,
    logger,
    secrets,
    cluster,
    instances,
    influx: influxClients(manager, config, version, (baseUrl, tenant) =>
      tenant === undefined ? undefined : connectGuard(baseUrl, tenant, cluster, instances),
    ),
    core,
    customObjects: connection.makeApiClient(CustomObjectsApi),
    events: eventRecorder(
      manager,
      logger,
      new EventWriter(connection.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, config.identity),
    ),
    records,
    managedSecrets,
    credentials: new CredentialsSecrets(
      core,
      managedSecrets,
      (namespace, name) => otherSecretNames.get(namespace, name) !== undefined,
    ),
  };
}

/**
 * Events as client-go records them: record() queues, a bounded background sender creates them, so
 * a reconcile never waits for one (an event is a courtesy to humans; the status is the record).
 * Each is held EVENT_HOLD_MS first. Events that cannot be sent are counted, never retried; on
 * shutdown the queue is flushed (held Events at once) before the Lease is released.
 */
function eventRecorder(manager: Manager, logger: Logger, writer: EventWriter): RecordEvent {
  const dropped = new Counter({
    name: 'events_dropped_total',
    help: 'Events not recorded, by reason: overflow (the send buffer was full), failed (the API server refused or could not be reached), shutdown',
    labelNames: ['reason'] as const,
    registers: [manager.metrics.registry],
  });
  const sender = new BackgroundSender<EventsV1Event>({
    send: (event) => writer.create(event),
    holdMs: EVENT_HOLD_MS,
    onDropped: (event, reason, error) => {
      dropped.inc({ reason });
      const { namespace, name } = event.regarding ?? {};
      logger.warn('could not record event', {
        resource: `${namespace}/${name}`,
        eventReason: event.reason,
        dropped: reason,
        ...(error !== undefined && { error: errorMessage(error) }),
      });
    },
  });
  // Sent while this replica still leads: a replica that does not lead sends nothing that changes the cluster.
  manager.onDrain(() => sender.flush(EVENT_FLUSH_MS));
  return (resource, event) => void sender.enqueue(writer.build(resource, event));
}

/** One of the operator's own kinds, restricted to the operator's shard (--label-selector). */
export function ownKind(config: Config, kind: string, plural: string): ObjectType {
  return {
    group: GROUP,
    version: VERSION,
    kind,
    plural,
    ...(config.labelSelector !== undefined && { labelSelector: config.labelSelector }),
  };
}

export function onboardingsOf(config: Config): ObjectType {
  return ownKind(config, KIND, PLURAL);
}

/**
 * The InfluxDB clients every controller shares (one pool of connections per instance and tenant),
 * timed by endpoint, each guarded for its tenant: no connection to an address of another
 * namespace that did not let that tenant in.
 */
function influxClients(
  manager: Manager,
  config: Config,
  version: string,
  guardFor: PoolOptions['guardFor'],
): (target: InfluxTarget) => InfluxClient {
  const influxRequests = new Histogram({
    name: 'influxdb_request_duration_seconds',
    help: 'Requests to InfluxDB by endpoint and status class',
    labelNames: ['endpoint', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [manager.metrics.registry],
  });
  const influx = new InfluxClientPool({
    allowLinkLocal: config.allowLinkLocal,
    allowedTargets: config.allowedUrls,
    guardFor,
    userAgent: `influx-onboarding-operator/${version}`,
    onRequest: (sample) =>
      influxRequests.observe({ endpoint: sample.endpoint, status_class: sample.statusClass }, sample.seconds),
    refusal: () => manager.notLeading(),
  });
  manager.onStop(() => influx.closeAll());
  return (target) =>
    influx.get({
      baseUrl: target.url,
      timeoutMs: target.timeoutMs,
      insecureSkipVerify: target.insecureSkipVerify,
      ...(target.caPem !== undefined && { caPem: target.caPem }),
      ...(target.tenant !== undefined && { tenant: target.tenant }),
      ...(target.signal !== undefined && { signal: target.signal }),
    });
}

/**
 * A gauge of one kind's resources by the reason of their Ready condition; the returned callback
 * keeps it (a reconciler's onReason: undefined removes a resource that is gone).
 */
export function reasonGauge(
  manager: Manager,
  name: string,
  kind: string,
): (key: string, reason: string | undefined) => void {
  const reasons = new Map<string, string>();
  new Gauge({
    name,
    help: `${kind} resources by the reason of their Ready condition`,
    labelNames: ['reason'] as const,
    registers: [manager.metrics.registry],
    collect() {
      this.reset();
      for (const reason of reasons.values()) this.inc({ reason });
    },
  });
  return (key, reason) => void (reason === undefined ? reasons.delete(key) : reasons.set(key, reason));
}
