import { safeMessage } from './messages.js';
import type { Answer } from './transport.js';
import type { InfluxFailure, Outcome } from './types.js';

export interface Expectation<T> {
  /** Reads the 2xx JSON (and headers, for a session cookie); undefined when it is not the shape InfluxDB sends. */
  parse(json: unknown, answer: Answer): T | undefined;
  /** Every password and token the request carried, scrubbed from any message. */
  secrets: readonly string[];
  /** OSS 2.1+ answers a removed route with Go's plain-text 404; it is InfluxDB's own answer. */
  plainNotFoundIsRejection?: boolean;
  /** The answer to a success is 204 without a body (a password change, a sign-in or sign-out). */
  noContent?: boolean;
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fail<T>(failure: InfluxFailure): Outcome<T> {
  return { ok: false, failure };
}

// An unreachable answer is described in our words only: status, and what was wrong with it. The
// server at a URL is whatever a resource's author points it at; echoing its body, headers or
// redirect target into a status would let them read what the operator can reach and they cannot.
function redirectFailure<T>(answer: Answer): Outcome<T> {
  return fail({
    kind: 'unreachable',
    reason: 'redirect',
    status: answer.status,
    message: `the InfluxDB URL answered ${answer.status}, a redirect; redirects are not followed, set the final address`,
  });
}

function notInfluxdb<T>(answer: Answer, why: string): Outcome<T> {
  return fail({
    kind: 'unreachable',
    reason: 'not-influxdb',
    status: answer.status,
    message: `the InfluxDB URL answered ${answer.status} ${why}; something other than InfluxDB may have answered`,
  });
}

/** InfluxDB's error: `{"code","message"}` in the body, the code also in X-Platform-Error-Code. */
function readInfluxError(answer: Answer, json: unknown): { code: string; message: string } | undefined {
  const headerCode = answer.headers.get('x-platform-error-code');
  const body = isJsonObject(json) ? json : undefined;
  const code = typeof body?.code === 'string' && body.code !== '' ? body.code : headerCode;
  if (!code) return undefined;
  return { code, message: typeof body?.message === 'string' ? body.message : '' };
}

/** Turns a complete HTTP answer into the typed outcome, never quoting a raw body. */
export function interpret<T>(answer: Answer, expectation: Expectation<T>): Outcome<T> {
  const { status } = answer;
  const { secrets } = expectation;
  if (status >= 300 && status < 400) return redirectFailure(answer);
  const json = parseJson(answer.text);

  if (status >= 500) {
    return fail({
      kind: 'unreachable',
      reason: 'server-error',
      status,
      message: `the InfluxDB URL answered ${status}`,
    });
  }

  if (status >= 400) {
    const influxError = readInfluxError(answer, json);
    if (influxError) {
      return fail({
        kind: 'rejected',
        status,
        code: safeMessage(influxError.code, secrets),
        message: safeMessage(influxError.message, secrets),
      });
    }
    if (expectation.plainNotFoundIsRejection && status === 404 && answer.text.trim() === '404 page not found') {
      return fail({
        kind: 'rejected',
        status,
        code: 'not found',
        message: 'route not found (removed in InfluxDB OSS 2.1)',
      });
    }
    return notInfluxdb(answer, 'without an InfluxDB error');
  }

  if (expectation.noContent) {
    if (status !== 204) return notInfluxdb(answer, 'instead of the 204 expected');
    const value = expectation.parse(undefined, answer);
    return value === undefined ? notInfluxdb(answer, 'without the expected fields') : { ok: true, value };
  }
  if (json === undefined) return notInfluxdb(answer, 'with a body that is not JSON');
  const value = expectation.parse(json, answer);
  if (value === undefined) return notInfluxdb(answer, 'without the expected fields');
  return { ok: true, value };
}
