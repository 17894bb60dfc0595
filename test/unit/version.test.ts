/**
 * One version everywhere: package.json is the source; `--version` and build_info read it at run
 * time (src/version.ts), the chart's version and appVersion (the default image tag) must equal it,
 * and the image's version label is the VERSION build argument, which the Dockerfile refuses unless
 * it equals package.json's. The metric itself is read from a running operator in
 * test/integration/runtime-lifecycle.test.ts; the checked-in deploy/install.yaml (image tag, chart
 * labels) by test/integration/install-manifest.test.ts.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { operatorVersion } from '../../src/version.js';
import { instructions, stages } from '../support/dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const packageVersion = (JSON.parse(read('package.json')) as { version: string }).version;
const chartDir = 'deploy/influx-onboarding-operator';
const dockerfile = stages(instructions(read('Dockerfile')));

test('package.json carries a semantic version, and src/version.ts reads exactly it', () => {
  assert.match(packageVersion, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.is(operatorVersion(), packageVersion);
});

test('--version prints package.json version', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/main.ts'), '--version'],
    { cwd: root },
  );
  assert.is(stdout, `influx-onboarding-operator ${packageVersion}\n`);
});

test("the chart's version and appVersion are package.json's; the image tag defaults to appVersion", () => {
  const chart = parse(read(`${chartDir}/Chart.yaml`)) as { version: string; appVersion: string };
  assert.is(chart.version, packageVersion);
  assert.is(chart.appVersion, packageVersion);
  const values = parse(read(`${chartDir}/values.yaml`)) as { image: { tag: string } };
  assert.is(values.image.tag, '', 'a fixed tag would leave appVersion unused');
  assert.match(read(`${chartDir}/templates/deployment.yaml`), /\.Values\.image\.tag \| default \.Chart\.AppVersion/);
});

test('the image version label is the VERSION build argument, declared without a default', () => {
  const final = dockerfile.at(-1) ?? [];
  const labels = final
    .filter((i) => i.keyword === 'LABEL')
    .map((i) => i.args)
    .join(' ');
  assert.match(labels, 'org.opencontainers.image.version="${VERSION}"');
  const args = final.filter((i) => i.keyword === 'ARG').map((i) => i.args);
  assert.ok(args.includes('VERSION'), `the final stage declares ARG VERSION without a default: ${args.join(' | ')}`);
});

/** The build stage's RUN that compares VERSION with package.json, run by sh as the build would. */
async function versionGuard(version: string): Promise<number> {
  const build = dockerfile[0] ?? [];
  assert.ok(
    build.some((i) => i.keyword === 'ARG' && i.args === 'VERSION'),
    'the build stage declares ARG VERSION',
  );
  const guard = build.find((i) => i.keyword === 'RUN' && i.args.includes('$VERSION'));
  assert.ok(guard, 'a RUN in the build stage checks $VERSION');
  const dir = mkdtempSync(join(tmpdir(), 'version-guard-'));
  try {
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    return await promisify(execFile)('sh', ['-c', guard.args], {
      cwd: dir,
      env: { ...process.env, VERSION: version },
    }).then(
      () => 0,
      (error: { code?: number }) => error.code ?? 1,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the Dockerfile build refuses a VERSION that is missing or not package.json version', async () => {
  assert.is(await versionGuard(packageVersion), 0);
  assert.is.not(await versionGuard(''), 0);
  assert.is.not(await versionGuard(`${packageVersion}-other`), 0);
});

test.run();
