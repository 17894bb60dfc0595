import { checkSpec } from '../api/spec.js';
import { ONBOARD_FROM_ANNOTATION, type InfluxOnboarding } from '../api/types.js';
import { portOf, reservation, type AllowedTarget, type ConnectGuard } from '../influx/index.js';
import {
  canonicalAddress,
  canonicalName,
  type ClusterView,
  type EndpointFacts,
  type ServiceFacts,
} from '../api/cluster.js';

/**
 * Which InfluxDB instance a URL reaches, and which namespace it belongs to: ownership follows the
 * destination, not the text. A Service URL (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`,
 * `<svc>.<ns>.svc.<cluster domain>`, any port form) is that namespace's; a single label is a name
 * in the resource's own namespace. An ExternalName Service is followed to its target; a literal
 * ClusterIP, load-balancer IP or endpoint address is its Service's; an endpoint belongs to the
 * namespace of its Pod. A name of any other domain is checked where it resolves, at connect time
 * (connectGuard). External names and addresses belong to whoever --allowed-urls reserves them for,
 * else to nobody. Pure: the cluster is read through a ClusterView.
 */

export interface InstanceSettings {
  clusterDomain: string;
  /** --allowed-urls; entries with a tenant reserve what they match for that namespace. */
  allowedTargets: readonly AllowedTarget[];
}

export interface Instance {
  /** One key per instance: every spelling of one Service's port (its names, its addresses, ExternalNames for it) has this one. */
  key: string;
  /** The namespaces it belongs to; empty: nobody's (an external target no --allowed-urls entry reserves). */
  owners: readonly string[];
  /** Whether a resource of the namespace asked about may target it. */
  permitted: boolean;
  /** Why not, for Ready NotPermitted: who owns it and how consent is given, nothing of their state. */
  refusal?: string;
  /** The name to look up for it: a Service's absolute name (so a single label never resolves in the operator's namespace). */
  resolveAs?: string;
  /** The target keys (see targetKey) of every spelling of this instance's host. */
  spellings: readonly string[];
}

/** Where a URL's host points, from the text alone. */
type Host =
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
interface Route {
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

function serviceFqdn(host: { namespace: string; name: string; hostname?: string }, clusterDomain: string): string {
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
function hostOf(text: string, namespace: string, clusterDomain: string, absolute: boolean): Host {
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

function targetOfHost(host: Host): string {
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

/**
 * The key a resource is indexed under: its URL's host as the text names it (`service:ns/name`,
 * `address:ip`, `host:name`), the same for every way of writing one Service's name. undefined for
 * an unparsable URL.
 */
export function targetKey(url: string, namespace: string, clusterDomain: string): string | undefined {
  try {
    return targetOfHost(hostOf(new URL(url).hostname, namespace, clusterDomain, false));
  } catch {
    return undefined;
  }
}

function byName(a: { namespace: string; name?: string; service?: string }, b: typeof a): number {
  const left = `${a.namespace}/${a.name ?? a.service}`;
  const right = `${b.namespace}/${b.name ?? b.service}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Resolution of routes over one view: follows ExternalNames, finds aliases. */
class Router {
  constructor(
    private readonly view: ClusterView,
    private readonly settings: InstanceSettings,
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
    return [short, `${short}.svc`, `${short}.svc.${this.settings.clusterDomain}`];
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
      const target = hostOf(service.externalName, host.namespace, this.settings.clusterDomain, true);
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

function namespaces(owners: readonly string[]): string {
  return `${owners.length === 1 ? 'namespace' : 'namespaces'} ${owners.join(', ')}`;
}

/**
 * The refusal's text: who owns it and how consent is given, the same whatever their Service holds
 * (or whether there is one). Claims refuse first; else --allowed-urls reserves it for others.
 */
function refusalOf(route: Route, owners: readonly string[], namespace: string, url: URL): string {
  const claimed = route.claims.some((claim) => claim.owner !== namespace && !claim.consent.includes(namespace));
  if (!claimed) {
    return `${route.how}, which the operator's --allowed-urls reserves for ${namespaces(owners)}, not for namespace ${namespace}; nothing is sent to it, and nothing is tried again until the spec or the operator's flags change. Only a cluster administrator can reserve it for namespace ${namespace} too: --allowed-urls ${namespace}=${url.hostname}:${portOf(url)}`;
  }
  // The command comes last, with nothing after it, so that it can be copied as it is.
  const how =
    route.named !== undefined
      ? `Its owner can let namespace ${namespace} onboard it by adding ${namespace} to the annotation ${ONBOARD_FROM_ANNOTATION} on that Service (comma-separated namespaces): kubectl annotate service -n ${route.named.namespace} ${route.named.service} ${ONBOARD_FROM_ANNOTATION}=${namespace}`
      : `Its owner can let namespace ${namespace} onboard it by adding ${namespace} to the annotation ${ONBOARD_FROM_ANNOTATION} (comma-separated namespaces) on the Service`;
  return `${route.how}, so the InfluxDB there belongs to ${namespaces(owners)}, not to namespace ${namespace}; nothing is sent to it, and nothing is tried again until the spec, the Service or the operator's flags change. ${how}`;
}

/** Which instance `url` reaches for a resource of `namespace`, and whether that namespace may onboard it. */
export function resolveInstance(
  url: string,
  namespace: string,
  view: ClusterView,
  settings: InstanceSettings,
): Instance {
  const parsed = new URL(url);
  const host = hostOf(parsed.hostname, namespace, settings.clusterDomain, false);
  const route = new Router(view, settings).route(host, parsed);
  const resolveAs = host.kind === 'service' ? serviceFqdn(host, settings.clusterDomain) : undefined;
  const claimsAgree = route.claims.every((claim) => claim.owner === namespace || claim.consent.includes(namespace));
  // A claim refuses first: only then do the reserving namespaces count as owners.
  const reserved = claimsAgree ? reservation(parsed, settings.allowedTargets, resolveAs) : [];
  const permitted = claimsAgree && (reserved.length === 0 || reserved.includes(namespace));
  const owners = unique([...route.claims.map((claim) => claim.owner), ...reserved]);
  const path = parsed.pathname.replace(/\/+$/, '');
  return {
    key: `${parsed.protocol}//${route.target}:${route.port ?? portOf(parsed)}${path}`,
    owners,
    permitted,
    ...(!permitted && { refusal: refusalOf(route, claimsAgree ? reserved : owners, namespace, parsed) }),
    ...(resolveAs !== undefined && { resolveAs: `${resolveAs}.` }),
    spellings: route.spellings,
  };
}

/**
 * The target keys of the resources a change of this Service can concern: what instance their URL
 * reaches, or whether their namespace may, may have changed (its name, its addresses, its Pods',
 * ExternalNames for it).
 */
export function targetsOfService(service: ServiceFacts, view: ClusterView, settings: InstanceSettings): string[] {
  return unique([
    ...new Router(view, settings).serviceSpellings(service.namespace, service.name),
    // As the event shows it: a deleted Service is no longer in the view.
    ...service.addresses.map((address) => `address:${address}`),
  ]);
}

/**
 * The target keys of the resources a change of these endpoints (one EndpointSlice) can concern:
 * their addresses, and every Service with an endpoint at one of them (their own, and any that
 * forwards to the same Pods), each once: a slice can list hundreds of Pods.
 */
export function targetsOfEndpoints(
  endpoints: readonly EndpointFacts[],
  view: ClusterView,
  settings: InstanceSettings,
): string[] {
  const router = new Router(view, settings);
  const addresses = unique(endpoints.map((endpoint) => endpoint.address));
  const services = new Map(
    [...endpoints, ...addresses.flatMap((address) => view.endpointsAt(address))].map((endpoint) => [
      `${endpoint.namespace}/${endpoint.service}`,
      endpoint,
    ]),
  );
  return unique([
    ...addresses.map((address) => `address:${address}`),
    ...[...services.values()].flatMap((endpoint) => router.serviceSpellings(endpoint.namespace, endpoint.service)),
  ]);
}

/**
 * The connect-time half: every address a client for `url` (acting for `namespace`) is about to
 * connect to must not belong to a namespace that does not let `namespace` in, however the name
 * got there (DNS of any domain, an ExternalName, a rebinding after the check).
 */
export function connectGuard(
  url: string,
  namespace: string,
  view: ClusterView,
  settings: InstanceSettings,
): ConnectGuard | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The client refuses such a URL itself, without echoing it.
    return undefined;
  }
  const host = hostOf(parsed.hostname, namespace, settings.clusterDomain, false);
  const router = new Router(view, settings);
  return {
    ...(host.kind === 'service' && { resolveAs: `${serviceFqdn(host, settings.clusterDomain)}.` }),
    check(resolved) {
      const address = canonicalAddress(resolved);
      if (address === undefined) return undefined;
      const { claims } = router.route({ kind: 'address', address }, parsed);
      if (claims.every((claim) => claim.owner === namespace || claim.consent.includes(namespace))) return undefined;
      const owners = unique(claims.map((claim) => claim.owner));
      const what =
        host.kind === 'address'
          ? `the address ${address}`
          : `${canonicalName(parsed.hostname)} resolves to ${address}, which`;
      return {
        reason: 'not-permitted',
        message: `${what} belongs to ${namespaces(owners)}, not to namespace ${namespace}`,
        owners,
      };
    },
  };
}

/**
 * The instance a resource in mode Setup may onboard (its key), undefined when its spec is not
 * valid, not in mode Setup, or its namespace may not target it: what the duplicate check compares.
 */
export function setupTargetOf(
  resource: InfluxOnboarding,
  instanceOf: (namespace: string, url: string) => Instance,
): string | undefined {
  const checked = checkSpec(resource);
  if (!checked.ok || checked.spec.mode !== 'Setup') return undefined;
  const reached = instanceOf(resource.metadata.namespace, checked.spec.url);
  return reached.permitted ? reached.key : undefined;
}

/**
 * setupTargetOf for cached resources, kept for each resource object until its resourceVersion or
 * the view's version changes. The duplicate check compares every resource whose URL names the
 * same host in each reconcile, drift checks included: about 10 µs a resource to check its spec and
 * resolve its instance again, N x 10 µs per reconcile and N²/2 for a burst of N on one host.
 */
export function setupTargets(
  view: ClusterView & { version(): number },
  settings: InstanceSettings,
): (resource: InfluxOnboarding) => string | undefined {
  const known = new WeakMap<InfluxOnboarding, { version: number; resourceVersion?: string; target?: string }>();
  const instanceOf = (namespace: string, url: string): Instance => resolveInstance(url, namespace, view, settings);
  return (resource) => {
    const version = view.version();
    const { resourceVersion } = resource.metadata;
    const entry = known.get(resource);
    if (entry !== undefined && entry.version === version && entry.resourceVersion === resourceVersion)
      return entry.target;
    const target = setupTargetOf(resource, instanceOf);
    known.set(resource, {
      version,
      ...(resourceVersion !== undefined && { resourceVersion }),
      ...(target !== undefined && { target }),
    });
    return target;
  };
}
