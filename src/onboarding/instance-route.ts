// How a URL's host leads to an InfluxDB instance in the cluster: its host read as a Pod's resolver
// would (hostOf), then routed over a ClusterView (Router): ExternalNames followed, a literal
// address found as its Service's or its Pod's, the namespaces that must agree (claims), and every
// spelling of the same instance. What instance.ts decides ownership and consent from.
import {
  canonicalAddress,
  canonicalName,
  type ClusterView,
  type EndpointFacts,
  type ServiceFacts,
} from '../api/cluster.js';
import { portOf } from '../influx/index.js';

/** Where a URL's host points, from the text alone. */
export type Host =
  | {
      kind: 'service';
      namespace: string;
      name: string;
      /** a headless Service's endpoint hostname */ hostname?: string;
    }
  | { kind: 'pod'; namespace: string; fqdn: string }
  | { kind: 'address'; address: string }
  | { kind: 'name'; name: string };

/** A namespace that must agree, and the namespaces it lets in. */
interface Claim {
  owner: string;
  consent: readonly string[];
}

/** What a host leads to. */
export interface Route {
  /** The target key of the instance's host. */
  target: string;
  /** The instance's port when it is not the URL's (an endpoint address: its Service's port). */
  port?: number;
  /** Every one must let the namespace in (the Service's owner, and the owner of each Pod behind it). */
  claims: readonly Claim[];
  spellings: readonly string[];
  /** How the URL leads there, for the refusal: "spec.url names Service x of namespace y". */
  how: string;
  /** The Service spec.url names (by name, not by address), on which its owner gives consent: for the refusal's command. */
  named?: { namespace: string; service: string };
}

// ExternalName Services pointing at ExternalName Services: followed this deep, no further.
const MAX_ALIAS_DEPTH = 8;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function serviceKey(namespace: string, name: string, hostname?: string): string {
  return `service:${namespace}/${name}${hostname === undefined ? '' : `#${hostname}`}`;
}

export function serviceFqdn(
  host: { namespace: string; name: string; hostname?: string },
  clusterDomain: string,
): string {
  return `${host.hostname === undefined ? '' : `${host.hostname}.`}${host.name}.${host.namespace}.svc.${clusterDomain}`;
}

/**
 * Reads a host as a Pod's resolver would find it: a single label is a Service of `namespace`;
 * `a.b` is Service a of namespace b (the search path finds it first); `a.b.svc` and
 * `a.b.svc.<domain>` are too (`h.a.b.svc...`: the endpoint h of headless Service a);
 * `x.b.pod.<domain>` is a Pod of namespace b. A rooted name (a final dot, or an ExternalName's
 * target, which DNS answers as a CNAME) is never searched: one or two labels are then a name
 * outside the cluster.
 */
export function hostOf(text: string, namespace: string, clusterDomain: string, absolute: boolean): Host {
  const rooted = absolute || text.endsWith('.');
  const address = canonicalAddress(text);
  if (address !== undefined) return { kind: 'address', address };
  const name = canonicalName(text);
  const labels = name.split('.');
  const service = (parts: string[]): Host | undefined => {
    const [ns, svc, hostname] = parts.slice(-3).reverse();
    if (ns === undefined || svc === undefined || !DNS_LABEL.test(ns) || !DNS_LABEL.test(svc)) return undefined;
    return {
      kind: 'service',
      namespace: ns,
      name: svc,
      ...(parts.length > 2 && hostname !== undefined && { hostname }),
    };
  };
  const under = (suffix: string): string[] | undefined =>
    name.endsWith(`.${suffix}`) ? name.slice(0, -suffix.length - 1).split('.') : undefined;
  const inCluster = under(`svc.${clusterDomain}`);
  if (inCluster !== undefined) return (inCluster.length >= 2 && service(inCluster)) || { kind: 'name', name };
  const pod = under(`pod.${clusterDomain}`);
  if (pod !== undefined && pod.length === 2 && DNS_LABEL.test(pod[1] ?? ''))
    return { kind: 'pod', namespace: pod[1] ?? '', fqdn: name };
  if (name.endsWith(`.${clusterDomain}`)) return { kind: 'name', name };
  const short = under('svc');
  if (short !== undefined && short.length >= 2) return service(short) ?? { kind: 'name', name };
  if (labels.length === 2 && !rooted) return service(labels) ?? { kind: 'name', name };
  if (labels.length === 1 && !rooted && DNS_LABEL.test(name)) return { kind: 'service', namespace, name };
  return { kind: 'name', name };
}

export function targetOfHost(host: Host): string {
  switch (host.kind) {
    case 'service':
      return serviceKey(host.namespace, host.name, host.hostname);
    case 'pod':
      return `host:${host.fqdn}`;
    case 'address':
      return `address:${host.address}`;
    case 'name':
      return `host:${host.name}`;
  }
}

function byName(a: { namespace: string; name?: string; service?: string }, b: typeof a): number {
  const left = `${a.namespace}/${a.name ?? a.service}`;
  const right = `${b.namespace}/${b.name ?? b.service}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function unique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Resolution of routes over one view: follows ExternalNames, finds aliases. */
export class Router {
  constructor(
    private readonly view: ClusterView,
    private readonly clusterDomain: string,
  ) {}

  /** The namespaces an endpoint address belongs to: its Pods' (targetRef), else (no slice names a Pod) the slices'. */
  private endpointOwners(endpoints: readonly EndpointFacts[]): string[] {
    const pods = endpoints.flatMap((endpoint) => endpoint.podNamespace ?? []);
    return unique(pods.length > 0 ? pods : endpoints.map((endpoint) => endpoint.namespace));
  }

  /** What `owner` lets in at `address`: the consent of its Services that have it as an address or an endpoint. */
  private consentAt(owner: string, address: string): string[] {
    const services = [
      ...this.view.servicesAt(address).filter((service) => service.namespace === owner),
      ...this.view
        .endpointsAt(address)
        .filter((endpoint) => endpoint.namespace === owner)
        .flatMap((endpoint) => this.view.service(owner, endpoint.service) ?? []),
    ];
    return unique(services.flatMap((service) => service.consent));
  }

  private endpointClaims(address: string): Claim[] {
    return this.endpointOwners(this.view.endpointsAt(address)).map((owner) => ({
      owner,
      consent: this.consentAt(owner, address),
    }));
  }

  /** The target keys of ExternalName Services aliasing any of `names` (and of those aliasing them). */
  private aliases(names: readonly string[], depth = 0): string[] {
    if (depth >= MAX_ALIAS_DEPTH) return [];
    return names.flatMap((name) =>
      this.view
        .externalNamesTo(name)
        .flatMap((alias) => [
          serviceKey(alias.namespace, alias.name),
          ...this.aliases(this.namesOfService(alias), depth + 1),
        ]),
    );
  }

  /** How an ExternalName can name a Service: with or without `.svc` and the cluster domain. */
  private namesOfService(service: { namespace: string; name: string }): string[] {
    const short = `${service.name}.${service.namespace}`;
    return [short, `${short}.svc`, `${short}.svc.${this.clusterDomain}`];
  }

  route(host: Host, url: URL, depth = 0): Route {
    switch (host.kind) {
      case 'service':
        return this.serviceRoute(host, url, depth);
      case 'address':
        return this.addressRoute(host.address, url);
      case 'pod':
        return {
          target: targetOfHost(host),
          claims: [{ owner: host.namespace, consent: [] }],
          spellings: [targetOfHost(host)],
          how: `spec.url names a Pod of namespace ${host.namespace}`,
        };
      case 'name':
        return {
          target: targetOfHost(host),
          claims: [],
          spellings: [targetOfHost(host), ...this.aliases([host.name])],
          how: `spec.url names ${host.name}`,
        };
    }
  }

  private serviceRoute(host: Extract<Host, { kind: 'service' }>, url: URL, depth: number): Route {
    const service = this.view.service(host.namespace, host.name);
    const named = `Service ${host.name} of namespace ${host.namespace}`;
    if (service?.externalName !== undefined && host.hostname === undefined && depth < MAX_ALIAS_DEPTH) {
      const target = hostOf(service.externalName, host.namespace, this.clusterDomain, true);
      const inner = this.route(target, url, depth + 1);
      return { ...inner, how: `${named} is an ExternalName for ${service.externalName}, and ${inner.how}` };
    }
    const target = serviceKey(host.namespace, host.name, host.hostname);
    if (host.hostname !== undefined) {
      return {
        target,
        claims: [{ owner: host.namespace, consent: service?.consent ?? [] }],
        spellings: [target],
        how: `spec.url names an endpoint of ${named}`,
        named: { namespace: host.namespace, service: host.name },
      };
    }
    return {
      ...this.ofService(host.namespace, host.name, service, `spec.url names ${named}`),
      named: { namespace: host.namespace, service: host.name },
    };
  }

  /** Every target key naming this Service's instance (its name, its addresses, its endpoints', ExternalNames for it). */
  serviceSpellings(namespace: string, name: string): readonly string[] {
    return this.ofService(namespace, name, this.view.service(namespace, name), '').spellings;
  }

  /** A Service's route: its namespace's claim, and the claims of the Pods behind it (a Service may forward to another namespace's Pods). */
  private ofService(namespace: string, name: string, service: ServiceFacts | undefined, how: string): Route {
    const endpoints = this.view.endpointsOf(namespace, name);
    const addresses = unique(endpoints.map((endpoint) => endpoint.address));
    const behind = addresses.flatMap((address) => this.endpointClaims(address));
    const target = serviceKey(namespace, name);
    return {
      target,
      claims: [
        { owner: namespace, consent: service?.consent ?? [] },
        ...behind.filter((claim) => claim.owner !== namespace),
      ],
      spellings: unique([
        target,
        ...(service?.addresses ?? []).map((address) => `address:${address}`),
        ...addresses.map((address) => `address:${address}`),
        ...this.aliases(this.namesOfService({ namespace, name })),
      ]),
      how,
    };
  }

  private addressRoute(address: string, url: URL): Route {
    const [service, ...others] = [...this.view.servicesAt(address)].sort(byName);
    if (service !== undefined) {
      // Allocated by the API server, a ClusterIP has one Service; a load-balancer IP might be shared.
      const route = this.ofService(
        service.namespace,
        service.name,
        service,
        `the address ${address} belongs to a Service of namespace ${service.namespace}`,
      );
      const claims = [...route.claims, ...others.map((other) => ({ owner: other.namespace, consent: other.consent }))];
      return { ...route, claims, spellings: unique([...route.spellings, `address:${address}`]) };
    }
    const endpoints = this.view.endpointsAt(address);
    if (endpoints.length > 0) {
      const owners = this.endpointOwners(endpoints);
      const [endpoint] = [...endpoints].sort(
        (a, b) => Number(owners.includes(b.namespace)) - Number(owners.includes(a.namespace)) || byName(a, b),
      );
      if (endpoint !== undefined) {
        const service = this.view.service(endpoint.namespace, endpoint.service);
        const route = this.ofService(endpoint.namespace, endpoint.service, service, '');
        const portName = endpoint.ports.find((port) => port.port === portOf(url))?.name;
        const port = service?.ports.find((candidate) => portName !== undefined && candidate.name === portName)?.port;
        return {
          ...route,
          ...(port !== undefined && { port }),
          claims: this.endpointClaims(address),
          spellings: unique([...route.spellings, `address:${address}`]),
          how: `the address ${address} is an endpoint of a Service of ${namespaces(owners)}`,
        };
      }
    }
    const target = `address:${address}`;
    return { target, claims: [], spellings: [target, ...this.aliases([address])], how: `spec.url names ${address}` };
  }
}

export function namespaces(owners: readonly string[]): string {
  return `${owners.length === 1 ? 'namespace' : 'namespaces'} ${owners.join(', ')}`;
}
