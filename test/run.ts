// Test runner: `tsx test/run.ts unit|integration|e2e [filter]`.
// Runs every test/<kind>/**/*.test.ts whose path contains `filter` in this one process with uvu,
// starting a single control plane first for the integration tests, and for e2e (the node tier) a whole
// cluster (the full control plane and a node, test/support/node.ts) with the operator's image
// loaded. INTEGRATION_CONTROLPLANE=full runs the integration tier on the node tier's full control
// plane (without a node), to prove it behaves the same there. Every test and hook has a deadline
// (TEST_DEADLINE_SECONDS, else per kind below): one that overruns fails by name and the run goes on.
// Prints `N passed, M failed` last, whatever failed, and exits non-zero unless every test ran and
// passed. TEST_DIR points it at another folder of test files (the runner's own test).
import { readdirSync } from 'node:fs';
import { register } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as UvuWithDeadlines from './support/uvu-deadlines.js';

type SuiteRun = () => Promise<[errors: string | true, passed: number, skipped: number, total: number]>;
interface UvuGlobals {
  UVU_DEFER: number;
  UVU_INDEX: number;
  UVU_QUEUE: Array<Array<string | SuiteRun>>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const [kind, filter = ''] = process.argv.slice(2);
if (kind !== 'unit' && kind !== 'integration' && kind !== 'e2e') {
  process.stderr.write('usage: tsx test/run.ts unit|integration|e2e [filter]\n');
  process.exit(2);
}

// Generous: a deadline is there to end a wait that never ends, not to measure speed. Hooks start
// servers and build images (the image test's before hook builds two bases cold).
const DEADLINES = {
  unit: { testMs: 120_000, hookMs: 120_000 },
  integration: { testMs: 600_000, hookMs: 1_200_000 },
  e2e: { testMs: 600_000, hookMs: 1_200_000 },
};
const override = Number(process.env.TEST_DEADLINE_SECONDS);
const deadlines =
  process.env.TEST_DEADLINE_SECONDS && override > 0
    ? { testMs: override * 1000, hookMs: override * 1000 }
    : DEADLINES[kind];

// Every `import ... from 'uvu'` of a test file gets the suite with deadlines instead.
const withDeadlines = pathToFileURL(join(root, 'test/support/uvu-deadlines.ts')).href;
register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === 'uvu' && context.parentURL !== ${JSON.stringify(withDeadlines)})
        return next(${JSON.stringify(withDeadlines)}, context);
      return next(specifier, context);
    }`)}`,
);

const folder = process.env.TEST_DIR ? join(root, process.env.TEST_DIR) : join(root, 'test', kind);
const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.test.ts') && file.includes(filter))
  .sort()
  .map((file) => join(folder, file));

if (files.length === 0) {
  process.stdout.write(`no test files in ${relative(root, folder)}${filter ? ` matching "${filter}"` : ''}\n`);
  // A filter that matches nothing is a typo, not a pass.
  process.exit(filter ? 1 : 0);
}

const runStarted = performance.now();
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
let stopControlPlane = async (): Promise<void> => {};
if (kind === 'integration' || kind === 'e2e') {
  // Real influxd servers are built before anything starts (a no-op on a warm cache).
  const { ensureInfluxd } = await import('./support/influxdb.js');
  const buildStarted = performance.now();
  try {
    await ensureInfluxd();
  } catch (err) {
    process.stderr.write(`influxd build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`influxd binaries ready in ${seconds(buildStarted)} s\n`);
  const { startControlPlane } = await import('./support/controlplane.js');
  const { setControlPlane } = await import('./support/cluster.js');
  const started = performance.now();
  try {
    if (kind === 'e2e') {
      const { startCluster, setCluster } = await import('./support/node.js');
      const { loadOperatorImage } = await import('./support/operator-image.js');
      const cluster = await startCluster();
      stopControlPlane = cluster.stop;
      setControlPlane(cluster.controlPlane);
      setCluster(cluster);
      process.stdout.write(`cluster started in ${seconds(started)} s\n`);
      await loadOperatorImage(cluster, (line) => process.stdout.write(`${line}\n`));
    } else {
      const full = process.env.INTEGRATION_CONTROLPLANE === 'full';
      const controlPlane = await startControlPlane({
        controllerManager: true,
        ...(full ? { full: { nodeName: 'node-1' } } : {}),
      });
      setControlPlane(controlPlane);
      stopControlPlane = controlPlane.stop;
      process.stdout.write(`${full ? 'full ' : ''}control plane started in ${seconds(started)} s\n`);
    }
  } catch (err) {
    process.stderr.write(
      `${kind === 'e2e' ? 'cluster' : 'control plane'} failed to start: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
    await stopControlPlane();
    process.exit(1);
  }
}

// What uvu/run's run() does, with one step added between loading the files and executing them:
// each queued suite is wrapped so the runner counts its results itself. uvu's own summary is not
// enough: it treats a suite whose before/after hook threw as passed (the error is swallowed).
const uvuGlobals = globalThis as unknown as UvuGlobals;
uvuGlobals.UVU_DEFER = 1;
const uvu = (await import('uvu')) as unknown as typeof UvuWithDeadlines;
Object.assign(uvu.deadlines, deadlines);
let passed = 0;
let failed = 0;
const notes: string[] = [];
for (const [index, file] of files.entries()) {
  uvuGlobals.UVU_INDEX = index;
  uvuGlobals.UVU_QUEUE.push([relative(root, file)]);
  try {
    await import(pathToFileURL(file).href);
  } catch (err) {
    failed++;
    notes.push(`${relative(root, file)} failed to load: ${err instanceof Error ? err.stack : String(err)}`);
  }
}

for (const group of uvuGlobals.UVU_QUEUE) {
  const name = group[0] as string;
  for (let i = 1; i < group.length; i++) {
    const run = group[i] as SuiteRun;
    group[i] = async () => {
      const result = await run();
      const [errors, ok, skipped, total] = result;
      passed += ok;
      // Tests that neither passed nor threw never ran: a hook failed. Skipped tests (.skip, or the
      // others when .only is used) count as failures too: nothing may be silently left out.
      failed += total - ok + skipped;
      if (errors === true && ok < total)
        notes.push(`${name}: ${total - ok} test(s) did not run (a before hook failed)`);
      if (skipped > 0) notes.push(`${name}: ${skipped} test(s) skipped`);
      return result;
    };
  }
}

try {
  await uvu.exec();
} catch (err) {
  failed++;
  notes.push(`the run stopped early: ${err instanceof Error ? err.stack : String(err)}`);
} finally {
  await stopControlPlane();
}
failed += uvu.hookFailures.length;
for (const line of [...uvu.hookFailures, ...notes]) process.stdout.write(`${line}\n`);
process.stdout.write(`${kind} tests took ${seconds(runStarted)} s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
// Exit explicitly: a stray socket or timer left by a test must not keep the runner alive.
process.exit(failed > 0 || passed === 0 ? 1 : 0);
