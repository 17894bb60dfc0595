/**
 * docs/configuration.md documents every flag the operator accepts (read from its --help), with
 * the environment variable and default the code has, and every value of the Helm chart (read from
 * values.yaml), with its default; and no flag or value that does not exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { column, readMarkdown, repositoryRoot, tablesUnder, type MarkdownFile } from '../support/markdown.js';

const PAGE = 'docs/configuration.md';

interface Flag {
  name: string;
  env?: string;
  default?: string;
}

function flags(): Flag[] {
  const help = loadConfig(['--help'], {});
  if (help.kind !== 'help') throw new Error('--help printed no help');
  return [...help.text.matchAll(/^ {2}(--[a-z-]+)\S*\n\s+.*?(?:\(default: (.*?); env (\w+)\))?$/gm)].map((match) => ({
    name: match[1] ?? '',
    ...(match[3] !== undefined && { env: match[3] }),
    ...(match[2] !== undefined && { default: match[2] }),
  }));
}

/** Rows of the tables under a heading, keyed by the named column, each row as header -> cell. */
function rows(page: MarkdownFile, anchor: string, key: string): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  for (const table of tablesUnder(page, anchor)) {
    const at = column(table, key);
    if (at < 0) continue;
    for (const row of table.rows)
      found.set(row[at] ?? '', Object.fromEntries(table.header.map((header, index) => [header, row[index] ?? ''])));
  }
  return found;
}

/** Every value of values.yaml by its dotted path: maps are walked into, anything else is a value. */
function chartValues(node: unknown, prefix = ''): Map<string, unknown> {
  const values = new Map<string, unknown>();
  if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.keys(node).length > 0) {
    for (const [key, child] of Object.entries(node)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      values.set(path, child);
      for (const [inner, value] of chartValues(child, path)) values.set(inner, value);
    }
  }
  return values;
}

/** A default as the table writes it (code spans already unwrapped). */
function written(value: unknown): string {
  if (value === '') return '""';
  if (Array.isArray(value)) return `[${value.map(String).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return '{}';
  return String(value);
}

test('every flag of --help has its row, with its environment variable and default; no row for another', () => {
  const expected = flags();
  assert.ok(expected.length > 20 && expected.some((flag) => flag.name === '--namespaces'), JSON.stringify(expected));
  const documented = rows(readMarkdown(PAGE), 'flags', 'flag');
  const problems: string[] = [];
  for (const flag of expected) {
    const row = documented.get(flag.name);
    if (row === undefined) {
      problems.push(`${flag.name}: no row`);
      continue;
    }
    if ((row['environment variable'] ?? '') !== (flag.env ?? ''))
      problems.push(`${flag.name}: the environment variable is ${flag.env ?? 'none'}`);
    const shown = row.default ?? '';
    if (flag.default !== undefined && !shown.startsWith(flag.default))
      problems.push(`${flag.name}: the default is ${flag.default}, the row says ${shown}`);
  }
  for (const name of documented.keys())
    if (!expected.some((flag) => flag.name === name)) problems.push(`${name}: not a flag`);
  assert.equal(problems, []);
});

test('every chart value has its row (or its parent has), with its default; no row for another', () => {
  const values = chartValues(
    parse(readFileSync(join(repositoryRoot, 'deploy/influx-onboarding-operator/values.yaml'), 'utf8')),
  );
  assert.ok(values.has('image.repository') && values.has('networkPolicy.apiServer.ports'), [...values.keys()].join());
  const documented = rows(readMarkdown(PAGE), 'chart-values', 'value');
  const problems: string[] = [];
  for (const [path, value] of values) {
    const isLeaf = ![...values.keys()].some((other) => other.startsWith(`${path}.`));
    const covered = path.split('.').some((_, index, parts) => documented.has(parts.slice(0, index + 1).join('.')));
    if (isLeaf && !covered) problems.push(`${path}: no row`);
    const row = documented.get(path);
    if (row !== undefined && isLeaf && row.default !== written(value))
      problems.push(`${path}: the default is ${written(value)}, the row says ${row.default ?? ''}`);
  }
  for (const path of documented.keys()) if (!values.has(path)) problems.push(`${path}: not a chart value`);
  assert.equal(problems, []);
});

test.run();
