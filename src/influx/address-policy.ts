import net from 'node:net';

/**
 * Which InfluxDB addresses the client may connect to at all: never a link-local one (unless
 * allowed), and, when a list of allowed targets is given, only those. Decided before any
 * connection: a URL's host (name or literal address) at once, and the addresses a name resolves
 * to at connect time, for every new connection, so that DNS rebinding cannot get around it.
 */

interface Network {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * One entry of an allow-list: a host pattern, or a network; either with an optional port. With a
 * tenant, the entry is reserved: it admits clients of that tenant only, and turns clients of every
 * other tenant away from what it matches, whatever other entries admit.
 */
export type AllowedTarget = (
  | { kind: 'host'; /** lowercase; '*.' first matches any name below that suffix */ pattern: string; port?: number }
  | ({ kind: 'network'; port?: number } & Network)
) & { tenant?: string };

export interface AddressPolicy {
  /** Default false: 169.254.0.0/16 and fe80::/10 (where cloud metadata services answer) are refused. */
  allowLinkLocal?: boolean;
  /** Empty or absent: any address (but link-local ones and those reserved for other tenants) is allowed. */
  allowedTargets?: readonly AllowedTarget[];
  /** Whom the client acts for: targets reserved for other tenants are refused to it. */
  tenant?: string;
}

export type RefusalReason = 'link-local' | 'not-allowed' | 'not-permitted';

export interface AddressRefusal {
  reason: RefusalReason;
  message: string;
  /** 'not-permitted': the tenants the target belongs to. */
  owners?: readonly string[];
}

/** The verdict on one base URL: refused outright, or allowed, then with a check of every resolved address. */
type Admission =
  | { kind: 'refused'; refusal: AddressRefusal }
  | { kind: 'allowed'; checkResolved?: (address: string) => AddressRefusal | undefined };

// Cloud metadata services (AWS, GCP, Azure) answer on link-local addresses; an operator that
// holds cluster credentials must not be talked into sending requests there.
const linkLocal = new net.BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

function bareAddress(host: string): string {
  return host.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const family = net.isIP(address);
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : undefined;
}

/** Whether a literal address lies in one of the list's networks; false for names. */
function contains(list: net.BlockList, address: string): boolean {
  const family = familyOf(address);
  return family !== undefined && list.check(address, family);
}

/** True for 169.254.0.0/16 and fe80::/10, IPv4-mapped forms included. False for names. */
export function isLinkLocalAddress(host: string): boolean {
  return contains(linkLocal, bareAddress(host));
}

function hostMatches(pattern: string, hostname: string): boolean {
  return pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) : hostname === pattern;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** The port a URL connects to: the one written, else its scheme's. */
export function portOf(url: URL): number {
  return url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port);
}

/** The host of a URL as a literal address (brackets and zone dropped), or undefined for a name. */
export function literalAddress(url: URL): string | undefined {
  const address = bareAddress(url.hostname);
  return familyOf(address) === undefined ? undefined : address;
}

type NetworkTarget = Extract<AllowedTarget, { kind: 'network' }>;

/** The names host patterns are matched against: the URL's host and the alias looked up instead, lowercase, without a final dot. */
function namesOf(base: URL, alias: string | undefined): string[] {
  return [bareAddress(base.hostname), alias ?? '']
    .map((name) => name.toLowerCase().replace(/\.$/, ''))
    .filter((name) => name !== '');
}

function blockListOf(networks: readonly NetworkTarget[]): net.BlockList {
  const list = new net.BlockList();
  for (const network of networks) list.addSubnet(network.address, network.prefix, network.family);
  return list;
}

function sorted(tenants: Iterable<string>): string[] {
  return [...new Set(tenants)].sort();
}

/**
 * The tenants a URL's host is reserved for by the allow-list: a name by the host patterns that
 * match it (as written, or as `alias`, the name actually looked up), a literal address by the
 * networks that hold it; each on the URL's port. Empty: reserved for nobody. Where a name resolves
 * to is not known here: admit() checks the reserved networks at connect time.
 */
export function reservation(base: URL, targets: readonly AllowedTarget[], alias?: string): string[] {
  const port = portOf(base);
  const address = literalAddress(base);
  const names = namesOf(base, alias);
  return sorted(
    targets
      .filter((target) => target.tenant !== undefined && (target.port === undefined || target.port === port))
      .filter((target) =>
        target.kind === 'host'
          ? address === undefined && names.some((name) => hostMatches(target.pattern, name))
          : address !== undefined && contains(blockListOf([target]), address),
      )
      .map((target) => target.tenant as string),
  );
}

/** What admit() works out once per client, for the check of every address its connections resolve. */
interface Screen {
  policy: AddressPolicy;
  port: number;
  /** The URL's host without brackets: a literal address, or a name. */
  address: string;
  literal: boolean;
  /** The name looked up, for messages. */
  hostname: string;
  /** The allow-list entries on this port. */
  targets: AllowedTarget[];
  /** The URL's host is allowed by name (or nothing is restricted). */
  nameAllowed: boolean;
  /** The networks this tenant may reach, and whether there is any. */
  networks: net.BlockList;
  anyNetwork: boolean;
  /** The networks reserved for each tenant. */
  reservedNetworks: Array<{ tenant: string; list: net.BlockList }>;
}

function screenOf(base: URL, policy: AddressPolicy, alias?: string): Screen {
  const port = portOf(base);
  const address = bareAddress(base.hostname);
  const literal = familyOf(address) !== undefined;
  const names = namesOf(base, alias);
  const targets = (policy.allowedTargets ?? []).filter((target) => target.port === undefined || target.port === port);
  const restricted = (policy.allowedTargets ?? []).length > 0;
  const admits = (target: AllowedTarget) => target.tenant === undefined || target.tenant === policy.tenant;
  const networkTargets = targets.filter((target): target is NetworkTarget => target.kind === 'network');
  const admitted = networkTargets.filter(admits);
  const nameAllowed =
    !restricted ||
    (!literal &&
      targets.some(
        (target) => target.kind === 'host' && admits(target) && names.some((name) => hostMatches(target.pattern, name)),
      ));
  return {
    policy,
    port,
    address,
    literal,
    hostname: names[0] ?? '',
    targets,
    nameAllowed,
    // Built once per client: the check below runs for every address of every new connection.
    networks: blockListOf(admitted),
    anyNetwork: admitted.length > 0,
    reservedNetworks: sorted(networkTargets.flatMap((target) => target.tenant ?? [])).map((tenant) => ({
      tenant,
      list: blockListOf(networkTargets.filter((target) => target.tenant === tenant)),
    })),
  };
}

/** Why a client may not connect to an address its host resolved to (undefined: it may). */
function addressRefusal(screen: Screen, resolved: string): AddressRefusal | undefined {
  const { policy } = screen;
  const what = screen.literal ? `the address ${resolved}` : `${screen.hostname} resolves to ${resolved}, which`;
  if (!policy.allowLinkLocal && isLinkLocalAddress(resolved)) {
    return {
      reason: 'link-local',
      message: `${what} is link-local (169.254.0.0/16, fe80::/10, where cloud metadata services answer)`,
    };
  }
  const owners = screen.reservedNetworks.filter(({ list }) => contains(list, resolved)).map(({ tenant }) => tenant);
  if (owners.length > 0 && !owners.includes(policy.tenant ?? '')) {
    return { reason: 'not-permitted', message: `${what} is reserved for ${owners.join(', ')}`, owners };
  }
  if (!screen.nameAllowed && !contains(screen.networks, resolved)) {
    return { reason: 'not-allowed', message: `${what} is not among the allowed targets (port ${screen.port})` };
  }
  return undefined;
}

/**
 * Decides whether a client for `base` may connect, and how to check the addresses its host
 * resolves to. `alias`: the name looked up instead of the URL's host, which host patterns match
 * as well.
 */
export function admit(base: URL, policy: AddressPolicy, alias?: string): Admission {
  const screen = screenOf(base, policy, alias);
  const { port, literal, hostname, nameAllowed } = screen;
  const reserved = literal ? [] : reservation(base, screen.targets, alias);
  if (reserved.length > 0 && !reserved.includes(policy.tenant ?? '')) {
    return {
      kind: 'refused',
      refusal: {
        reason: 'not-permitted',
        message: `${hostname}:${port} is reserved for ${reserved.join(', ')}`,
        owners: reserved,
      },
    };
  }
  if (literal) {
    // A literal address is never looked up, so it is checked here, once and for all.
    const refusal = addressRefusal(screen, screen.address);
    return refusal === undefined ? { kind: 'allowed' } : { kind: 'refused', refusal };
  }
  if (!nameAllowed && !screen.anyNetwork) {
    // No network could let it in: refused without even a DNS lookup.
    return {
      kind: 'refused',
      refusal: { reason: 'not-allowed', message: `${hostname}:${port} is not among the allowed targets` },
    };
  }
  const guarded = !policy.allowLinkLocal || !nameAllowed || screen.reservedNetworks.length > 0;
  return guarded
    ? { kind: 'allowed', checkResolved: (resolved) => addressRefusal(screen, resolved) }
    : { kind: 'allowed' };
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT = /^\d{1,5}$/;

function parsePort(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  const port = Number(text);
  return PORT.test(text) && port >= 1 && port <= 65535 ? port : null;
}

function parseNetwork(text: string): Network | undefined {
  const [address = '', prefixText, extra] = text.split('/');
  const family = familyOf(address);
  if (family === undefined || extra !== undefined) return undefined;
  const bits = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: bits, family };
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > bits) return undefined;
  return { address, prefix, family };
}

/** One entry: `host`, `*.suffix`, an IP or CIDR, `:port` optional; IPv6 in brackets when a port follows (`[fd00::/8]:8086`). */
function parseEntry(entry: string): AllowedTarget | undefined {
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(entry);
  const cidrWithPort = /^([^[\]]+\/\d+)(?::(\d*))?$/.exec(entry);
  const hostWithPort = /^([^:[\]/]+)(?::([^:]*))?$/.exec(entry);
  const [body, portText] = bracketed
    ? [bracketed[1] ?? '', bracketed[2]]
    : cidrWithPort
      ? [cidrWithPort[1] ?? '', cidrWithPort[2]]
      : hostWithPort
        ? [hostWithPort[1] ?? '', hostWithPort[2]]
        : [entry, undefined];
  const port = parsePort(portText);
  if (port === null) return undefined;
  const network = parseNetwork(body);
  if (network !== undefined) return { kind: 'network', ...network, ...(port !== undefined && { port }) };
  const pattern = body.toLowerCase();
  if (bracketed || !HOST_PATTERN.test(pattern)) return undefined;
  return { kind: 'host', pattern, ...(port !== undefined && { port }) };
}

type AllowedTargetsParse = { ok: true; targets: AllowedTarget[] } | { ok: false; problems: string[] };

/** Reads the entries of an allow-list such as `*.monitoring.svc`, `influxdb.data:8086`, `10.0.0.0/8`, `fd00::/8`. */
export function parseAllowedTargets(entries: readonly string[]): AllowedTargetsParse {
  const targets: AllowedTarget[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const target = parseEntry(entry);
    if (target === undefined) {
      problems.push(
        `${JSON.stringify(entry)} is neither a host pattern (influxdb.example, *.example) nor an IP or CIDR (10.0.0.0/8, fd00::/8), with an optional :port ([fd00::/8]:8086 for IPv6)`,
      );
    } else {
      targets.push(target);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, targets };
}
