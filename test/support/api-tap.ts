// A tap between the operator and the real API server: an HTTPS-terminating reverse proxy on
// 127.0.0.1 with a throwaway CA of its own, forwarding every request to the control plane (with
// the control plane's CA). Because it terminates TLS it sees each HTTP request, so a test can
// count LISTs and WATCHes per resource, and it can misbehave on purpose: refuse or cut
// connections, hold LIST requests until released, hold the next request of a kind (a write in
// flight), swallow every request for a while (a black hole), or answer watches with a 410 ERROR
// event.
//
// The operator is pointed at it with `kubeconfigPath` (same admin token, the tap's CA). Nothing
// is changed in transit: status, headers (minus hop-by-hop ones) and bodies are passed through,
// and a watch stream is piped chunk by chunk. When the upstream connection breaks (the API server
// stopped), the client's connection is destroyed too, as a client of the real server would see.
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createTestCertificates } from './tls.js';

export type RequestKind = 'list' | 'watch' | 'other';

export interface TappedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  /** Path without query. */
  path: string;
  query: URLSearchParams;
  kind: RequestKind;
  /** The plural of a collection request (`influxonboardings`, `secrets`, `leases`, ...); '' otherwise. */
  resource: string;
  /** HTTP status answered ('0' until the head is sent; -1 if the connection was destroyed instead). */
  status: number;
  /** How it was handled. */
  handling: 'forwarded' | 'held' | 'injected-410' | 'failed-upstream' | 'cut' | 'blackholed';
  /** Milliseconds from arrival until the whole answer was relayed (absent until then). */
  ms?: number;
}

export interface ApiTapOptions {
  /** https://127.0.0.1:<port> of the real API server. */
  upstream: string;
  upstreamCaPem: string;
  /** Bearer token written into the tap's kubeconfig. */
  token: string;
}

export interface ApiTap {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig whose server is the tap (the tap's CA, the given token). */
  readonly kubeconfigPath: string;
  readonly requests: TappedRequest[];
  /** TCP connections accepted and served, and those reset at once because of refuse(true). */
  readonly connections: { served: number; refused: number; open: number };
  /** While on, every new TCP connection is reset as soon as it is accepted (the server looks down). */
  refuse(on: boolean): void;
  /** Destroys every open client connection (and the upstream requests they carry). */
  cutAll(): number;
  /** While on, LIST requests matching `resource` (all if omitted) wait, unanswered, until released. */
  holdLists(on: boolean, resource?: string): void;
  /** LIST requests currently waiting. */
  readonly heldLists: number;
  /**
   * The next request with this method (and of this resource, if given) waits, unanswered and not
   * passed on, until releaseHeld(): a request in flight whose sender may meanwhile be paused.
   */
  holdNext(match: { method: string; resource?: string }): void;
  /** Requests held by holdNext() so far (released ones included). */
  readonly heldNext: TappedRequest[];
  /** Passes every request held by holdNext() on to the API server, in order. */
  releaseHeld(): void;
  /** While on, requests are swallowed unanswered; turning it off cuts the connections they came on. */
  blackhole(on: boolean): void;
  /** While on, each WATCH of `resource` is answered at once with a 410 Expired ERROR event. */
  answerWatchesWith410(on: boolean, resource?: string): void;
  /** Requests of `kind` for `resource` (any if omitted) that arrived at or after `since`. */
  count(kind: RequestKind, resource?: string, since?: number): number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);

function classify(method: string, url: URL): { kind: RequestKind; resource: string } {
  const parts = url.pathname.split('/').filter((part) => part !== '');
  // /api/v1[/namespaces/ns]/plural or /apis/group/version[/namespaces/ns]/plural
  const base = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : -1;
  if (base < 0) return { kind: 'other', resource: '' };
  const rest = parts.slice(base);
  const collection = rest.length === 1 ? rest[0] : rest.length === 3 && rest[0] === 'namespaces' ? rest[2] : undefined;
  if (collection === undefined || method !== 'GET') return { kind: 'other', resource: collection ?? '' };
  const watch = url.searchParams.get('watch');
  return { kind: watch === '1' || watch === 'true' ? 'watch' : 'list', resource: collection };
}

const EXPIRED_EVENT = `${JSON.stringify({
  type: 'ERROR',
  object: {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'too old resource version (injected by the test tap)',
    reason: 'Expired',
    code: 410,
  },
})}\n`;

export async function startApiTap(options: ApiTapOptions): Promise<ApiTap> {
  const certificates = await createTestCertificates(['IP:127.0.0.1']);
  const upstream = new URL(options.upstream);
  const agent = new https.Agent({ keepAlive: true, ca: options.upstreamCaPem });
  const requests: TappedRequest[] = [];
  const sockets = new Set<Socket>();
  const connections = { served: 0, refused: 0, open: 0 };
  let refusing = false;
  let holding: { resource: string | undefined } | undefined;
  let held: Array<() => void> = [];
  let expiring: { resource: string | undefined } | undefined;
  let nextToHold: { method: string; resource?: string } | undefined;
  const heldNext: TappedRequest[] = [];
  let heldNextReleases: Array<() => void> = [];
  let blackholing = false;
  let swallowed: Socket[] = [];
  const matches = (rule: { resource: string | undefined } | undefined, resource: string): boolean =>
    rule !== undefined && (rule.resource === undefined || rule.resource === resource);

  const forward = (
    request: http.IncomingMessage,
    body: Buffer,
    response: http.ServerResponse,
    record: TappedRequest,
  ): void => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!HOP_BY_HOP.has(name.toLowerCase()) && value !== undefined) headers[name] = value;
    }
    headers.host = upstream.host;
    const outgoing = https.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers,
        agent,
      },
      (incoming) => {
        const answer: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (!HOP_BY_HOP.has(name.toLowerCase()) && value !== undefined) answer[name] = value;
        }
        record.status = incoming.statusCode ?? 0;
        response.writeHead(incoming.statusCode ?? 502, answer);
        response.flushHeaders();
        incoming.on('data', (chunk: Buffer) => response.write(chunk));
        incoming.on('end', () => {
          record.ms = Date.now() - record.at;
          response.end();
        });
        // The API server went away mid-answer: so does the tap, abruptly.
        incoming.on('aborted', () => response.destroy());
        incoming.on('error', () => response.destroy());
      },
    );
    outgoing.on('error', () => {
      // Upstream refused or broke the connection: the client sees a broken connection, not a made-up status.
      record.handling = 'failed-upstream';
      if (record.status === 0) record.status = -1;
      response.destroy();
    });
    response.on('close', () => outgoing.destroy());
    outgoing.end(body);
  };

  const handle = (request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'https://tap');
    const { kind, resource } = classify(request.method ?? 'GET', url);
    const record: TappedRequest = {
      at: Date.now(),
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      kind,
      resource,
      status: 0,
      handling: 'forwarded',
    };
    requests.push(record);
    if (blackholing) {
      record.handling = 'blackholed';
      swallowed.push(request.socket);
      return;
    }
    if (
      nextToHold !== undefined &&
      nextToHold.method === record.method &&
      (nextToHold.resource === undefined || nextToHold.resource === resource)
    ) {
      nextToHold = undefined;
      record.handling = 'held';
      heldNext.push(record);
      heldNextReleases.push(() => {
        record.handling = 'forwarded';
        if (!response.destroyed) forward(request, body, response, record);
      });
      return;
    }
    if (kind === 'watch' && matches(expiring, resource)) {
      record.handling = 'injected-410';
      record.status = 200;
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(EXPIRED_EVENT);
      return;
    }
    if (kind === 'list' && matches(holding, resource)) {
      record.handling = 'held';
      const release = (): void => {
        if (!response.destroyed) forward(request, body, response, record);
      };
      held.push(release);
      return;
    }
    forward(request, body, response, record);
  };
  const server = https.createServer({ cert: certificates.certPem, key: certificates.keyPem }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, Buffer.concat(chunks), response));
  });
  server.on('connection', (socket: Socket) => {
    if (refusing) {
      connections.refused++;
      socket.resetAndDestroy();
      return;
    }
    connections.served++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that goes away mid-handshake is not the tap's problem.
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'api-tap-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'tap',
          cluster: { server: url, 'certificate-authority-data': Buffer.from(certificates.caPem).toString('base64') },
        },
      ],
      users: [{ name: 'admin', user: { token: options.token } }],
      contexts: [{ name: 'tap', context: { cluster: 'tap', user: 'admin', namespace: 'default' } }],
      'current-context': 'tap',
    }),
    { mode: 0o600 },
  );

  const cutAll = (): number => {
    const count = sockets.size;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    return count;
  };

  return {
    url,
    kubeconfigPath,
    requests,
    get connections() {
      return { ...connections, open: sockets.size };
    },
    refuse(on) {
      refusing = on;
    },
    cutAll,
    holdLists(on, resource) {
      holding = on ? { resource } : undefined;
      if (!on) {
        const waiting = held;
        held = [];
        for (const release of waiting) release();
      }
    },
    get heldLists() {
      return held.length;
    },
    holdNext(match) {
      nextToHold = match;
    },
    heldNext,
    releaseHeld() {
      const releases = heldNextReleases;
      heldNextReleases = [];
      for (const release of releases) release();
    },
    blackhole(on) {
      blackholing = on;
      if (!on) {
        for (const socket of swallowed) socket.destroy();
        swallowed = [];
      }
    },
    answerWatchesWith410(on, resource) {
      expiring = on ? { resource } : undefined;
    },
    count(kind, resource, since = 0) {
      return requests.filter(
        (r) => r.kind === kind && (resource === undefined || r.resource === resource) && r.at >= since,
      ).length;
    },
    async close() {
      held = [];
      heldNextReleases = [];
      swallowed = [];
      cutAll();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
