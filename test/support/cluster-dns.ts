// Preloaded into an operator process (node --import tsx --import test/support/cluster-dns.ts) to
// give it the network a Pod of a real cluster has, with nothing changed in the operator:
//   - DNS as CoreDNS and the Pod's resolv.conf give it: `search <ns>.svc.<domain> svc.<domain>
//     <domain>` and `ndots:5` for the namespace the Pod runs in, A records for Services
//     (their ClusterIP), CNAMEs for ExternalName Services, and A records for outside names;
//   - kube-proxy: a connection to a ClusterIP:port or a Pod IP:port is carried to the loopback
//     address and port of the server standing in for it (DNAT below the socket API, so the
//     operator sees, checks and connects to the cluster address as it would in a Pod).
// The records live in the JSON file named by CLUSTER_NETWORK_FILE (written by ClusterNetwork in
// cluster-network.ts), read again at every lookup and connection so a test can change them.
// Names it does not know under the cluster domain do not exist; other names resolve as usual.
import dns from 'node:dns';
import { readFileSync } from 'node:fs';

export interface NetworkRecords {
  /** The namespace the operator's Pod runs in: the first search domain. */
  podNamespace: string;
  clusterDomain: string;
  /** A/AAAA records: lowercase absolute name without the final dot -> addresses. */
  names: Record<string, string[]>;
  /** CNAME records (ExternalName Services): name -> target. */
  aliases: Record<string, string>;
  /** kube-proxy: "address:port" -> "127.0.0.1:port" of the server behind it. */
  forwards: Record<string, string>;
}

const file = process.env.CLUSTER_NETWORK_FILE;
if (file === undefined) throw new Error('cluster-dns.ts needs CLUSTER_NETWORK_FILE');

function records(): NetworkRecords {
  return JSON.parse(readFileSync(file as string, 'utf8')) as NetworkRecords;
}

/** The names a Pod's resolver tries for `name`, in order (resolv.conf: search list, ndots:5). */
function candidates(name: string, network: NetworkRecords): string[] {
  const lower = name.toLowerCase();
  if (lower.endsWith('.')) return [lower.slice(0, -1)];
  const domain = network.clusterDomain;
  const search = [`${network.podNamespace}.svc.${domain}`, `svc.${domain}`, domain].map(
    (suffix) => `${lower}.${suffix}`,
  );
  const dots = lower.split('.').length - 1;
  return dots >= 5 ? [lower, ...search] : [...search, lower];
}

/** The addresses of `name` after CNAMEs, undefined when no record exists. */
function answer(name: string, network: NetworkRecords): string[] | undefined {
  let current = name;
  for (let hops = 0; hops < 8; hops++) {
    const found = network.names[current];
    if (found !== undefined) return found;
    const alias = network.aliases[current];
    if (alias === undefined) return undefined;
    current = alias.toLowerCase().replace(/\.$/, '');
  }
  return undefined;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;
const resolver = dns as unknown as { lookup: (hostname: string, ...rest: unknown[]) => void };
const systemLookup = resolver.lookup;

resolver.lookup = (hostname: string, ...rest: unknown[]): void => {
  const callback = rest.at(-1) as LookupCallback;
  const options = (typeof rest[0] === 'object' && rest[0] !== null ? rest[0] : {}) as dns.LookupOptions;
  const network = records();
  for (const candidate of candidates(hostname, network)) {
    const addresses = answer(candidate, network);
    if (addresses === undefined) continue;
    const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (options.all) return callback(null, entries);
    const [first] = entries;
    return first ? callback(null, first.address, first.family) : callback(notFound(hostname), '');
  }
  const absolute = hostname.toLowerCase().replace(/\.$/, '');
  if (absolute === network.clusterDomain || absolute.endsWith(`.${network.clusterDomain}`) || hostname.endsWith('.'))
    return callback(notFound(hostname), '');
  return systemLookup.call(dns, hostname, ...rest);
};

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
}

// kube-proxy's DNAT, at the TCP handle: the socket above keeps the cluster address it asked for.
// (The test cluster's Services and Pods are IPv4.)
interface TcpHandle {
  connect(request: unknown, address: string, port: number): number;
}
const { TCP } = (process as unknown as { binding(name: string): { TCP: { prototype: TcpHandle } } }).binding(
  'tcp_wrap',
);
const connect = TCP.prototype.connect;
TCP.prototype.connect = function (this: TcpHandle, request, address, port) {
  const target = records().forwards[`${address}:${port}`];
  if (target === undefined) return connect.call(this, request, address, port);
  const separator = target.lastIndexOf(':');
  return connect.call(this, request, target.slice(0, separator), Number(target.slice(separator + 1)));
};
