import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressRefusal } from './address-policy.js';

/** Error code our lookup gives a refused address. */
export const ADDRESS_REFUSED = 'ERR_INFLUX_ADDRESS_REFUSED';

function refusedError(refusal: AddressRefusal): NodeJS.ErrnoException {
  return Object.assign(new Error(`refusing to connect: ${refusal.message}`), { code: ADDRESS_REFUSED });
}

/**
 * Resolves like dns.lookup (`resolveAs` instead of the host when given) but fails when any answer
 * is refused. It runs for every new connection, so a name that later re-resolves to a refused
 * address is still refused.
 */
function guardedLookup(
  checkResolved: ((address: string) => AddressRefusal | undefined) | undefined,
  resolveAs: string | undefined,
): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(resolveAs ?? hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      for (const entry of addresses) {
        const refusal = checkResolved?.(entry.address);
        if (refusal !== undefined) return callback(refusedError(refusal), '');
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error('no address found'), { code: 'ENOTFOUND' }), '');
      return callback(null, first.address, first.family);
    });
  };
}

interface AgentSettings {
  https: boolean;
  caPem?: string;
  insecureSkipVerify?: boolean;
  /** Checks every address a name resolves to; absent: any address will do. */
  checkResolved?: (address: string) => AddressRefusal | undefined;
  /** The name to look up instead of the URL's host. */
  resolveAs?: string;
}

export function createAgent(settings: AgentSettings): http.Agent {
  const { checkResolved, resolveAs } = settings;
  const common = {
    keepAlive: true,
    ...((checkResolved !== undefined || resolveAs !== undefined) && {
      lookup: guardedLookup(checkResolved, resolveAs),
    }),
  };
  if (!settings.https) return new http.Agent(common);
  return new https.Agent({ ...common, ca: settings.caPem, rejectUnauthorized: !settings.insecureSkipVerify });
}
