import { ApiException, Observable, V1MicroTime } from '@kubernetes/client-node';
import type {
  ConfigurationOptions,
  CoordinationV1Api,
  RequestContext,
  ResponseContext,
  V1Lease,
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

function toLease(record: LeaseRecord, namespace: string, name: string, resourceVersion?: string): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { namespace, name, resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: microTime(record.acquireTime),
      renewTime: microTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

/** The LeaseStore of one coordination.k8s.io/v1 Lease, through a generated CoordinationV1Api client. */
export function kubernetesLeaseStore(api: CoordinationV1Api, namespace: string, name: string): LeaseStore {
  return {
    async get(signal) {
      try {
        return toStored(await api.readNamespacedLease({ namespace, name }, withSignal(signal)));
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      }
    },
    async create(record, signal) {
      return toStored(
        await api.createNamespacedLease({ namespace, body: toLease(record, namespace, name) }, withSignal(signal)),
      );
    },
    async update(record, resourceVersion, signal) {
      const body = toLease(record, namespace, name, resourceVersion);
      return toStored(await api.replaceNamespacedLease({ namespace, name, body }, withSignal(signal)));
    },
  };
}
