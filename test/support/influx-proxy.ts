// A small HTTP proxy in front of an InfluxDB (a real influxd, usually) that records every request
// and can disturb the exchange at the two moments a crash test needs:
//   hold: the request arrives and is never passed on nor answered (InfluxDB never sees it);
//   dropAnswer: the request is passed on and InfluxDB processes it, but its answer is held back
//     (never delivered), as if the connection died on the way back;
//   refuse: the request is answered, without passing it on, with InfluxDB's 400 `invalid`
//     refusal (as a server with --strong-passwords answers a weak password), for refusals the
//     real server cannot be made to give on a fresh instance.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest, RequestMatch } from './influx-standin.js';

export type Disturbance = 'hold' | 'dropAnswer' | 'refuse';

export interface InfluxProxy {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far (a client refused before connecting opens none). */
  connections(): number;
  /** How many matching requests reached the upstream server. */
  forwarded(match: RequestMatch): number;
  /** The next request matching `match` is disturbed as `how`. */
  disturbNext(how: Disturbance, match: RequestMatch): void;
  /** Resolves once a disturbed request reached its moment: held, or answered upstream and held back. */
  disturbed(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

const matches = (match: RequestMatch, method: string, path: string): boolean =>
  (match.method === undefined || match.method === method) && (match.path === undefined || match.path === path);

/** host: the loopback address to listen on, 127.0.0.1 unless another is wanted (say, one outside an allow-list). */
/**
 * Every address a proxy of this process has listened on. A resource of an earlier test may still
 * name a closed proxy's URL; the kernel hands a freed port out again often enough (three times in
 * one run of onboarding-real-influxdb) that a later proxy on it made that resource a DuplicateTarget
 * of the later test's.
 */
const usedAddresses = new Set<string>();

async function listenOnUnusedPort(server: http.Server, host: string): Promise<number> {
  for (;;) {
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const { port } = server.address() as AddressInfo;
    if (!usedAddresses.has(`${host}:${port}`)) {
      usedAddresses.add(`${host}:${port}`);
      return port;
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startInfluxProxy(upstream: string, { host = '127.0.0.1' } = {}): Promise<InfluxProxy> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const passed: Array<{ method: string; path: string }> = [];
  const pending: Array<{ how: Disturbance; match: RequestMatch }> = [];
  let signal: () => void = () => undefined;
  let reached = new Promise<void>((resolve) => (signal = resolve));
  let closing: Promise<void> | undefined;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const method = request.method ?? 'GET';
      const path = new URL(request.url ?? '/', 'http://proxy').pathname;
      let body: unknown;
      try {
        body = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        body = raw.toString('utf8');
      }
      const authorization = request.headers.authorization;
      requests.push({
        method,
        path: request.url ?? '/',
        ...(body === undefined ? {} : { body }),
        ...(authorization === undefined ? {} : { authorization }),
      });

      const index = pending.findIndex(({ match }) => matches(match, method, path));
      const disturbance = index < 0 ? undefined : pending.splice(index, 1)[0]?.how;
      if (disturbance === 'hold') {
        signal();
        return; // close() destroys the connection.
      }
      if (disturbance === 'refuse') {
        const refusal = JSON.stringify({
          code: 'invalid',
          message:
            'passwords must contain at least three of: uppercase letters, lowercase letters, digits, special characters',
        });
        response.writeHead(400, {
          'Content-Type': 'application/json; charset=utf-8',
          'X-Platform-Error-Code': 'invalid',
        });
        response.end(refusal);
        signal();
        return;
      }
      const headers = { ...request.headers };
      delete headers.host;
      const outgoing = http.request(
        new URL(request.url ?? '/', upstream),
        { method, headers, agent: false },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            passed.push({ method, path });
            if (disturbance === 'dropAnswer') {
              signal();
              return;
            }
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            response.end(Buffer.concat(parts));
          });
        },
      );
      outgoing.on('error', () => response.destroy());
      outgoing.end(raw);
    });
  });
  server.on('connection', () => connections++);
  const port = await listenOnUnusedPort(server, host);
  return {
    url: `http://${host}:${port}`,
    requests,
    connections: () => connections,
    forwarded: (match) => passed.filter(({ method, path }) => matches(match, method, path)).length,
    disturbNext(how, match) {
      pending.push({ how, match });
    },
    async disturbed() {
      await reached;
      reached = new Promise<void>((resolve) => (signal = resolve));
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
