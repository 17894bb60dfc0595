import type http from 'node:http';
import fetch, { type Headers } from 'node-fetch';
import { admit, literalAddress, type AddressRefusal } from './address-policy.js';
import { ADDRESS_REFUSED, createAgent } from './agent.js';
import type { InfluxClientOptions, InfluxFailure, RequestSample, UnreachableReason } from './types.js';

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_MAX_LIST_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_USER_AGENT = 'influx-onboarding-operator';

export interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  /** The fixed metrics label, e.g. 'GET /api/v2/setup'. */
  endpoint: string;
  query?: Record<string, string>;
  body?: unknown;
  authToken?: string;
  /** HTTP basic auth instead of a token (sign-in). */
  basicAuth?: { username: string; password: string };
  /** A Cookie header (a sign-in's session, to sign out). */
  cookie?: string;
  /** A list that grows with the instance, unpaged: capped at maxListResponseBytes instead. */
  growingList?: boolean;
}

/** A complete answer: status, headers and the whole body (within the size cap). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  url: URL;
}

type Exchange = { ok: true; answer: Answer } | { ok: false; failure: InfluxFailure };

export interface Transport {
  send(call: Call): Promise<Exchange>;
  close(): void;
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    // The text is not echoed: it may carry credentials.
    throw new Error('InfluxDB baseUrl is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('InfluxDB baseUrl must use http or https');
  if (url.username !== '' || url.password !== '') throw new Error('InfluxDB baseUrl must not carry credentials');
  if (url.search !== '' || url.hash !== '') throw new Error('InfluxDB baseUrl must not have a query or fragment');
  return url;
}

function buildUrl(base: URL, call: Call): URL {
  const url = new URL(base.href);
  url.pathname = base.pathname.replace(/\/+$/, '') + call.path;
  for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
  return url;
}

function statusClassOf(status: number): RequestSample['statusClass'] {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

const NETWORK_DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'name resolution failed temporarily',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ERR_STREAM_PREMATURE_CLOSE: 'connection closed before the answer was complete',
};

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|SELF_SIGNED|^UNABLE_TO_/;

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error;
  // Only well-formed codes are echoed; anything else might be text from the wire.
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function unreachable(reason: UnreachableReason, message: string, status?: number): Exchange {
  return { ok: false, failure: { kind: 'unreachable', reason, message, ...(status === undefined ? {} : { status }) } };
}

function refused(refusal: AddressRefusal): Exchange {
  return {
    ok: false,
    failure: {
      kind: 'refused',
      reason: refusal.reason,
      message: `refused before connecting: ${refusal.message}`,
      ...(refusal.owners !== undefined && { owners: refusal.owners }),
    },
  };
}

function describeThrown(
  error: unknown,
  timeoutMs: number,
  timedOut: boolean,
  lastRefusal: AddressRefusal | undefined,
): Exchange {
  if (timedOut && isAbort(error)) return unreachable('timeout', `InfluxDB did not answer within ${timeoutMs} ms`);
  const code = errorCode(error);
  if (code === ADDRESS_REFUSED && lastRefusal !== undefined) return refused(lastRefusal);
  if (code !== undefined && TLS_CODE.test(code))
    return unreachable('tls', `TLS connection to InfluxDB failed (${code})`);
  if (code === undefined) return unreachable('network', 'request to InfluxDB failed');
  return unreachable('network', `cannot reach InfluxDB: ${NETWORK_DESCRIPTIONS[code] ?? 'request failed'} (${code})`);
}

type BodyRead = { complete: true; text: string } | { complete: false };

async function readCapped(body: NodeJS.ReadableStream | null, maxBytes: number): Promise<BodyRead> {
  if (body === null) return { complete: true, text: '' };
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    // Returning from the loop destroys the stream, so nothing past the cap is read.
    if (received > maxBytes) return { complete: false };
    chunks.push(bytes);
  }
  return { complete: true, text: Buffer.concat(chunks).toString('utf8') };
}

/** The headers of a call: what InfluxDB answers with, who asks, and how it authenticates. */
function headersOf(call: Call, userAgent: string): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': userAgent };
  if (call.authToken !== undefined) headers.Authorization = `Token ${call.authToken}`;
  if (call.basicAuth !== undefined) {
    const { username, password } = call.basicAuth;
    headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }
  if (call.cookie !== undefined) headers.Cookie = call.cookie;
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  return headers;
}

export function createTransport(options: InfluxClientOptions): Transport {
  return new HttpTransport(options);
}

/**
 * One instance's connections: every request admitted by the address policy and the guard (a
 * literal address before each request, a resolved one at every new connection), timed out, and
 * capped in size.
 */
class HttpTransport implements Transport {
  private readonly base: URL;
  private readonly literal: string | undefined;
  private readonly maxBytes: number;
  private readonly maxListBytes: number;
  private readonly userAgent: string;
  private readonly admission: ReturnType<typeof admit>;
  private readonly agent: http.Agent;
  // node-fetch passes on only the code of the error our lookup raised: the verdict is kept here.
  private lastRefusal: AddressRefusal | undefined;

  constructor(private readonly options: InfluxClientOptions) {
    this.base = parseBaseUrl(options.baseUrl);
    this.maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxListBytes = options.maxListResponseBytes ?? DEFAULT_MAX_LIST_RESPONSE_BYTES;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    const { guard } = options;
    this.admission = admit(this.base, options, guard?.resolveAs);
    this.literal = literalAddress(this.base);
    const policyCheck = this.admission.kind === 'allowed' ? this.admission.checkResolved : undefined;
    const checks = [policyCheck, guard && ((address: string) => guard.check(address))].filter(
      (check): check is (address: string) => AddressRefusal | undefined => check !== undefined,
    );
    this.agent = createAgent({
      https: this.base.protocol === 'https:',
      caPem: options.caPem,
      insecureSkipVerify: options.insecureSkipVerify,
      ...(guard?.resolveAs !== undefined && { resolveAs: guard.resolveAs }),
      ...(checks.length > 0 && {
        checkResolved: (address: string) => {
          for (const check of checks) {
            const refusal = check(address);
            if (refusal !== undefined) return (this.lastRefusal = refusal);
          }
          return undefined;
        },
      }),
    });
  }

  async send(call: Call): Promise<Exchange> {
    const started = performance.now();
    const exchange = await this.perform(call);
    this.options.onRequest?.({
      endpoint: call.endpoint,
      statusClass: exchange.ok ? statusClassOf(exchange.answer.status) : 'error',
      seconds: (performance.now() - started) / 1000,
    });
    return exchange;
  }

  close(): void {
    this.agent.destroy();
  }

  private async perform(call: Call): Promise<Exchange> {
    const refusal = this.options.refusal?.();
    if (refusal !== undefined) throw new Error(refusal);
    if (this.admission.kind === 'refused') return refused(this.admission.refusal);
    // A literal address is never looked up: the guard's verdict on it may change between requests.
    const literalRefusal = this.literal === undefined ? undefined : this.options.guard?.check(this.literal);
    if (literalRefusal !== undefined) return refused(literalRefusal);
    const url = buildUrl(this.base, call);
    const maxBytes = call.growingList === true ? this.maxListBytes : this.maxBytes;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: call.method,
        headers: headersOf(call, this.userAgent),
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        agent: this.agent,
        // Following a redirect would carry the token to wherever the redirect points.
        redirect: 'manual',
        signal: controller.signal,
      });
      const declaredLength = Number(response.headers.get('content-length') ?? 0);
      const body =
        declaredLength > maxBytes ? ({ complete: false } as const) : await readCapped(response.body, maxBytes);
      if (!body.complete) {
        controller.abort();
        return unreachable('too-large', `InfluxDB answer exceeds ${maxBytes} bytes`, response.status);
      }
      return { ok: true, answer: { status: response.status, headers: response.headers, text: body.text, url } };
    } catch (error) {
      return describeThrown(error, this.options.timeoutMs, timedOut, this.lastRefusal);
    } finally {
      clearTimeout(timer);
    }
  }
}
