/**
 * The Dockerfile's text held to what the chart and the build rely on: pinned bases, the entrypoint
 * where the build writes the bundle, the non-root uid the chart's securityContext expects, no
 * node_modules and no shell in the final stage. test/integration/image.test.ts builds and runs the real image.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instructions, shippedProcess, stages } from '../support/dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

const all = instructions(read('Dockerfile'));
const allStages = stages(all);
const final = allStages.at(-1) ?? [];
const build = allStages[0] ?? [];
const buildScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build ?? '';
/** The bundle `npm run build` writes, and the entry point it bundles from. */
const bundle = /--outfile=(\S+)/.exec(buildScript)?.[1] ?? '';
const bundleEntry = /\besbuild (\S+)/.exec(buildScript)?.[1] ?? '';
const outDir = bundle.slice(0, bundle.lastIndexOf('/'));
/** The global ARGs (before the first FROM) and their defaults. */
const globalArgs = new Map(
  all
    .slice(
      0,
      all.findIndex((i) => i.keyword === 'FROM'),
    )
    .filter((i) => i.keyword === 'ARG')
    .map((i) => {
      const [name = '', value = ''] = i.args.split('=');
      return [name, value] as const;
    }),
);

test('the bases are build arguments pinned by tag: Node 22 for building, distroless Node 22 for running', () => {
  assert.match(globalArgs.get('BUILD_BASE') ?? '', /^node:22\.\d+\.\d+-bookworm-slim$/);
  assert.is(globalArgs.get('RUNTIME_BASE'), 'gcr.io/distroless/nodejs22-debian12:nonroot');
  assert.ok(allStages.length >= 2, 'a build stage and a runtime stage');
  for (const stage of allStages.slice(0, -1)) assert.match(stage[0]?.args ?? '', /^\$\{BUILD_BASE\} AS \w+$/);
  assert.is(final[0]?.args, '${RUNTIME_BASE}');
});

test("one Node version: scripts/node-version.sh reads BUILD_BASE's, and the local base and CI take it from there", () => {
  const printed = execFileSync('bash', [join(root, 'scripts/node-version.sh')], { encoding: 'utf8' }).trim();
  assert.is(`node:${printed}-bookworm-slim`, globalArgs.get('BUILD_BASE'));
  assert.match(read('test/image/build-base.sh'), /^node_version=\$\(bash scripts\/node-version\.sh\)$/m);
  assert.match(read('.ci/run'), /^node_version=\$\(bash scripts\/node-version\.sh\)$/m);
});

test('the build stage installs every dependency, then npm run build type-checks src/ and bundles it with its dependencies', () => {
  const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  assert.ok(
    runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')),
    `build stage RUNs: ${runs.join(' | ')}`,
  );
  assert.ok(runs.some((r) => r.includes('npm run build')));
  assert.match(
    buildScript,
    /^tsc -p tsconfig\.build\.json && esbuild /,
    'type errors stop the build before anything is bundled',
  );
  for (const flag of ['--bundle', '--platform=node', '--format=esm', '--sourcemap'])
    assert.ok(buildScript.split(/\s+/).includes(flag), `${flag} in: ${buildScript}`);
  assert.not.match(
    buildScript,
    /--(external|packages)\b/,
    'every dependency is bundled: the image has no node_modules',
  );
});

test('the final stage runs nothing (no shell there) and takes only the bundle and package.json: no node_modules, no sources', () => {
  assert.equal(
    final.filter((i) => i.keyword === 'RUN'),
    [],
  );
  const copies = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  assert.equal(copies, ['package.json ./', `--from=build /app/${outDir} ./${outDir}`]);
  assert.is(allStages.length, 2, 'a build stage and the runtime stage, nothing else to copy from');
});

test('the final stage runs as a non-root numeric user, the uid the chart sets', () => {
  const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
  assert.is(users.at(-1), '65532:65532');
  const deployment = read('deploy/influx-onboarding-operator/templates/deployment.yaml');
  assert.match(deployment, /runAsUser: 65532\b/);
});

test('the entrypoint is node, its options, then the bundle npm run build writes', () => {
  const entrypoints = final.filter((i) => i.keyword === 'ENTRYPOINT');
  assert.is(entrypoints.length, 1);
  const shipped = shippedProcess(read('Dockerfile'));
  assert.is(shipped.node, '/nodejs/bin/node', 'the distroless image has node there, and no PATH lookup');
  assert.equal(JSON.parse(entrypoints[0]?.args ?? 'null'), [shipped.node, ...shipped.nodeOptions, shipped.script]);
  for (const option of shipped.nodeOptions)
    assert.match(option, /^--[a-z-]+(=[\w.-]+)?$/, `a Node option before the script: ${option}`);
  // The bundle is built from the file `npm start` runs.
  assert.is(shipped.script, bundle);
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.is(pkg.scripts.start, `exec tsx ${bundleEntry}`);
});

test('the final stage sets NODE_ENV=production and one glibc malloc arena; the benchmark reads them from there', () => {
  const envs = final.filter((i) => i.keyword === 'ENV').map((i) => i.args);
  assert.ok(
    envs.some((e) => /(^|\s)NODE_ENV=production(\s|$)/.test(e)),
    envs.join(' | '),
  );
  assert.equal(shippedProcess(read('Dockerfile')).env, { NODE_ENV: 'production', MALLOC_ARENA_MAX: '1' });
  assert.match(read('bench/harness.ts'), /shippedProcess\(readFileSync\(`\$\{root\}Dockerfile`/);
});

test('.dockerignore keeps local artefacts out of the build context', () => {
  const ignored = new Set(
    read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
  for (const entry of ['node_modules', '.cache', '.cluster', 'dist', 'test', 'bench', '.git']) {
    assert.ok(ignored.has(entry), `${entry} is not in .dockerignore`);
  }
});

test.run();
