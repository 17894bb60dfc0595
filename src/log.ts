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

/**
 * Every credential value the process has handled. The log format replaces any occurrence of
 * one of them anywhere in a line, so a value that slips into a message or an error text is
 * still never written.
 */
export class SecretRegistry {
  // Every value under its first MIN_MASKED_LENGTH characters: a line is scanned once, looking up
  // each position, instead of once per value (thousands of resources hold thousands of values).
  private readonly byPrefix = new Map<string, string | string[]>();
  private count = 0;

  add(value: string | undefined): void {
    if (value === undefined || value.length < MIN_MASKED_LENGTH) return;
    const prefix = value.slice(0, MIN_MASKED_LENGTH);
    const known = this.byPrefix.get(prefix);
    if (known === value || (Array.isArray(known) && known.includes(value))) return;
    // Nearly every prefix has one value: stored bare, not in an array of one.
    if (known === undefined) this.byPrefix.set(prefix, value);
    else if (Array.isArray(known)) known.push(value);
    else this.byPrefix.set(prefix, [known, value]);
    this.count += 1;
  }

  /** The text with every stretch that any value covers (overlapping or adjacent ones together) replaced. */
  mask(text: string): string {
    if (this.count === 0 || text.length < MIN_MASKED_LENGTH) return text;
    let masked = '';
    let copiedTo = 0;
    let coveredTo = -1;
    let stretchStart = -1;
    for (let index = 0; index <= text.length - MIN_MASKED_LENGTH; index++) {
      const known = this.byPrefix.get(text.slice(index, index + MIN_MASKED_LENGTH));
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

  get size(): number {
    return this.count;
  }
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
