import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Logger, errorMessage } from '../log.js';
import type { CertificateSource, ServingCertificate } from './serving-cert.js';

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

type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void | Promise<void>;

/**
 * Serves HTTP on the bind address, or HTTPS with a certificate from `certificates` (reloaded
 * every `refreshMs` when the source says it changes; a failed reload keeps the certificate in
 * use). A handler that throws answers 500 instead of crashing.
 */
export async function serve(
  bindAddress: string,
  handler: RequestHandler,
  logger: Logger,
  certificates?: CertificateSource,
): Promise<BoundServer> {
  const { host, port } = parseBindAddress(bindAddress);
  const listener = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        logger.error('http handler failed', {
          path: request.url,
          error: errorMessage(error),
        });
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  };
  let current: ServingCertificate | undefined = await certificates?.load();
  const tls = (certificate: ServingCertificate): https.ServerOptions => ({
    cert: certificate.certPem,
    key: certificate.keyPem,
    minVersion: 'TLSv1.2',
  });
  const server = current === undefined ? http.createServer(listener) : https.createServer(tls(current), listener);
  const refresh = async (): Promise<void> => {
    if (!(server instanceof https.Server) || certificates === undefined) return;
    try {
      const next = await certificates.load();
      if (next.certPem === current?.certPem && next.keyPem === current.keyPem) return;
      server.setSecureContext(tls(next));
      current = next;
      logger.info('serving certificate reloaded');
    } catch (error) {
      logger.warn('serving certificate reload failed; keeping the current one', {
        error: errorMessage(error),
      });
    }
  };
  const timer =
    certificates?.refreshMs === undefined
      ? undefined
      : setInterval(() => void refresh(), certificates.refreshMs).unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      logger.info('listening', { address: bindAddress, port: bound, tls: current !== undefined });
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((closed) => {
            clearInterval(timer);
            server.close(() => closed());
            server.closeAllConnections();
          }),
      });
    });
  });
}
