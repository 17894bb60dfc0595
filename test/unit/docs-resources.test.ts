/**
 * docs/resources.md documents every field of every CRD in crds/: one row per spec and status
 * field in the section named after the kind, no row for a field the CRD does not have, "yes" in
 * the required column exactly for the fields the schema requires, and the schema's default in
 * the default column. And some table of docs/ names every label, annotation and Secret key
 * src/api/ defines.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as onboardingApi from '../../src/api/types.js';
import * as accessApi from '../../src/api/access-types.js';
import { crdPlurals, loadCrd, type Schema } from '../support/crd.js';
import {
  column,
  documentationFiles,
  parseMarkdown,
  readMarkdown,
  tablesUnder,
  type MarkdownFile,
} from '../support/markdown.js';

const PAGE = 'docs/resources.md';

interface Field {
  path: string;
  required: boolean;
  default?: unknown;
}

/**
 * The fields a reader looks up: every property down to a value, a list, or an object that is one
 * value in the docs (a `{name, key}` Secret reference, a map of labels).
 */
function fields(schema: Schema, prefix: string, requiredAbove = true): Field[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const path = `${prefix}.${name}`;
    const field: Field = {
      path,
      // Required for the reader: the resource is invalid without it (its parents are required too).
      required: requiredAbove && (schema.required?.includes(name) ?? false),
      ...(property.default !== undefined && { default: property.default }),
    };
    const keys = Object.keys(property.properties ?? {}).sort();
    const oneValue = property.type !== 'object' || keys.length === 0 || keys.join() === 'key,name';
    return oneValue ? [field] : fields(property, path, field.required);
  });
}

function crdFields(plural: string): { kind: string; fields: Field[] } {
  const crd = loadCrd(plural);
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema ?? {};
  const spec = schema.properties?.spec ?? {};
  const status = schema.properties?.status ?? {};
  return { kind: crd.spec.names.kind, fields: [...fields(spec, 'spec'), ...fields(status, 'status')] };
}

/** What the page says, per field row of the kind's section, and what it says wrong. */
function check(page: MarkdownFile, anchor: string, expected: readonly Field[]): string[] {
  const problems: string[] = [];
  const rows = new Map<string, { required?: string; default?: string }>();
  for (const table of tablesUnder(page, anchor)) {
    const [fieldColumn, requiredColumn, defaultColumn] = ['field', 'required', 'default'].map((name) =>
      column(table, name),
    );
    if (fieldColumn === undefined || fieldColumn < 0) continue;
    for (const row of table.rows) {
      const path = row[fieldColumn] ?? '';
      if (rows.has(path)) problems.push(`${path}: two rows`);
      rows.set(path, {
        ...(requiredColumn !== undefined && requiredColumn >= 0 && { required: row[requiredColumn] ?? '' }),
        ...(defaultColumn !== undefined && defaultColumn >= 0 && { default: row[defaultColumn] ?? '' }),
      });
    }
  }
  for (const field of expected) {
    const row = rows.get(field.path);
    if (row === undefined) {
      problems.push(`${field.path}: no row`);
      continue;
    }
    if (row.required !== undefined && (row.required === 'yes') !== field.required)
      problems.push(`${field.path}: required is ${field.required ? '"yes"' : 'not "yes"'} in the CRD`);
    if (row.default !== undefined && field.default !== undefined && row.default !== textOf(field.default))
      problems.push(`${field.path}: the CRD's default is ${textOf(field.default)}`);
  }
  for (const path of rows.keys())
    if (!expected.some((field) => field.path === path)) problems.push(`${path}: not a field of the CRD`);
  return problems;
}

test('the check reports a missing row, a row for no field, a wrong required and a wrong default', () => {
  const page = parseMarkdown(
    PAGE,
    [
      '## Thing',
      '| field | required | default | meaning |',
      '|---|---|---|---|',
      '| `spec.url` | | | The URL. |',
      '| `spec.mode` | no | `Other` | The mode. |',
      '| `spec.gone` | no | | Removed. |',
    ].join('\n'),
  );
  assert.equal(
    check(page, 'thing', [
      { path: 'spec.url', required: true },
      { path: 'spec.mode', required: false, default: 'Setup' },
      { path: 'status.ready', required: false },
    ]),
    [
      'spec.url: required is "yes" in the CRD',
      "spec.mode: the CRD's default is Setup",
      'status.ready: no row',
      'spec.gone: not a field of the CRD',
    ],
  );
});

test("every field of every CRD has its row in docs/resources.md, with the CRD's required and default", () => {
  const page = readMarkdown(PAGE);
  const plurals = crdPlurals();
  assert.ok(plurals.length >= 3, plurals.join(', '));
  const problems: Record<string, string[]> = {};
  for (const plural of plurals) {
    const { kind, fields: expected } = crdFields(plural);
    const anchor = kind.toLowerCase();
    assert.ok(page.anchors.has(anchor), `${PAGE} has a section #${anchor}`);
    assert.ok(
      expected.some((field) => field.path.startsWith('spec.')) &&
        expected.some((field) => field.path.startsWith('status.')),
    );
    problems[`${kind} in ${PAGE}#${anchor}`] = check(page, anchor, expected);
  }
  assert.equal(problems, Object.fromEntries(Object.keys(problems).map((key) => [key, []])));
});

/** A CRD default or an API constant as a table cell spells it. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

test('the docs name, in a table, every label, annotation and Secret key src/api/ defines', () => {
  const cells = documentationFiles()
    .filter((file) => file.startsWith('docs/'))
    .flatMap((file) => readMarkdown(file).tables.flatMap((table) => table.rows.flat()));
  const names = Object.entries({ ...onboardingApi, ...accessApi })
    .filter(([name]) => /_(LABEL|ANNOTATION|KEY)$/.test(name))
    .map(([, value]) => textOf(value));
  assert.ok(names.length >= 10, names.join(', '));
  assert.equal(
    [...names, ...onboardingApi.SECRET_KEYS].filter((name) => !cells.some((cell) => cell.includes(name))),
    [],
    'named in no table of docs/',
  );
});

test.run();
