/**
 * No container engine runs in CI, so the image cannot be built there. These checks hold the
 * Dockerfile to what the chart and the build rely on: the entrypoint is where tsc writes main.js,
 * the final stage runs as the non-root uid the chart's securityContext expects, and no dev
 * dependency reaches the image.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instructions, stages } from '../support/dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

const all = instructions(read('Dockerfile'));
const allStages = stages(all);
const final = allStages.at(-1) ?? [];
const build = allStages[0] ?? [];
const buildConfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string; rootDir: string } };
const outDir = buildConfig.compilerOptions.outDir.replace(/^\.\//, '').replace(/\/$/, '');

test('every stage is based on node:20-bookworm-slim', () => {
  assert.ok(allStages.length >= 2, 'a build stage and a runtime stage');
  for (const stage of allStages) assert.match(stage[0]?.args ?? '', /^node:20-bookworm-slim(\s|$)/);
});

test('the build stage installs every dependency and compiles with npm run build', () => {
  const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), `build stage RUNs: ${runs.join(' | ')}`);
  assert.ok(runs.some((r) => r.includes('npm run build')));
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.build ?? '', /tsc -p tsconfig\.build\.json/);
});

test('the final stage installs production dependencies only and copies the compiled output', () => {
  const runs = final.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const installs = runs.filter((r) => /\bnpm (ci|install|i)\b/.test(r));
  assert.ok(installs.length > 0, 'the final stage installs its dependencies');
  for (const install of installs) assert.ok(install.includes('npm ci --omit=dev'), `not production-only: ${install}`);
  const copies = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  assert.ok(
    copies.some((c) => c.startsWith('--from=') && c.includes(`/${outDir}`)),
    `a COPY --from=<build> of ${outDir}/ in: ${copies.join(' | ')}`,
  );
  assert.not.ok(copies.some((c) => /(^|\s)(\.\/)?(src|node_modules)(\/|\s|$)/.test(c)), 'no sources nor a dev node_modules');
});

test('the final stage runs as a non-root numeric user, the uid the chart sets', () => {
  const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
  const user = users.at(-1);
  assert.is(user, '65532:65532');
  // USER must come after every RUN, or the install would run as a user that cannot write /app.
  const lastUser = final.findLastIndex((i) => i.keyword === 'USER');
  const lastRun = final.findLastIndex((i) => i.keyword === 'RUN');
  assert.ok(lastUser > lastRun);
  const deployment = read('deploy/influx-onboarding-operator/templates/deployment.yaml');
  assert.match(deployment, /runAsUser: 65532\b/);
});

test('the entrypoint is the compiled main.js: tsconfig.build.json outDir + main.js', () => {
  const entrypoints = final.filter((i) => i.keyword === 'ENTRYPOINT');
  assert.is(entrypoints.length, 1);
  assert.equal(JSON.parse(entrypoints[0]?.args ?? 'null'), ['node', `${outDir}/main.js`]);
  // main.js is what tsc emits for <rootDir>/main.ts, the file `npm start` runs.
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const rootDir = buildConfig.compilerOptions.rootDir.replace(/^\.\//, '').replace(/\/$/, '');
  assert.is(pkg.scripts.start, `exec tsx ${rootDir}/main.ts`);
});

test('the final stage sets NODE_ENV=production', () => {
  const envs = final.filter((i) => i.keyword === 'ENV').map((i) => i.args);
  assert.ok(envs.some((e) => /(^|\s)NODE_ENV=production(\s|$)/.test(e)), envs.join(' | '));
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
