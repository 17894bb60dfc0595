// What a secretTemplate set on a Secret the operator writes (the token Secret, the credentials
// Secret): the keys it set last, recorded in the Secret's template-metadata annotation, so that a
// key dropped from the template is removed and one set by someone else is never taken for its.

/** The keys the template set last, as the Secret's annotation records them. */
export interface TemplateKeys {
  labels: string[];
  annotations: string[];
  /** Data keys: recorded for a Secret whose data is merged (the credentials Secret), not replaced. */
  data: string[];
}

const NONE: TemplateKeys = { labels: [], annotations: [], data: [] };

export function readTemplateKeys(text: string | undefined): TemplateKeys {
  try {
    const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
    const strings = (value: unknown): string[] =>
      Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
    if (typeof parsed !== 'object' || parsed === null) return NONE;
    const { labels, annotations, data } = parsed as Record<string, unknown>;
    return { labels: strings(labels), annotations: strings(annotations), data: strings(data) };
  } catch {
    // A hand-edited annotation: the template's metadata is written again in full.
    return NONE;
  }
}

export function pick(map: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((key) => (map[key] === undefined ? [] : [[key, map[key]]])));
}

/** Metadata with what the template set last removed and what it sets now put in, under the operator's own. */
export function templated(
  existing: Record<string, string> | undefined,
  previous: readonly string[],
  wanted: Record<string, string>,
): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(existing ?? {}).filter(([key]) => !previous.includes(key)));
  return { ...kept, ...wanted };
}
