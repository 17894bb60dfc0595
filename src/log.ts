import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** What an error says, for a log field: its message only (error objects from HTTP clients can carry request headers). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const REDACTED = '[REDACTED]';
// Field names whose values are credentials whatever they hold.
const SENSITIVE_KEY = /(token|password|secret|authorization|credential|apikey)/i;
// Field names that merely mention credentials by reference and hold no credential value.
const REFERENCE_KEY = /(ref|name|key|id|reason|count|length|present|source|consent)$/i;
// A credential shorter than this would mask innocent text too often to be worth matching.
const MIN_MASKED_LENGTH = 6;
// No credential is longer (the longest InfluxDB token is 88 characters): a longer value is not
// kept, so a tenant's megabyte-long "password" costs nothing here.
export const MAX_MASKED_LENGTH = 4096;

/**
 * The credential values the process holds right now. The log format replaces any occurrence of
 * one of them anywhere in a line, so a value that slips into a message or an error text is
 * still never written.
 *
 * Values are held by an owner (a resource) in parts (what it read from its Secret, what its
 * references hold, a token it just created): holding a part again replaces what that part held,
 * and releasing the owner drops all of its parts. A value no part holds any more is forgotten:
 * the registry grows with what is in use, never with every value a tenant ever wrote.
 */
export class SecretRegistry {
  // Every value under a number made of its first MIN_MASKED_LENGTH characters (prefixCode): a line
  // is scanned once, looking up each position, instead of once per value (thousands of resources
  // hold thousands of values). A number, not the prefix itself: no string kept per value.
  private readonly byPrefix = new Map<number, string | string[]>();
  /** How many parts hold each value. */
  private readonly holds = new Map<string, number>();
  /**
   * Each owner's parts, a plain object per owner (a Map each would take four times the memory: one
   * owner per resource), replaced whole when a part changes (a deleted key would make it slow).
   */
  private readonly owners = new Map<string, Readonly<Record<string, readonly string[]>>>();

  /**
   * The values that `part` of `owner` holds from now on, in place of what it held before. Values
   * shorter than 6 or longer than MAX_MASKED_LENGTH characters are not kept; callers pass only
   * values that are valid as what they are (a password InfluxDB would accept, say).
   */
  hold(owner: string, part: string, values: Iterable<string | undefined>): void {
    // Copied to its exact length: filter's array keeps room for 17 values, and one is held per resource.
    const kept = [...new Set(values)]
      .filter(
        (value): value is string =>
          value !== undefined && value.length >= MIN_MASKED_LENGTH && value.length <= MAX_MASKED_LENGTH,
      )
      .slice();
    const parts = this.owners.get(owner);
    const before = parts?.[part] ?? [];
    if (kept.length === 0 && before.length === 0) return;
    // Taken before the old ones are dropped: a value held before and now is never forgotten in between.
    for (const value of kept) this.take(value);
    for (const value of before) this.drop(value);
    const others = Object.entries(parts ?? {}).filter(([name]) => name !== part);
    const now = kept.length > 0 ? [...others, [part, kept] as const] : others;
    if (now.length > 0) this.owners.set(owner, Object.fromEntries(now));
    else this.owners.delete(owner);
  }

  /** Drops every part of the owner (a resource that is gone). */
  release(owner: string): void {
    const parts = this.owners.get(owner);
    if (parts === undefined) return;
    this.owners.delete(owner);
    for (const values of Object.values(parts)) for (const value of values) this.drop(value);
  }

  /** The text with every stretch that any value covers (overlapping or adjacent ones together) replaced. */
  mask(text: string): string {
    if (this.holds.size === 0 || text.length < MIN_MASKED_LENGTH) return text;
    let masked = '';
    let copiedTo = 0;
    let coveredTo = -1;
    let stretchStart = -1;
    for (let index = 0; index <= text.length - MIN_MASKED_LENGTH; index++) {
      const known = this.byPrefix.get(prefixCode(text, index));
      if (known === undefined) continue;
      for (const value of Array.isArray(known) ? known : [known]) {
        if (!text.startsWith(value, index)) continue;
        if (index > coveredTo) {
          if (stretchStart >= 0) masked += text.slice(copiedTo, stretchStart) + REDACTED;
          if (stretchStart >= 0) copiedTo = coveredTo;
          stretchStart = index;
        }
        coveredTo = Math.max(coveredTo, index + value.length);
      }
    }
    if (stretchStart < 0) return text;
    return masked + text.slice(copiedTo, stretchStart) + REDACTED + text.slice(coveredTo);
  }

  /** Values held now. */
  get size(): number {
    return this.holds.size;
  }

  private take(value: string): void {
    const count = this.holds.get(value) ?? 0;
    this.holds.set(value, count + 1);
    if (count > 0) return;
    const prefix = prefixCode(value, 0);
    const known = this.byPrefix.get(prefix);
    // Nearly every prefix has one value: stored bare, not in an array of one.
    if (known === undefined) this.byPrefix.set(prefix, value);
    else if (Array.isArray(known)) known.push(value);
    else this.byPrefix.set(prefix, [known, value]);
  }

  private drop(value: string): void {
    const count = this.holds.get(value) ?? 0;
    if (count > 1) {
      this.holds.set(value, count - 1);
      return;
    }
    this.holds.delete(value);
    const prefix = prefixCode(value, 0);
    const known = this.byPrefix.get(prefix);
    if (!Array.isArray(known)) {
      this.byPrefix.delete(prefix);
      return;
    }
    const others = known.filter((other) => other !== value);
    this.byPrefix.set(prefix, others.length === 1 ? others[0] : others);
  }
}

/**
 * The MIN_MASKED_LENGTH characters of `text` from `index` as a small integer (a hash: values of
 * different prefixes may share one, and mask compares each value it finds in full).
 */
function prefixCode(text: string, index: number): number {
  let code = 0;
  for (let at = index; at < index + MIN_MASKED_LENGTH; at++) code = (Math.imul(code, 31) + text.charCodeAt(at)) | 0;
  // Within V8's small integers on every platform: a Map key that is no object.
  return code & 0x3fffffff;
}

function redactValue(value: unknown, registry: SecretRegistry, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return registry.mask(value);
  if (value instanceof Error) {
    return { name: value.name, message: registry.mask(value.message) };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, registry, seen));
  if (value !== null && typeof value === 'object') {
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SENSITIVE_KEY.test(key) && !REFERENCE_KEY.test(key) ? REDACTED : redactValue(inner, registry, seen);
    }
    return out;
  }
  return value;
}

/** Redacts a whole log record: credential-named fields and every registered value. */
export function redactRecord(record: LogFields, registry: SecretRegistry): LogFields {
  return redactValue(record, registry, new WeakSet()) as LogFields;
}

function redaction(registry: SecretRegistry): winston.Logform.Format {
  return winston.format((info) => {
    const redacted = redactRecord(info, registry);
    for (const key of Object.keys(redacted)) (info as LogFields)[key] = redacted[key];
    return info;
  })();
}

interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  registry: SecretRegistry;
  stream?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const output =
    options.format === 'json'
      ? winston.format.json()
      : winston.format.printf(({ level, message, timestamp, ...fields }) => {
          const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
          return `${String(timestamp)} ${level} ${String(message)}${rest}`;
        });
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level: options.level,
    format: winston.format.combine(redaction(options.registry), winston.format.timestamp(), output),
    transports: [transport],
  });
}
