import type { KubernetesObject, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import {
  canonicalAddress,
  canonicalName,
  type ClusterView,
  type EndpointFacts,
  type ServiceFacts,
} from '../api/cluster.js';
import { commaSeparated } from '../api/fields.js';
import { ONBOARD_FROM_ANNOTATION } from '../api/types.js';

/**
 * The ClusterView (api/cluster.ts) over the operator's caches of every Service and EndpointSlice
 * of the cluster (a cluster-wide watch of both kinds), trimmed to what its questions need.
 */

/** The reads ClusterDirectory makes of a cache (the runtime's Cache fits). */
export interface IndexedCache {
  get(namespace: string, name: string): KubernetesObject | undefined;
  byIndex(index: string, value: string): readonly KubernetesObject[];
  /** How many times its contents changed. */
  readonly changes: number;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function canonicalAddresses(texts: ReadonlyArray<string | undefined>): string[] {
  return [...new Set(texts.flatMap((text) => (text === undefined ? [] : (canonicalAddress(text) ?? []))))];
}

/**
 * What the Service cache keeps: name, namespace, version, the onboard-from annotation (no other),
 * type, ClusterIPs, load-balancer IPs, ports and externalName. Every other field of every Service in the cluster would
 * cost memory for nothing.
 */
export function keepServiceRouting(object: KubernetesObject): KubernetesObject {
  const service = object as V1Service;
  const { name, namespace, resourceVersion, annotations } = service.metadata ?? {};
  const consent = annotations?.[ONBOARD_FROM_ANNOTATION];
  const spec = service.spec ?? {};
  const ingress = service.status?.loadBalancer?.ingress?.flatMap((entry) => (entry.ip === undefined ? [] : [entry]));
  const kept: V1Service = {
    metadata: {
      name,
      namespace,
      resourceVersion,
      ...(consent !== undefined && { annotations: { [ONBOARD_FROM_ANNOTATION]: consent } }),
    },
    spec: {
      ...(spec.type !== undefined && { type: spec.type }),
      ...(spec.clusterIPs !== undefined
        ? { clusterIPs: spec.clusterIPs }
        : spec.clusterIP !== undefined && { clusterIP: spec.clusterIP }),
      ...(spec.externalName !== undefined && { externalName: spec.externalName }),
      ...(spec.ports !== undefined && {
        ports: spec.ports.map(({ name: portName, port }) => ({
          ...(portName !== undefined && { name: portName }),
          port,
        })),
      }),
    },
    ...(ingress !== undefined &&
      ingress.length > 0 && { status: { loadBalancer: { ingress: ingress.map(({ ip }) => ({ ip })) } } }),
  };
  return kept;
}

/** What the EndpointSlice cache keeps: name, namespace, version, the service-name label, addresses with their Pod's namespace, ports. */
export function keepEndpointSliceRouting(object: KubernetesObject): KubernetesObject {
  const slice = object as V1EndpointSlice;
  const { name, namespace, resourceVersion, labels } = slice.metadata ?? {};
  const service = labels?.[SERVICE_NAME_LABEL];
  const kept: V1EndpointSlice = {
    metadata: {
      name,
      namespace,
      resourceVersion,
      ...(service !== undefined && { labels: { [SERVICE_NAME_LABEL]: service } }),
    },
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((endpoint) => ({
      addresses: endpoint.addresses,
      ...(endpoint.targetRef?.namespace !== undefined && { targetRef: { namespace: endpoint.targetRef.namespace } }),
    })),
    ...(slice.ports !== undefined && {
      ports: slice.ports.map(({ name: portName, port }) => ({
        ...(portName !== undefined && { name: portName }),
        ...(port !== undefined && { port }),
      })),
    }),
  };
  return kept;
}

export function serviceFacts(object: KubernetesObject): ServiceFacts {
  const service = object as V1Service;
  const spec = service.spec ?? {};
  const consent = service.metadata?.annotations?.[ONBOARD_FROM_ANNOTATION];
  const externalName = spec.type === 'ExternalName' && spec.externalName ? canonicalName(spec.externalName) : undefined;
  return {
    namespace: service.metadata?.namespace ?? '',
    name: service.metadata?.name ?? '',
    ...(externalName !== undefined && { externalName }),
    addresses: canonicalAddresses([
      ...(spec.clusterIPs ?? [spec.clusterIP]),
      ...(service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip),
    ]),
    ports: (spec.ports ?? []).map((port) => ({ name: port.name ?? '', port: port.port })),
    // Invalid entries grant nothing; they are not reported (the resource's author may not see the Service).
    consent:
      consent === undefined
        ? []
        : commaSeparated(consent).filter((entry) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(entry)),
  };
}

export function endpointFacts(object: KubernetesObject): EndpointFacts[] {
  const slice = object as V1EndpointSlice;
  const namespace = slice.metadata?.namespace ?? '';
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (service === undefined) return [];
  const ports = (slice.ports ?? []).flatMap((port) =>
    port.port === undefined ? [] : [{ name: port.name ?? '', port: port.port }],
  );
  return (slice.endpoints ?? []).flatMap((endpoint) =>
    canonicalAddresses(endpoint.addresses).map((address) => ({
      namespace,
      service,
      address,
      ...(endpoint.targetRef?.namespace !== undefined && { podNamespace: endpoint.targetRef.namespace }),
      ports,
    })),
  );
}

/** Index names of the two caches, and their functions. */
export const SERVICE_AT = 'serviceAt';
export const EXTERNAL_NAME = 'externalName';
export const ENDPOINT_AT = 'endpointAt';
export const ENDPOINTS_OF = 'endpointsOf';

export const SERVICE_INDEXES = {
  [SERVICE_AT]: (object: KubernetesObject): string[] => [...serviceFacts(object).addresses],
  [EXTERNAL_NAME]: (object: KubernetesObject): string[] => {
    const target = serviceFacts(object).externalName;
    return target === undefined ? [] : [target];
  },
};

export const ENDPOINT_SLICE_INDEXES = {
  [ENDPOINT_AT]: (object: KubernetesObject): string[] => [
    ...new Set(endpointFacts(object).map((endpoint) => endpoint.address)),
  ],
  [ENDPOINTS_OF]: (object: KubernetesObject): string[] => {
    const service = (object as V1EndpointSlice).metadata?.labels?.[SERVICE_NAME_LABEL];
    return service === undefined ? [] : [`${object.metadata?.namespace ?? ''}/${service}`];
  },
};

/** The ClusterView over the two caches, indexed by SERVICE_INDEXES and ENDPOINT_SLICE_INDEXES. */
export class ClusterDirectory implements ClusterView {
  constructor(
    private readonly services: IndexedCache,
    private readonly slices: IndexedCache,
  ) {}

  /** Grows with every change of a Service or an EndpointSlice: every answer holds while it stays. */
  version(): number {
    return this.services.changes + this.slices.changes;
  }

  service(namespace: string, name: string): ServiceFacts | undefined {
    const object = this.services.get(namespace, name);
    return object === undefined ? undefined : serviceFacts(object);
  }

  servicesAt(address: string): ServiceFacts[] {
    return this.services.byIndex(SERVICE_AT, address).map(serviceFacts);
  }

  endpointsAt(address: string): EndpointFacts[] {
    return this.slices
      .byIndex(ENDPOINT_AT, address)
      .flatMap(endpointFacts)
      .filter((endpoint) => endpoint.address === address);
  }

  endpointsOf(namespace: string, service: string): EndpointFacts[] {
    return this.slices.byIndex(ENDPOINTS_OF, `${namespace}/${service}`).flatMap(endpointFacts);
  }

  externalNamesTo(name: string): ServiceFacts[] {
    return this.services.byIndex(EXTERNAL_NAME, name).map(serviceFacts);
  }
}
