import { checkSpec } from '../api/spec.js';
import { ONBOARD_FROM_ANNOTATION, type EffectiveSpec, type InfluxOnboarding } from '../api/types.js';
import { portOf, reservation, type AllowedTarget, type ConnectGuard } from '../influx/index.js';
import {
  canonicalAddress,
  canonicalName,
  type ClusterView,
  type EndpointFacts,
  type ServiceFacts,
} from '../api/cluster.js';
import { hostOf, namespaces, Router, serviceFqdn, targetOfHost, unique, type Route } from './instance-route.js';

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
  const route = new Router(view, settings.clusterDomain).route(host, parsed);
  const resolveAs = host.kind === 'service' ? serviceFqdn(host, settings.clusterDomain) : undefined;
  const claimsAgree = route.claims.every((claim) => claim.owner === namespace || claim.consent.includes(namespace));
  // A claim refuses first: only then do the reserving namespaces count as owners.
  const reserved = claimsAgree ? reservation(parsed, settings.allowedTargets, resolveAs) : [];
  const permitted = claimsAgree && (reserved.length === 0 || reserved.includes(namespace));
  const owners = unique([...route.claims.map((claim) => claim.owner), ...reserved]);
  const path = parsed.pathname.replace(/\/+$/, '');
  return {
    // Joined, not concatenated: a concatenation is a tree of pieces (about 150 bytes more), and the
    // key is kept for every resource (rememberedReach, the instance filing).
    key: [parsed.protocol, '//', route.target, ':', route.port ?? portOf(parsed), path].join(''),
    owners,
    permitted,
    ...(!permitted && { refusal: refusalOf(route, claimsAgree ? reserved : owners, namespace, parsed) }),
    ...(resolveAs !== undefined && { resolveAs: `${resolveAs}.` }),
    spellings: route.spellings,
  };
}

/** Where a resource's spec leads: the key of the instance it reaches, with its URL and mode. */
export interface Reach {
  key: string;
  url: string;
  mode: EffectiveSpec['mode'];
}

/** Where the resource's spec leads, when the spec is valid and its namespace may target that instance; else undefined. */
export function reachOf(
  resource: InfluxOnboarding,
  resolve: (namespace: string, url: string) => Instance,
): Reach | undefined {
  const checked = checkSpec(resource);
  if (!checked.ok) return undefined;
  const reached = resolve(resource.metadata.namespace, checked.spec.url);
  return reached.permitted ? { key: reached.key, url: checked.spec.url, mode: checked.spec.mode } : undefined;
}

/**
 * Where `other` leads when its namespace may target, and it reaches, the instance of `key`
 * (aliases of one Service are one instance); undefined when not, or when its spec is invalid. What
 * decides who competes for, or waits behind, one instance.
 */
export function specAtInstance(
  other: InfluxOnboarding,
  key: string,
  reach: (resource: InfluxOnboarding) => Reach | undefined,
): Reach | undefined {
  const reached = reach(other);
  return reached?.key === key ? reached : undefined;
}

/**
 * reachOf for cached resources, kept for each resource object until its resourceVersion or the
 * view's version changes: about 10 µs a resource to check its spec and resolve its instance
 * again, which the duplicate check and the wake of the resources waiting behind one would
 * otherwise pay for every resource on the same host (instance-filing.ts) at each lookup.
 */
export function rememberedReach(
  view: ClusterView & { version(): number },
  settings: InstanceSettings,
): (resource: InfluxOnboarding) => Reach | undefined {
  const known = new WeakMap<InfluxOnboarding, { version: number; resourceVersion?: string; reach?: Reach }>();
  const resolve = (namespace: string, url: string): Instance => resolveInstance(url, namespace, view, settings);
  return (resource) => {
    const version = view.version();
    const { resourceVersion } = resource.metadata;
    const entry = known.get(resource);
    if (entry !== undefined && entry.version === version && entry.resourceVersion === resourceVersion)
      return entry.reach;
    const reach = reachOf(resource, resolve);
    known.set(resource, {
      version,
      ...(resourceVersion !== undefined && { resourceVersion }),
      ...(reach !== undefined && { reach }),
    });
    return reach;
  };
}

/**
 * The target keys of the resources a change of this Service can concern: what instance their URL
 * reaches, or whether their namespace may, may have changed (its name, its addresses, its Pods',
 * ExternalNames for it). Its consent covers its endpoints' addresses however they are reached, so
 * the resources reaching them through another Service are concerned too.
 */
export function targetsOfService(service: ServiceFacts, view: ClusterView, settings: InstanceSettings): string[] {
  return unique([
    ...new Router(view, settings.clusterDomain).serviceSpellings(service.namespace, service.name),
    // As the event shows it: a deleted Service is no longer in the view.
    ...service.addresses.map((address) => `address:${address}`),
    ...targetsOfEndpoints(view.endpointsOf(service.namespace, service.name), view, settings),
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
  const router = new Router(view, settings.clusterDomain);
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
  const router = new Router(view, settings.clusterDomain);
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
