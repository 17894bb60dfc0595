import { ApiException, Observable, V1MicroTime } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  CoordinationV1Api,
  RequestContext,
  ResponseContext,
  V1Lease,
  V1ObjectMeta,
} from '@kubernetes/client-node';
import type { LeaseRecord, LeaseStore, StoredLease } from './leader.js';

/** Per-call options that tie the HTTP request to the caller's signal (client-node middleware is Observable-based). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** client-node types MicroTime fields as Date but hands back the JSON string; both parse here. */
function toDate(value: Date | string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}

function toStored(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: toDate(spec.acquireTime),
      renewTime: toDate(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

/** V1MicroTime serializes with microseconds, which the API server requires of MicroTime fields. */
function microTime(value: Date | undefined): V1MicroTime | undefined {
  return value === undefined ? undefined : new V1MicroTime(value.getTime());
}

/** What others put on the Lease's metadata: a replace that left it out would remove it. */
type KeptMetadata = Pick<V1ObjectMeta, 'labels' | 'annotations' | 'ownerReferences'>;

function toLease(
  record: LeaseRecord,
  namespace: string,
  name: string,
  resourceVersion?: string,
  kept: KeptMetadata = {},
): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...kept, namespace, name, resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

/**
 * The LeaseStore of one coordination.k8s.io/v1 Lease, through a generated CoordinationV1Api client.
 * An update replaces the Lease, carrying over the labels, annotations and owners last read (the
 * chart renders the Lease, so that uninstalling removes it, and Helm tracks it by its labels).
 */
export function kubernetesLeaseStore(api: CoordinationV1Api, namespace: string, name: string): LeaseStore {
  let kept: KeptMetadata = {};
  const remember = (lease: V1Lease): StoredLease => {
    const { labels, annotations, ownerReferences } = lease.metadata ?? {};
    kept = { labels, annotations, ownerReferences };
    return toStored(lease);
  };
  return {
    async get(signal) {
      try {
        return remember(await api.readNamespacedLease({ namespace, name }, withSignal(signal)));
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      }
    },
    async create(record, signal) {
      return remember(
        await api.createNamespacedLease({ namespace, body: toLease(record, namespace, name) }, withSignal(signal)),
      );
    },
    async update(record, resourceVersion, signal) {
      const body = toLease(record, namespace, name, resourceVersion, kept);
      return remember(await api.replaceNamespacedLease({ namespace, name, body }, withSignal(signal)));
    },
  };
}
