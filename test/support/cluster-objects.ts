// Services and EndpointSlices as the API server serves them, and an in-memory cache with the
// indexes the operator declares, so that unit tests read the cluster through the real
// ClusterDirectory (its transforms and index functions included).
import type { KubernetesObject, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import {
  ClusterDirectory,
  ENDPOINT_SLICE_INDEXES,
  SERVICE_INDEXES,
  keepEndpointSliceRouting,
  keepServiceRouting,
  type IndexedCache,
} from '../../src/kube/cluster-directory.js';

type IndexFunctions = Readonly<Record<string, (object: KubernetesObject) => readonly string[]>>;

/** A cache of objects keyed by namespace/name, with named indexes recomputed on every change. */
export class MemoryCache implements IndexedCache {
  private readonly objects = new Map<string, KubernetesObject>();
  changes = 0;

  constructor(
    private readonly indexes: IndexFunctions,
    private readonly transform: (object: KubernetesObject) => KubernetesObject,
  ) {}

  set(object: KubernetesObject): void {
    // The transform edits what it is given, as the informer's copy of the wire JSON allows.
    this.objects.set(`${object.metadata?.namespace}/${object.metadata?.name}`, this.transform(structuredClone(object)));
    this.changes++;
  }

  delete(namespace: string, name: string): void {
    this.objects.delete(`${namespace}/${name}`);
    this.changes++;
  }

  get(namespace: string, name: string): KubernetesObject | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  byIndex(index: string, value: string): KubernetesObject[] {
    const indexFunction = this.indexes[index];
    if (indexFunction === undefined) throw new Error(`no index ${index}`);
    return [...this.objects.values()].filter((object) => indexFunction(object).includes(value));
  }
}

/** The cluster of a unit test: put Services and EndpointSlices in, read it through `directory`. */
export class TestCluster {
  readonly services = new MemoryCache(SERVICE_INDEXES, keepServiceRouting);
  readonly slices = new MemoryCache(ENDPOINT_SLICE_INDEXES, keepEndpointSliceRouting);
  readonly directory = new ClusterDirectory(this.services, this.slices);

  /** A ClusterIP Service (ports by name: 'http' 8086 unless given). */
  service(
    namespace: string,
    name: string,
    options: {
      clusterIP?: string;
      consent?: string;
      ports?: Array<{ name?: string; port: number; targetPort?: number }>;
      externalName?: string;
      loadBalancerIP?: string;
      externalIPs?: string[];
      extraAnnotations?: Record<string, string>;
    } = {},
  ): V1Service {
    const service: V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace,
        resourceVersion: '1',
        uid: `uid-${namespace}-${name}`,
        managedFields: [{ manager: 'kubectl' }],
        annotations: {
          ...options.extraAnnotations,
          ...(options.consent !== undefined && { 'influxdb.onboarding.dev/onboard-from': options.consent }),
        },
      },
      spec:
        options.externalName !== undefined
          ? { type: 'ExternalName', externalName: options.externalName }
          : {
              type: options.loadBalancerIP === undefined ? 'ClusterIP' : 'LoadBalancer',
              clusterIP: options.clusterIP ?? 'None',
              clusterIPs: [options.clusterIP ?? 'None'],
              ...(options.externalIPs && { externalIPs: options.externalIPs }),
              ports: (options.ports ?? [{ name: 'http', port: 8086 }]).map((port) => ({
                ...port,
                protocol: 'TCP',
              })),
              selector: { app: name },
            },
      ...(options.loadBalancerIP !== undefined && {
        status: { loadBalancer: { ingress: [{ ip: options.loadBalancerIP, ipMode: 'VIP' }] } },
      }),
    };
    this.services.set(service);
    return service;
  }

  /** An EndpointSlice of a Service: its addresses, each naming a Pod of `podNamespace` (none when null). */
  endpoints(
    namespace: string,
    service: string,
    addresses: string[],
    options: { podNamespace?: string | null; ports?: Array<{ name?: string; port: number }>; sliceName?: string } = {},
  ): V1EndpointSlice {
    const podNamespace = options.podNamespace === undefined ? namespace : options.podNamespace;
    const slice: V1EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: options.sliceName ?? `${service}-abcde`,
        namespace,
        resourceVersion: '1',
        labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'test' },
      },
      addressType: addresses[0]?.includes(':') ? 'IPv6' : 'IPv4',
      endpoints: addresses.map((address, index) => ({
        addresses: [address],
        conditions: { ready: true },
        ...(podNamespace !== null && {
          targetRef: { kind: 'Pod', namespace: podNamespace, name: `${service}-${index}` },
        }),
      })),
      ports: (options.ports ?? [{ name: 'http', port: 8086 }]).map((port) => ({ ...port, protocol: 'TCP' })),
    };
    this.slices.set(slice);
    return slice;
  }
}
