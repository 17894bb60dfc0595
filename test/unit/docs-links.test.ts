/**
 * The documentation holds together: every relative link in README.md, docs/ and the chart's
 * README reaches a file and, with an #anchor, a heading GitHub would anchor there; the README
 * links every page in docs/ (its index is the way in); and the CRDs' descriptions, which
 * `kubectl explain` shows, point at pages and headings that exist.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crdPlurals, crdText, loadCrd } from '../support/crd.js';
import {
  brokenLinks,
  brokenRepositoryLinks,
  documentationFiles,
  linkTarget,
  parseMarkdown,
  readMarkdown,
  repositoryRoot,
} from '../support/markdown.js';

const PLURALS = crdPlurals();

test('the checker finds a missing file, a missing anchor and a link out of the repository; GitHub anchors', () => {
  const page = parseMarkdown(
    'docs/page.md',
    [
      '# The only copy: escrow, and `influxd recovery` as the last resort',
      '## Day two: org, bucket and retention',
      '## Day two: org, bucket and retention',
      '<a id="explicit"></a>',
      '[a](#the-only-copy-escrow-and-influxd-recovery-as-the-last-resort) [b](#day-two-org-bucket-and-retention-1)',
      '[c](#explicit) [d](../README.md) [e](https://example.com/#nowhere) [f](#nowhere) [g](missing.md)',
      '[h](../../outside.md) [i](other.md#nowhere) [j](other.md#there) [k](../src/main.ts#L10)',
      '```sh',
      '[not a link](nowhere.md)',
      '```',
    ].join('\n'),
  );
  const other = parseMarkdown('docs/other.md', '## There');
  const files = new Map([
    ['docs/page.md', page],
    ['docs/other.md', other],
  ]);
  const exists = (path: string): boolean => files.has(path) || path === 'README.md' || path === 'src/main.ts';
  assert.equal(
    brokenLinks(page, (path) => files.get(path), exists),
    [
      'docs/page.md: #nowhere: docs/page.md has no heading #nowhere',
      'docs/page.md: missing.md: no file docs/missing.md',
      'docs/page.md: ../../outside.md: no file ../outside.md',
      'docs/page.md: other.md#nowhere: docs/other.md has no heading #nowhere',
    ],
  );
  assert.equal(linkTarget('README.md', 'docs/a%20b.md#x'), { path: 'docs/a b.md', anchor: 'x' });
  assert.is(linkTarget('README.md', 'mailto:someone@example.com'), undefined);
});

test('every relative link in README.md, docs/ and the chart README reaches its file and heading', () => {
  const files = documentationFiles();
  assert.ok(files.includes('README.md') && files.some((file) => file.startsWith('docs/')), files.join(', '));
  assert.equal(
    files.flatMap((file) => brokenRepositoryLinks(readMarkdown(file))),
    [],
  );
});

test('the README links every page in docs/ (adding a page is one line in its index)', () => {
  const linked = new Set(
    readMarkdown('README.md')
      .links.map((href) => linkTarget('README.md', href)?.path)
      .filter((path) => path !== undefined),
  );
  const pages = documentationFiles().filter((file) => file.startsWith('docs/'));
  assert.equal(
    pages.filter((page) => !linked.has(page)),
    [],
    'pages in docs/ the README does not link',
  );
});

test("each CRD's description names the page that explains it, and every docs/ pointer in crds/ resolves", () => {
  const pointers: string[] = [];
  for (const plural of PLURALS) {
    const crd = loadCrd(plural);
    const description = crd.spec.versions[0]?.schema.openAPIV3Schema.description ?? '';
    assert.match(
      description,
      /See docs\/[\w.-]+\.md#[\w-]+\.$/,
      `${plural}: the top-level description ends with a pointer`,
    );
    for (const match of crdText(plural).matchAll(/docs\/[\w./-]+\.md(?:#[\w-]+)?/g)) pointers.push(match[0]);
  }
  assert.ok(pointers.length >= PLURALS.length * 2, `pointers found: ${pointers.join(', ')}`);
  const broken = pointers.filter((pointer) => {
    const target = linkTarget('README.md', pointer);
    if (target === undefined || !existsSync(join(repositoryRoot, target.path))) return true;
    return target.anchor !== undefined && !readMarkdown(target.path).anchors.has(target.anchor);
  });
  assert.equal(broken, []);
});

test.run();
