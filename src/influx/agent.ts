import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** Error code our lookup gives a refused address; the transport maps it to reason 'link-local'. */
export const LINK_LOCAL_REFUSED = 'ERR_INFLUX_LINK_LOCAL_REFUSED';

// Cloud metadata services (AWS, GCP, Azure) answer on link-local addresses; an operator that
// holds cluster credentials must not be talked into sending requests there.
const linkLocal = new net.BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

/** True for 169.254.0.0/16 and fe80::/10, IPv4-mapped forms included. False for names. */
export function isLinkLocalAddress(address: string): boolean {
  const withoutZone = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(withoutZone);
  if (family === 0) return false;
  return linkLocal.check(withoutZone, family === 6 ? 'ipv6' : 'ipv4');
}

function linkLocalRefusal(): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error('refusing to connect to a link-local address');
  error.code = LINK_LOCAL_REFUSED;
  return error;
}

/**
 * Resolves like dns.lookup but fails when any answer is link-local. It runs for every new
 * connection, so a name that later re-resolves to a metadata address is still refused.
 */
const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    if (addresses.some((entry) => isLinkLocalAddress(entry.address))) return callback(linkLocalRefusal(), '');
    if (options.all) return callback(null, addresses);
    const [first] = addresses;
    if (!first) return callback(Object.assign(new Error('no address found'), { code: 'ENOTFOUND' }), '');
    return callback(null, first.address, first.family);
  });
};

export interface AgentSettings {
  https: boolean;
  caPem?: string;
  insecureSkipVerify?: boolean;
  allowLinkLocal?: boolean;
}

export function createAgent(settings: AgentSettings): http.Agent {
  const common = {
    keepAlive: true,
    ...(settings.allowLinkLocal ? {} : { lookup: guardedLookup }),
  };
  if (!settings.https) return new http.Agent(common);
  return new https.Agent({ ...common, ca: settings.caPem, rejectUnauthorized: !settings.insecureSkipVerify });
}
