// A small HTTP proxy in front of an InfluxDB (a real influxd, usually) that records every request
// with its answer and can disturb the exchange the ways a crash or chaos test needs:
//   hold: the request arrives and is never passed on nor answered (InfluxDB never sees it);
//   dropAnswer: the request is passed on and InfluxDB processes it, but its answer is held back
//     (never delivered), as if the connection died on the way back;
//   refuse: the request is answered, without passing it on, with InfluxDB's 400 `invalid`
//     refusal (as a server with --strong-passwords answers a weak password), for refusals the
//     real server cannot be made to give on a fresh instance;
//   announce: the request is passed on as usual, and disturbed() resolves the moment it is, so a
//     test can stop the server in the middle of processing it;
// and, for every request at once: cutAll() breaks every open connection (a TCP cut), and a black
// hole accepts connections and requests but neither passes them on nor answers until it ends
// (then those connections are cut). The answers are recorded even when they are held back, so a
// test knows every token InfluxDB made.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RecordedRequest, RequestMatch } from './influx-standin.js';

export type Disturbance = 'hold' | 'dropAnswer' | 'refuse' | 'announce';

export interface ProxiedRequest extends RecordedRequest {
  /** Date.now() when the request had arrived whole. */
  at: number;
  /** Who sent it, when the proxy was given a way to tell (see `attribute`). */
  from?: string;
  /** What the proxy did with it. */
  handling: 'forwarded' | 'held' | 'dropAnswer' | 'refused' | 'blackholed' | 'failed';
  /** InfluxDB's status, once it answered (also when the answer was held back). */
  status?: number;
  /** InfluxDB's answer, parsed when JSON. */
  answer?: unknown;
}

export interface InfluxProxy {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: ProxiedRequest[];
  /** TCP connections accepted so far (a client refused before connecting opens none). */
  connections(): number;
  /** How many matching requests reached the upstream server. */
  forwarded(match: RequestMatch): number;
  /** The next request matching `match` is disturbed as `how`. */
  disturbNext(how: Disturbance, match: RequestMatch): void;
  /** Resolves once a disturbed request reached its moment: held, or answered upstream and held back. */
  disturbed(): Promise<void>;
  /** Forgets the disturbances no request has met yet. */
  calm(): void;
  /** Breaks every open client connection (and the requests it carries); returns how many. */
  cutAll(): number;
  /** While on, requests are swallowed unanswered; turning it off cuts the connections they came on. */
  blackhole(on: boolean): void;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface InfluxProxyOptions {
  /** The loopback address to listen on, 127.0.0.1 unless another is wanted (say, one outside an allow-list). */
  host?: string;
  /** Names the client of a connection from its remote port (e.g. by the process that owns the socket). */
  attribute?: (remotePort: number) => string | undefined;
}

const matches = (match: RequestMatch, method: string, path: string): boolean =>
  (match.method === undefined || match.method === method) && (match.path === undefined || match.path === path);

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

function parsed(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}

export async function startInfluxProxy(upstream: string, options: InfluxProxyOptions = {}): Promise<InfluxProxy> {
  const host = options.host ?? '127.0.0.1';
  const requests: ProxiedRequest[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const clients = new WeakMap<Socket, string | undefined>();
  const passed: Array<{ method: string; path: string }> = [];
  const pending: Array<{ how: Disturbance; match: RequestMatch }> = [];
  let swallowed: Socket[] = [];
  let blackholing = false;
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
      const body = parsed(raw);
      const authorization = request.headers.authorization;
      const from = clients.get(request.socket);
      const record: ProxiedRequest = {
        at: Date.now(),
        method,
        path: request.url ?? '/',
        handling: 'forwarded',
        ...(body === undefined ? {} : { body }),
        ...(authorization === undefined ? {} : { authorization }),
        ...(from === undefined ? {} : { from }),
      };
      requests.push(record);

      if (blackholing) {
        record.handling = 'blackholed';
        swallowed.push(request.socket);
        return;
      }
      const index = pending.findIndex(({ match }) => matches(match, method, path));
      const disturbance = index < 0 ? undefined : pending.splice(index, 1)[0]?.how;
      if (disturbance === 'hold') {
        record.handling = 'held';
        signal();
        return; // close() destroys the connection.
      }
      if (disturbance === 'refuse') {
        record.handling = 'refused';
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
            const text = Buffer.concat(parts);
            record.status = answer.statusCode ?? 502;
            const answered = parsed(text);
            if (answered !== undefined) record.answer = answered;
            if (disturbance === 'dropAnswer') {
              record.handling = 'dropAnswer';
              signal();
              return;
            }
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            response.end(text);
          });
        },
      );
      outgoing.on('error', () => {
        record.handling = 'failed';
        response.destroy();
      });
      outgoing.end(raw);
      if (disturbance === 'announce') signal();
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const port = socket.remotePort;
    clients.set(socket, port === undefined ? undefined : options.attribute?.(port));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await listenOnUnusedPort(server, host);

  const cutAll = (): number => {
    const count = sockets.size;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    return count;
  };

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
    calm() {
      pending.length = 0;
    },
    cutAll,
    blackhole(on) {
      blackholing = on;
      if (!on) {
        for (const socket of swallowed) socket.destroy();
        swallowed = [];
      }
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
