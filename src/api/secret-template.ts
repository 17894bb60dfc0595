/**
 * secretTemplate: extra keys for a Secret the operator writes, shaped for one consumer (Telegraf's
 * environment, an `influx` CLI configs file, a Grafana datasource), in the syntax External
 * Secrets users know: `{{ .token }}`. Plain substitution only, as Go's text/template reads it:
 * `{{ .name }}` of a listed value, a quoted string (`{{ "{{" }}` writes braces), a comment, and
 * the `{{-`/`-}}` whitespace trimming. No functions, no pipelines, no HTML escaping (a token's `==`
 * and a URL's `/` come out as they are), and nothing but the listed values can be read.
 *
 * Pure: checking reads only the template, rendering only the values it is given; neither logs.
 */
import { GROUP, MANAGED_BY_LABEL } from './types.js';
import { SECRET_DATA_KEY, isRecord } from './fields.js';
import {
  TEMPLATE_VALUE_NAMES,
  type SecretTemplate,
  type TemplatePart,
  type TemplateValueName,
  type TemplateValues,
} from './template-types.js';

export type Rendered = { ok: true; data: Record<string, string> } | { ok: false; problems: string[] };

export const DEFAULT_SECRET_TYPE = 'Opaque';
/** A Secret holds at most 1 MiB; the templates stay well below so the rendered values fit beside the canonical keys. */
export const TEMPLATE_MAX_BYTES = 256 * 1024;
export const TEMPLATE_MAX_KEYS = 64;

/**
 * Built-in Secret types whose controllers act on the Secret (a service-account token is filled in
 * and tracked; a bootstrap token authenticates nodes): never for credentials the operator writes.
 */
const REFUSED_TYPES = ['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token'];
/** The keys the API server requires for the other built-in types: one of each inner list. */
const REQUIRED_KEYS: Record<string, string[][]> = {
  'kubernetes.io/basic-auth': [['username', 'password']],
  'kubernetes.io/ssh-auth': [['ssh-privatekey']],
  'kubernetes.io/tls': [['tls.crt'], ['tls.key']],
  'kubernetes.io/dockerconfigjson': [['.dockerconfigjson']],
  'kubernetes.io/dockercfg': [['.dockercfg']],
};
const SECRET_TYPE = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

// Kubernetes' qualified names (label and annotation keys) and label values.
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return 'its prefix must be a lowercase DNS subdomain of at most 253 characters';
  if (name.length > 63 || !NAME_PART.test(name))
    return "its name must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/** The operator's own labels and annotations: a template may not set them (they decide what the operator owns). */
function isReserved(key: string): boolean {
  if (key === MANAGED_BY_LABEL) return true;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  return prefix === GROUP || prefix.endsWith(`.${GROUP}`);
}

function checkMetadataMap(
  value: unknown,
  field: string,
  kind: 'label' | 'annotation',
  problems: string[],
): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    problems.push(`${field}: must be a map of ${kind} keys to string values`);
    return {};
  }
  const checked: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    const at = `${field}[${JSON.stringify(key)}]`;
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem !== undefined) problems.push(`${at}: not a valid ${kind} key: ${keyProblem}`);
    else if (isReserved(key))
      problems.push(`${at}: the operator's own ${kind}s (${GROUP}/*, ${MANAGED_BY_LABEL}) cannot be set by a template`);
    if (typeof entry !== 'string') problems.push(`${at}: must be a string`);
    else if (kind === 'label' && entry !== '' && (entry.length > 63 || !NAME_PART.test(entry)))
      problems.push(
        `${at}: not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      );
    else checked[key] = entry;
  }
  return checked;
}

const ALLOWED_ACTIONS = `{{ .name }} of ${TEMPLATE_VALUE_NAMES.join(', ')}; a quoted string; or a comment`;

/** Go's interpreted string literal, as far as JSON shares its escapes; undefined for anything else. */
function stringLiteral(text: string): string | undefined {
  if (text.length >= 2 && text.startsWith('`') && text.endsWith('`') && !text.slice(1, -1).includes('`'))
    return text.slice(1, -1);
  if (!/^"([^"\\\n]|\\.)*"$/.test(text)) return undefined;
  try {
    return JSON.parse(text) as string;
  } catch {
    return undefined;
  }
}

/** Where the action that starts `text` ends: the first `}}` outside a quoted string (as Go's lexer reads it), or -1. */
function actionEnd(text: string): number {
  // A comment ends at its `*/`, whatever it contains.
  const comment = /^(- )?\/\*/.exec(text);
  const start = comment === null ? 0 : text.indexOf('*/', comment[0].length);
  if (start < 0) return -1;
  let quote: string | undefined;
  for (let index = start; index < text.length; index += 1) {
    const character = text[index];
    if (quote !== undefined) {
      if (quote === '"' && character === '\\') index += 1;
      else if (character === quote) quote = undefined;
    } else if (character === '"' || character === '`') {
      quote = character;
    } else if (text.startsWith('}}', index)) {
      return index;
    }
  }
  return -1;
}

const TRIM_LEFT = /^-[ \t\r\n]/;
const TRIM_RIGHT = /[ \t\r\n]-$/;

/** One data template into its parts; each problem names the key's field and what is allowed. */
function parseTemplate(text: string, at: string, problems: string[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let rest = text;
  let trimNext = false;
  const addText = (literal: string) => {
    if (literal !== '') parts.push({ text: literal });
  };
  for (;;) {
    const open = rest.indexOf('{{');
    const before = open < 0 ? rest : rest.slice(0, open);
    const inner = open < 0 ? '' : rest.slice(open + 2);
    const close = actionEnd(inner);
    const rawAction = close < 0 ? '' : inner.slice(0, close);
    const trimBefore = TRIM_LEFT.test(rawAction);
    let literal = trimNext ? before.replace(/^[ \t\r\n]+/, '') : before;
    if (trimBefore) literal = literal.replace(/[ \t\r\n]+$/, '');
    addText(literal);
    if (open < 0) return parts;
    if (close < 0) {
      problems.push(`${at}: an action opened with {{ is never closed with }}`);
      return parts;
    }
    trimNext = TRIM_RIGHT.test(rawAction);
    const action = rawAction.slice(trimBefore ? 1 : 0, trimNext ? -1 : undefined).trim();
    rest = inner.slice(close + 2);
    const shown = `{{${rawAction}}}`;
    const reference = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action)?.[1];
    if (reference !== undefined) {
      if ((TEMPLATE_VALUE_NAMES as readonly string[]).includes(reference))
        parts.push({ value: reference as TemplateValueName });
      else problems.push(`${at}: unknown value ${JSON.stringify(reference)} in ${shown}; allowed: ${ALLOWED_ACTIONS}`);
      continue;
    }
    // Go allows a comment only directly inside the delimiters (and their trim markers).
    if (/^\/\*[\s\S]*\*\/$/.test(rawAction.slice(trimBefore ? 2 : 0, trimNext ? -2 : undefined))) continue;
    const literalText = stringLiteral(action);
    if (literalText !== undefined) {
      addText(literalText);
      continue;
    }
    problems.push(
      `${at}: unsupported action ${shown}: templates substitute values only (no functions, pipelines or conditions); allowed: ${ALLOWED_ACTIONS}`,
    );
  }
}

/**
 * Checks spec.secretTemplate (`field`) as the CRD's schema and the operator's rules require:
 * `reservedKeys` are the Secret's canonical keys, which stay the operator's. Undefined (with
 * problems) when it is not usable; undefined without problems when there is no template.
 */
export function checkSecretTemplate(
  value: unknown,
  field: string,
  reservedKeys: readonly string[],
  problems: string[],
): SecretTemplate | undefined {
  if (value === undefined) return undefined;
  const before = problems.length;
  if (!isRecord(value)) {
    problems.push(`${field}: must be an object with type, metadata and data`);
    return undefined;
  }
  for (const key of Object.keys(value))
    if (!['type', 'metadata', 'data'].includes(key))
      problems.push(`${field}.${key}: unknown field; allowed: type, metadata, data`);
  const type = checkType(value.type, field, problems);
  const { labels, annotations } = checkMetadata(value.metadata, field, problems);
  const data = checkData(value.data, field, reservedKeys, type, problems);
  if (problems.length > before) return undefined;
  return { type, labels, annotations, data };
}

function checkType(value: unknown, field: string, problems: string[]): string {
  if (value === undefined) return DEFAULT_SECRET_TYPE;
  if (typeof value !== 'string' || value.length > 253 || !SECRET_TYPE.test(value))
    problems.push(`${field}.type: must be a Secret type such as Opaque`);
  else if (REFUSED_TYPES.includes(value))
    problems.push(`${field}.type: ${value} Secrets are acted on by Kubernetes itself; use Opaque`);
  else return value;
  return DEFAULT_SECRET_TYPE;
}

function checkMetadata(
  value: unknown,
  field: string,
  problems: string[],
): Pick<SecretTemplate, 'labels' | 'annotations'> {
  const metadata = value ?? {};
  if (!isRecord(metadata)) problems.push(`${field}.metadata: must be an object with labels and annotations`);
  const metadataFields = isRecord(metadata) ? metadata : {};
  for (const key of Object.keys(metadataFields))
    if (!['labels', 'annotations'].includes(key))
      problems.push(`${field}.metadata.${key}: unknown field; allowed: labels, annotations`);
  return {
    labels: checkMetadataMap(metadataFields.labels, `${field}.metadata.labels`, 'label', problems),
    annotations: checkMetadataMap(metadataFields.annotations, `${field}.metadata.annotations`, 'annotation', problems),
  };
}

function checkData(
  value: unknown,
  field: string,
  reservedKeys: readonly string[],
  type: string,
  problems: string[],
): SecretTemplate['data'] {
  const data: SecretTemplate['data'] = [];
  const rawData = value ?? {};
  if (!isRecord(rawData)) {
    problems.push(`${field}.data: must be a map of Secret keys to templates`);
    return data;
  }
  const entries = Object.entries(rawData);
  if (entries.length > TEMPLATE_MAX_KEYS) problems.push(`${field}.data: at most ${TEMPLATE_MAX_KEYS} keys`);
  const bytes = entries.reduce((sum, [, text]) => sum + (typeof text === 'string' ? Buffer.byteLength(text) : 0), 0);
  if (bytes > TEMPLATE_MAX_BYTES)
    problems.push(`${field}.data: the templates may total at most ${TEMPLATE_MAX_BYTES} bytes`);
  for (const [key, text] of entries) {
    const at = `${field}.data[${JSON.stringify(key)}]`;
    if (key.length > 253 || !SECRET_DATA_KEY.test(key))
      problems.push(`${at}: not a Secret data key: at most 253 letters, digits, '-', '_' or '.'`);
    else if (reservedKeys.includes(key))
      problems.push(`${at}: the operator writes this key itself (${reservedKeys.join(', ')}); choose another name`);
    else if (typeof text !== 'string') problems.push(`${at}: must be a string (a template)`);
    else data.push({ key, parts: parseTemplate(text, at, problems) });
  }
  const keys = new Set([...reservedKeys, ...data.map(({ key }) => key)]);
  for (const needed of REQUIRED_KEYS[type] ?? [])
    if (!needed.some((key) => keys.has(key)))
      problems.push(
        `${field}.type: a ${type} Secret needs the key ${needed.join(' or ')}; add it to data or use Opaque`,
      );
  return data;
}

/** The values a template reads, so that a value it needs but the resource does not provide is reported before anything is written. */
export function templateValuesUsed(template: SecretTemplate): Set<TemplateValueName> {
  return new Set(template.data.flatMap(({ parts }) => parts.flatMap((part) => ('value' in part ? [part.value] : []))));
}

/**
 * The template's data with the values put in. A value the template reads but `values` lacks is a
 * problem naming the key and the value (`field` as checked), never a guess or an empty string.
 */
export function renderSecretTemplate(template: SecretTemplate, values: TemplateValues, field: string): Rendered {
  const problems: string[] = [];
  const data: Record<string, string> = {};
  for (const { key, parts } of template.data) {
    const missing = parts.flatMap((part) => ('value' in part && values[part.value] === undefined ? [part.value] : []));
    if (missing.length > 0) {
      problems.push(
        `${field}.data[${JSON.stringify(key)}]: ${[...new Set(missing)].map((name) => `{{ .${name} }}`).join(', ')} not available for this resource`,
      );
      continue;
    }
    data[key] = parts.map((part) => ('value' in part ? (values[part.value] as string) : part.text)).join('');
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, data };
}
