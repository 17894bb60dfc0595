import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  createConfiguration,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import type {
  ApiConstructor,
  ApiType,
  HttpLibrary,
  KubeConfig,
  RequestContext,
  SecurityAuthentication,
} from '@kubernetes/client-node';

interface KubeConnectionOptions {
  /** Bound on each generated-client call unless the caller sets its own signal; default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Idle keep-alive sockets are closed after this long (Go's IdleConnTimeout is 90 s); kept
   * below the API server's own idle timeout so we never reuse a socket the server is closing.
   */
  idleSocketTimeoutMs?: number;
  /** Credentials read from the KubeConfig serve the requests of this long after; default 1 s. */
  credentialsReuseMs?: number;
  /** Milliseconds since some fixed point, for the reuse of credentials; default Date.now. */
  now?: () => number;
}

/** What a request needs to reach the API server as the configured user. */
interface RequestAuth {
  agent: http.Agent;
  headers: Record<string, string>;
}

/** A raw GET of an API path (with query), as list/watch loops need it. */
export interface ApiGetter {
  /** `accept` defaults to application/json. */
  get(pathAndQuery: string, signal: AbortSignal, accept?: string): Promise<http.IncomingMessage>;
}

type TlsMaterial = Pick<
  https.RequestOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'
>;

function fingerprint(material: TlsMaterial): string {
  const hash = createHash('sha256');
  for (const value of [material.ca, material.cert, material.key, material.pfx, material.passphrase]) {
    hash.update(JSON.stringify(value ?? null));
  }
  hash.update(String(material.rejectUnauthorized));
  hash.update(material.servername ?? '');
  return hash.digest('hex');
}

function headerValue(value: number | string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * Sends the generated clients' requests with node's own http(s).request on the agent the
 * authentication set, instead of client-node's node-fetch 2: its Request, Headers and body stream
 * per call cost more CPU than the call itself (docs/cost-curve.md, "Where the CPU goes"). The
 * deadline is a timer cleared when the answer is in; AbortSignal.timeout per call would leave a
 * timer behind every call that, when it fires, builds an exception with a stack trace.
 */
function agentHttpLibrary(timeoutMs: number): HttpLibrary {
  return wrapHttpLibrary({
    send: (context: RequestContext) =>
      new Promise((resolve, reject) => {
        const body = context.getBody();
        if (body !== undefined && typeof body !== 'string') {
          reject(new Error('only JSON bodies are sent to the API server'));
          return;
        }
        const url = new URL(context.getUrl());
        const signal = context.getSignal();
        const request = (url.protocol === 'https:' ? https : http).request(
          url,
          {
            method: context.getHttpMethod(),
            headers: context.getHeaders(),
            agent: context.getAgent(),
            ...(signal !== undefined && { signal }),
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', fail);
            response.on('end', () => {
              clearTimeout(deadline);
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(response.headers)) {
                const text = headerValue(value);
                if (text !== undefined) headers[name] = text;
              }
              const data = Buffer.concat(chunks);
              resolve(
                new ResponseContext(response.statusCode ?? 0, headers, new SelfDecodingBody(Promise.resolve(data))),
              );
            });
          },
        );
        const deadline = setTimeout(
          () => request.destroy(new Error(`request aborted: no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        function fail(error: Error): void {
          clearTimeout(deadline);
          reject(error);
        }
        request.on('error', fail);
        request.end(body);
      }),
  });
}

/**
 * The one connection to one API server. client-node 1.4 builds a new https.Agent for every
 * request (KubeConfig.applySecurityAuthentication -> createAgent), so nothing is ever reused and
 * sockets pile up. Here every generated API client and every list/watch shares one keep-alive
 * agent. Auth material is taken from the KubeConfig as client-node does, so bearer tokens from
 * token files (in-cluster, re-read every minute) and exec plugins keep refreshing; what it read
 * serves the requests of the next second too (reading it, a throwaway agent included, cost more
 * than a request at thousands of requests a minute). A new agent is made only if the TLS material
 * itself changes (an exec plugin rotating its client certificate).
 */
export class KubeConnection implements ApiGetter {
  readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly idleSocketTimeoutMs: number;
  private agent: http.Agent | undefined;
  private agentFingerprint: string | undefined;
  private agentsMade = 0;
  private readonly authentication: SecurityAuthentication;
  private refuse: ((method: string, url: string) => string | undefined) | undefined;
  private readonly httpApi: HttpLibrary;
  private readonly credentialsReuseMs: number;
  private readonly now: () => number;
  private recentAuth: { readAt: number; auth: Promise<RequestAuth> } | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: KubeConnectionOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.idleSocketTimeoutMs = options.idleSocketTimeoutMs ?? 60_000;
    this.credentialsReuseMs = options.credentialsReuseMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.httpApi = agentHttpLibrary(this.requestTimeoutMs);
    this.authentication = {
      getName: () => 'kubeconfig with shared agent',
      applySecurityAuthentication: async (context: RequestContext) => {
        const refusal = this.refuse?.(context.getHttpMethod(), context.getUrl());
        if (refusal !== undefined) throw new Error(refusal);
        const { agent, headers } = await this.requestAuth();
        for (const [name, value] of Object.entries(headers)) context.setHeaderParam(name, value);
        context.setAgent(agent);
      },
    };
  }

  /**
   * Asked before each generated-client request (not list/watch): a reason refuses it, and the
   * call fails with it without anything being sent.
   */
  refuseWhen(check: (method: string, url: string) => string | undefined): void {
    this.refuse = check;
  }

  /** A generated API client (CoreV1Api, CustomObjectsApi, ...) that uses the shared agent. */
  makeApiClient<T extends ApiType>(apiType: ApiConstructor<T>): T {
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      authMethods: { default: this.authentication },
      httpApi: this.httpApi,
    });
    return new apiType(configuration);
  }

  /** Headers and the shared agent for one request, with credentials read at most credentialsReuseMs ago. */
  requestAuth(): Promise<RequestAuth> {
    const now = this.now();
    const recent = this.recentAuth;
    if (recent !== undefined && now - recent.readAt < this.credentialsReuseMs) return recent.auth;
    const auth = this.readAuth();
    this.recentAuth = { readAt: now, auth };
    // A failed read is not reused: the next request reads again.
    auth.catch(() => {
      if (this.recentAuth?.auth === auth) this.recentAuth = undefined;
    });
    return auth;
  }

  private async readAuth(): Promise<RequestAuth> {
    const options: https.RequestOptions = {};
    // This also makes a throwaway agent inside client-node; it is never used, so it opens no socket.
    await this.kubeConfig.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const text = headerValue(value);
      if (text !== undefined) headers[name] = text;
    }
    if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    return { agent: this.agentFor(options, options.agent), headers };
  }

  get(pathAndQuery: string, signal: AbortSignal, accept = 'application/json'): Promise<http.IncomingMessage> {
    return this.requestAuth().then(
      ({ agent, headers }) =>
        new Promise((resolve, reject) => {
          const url = new URL(this.server + pathAndQuery);
          const transport = url.protocol === 'https:' ? https : http;
          const request = transport.request(
            url,
            { method: 'GET', agent, signal, headers: { ...headers, Accept: accept } },
            resolve,
          );
          request.on('error', reject);
          request.end();
        }),
    );
  }

  /** How many agents this connection has made: 1 unless TLS credentials rotated. */
  get agentCount(): number {
    return this.agentsMade;
  }

  /** Closes every socket; in-flight requests fail. For process shutdown and tests. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.agentFingerprint = undefined;
    this.recentAuth = undefined;
  }

  private agentFor(material: TlsMaterial, clientNodeAgent: https.RequestOptions['agent']): http.Agent {
    const print = fingerprint(material);
    if (this.agent && this.agentFingerprint === print) return this.agent;
    this.agent = this.makeAgent(material, clientNodeAgent);
    this.agentFingerprint = print;
    this.agentsMade++;
    return this.agent;
  }

  private makeAgent(material: TlsMaterial, clientNodeAgent: https.RequestOptions['agent']): http.Agent {
    // client-node builds proxy agents (HTTP CONNECT, SOCKS) from its own dependencies; reuse the
    // one it just made rather than duplicating that, accepting that it does not keep sockets alive.
    if (this.kubeConfig.getCurrentCluster()?.proxyUrl && clientNodeAgent instanceof http.Agent) {
      return clientNodeAgent;
    }
    const common = { keepAlive: true, timeout: this.idleSocketTimeoutMs };
    if (this.server.startsWith('http:')) return new http.Agent(common);
    return new https.Agent({ ...common, ...material });
  }
}
