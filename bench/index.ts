// npm run bench: every benchmark in sequence, then a summary. Figures are printed, never asserted:
// they depend on the machine. Everything runs on 127.0.0.1; the only real servers are a local
// etcd + kube-apiserver (the takeover benchmark) and fake API servers in child processes.
import { accessRecords } from './access-records.js';
import { cacheMemory } from './cache-memory.js';
import { closingWatches } from './closing-watches.js';
import { decideThroughput } from './decide.js';
import { e2e } from './e2e.js';
import { instanceOwners } from './instance-owners.js';
import { listPages } from './list-pages.js';
import { reconciledMemory } from './reconciled-memory.js';
import { reconnectFds } from './reconnect-fds.js';
import { takeover } from './takeover.js';
import { tenants } from './tenants.js';
import { hasGc, say, type Figure } from './util.js';

const [only, ...options] = process.argv.slice(2);
// The end-to-end benchmark runs only when named (it builds dist/ and takes minutes): npm run bench -- e2e [--full];
// so does the tenants benchmark (a control plane and an attack of a few minutes): npm run bench -- tenants.
const onlyWhenNamed = new Set(['e2e', 'tenants']);
const benchmarks: Array<[string, () => Promise<Figure[]> | Figure[]]> = [
  ['closing-watches', () => closingWatches()],
  ['reconnect-fds', () => reconnectFds()],
  ['takeover', () => takeover()],
  ['cache-memory', () => cacheMemory()],
  ['reconciled-memory', () => reconciledMemory()],
  ['list-pages', () => listPages()],
  ['decide', () => decideThroughput()],
  ['access-records', () => accessRecords()],
  ['instance-owners', () => instanceOwners()],
  ['e2e', () => e2e(options)],
  ['tenants', () => tenants()],
];

if (!hasGc()) say('note: started without --expose-gc; the cache-memory benchmark needs it (npm run bench passes it)');
say(`node ${process.version}, ${process.platform}/${process.arch}`);
const figures: Figure[] = [];
const failures: string[] = [];
const started = performance.now();
for (const [name, run] of benchmarks) {
  if (only === undefined ? onlyWhenNamed.has(name) : only !== name) continue;
  try {
    figures.push(...(await run()));
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    say(`\n${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

const width = (pick: (figure: Figure) => string): number =>
  Math.max(...figures.map((figure) => pick(figure).length), 0);
const [nameWidth, valueWidth] = [width((figure) => figure.name), width((figure) => figure.value)];
say(`\n## Summary (${((performance.now() - started) / 1000).toFixed(0)} s)`);
for (const figure of figures)
  say(`${figure.name.padEnd(nameWidth)}  ${figure.value.padEnd(valueWidth)}  ${figure.how}`);
for (const failure of failures) say(`FAILED ${failure}`);
process.exit(failures.length > 0 ? 1 : 0);
