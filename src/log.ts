import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const REDACTED = '[REDACTED]';
// Field names whose values are credentials whatever they hold.
const SENSITIVE_KEY = /(token|password|secret|authorization|credential|apikey)/i;
// Field names that merely mention credentials by reference and hold no credential value.
const REFERENCE_KEY = /(ref|name|key|id|reason|count|length|present|source)$/i;
// A credential shorter than this would mask innocent text too often to be worth matching.
const MIN_MASKED_LENGTH = 6;

/**
 * Every credential value the process has handled. The log format replaces any occurrence of
 * one of them anywhere in a line, so a value that slips into a message or an error text is
 * still never written.
 */
export class SecretRegistry {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    if (value !== undefined && value.length >= MIN_MASKED_LENGTH) this.values.add(value);
  }

  mask(text: string): string {
    let masked = text;
    for (const value of this.values) {
      if (masked.includes(value)) masked = masked.split(value).join(REDACTED);
    }
    return masked;
  }

  get size(): number {
    return this.values.size;
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

export interface LoggerOptions {
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
