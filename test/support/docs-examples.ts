// The examples of docs/influxql.md, as the tests apply them: the fenced block after each
// `<!-- example: name -->` marker, by name. What the page shows is what the tests run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const docsPage = fileURLToPath(new URL('../../docs/influxql.md', import.meta.url));

export function docsExamples(): Map<string, string> {
  const page = readFileSync(docsPage, 'utf8');
  const found = new Map<string, string>();
  for (const match of page.matchAll(/<!-- example: ([\w-]+) -->\n```\w*\n([\s\S]*?)\n```/g))
    found.set(match[1] ?? '', `${match[2]}\n`);
  return found;
}

/** One example by name; a missing one fails the test that needs it. */
export function docsExample(name: string, examples = docsExamples()): string {
  const text = examples.get(name);
  if (text === undefined) throw new Error(`docs/influxql.md has no example ${name}`);
  return text;
}
