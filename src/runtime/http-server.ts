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

/** The handler, answering 500 (and logging) where it throws instead of crashing. */
function guarded(handler: RequestHandler, logger: Logger): http.RequestListener {
  return (request, response) => {
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
}

function tls(certificate: ServingCertificate): https.ServerOptions {
  return { cert: certificate.certPem, key: certificate.keyPem, minVersion: 'TLSv1.2' };
}

/**
 * Reloads the server's certificate every `refreshMs` when the source says it changes; a failed
 * reload keeps the one in use. Answers the timer to stop, if any.
 */
function reloading(
  server: https.Server,
  certificates: CertificateSource,
  loaded: ServingCertificate,
  logger: Logger,
): NodeJS.Timeout | undefined {
  if (certificates.refreshMs === undefined) return undefined;
  let current = loaded;
  const refresh = async (): Promise<void> => {
    try {
      const next = await certificates.load();
      if (next.certPem === current.certPem && next.keyPem === current.keyPem) return;
      server.setSecureContext(tls(next));
      current = next;
      logger.info('serving certificate reloaded');
    } catch (error) {
      logger.warn('serving certificate reload failed; keeping the current one', {
        error: errorMessage(error),
      });
    }
  };
  return setInterval(() => void refresh(), certificates.refreshMs).unref();
}

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
  const listener = guarded(handler, logger);
  const certificate = await certificates?.load();
  const server =
    certificate === undefined ? http.createServer(listener) : https.createServer(tls(certificate), listener);
  const timer =
    server instanceof https.Server && certificates !== undefined && certificate !== undefined
      ? reloading(server, certificates, certificate, logger)
      : undefined;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      logger.info('listening', { address: bindAddress, port: bound, tls: certificate !== undefined });
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
