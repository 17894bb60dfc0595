// Reading the API server's answers to a reflector: a list page and the continue token at its
// head or tail, an object's resourceVersion, and the Status of a refusal.
import type { IncomingMessage } from 'node:http';

export interface ListResponse<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

// A list's own metadata is a flat object (resourceVersion, continue, remainingItemCount): built-in
// lists put it before their items, lists of custom resources (their keys sorted) after them.
const METADATA_FIRST = /^\{(?:"(?:kind|apiVersion)":"[^"\\]*",)*"metadata":(\{[^{}]*\})/;

const METADATA_LAST = /"metadata":(\{[^{}]*\})\}\s*$/;

/**
 * The continue token of a list page, read from the page's own metadata at its head or its tail
 * without parsing its items, so the next page can be asked for first; undefined when not found.
 * Only a guess: the parsed page's token decides.
 */
export function peekContinue(body: string): string | undefined {
  const metadata = METADATA_FIRST.exec(body.slice(0, 1024)) ?? METADATA_LAST.exec(body.slice(-1024));
  if (!metadata?.[1]) return undefined;
  try {
    const parsed: unknown = JSON.parse(metadata[1]);
    const token = isRecord(parsed) ? parsed.continue : undefined;
    return typeof token === 'string' && token !== '' ? token : undefined;
  } catch {
    return undefined;
  }
}

export function parseListPage<T>(body: string): ListResponse<T> {
  const parsed: unknown = JSON.parse(body);
  if (!isRecord(parsed)) throw new Error('list response is not an object');
  return parsed;
}

export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function resourceVersionOf(object: unknown): string | undefined {
  if (!isRecord(object) || !isRecord(object.metadata)) return undefined;
  const version = object.metadata.resourceVersion;
  return typeof version === 'string' && version !== '' ? version : undefined;
}

export async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function statusMessage(statusCode: number, body: string): string {
  try {
    const status: unknown = JSON.parse(body);
    if (isRecord(status) && typeof status.message === 'string') return `HTTP ${statusCode}: ${status.message}`;
  } catch {
    // Not a Status object; the code alone has to do.
  }
  // The API server answers a resource type it does not serve with a plain-text 404.
  if (statusCode === 404)
    return 'HTTP 404: the API server does not serve this resource type (is its CustomResourceDefinition installed?)';
  return `HTTP ${statusCode}`;
}
