import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

export interface BoundServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Splits "host:port", ":port" (all interfaces) or "[v6]:port". */
export function parseBindAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid bind address "${address}": expected host:port or :port`);
  }
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port };
}

export type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void | Promise<void>;

/** Serves plain HTTP on the bind address; a handler that throws answers 500 instead of crashing. */
export function serve(bindAddress: string, handler: RequestHandler, logger: Logger): Promise<BoundServer> {
  const { host, port } = parseBindAddress(bindAddress);
  const server = http.createServer((request, response) => {
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        logger.error('http handler failed', { path: request.url, error: error instanceof Error ? error.message : String(error) });
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      logger.info('listening', { address: bindAddress, port: bound });
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((closed) => {
            server.close(() => closed());
            server.closeAllConnections();
          }),
      });
    });
  });
}
