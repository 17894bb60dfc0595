import net from 'node:net';

/**
 * The cluster as the instance decision sees it (onboarding/instance.ts): who owns which Service,
 * address and Pod. Read from the Services and EndpointSlices of every namespace by
 * kube/cluster-directory.ts: a Service's ClusterIPs and load-balancer IPs are its namespace's, an
 * endpoint address is the namespace of the Pod it names. (Not spec.externalIPs: anyone who may
 * create a Service may write any address there, CVE-2020-8554, so it proves nothing.)
 */

/** What the operator knows of a Service. */
export interface ServiceFacts {
  namespace: string;
  name: string;
  /** Set for type ExternalName: the DNS name it aliases, lowercase, without a final dot. */
  externalName?: string;
  /** Its ClusterIPs and load-balancer ingress IPs (allocated by the cluster, not written by a tenant), canonical. */
  addresses: readonly string[];
  /** Its ports; name '' when unnamed. */
  ports: ReadonlyArray<{ name: string; port: number }>;
  /** The namespaces its owner lets onboard it (the onboard-from annotation). */
  consent: readonly string[];
}

/** One address of one endpoint of a Service, as its EndpointSlice lists it. */
export interface EndpointFacts {
  /** The EndpointSlice's (and so the Service's) namespace. */
  namespace: string;
  service: string;
  address: string;
  /** The namespace of the Pod the endpoint names (targetRef), when it names one. */
  podNamespace?: string;
  /** The slice's ports; name '' when unnamed. */
  ports: ReadonlyArray<{ name: string; port: number }>;
}

/** The questions the instance resolver asks about the cluster. */
export interface ClusterView {
  service(namespace: string, name: string): ServiceFacts | undefined;
  /** Services with this (canonical) address as a ClusterIP or load-balancer IP. */
  servicesAt(address: string): readonly ServiceFacts[];
  /** Endpoints at this (canonical) address, of any Service. */
  endpointsAt(address: string): readonly EndpointFacts[];
  endpointsOf(namespace: string, service: string): readonly EndpointFacts[];
  /** ExternalName Services whose externalName is this name (lowercase, without a final dot). */
  externalNamesTo(name: string): readonly ServiceFacts[];
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 compressed and lowercase; undefined for anything else. */
export function canonicalAddress(text: string): string | undefined {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return undefined;
  const compressed = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped === null) return compressed;
  const [high, low] = [Number.parseInt(mapped[1] ?? '0', 16), Number.parseInt(mapped[2] ?? '0', 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** A DNS name as compared: lowercase, without a final dot. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
