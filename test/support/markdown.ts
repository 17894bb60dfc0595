/**
 * Reads the project's Markdown the way GitHub shows it: headings and their anchors (GitHub's
 * slugs, by github-slugger), every link and image target, and the tables under each heading. The
 * documentation tests check links, condition reasons and CRD fields against this view.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { Lexer, type Token, type Tokens } from 'marked';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Heading {
  depth: number;
  text: string;
  anchor: string;
}

export interface Table {
  /** The heading the table stands under, undefined before the first heading. */
  heading?: Heading;
  /** Every heading above it, outermost first (a table under `### Status` of `## InfluxBucket` has both). */
  headings: Heading[];
  header: string[];
  /** Each row's cells as plain text, code spans without their backticks. */
  rows: string[][];
}

export interface MarkdownFile {
  /** Relative to the repository root, with forward slashes. */
  path: string;
  headings: Heading[];
  /** Heading anchors and explicit `<a id>` / `<a name>` targets. */
  anchors: Set<string>;
  /** Link and image targets, as written (code blocks and code spans hold none). */
  links: string[];
  tables: Table[];
}

/** The Markdown files whose links the documentation tests check: README.md, docs/ and the chart's. */
export function documentationFiles(): string[] {
  const under = (folder: string): string[] =>
    readdirSync(join(repositoryRoot, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.md'))
      .map((file) => `${folder}/${file.split('\\').join('/')}`);
  return ['README.md', ...under('docs'), ...under('deploy')].sort();
}

/** A heading's text as GitHub renders it: formatting and HTML tags gone, code spans and link texts kept. */
function plainText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      if (token.type === 'html' || token.type === 'br') return '';
      if ('tokens' in token && Array.isArray(token.tokens)) return plainText(token.tokens);
      return 'text' in token && typeof token.text === 'string' ? token.text : '';
    })
    .join('');
}

const HTML_ANCHOR = /<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/gi;
const HTML_HREF = /<a\s[^>]*\bhref\s*=\s*["']([^"']+)["']/gi;

/** Every token below the given ones, depth first, including list items and table cells. */
function* walk(tokens: readonly Token[]): Generator<Token> {
  for (const token of tokens) {
    yield token;
    if ('tokens' in token && Array.isArray(token.tokens)) yield* walk(token.tokens);
    if (token.type === 'list') yield* walk((token as Tokens.List).items);
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      for (const cell of [...table.header, ...table.rows.flat()]) yield* walk(cell.tokens);
    }
  }
}

/** A Markdown file of the repository, by its path from the root. */
export function readMarkdown(path: string): MarkdownFile {
  return parseMarkdown(path, readFileSync(join(repositoryRoot, path), 'utf8'));
}

export function parseMarkdown(path: string, text: string): MarkdownFile {
  const tokens = Lexer.lex(text);
  const slugger = new GithubSlugger();
  const headings: Heading[] = [];
  const anchors = new Set<string>();
  const links: string[] = [];
  const tables: Table[] = [];
  const open: Heading[] = [];
  for (const token of tokens) {
    if (token.type === 'heading') {
      const heading = token as Tokens.Heading;
      const text = plainText(heading.tokens);
      const entry = { depth: heading.depth, text, anchor: slugger.slug(text) };
      headings.push(entry);
      anchors.add(entry.anchor);
      while (open.length > 0 && (open.at(-1)?.depth ?? 0) >= entry.depth) open.pop();
      open.push(entry);
    }
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      tables.push({
        ...(open.length > 0 && { heading: open.at(-1) }),
        headings: [...open],
        header: table.header.map((cell) => plainText(cell.tokens).trim()),
        rows: table.rows.map((row) => row.map((cell) => plainText(cell.tokens).trim())),
      });
    }
  }
  for (const token of walk(tokens)) {
    if (token.type === 'link' || token.type === 'image') links.push((token as Tokens.Link).href);
    if (token.type === 'html') {
      const html = (token as Tokens.HTML).text;
      for (const match of html.matchAll(HTML_ANCHOR)) anchors.add(match[1] ?? '');
      for (const match of html.matchAll(HTML_HREF)) links.push(match[1] ?? '');
    }
  }
  return { path, headings, anchors, links, tables };
}

/** A link target other than a relative path: a URL with a scheme (https:, mailto:). */
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Where a relative link of `from` points: the repository path of its file (the file itself for
 * `#anchor` alone) and the anchor, if any. Undefined for an external link.
 */
export function linkTarget(from: string, href: string): { path: string; anchor?: string } | undefined {
  if (EXTERNAL.test(href)) return undefined;
  const hash = href.indexOf('#');
  const file = decodeURIComponent(hash < 0 ? href : href.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(href.slice(hash + 1));
  const path =
    file === ''
      ? from
      : normalize(file.startsWith('/') ? file.slice(1) : join(dirname(from), file))
          .split('\\')
          .join('/');
  return { path: path.replace(/\/$/, ''), ...(anchor !== undefined && { anchor }) };
}

/**
 * The relative links of `file` that lead nowhere: to no file, or to an anchor no heading of the
 * target Markdown file has. `markdown` reads a target (undefined when there is none); `exists`
 * says whether a path exists at all (a source file, a folder). Anchors into other files than
 * Markdown (GitHub's #L10 line anchors) are not checked.
 */
export function brokenLinks(
  file: MarkdownFile,
  markdown: (path: string) => MarkdownFile | undefined,
  exists: (path: string) => boolean,
): string[] {
  const broken: string[] = [];
  for (const href of file.links) {
    const target = linkTarget(file.path, href);
    if (target === undefined) continue;
    if (target.path.startsWith('..') || !exists(target.path)) {
      broken.push(`${file.path}: ${href}: no file ${target.path}`);
      continue;
    }
    if (target.anchor === undefined || !target.path.endsWith('.md')) continue;
    const anchors = markdown(target.path)?.anchors;
    if (!anchors?.has(target.anchor))
      broken.push(`${file.path}: ${href}: ${target.path} has no heading #${target.anchor}`);
  }
  return broken;
}

/** brokenLinks over the repository's files. */
export function brokenRepositoryLinks(file: MarkdownFile): string[] {
  const exists = (path: string): boolean => existsSync(join(repositoryRoot, path));
  return brokenLinks(file, (path) => (exists(path) ? readMarkdown(path) : undefined), exists);
}

/** The tables in the section under the heading with this anchor (its subsections included). */
export function tablesUnder(file: MarkdownFile, anchor: string): Table[] {
  return file.tables.filter((table) => table.headings.some((heading) => heading.anchor === anchor));
}

/** A table's column by header name (case-insensitive); -1 when it has none. */
export function column(table: Table, name: string): number {
  return table.header.findIndex((header) => header.toLowerCase() === name.toLowerCase());
}
