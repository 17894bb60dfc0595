import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { createConfiguration, ServerConfiguration } from '@kubernetes/client-node';
import type {
  ApiConstructor,
  ApiType,
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
 * The one connection to one API server. client-node 1.4 builds a new https.Agent for every
 * request (KubeConfig.applySecurityAuthentication -> createAgent), so nothing is ever reused and
 * sockets pile up. Here every generated API client and every list/watch shares one keep-alive
 * agent. Auth material is still taken from the KubeConfig on each request, exactly as
 * client-node does, so bearer tokens from token files (in-cluster, re-read every minute) and
 * exec plugins keep refreshing. A new agent is made only if the TLS material itself changes
 * (an exec plugin rotating its client certificate).
 */
export class KubeConnection implements ApiGetter {
  readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly idleSocketTimeoutMs: number;
  private agent: http.Agent | undefined;
  private agentFingerprint: string | undefined;
  private agentsMade = 0;
  private readonly authentication: SecurityAuthentication;

  constructor(
    private readonly kubeConfig: KubeConfig,
    options: KubeConnectionOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.idleSocketTimeoutMs = options.idleSocketTimeoutMs ?? 60_000;
    this.authentication = {
      getName: () => 'kubeconfig with shared agent',
      applySecurityAuthentication: async (context: RequestContext) => {
        const { agent, headers } = await this.requestAuth();
        for (const [name, value] of Object.entries(headers)) context.setHeaderParam(name, value);
        context.setAgent(agent);
        context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
      },
    };
  }

  /** A generated API client (CoreV1Api, CustomObjectsApi, ...) that uses the shared agent. */
  makeApiClient<T extends ApiType>(apiType: ApiConstructor<T>): T {
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      authMethods: { default: this.authentication },
    });
    return new apiType(configuration);
  }

  /** Headers and the shared agent for one request, with freshly applied credentials. */
  async requestAuth(): Promise<RequestAuth> {
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
