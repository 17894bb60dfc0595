// How the client's request functions (buckets.ts, authorizations.ts, v1.ts) send a request and
// read what its answer means: found, nothing of that name or ID, or deleted.
import type { Expectation } from './responses.js';
import type { Call } from './transport.js';
import type { Deletion, Outcome } from './types.js';

/** How the client sends a request and reads its answer, and how it deletes (a 404 has done its job too). */
export interface Requests {
  call<T>(request: Call, expectation: Expectation<T>): Promise<Outcome<T>>;
  remove(token: string, path: string, endpoint: string, query?: Record<string, string>): Promise<Outcome<Deletion>>;
}

/** InfluxDB answered 404. */
export function isNotFound<T>(outcome: Outcome<T>): boolean {
  return !outcome.ok && outcome.failure.kind === 'rejected' && outcome.failure.status === 404;
}

/** A lookup that found nothing: InfluxDB answers a name that matches nothing with 404, not an empty list. */
export async function orNull<T>(outcome: Promise<Outcome<T | null>>): Promise<Outcome<T | null>> {
  const settled = await outcome;
  return isNotFound(settled) ? { ok: true, value: null } : settled;
}

/** Observed: 404 for an ID that was deleted or never existed, 400 `invalid` for one InfluxDB cannot parse ("id must have a length of 16 bytes"). */
export async function foundByID<T>(outcome: Promise<Outcome<T>>): Promise<Outcome<T | null>> {
  const settled = await outcome;
  const namesNothing =
    isNotFound(settled) || (!settled.ok && settled.failure.kind === 'rejected' && settled.failure.status === 400);
  return namesNothing ? { ok: true, value: null } : settled;
}

/** The expectation with its value also carrying the version InfluxDB stamps on every answer (X-Influxdb-Version), so /health is needed only without it. */
export function versioned<T extends object>(expectation: Expectation<T>): Expectation<T & { version?: string }> {
  return {
    ...expectation,
    parse: (json, answer) => {
      const value = expectation.parse(json, answer);
      const version = answer.headers.get('x-influxdb-version');
      return value !== undefined && version ? { ...value, version } : value;
    },
  };
}
