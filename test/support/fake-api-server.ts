// A stand-in API server for unit tests of list/watch code: lists and watches answered by the
// test's handlers, and a kubeconfig that points a KubeConnection at it.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface SeenRequest {
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  accept: string | undefined;
}

export type WatchHandler = (response: http.ServerResponse, request: SeenRequest, watchNumber: number) => void;
export type ListHandler = (request: SeenRequest, listNumber: number) => { status?: number; body: unknown };

/** A stand-in API server: lists and watches answered by the test's handlers. */
export class FakeApiServer {
  readonly requests: SeenRequest[] = [];
  readonly sockets = new Set<Socket>();
  private readonly server: http.Server;
  private readonly openWatches = new Set<http.ServerResponse>();
  listHandler: ListHandler = () => ({
    body: { kind: 'ThingList', apiVersion: 'example.com/v1', metadata: { resourceVersion: '1' }, items: [] },
  });
  watchHandler: WatchHandler = (response) => this.holdOpen(response);

  constructor() {
    this.server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const seen = {
        path: url.pathname,
        query: url.searchParams,
        authorization: request.headers.authorization,
        accept: request.headers.accept,
      };
      this.requests.push(seen);
      if (url.searchParams.get('watch') === '1') {
        this.openWatches.add(response);
        response.on('close', () => this.openWatches.delete(response));
        this.watchHandler(response, seen, this.watches().length);
        return;
      }
      const { status = 200, body } = this.listHandler(seen, this.lists().length);
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    });
    this.server.on('connection', (socket) => this.sockets.add(socket));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  watches(): SeenRequest[] {
    return this.requests.filter((request) => request.query.get('watch') === '1');
  }

  lists(): SeenRequest[] {
    return this.requests.filter((request) => request.query.get('watch') !== '1');
  }

  holdOpen(response: http.ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.flushHeaders();
  }

  static send(response: http.ServerResponse, type: string, object: unknown): void {
    response.write(`${JSON.stringify({ type, object })}\n`);
  }

  async stop(): Promise<void> {
    for (const response of this.openWatches) response.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export function kubeConfigFor(server: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  return kubeConfig;
}
