/**
 * docs/conditions.md explains every reason the Ready condition can carry. The reasons are read
 * from the code: every exported `...Reason` object of src/api/ is a set of reasons, and each set
 * has a section of the page whose tables hold one row per reason, no more and no fewer.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  column,
  parseMarkdown,
  readMarkdown,
  repositoryRoot,
  tablesUnder,
  type MarkdownFile,
} from '../support/markdown.js';

const PAGE = 'docs/conditions.md';

/** The section of the page (a heading's anchor) that explains each set of reasons, by its export name. */
const SECTION_OF_REASONS: Record<string, string> = {
  Reason: 'influxonboarding',
  AccessReason: 'influxbucket-and-influxtoken',
};

/** Every `...Reason` object src/api/ exports, by export name: its reasons. */
async function reasonSets(): Promise<Map<string, string[]>> {
  const folder = join(repositoryRoot, 'src/api');
  const modules = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const sets = new Map<string, string[]>();
  for (const file of modules) {
    const exports = (await import(pathToFileURL(join(folder, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (!/Reason$/.test(name) || typeof value !== 'object' || value === null || Array.isArray(value)) continue;
      const values = Object.values(value);
      sets.set(name, values.every((entry) => typeof entry === 'string') ? values : Object.keys(value));
    }
  }
  return sets;
}

/** The reasons the rows of the section's tables explain, and the rows that explain badly. */
function documented(page: MarkdownFile, anchor: string): { reasons: string[]; problems: string[] } {
  const reasons: string[] = [];
  const problems: string[] = [];
  for (const table of tablesUnder(page, anchor)) {
    const [reasonColumn, readyColumn] = [column(table, 'reason'), column(table, 'Ready')];
    if (reasonColumn < 0) continue;
    for (const row of table.rows) {
      const reason = row[reasonColumn] ?? '';
      reasons.push(reason);
      if (row.length !== table.header.length || row.some((cell) => cell === ''))
        problems.push(`${reason}: every column needs an entry`);
      if (readyColumn >= 0 && !['True', 'False', 'Unknown'].includes(row[readyColumn] ?? ''))
        problems.push(`${reason}: Ready must be True, False or Unknown`);
    }
  }
  return { reasons, problems };
}

function compare(code: readonly string[], page: readonly string[]): { missing: string[]; unknown: string[] } {
  return {
    missing: code.filter((reason) => !page.includes(reason)),
    unknown: page.filter((reason) => !code.includes(reason)),
  };
}

test('the check reports a reason without a row, a row for no reason and an empty cell', () => {
  const page = parseMarkdown(
    PAGE,
    [
      '## InfluxOnboarding',
      '| Ready | reason | meaning | what to do |',
      '|---|---|---|---|',
      '| True | `Onboarded` | Set up. | Nothing. |',
      '| False | `Gone` | Removed. | |',
      '## Other',
      '| Ready | reason | meaning | what to do |',
      '|---|---|---|---|',
      '| False | `Adopted` | Elsewhere. | Nothing. |',
    ].join('\n'),
  );
  const found = documented(page, 'influxonboarding');
  assert.equal(compare(['Onboarded', 'Adopted'], found.reasons), { missing: ['Adopted'], unknown: ['Gone'] });
  assert.equal(found.problems, ['Gone: every column needs an entry']);
});

test('every Ready reason defined in src/api/ has exactly one row in docs/conditions.md, in its section', async () => {
  const sets = await reasonSets();
  assert.ok(sets.size > 0, 'src/api/ exports no ...Reason object: the test would check nothing');
  const page = readMarkdown(PAGE);
  const findings: Record<string, { missing: string[]; unknown: string[]; twice: string[]; problems: string[] }> = {};
  for (const [name, reasons] of sets) {
    const anchor = SECTION_OF_REASONS[name];
    assert.ok(anchor, `src/api/ exports ${name}: give it a section in ${PAGE} and add it to SECTION_OF_REASONS`);
    assert.ok(page.anchors.has(anchor), `${PAGE} has a section #${anchor}`);
    const found = documented(page, anchor);
    findings[`${name} in ${PAGE}#${anchor}`] = {
      ...compare(reasons, found.reasons),
      twice: found.reasons.filter((reason, index) => found.reasons.indexOf(reason) !== index),
      problems: found.problems,
    };
  }
  const clean = Object.fromEntries(
    Object.keys(findings).map((key) => [key, { missing: [], unknown: [], twice: [], problems: [] }]),
  );
  assert.equal(findings, clean);
});

test.run();
