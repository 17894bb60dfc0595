// What a checked secretTemplate is (src/api/secret-template.ts checks and renders it): types only,
// so that the onboarding's spec (api/types.ts) can hold one without importing the checks.

/** Every value a template may use, by the name it is written with (`{{ .orgID }}`). */
export const TEMPLATE_VALUE_NAMES = [
  'url',
  'org',
  'orgID',
  'bucket',
  'bucketID',
  'token',
  'v1Username',
  'v1Password',
  'database',
  'retentionPolicy',
] as const;
export type TemplateValueName = (typeof TEMPLATE_VALUE_NAMES)[number];
export type TemplateValues = Partial<Record<TemplateValueName, string>>;

/** One piece of a data template: literal text, or a value put in as it is. */
export type TemplatePart = { text: string } | { value: TemplateValueName };

/** A checked template. Metadata is copied as it is; only data is templated. */
export interface SecretTemplate {
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Each data key's template, in the order written. */
  data: Array<{ key: string; parts: TemplatePart[] }>;
}
