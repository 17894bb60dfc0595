// The operator image, built for real from the Dockerfile with buildah (no Docker daemon) on local
// copies of its bases (test/image/build-base.sh: no registry can be reached here), then run from
// the image's own root filesystem with bubblewrap: read-only root, UID/GID 65532, the image's
// entrypoint, working directory and environment, Node as PID 1. It prints its version, then
// onboards a resource against the real control plane and a real influxd v2.9.1 (the Secret proven
// by a write, a Flux query and a sign-in), and exits 0 on SIGTERM with its Lease released. The
// image's contents are checked too: no dev dependency, no test file, no npm or its cache, no
// shell; its size is printed.
// The secrecy test reads what the operator test left.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { adminKubeConfig } from '../support/cluster.js';
import { shippedProcess } from '../support/dockerfile.js';
import { useCredentials } from '../support/influx-app.js';
import { freshInfluxd } from '../support/influxdb.js';
import {
  assertNoCredentialLeaked,
  createNamespace,
  createOnboarding,
  getSecret,
  onboardingHarness,
  readyOf,
  waitForReason,
} from '../support/onboarding.js';
import { startOperator, type RunningOperator } from '../support/operator.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const UID = '65532';

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  WorkingDir: string;
  Env: string[];
  Labels: Record<string, string>;
}

interface Context {
  image: string;
  container: string;
  rootfs: string;
  config: ImageConfig;
  operator?: RunningOperator;
  namespace?: string;
}

const tests = suite<Context>('the operator image', {} as Context);
const buildah = (args: string[]) => run('buildah', ['--storage-driver', 'vfs', ...args], { maxBuffer: 1 << 24 });

tests.before(async (context) => {
  const started = performance.now();
  const { stdout } = await run('bash', [join(root, 'scripts/image.sh'), '--local-base'], { maxBuffer: 1 << 24 });
  context.image = stdout.trim().split('\n').pop() ?? '';
  process.stdout.write(
    `image: ${context.image} built (bases included when missing) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  const inspected = JSON.parse((await buildah(['inspect', '--type', 'image', context.image])).stdout) as {
    OCIv1: { config: ImageConfig };
  };
  context.config = inspected.OCIv1.config;
  context.container = (await buildah(['from', '--quiet', context.image])).stdout.trim();
  context.rootfs = (await buildah(['mount', context.container])).stdout.trim();
});

tests.after(async (context) => {
  await context.operator?.terminate();
  if (context.container) await buildah(['rm', context.container]);
});

/**
 * bwrap running the image's entrypoint from its root filesystem as a container runtime would:
 * the root read-only, a tmpfs at /tmp (the chart's emptyDir), UID/GID 65532, the image's
 * environment and working directory only, and the entrypoint as PID 1 of its own PID namespace.
 * `binds` are host files made visible read-only at the given paths.
 */
function sandboxed(
  context: Context,
  binds: Record<string, string> = {},
  env: Record<string, string> = {},
): [string, ...string[]] {
  const environment = [...context.config.Env.map((entry) => entry.split(/=(.*)/s).slice(0, 2)), ...Object.entries(env)];
  return [
    'bwrap',
    '--ro-bind',
    context.rootfs,
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...Object.entries(binds).flatMap(([inside, outside]) => ['--ro-bind', outside, inside]),
    '--unshare-all',
    '--share-net',
    '--as-pid-1',
    '--uid',
    UID,
    '--gid',
    UID,
    '--clearenv',
    ...environment.flatMap(([name = '', value = '']) => ['--setenv', name, value]),
    '--chdir',
    context.config.WorkingDir,
    ...context.config.Entrypoint,
  ];
}

tests('the image runs as 65532 the compiled entrypoint, with OCI labels that carry package.json version', (context) => {
  const { config } = context;
  assert.is(config.User, `${UID}:${UID}`);
  // The Dockerfile's final stage is the one place the process's Node options and environment are set (the benchmark reads them there too).
  const shipped = shippedProcess(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  assert.equal(config.Entrypoint, ['/nodejs/bin/node', ...shipped.nodeOptions, 'dist/main.js']);
  assert.is(config.WorkingDir, '/app');
  assert.ok(config.Env.includes('NODE_ENV=production'), config.Env.join(' '));
  for (const [name, value] of Object.entries(shipped.env))
    assert.ok(config.Env.includes(`${name}=${value}`), `${name}=${value} in ${config.Env.join(' ')}`);
  assert.is(config.Labels['org.opencontainers.image.version'], packageVersion);
  assert.match(config.Labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$/);
  assert.is(config.Labels['org.opencontainers.image.title'], 'influx-onboarding-operator');
  assert.is(config.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
});

tests(
  'it holds dist/ (the bundle) and package.json only: no node_modules, test file, npm, npm cache or shell',
  async (context) => {
    const app = join(context.rootfs, 'app');
    assert.equal(readdirSync(app).sort(), ['dist', 'package.json']);
    assert.equal(readdirSync(join(app, 'dist')).sort(), ['main.js', 'main.js.map']);
    for (const absent of [
      'root/.npm',
      'home/nonroot/.npm',
      'usr/local/lib/node_modules/npm',
      'usr/local/bin/npm',
      'bin/sh',
      'usr/bin/sh',
      'bin/bash',
    ]) {
      assert.not.ok(existsSync(join(context.rootfs, absent)), `/${absent} is in the image`);
    }
    const { stdout } = await run('du', ['-sk', context.rootfs]);
    const mib = Number(stdout.split(/\s/)[0]) / 1024;
    process.stdout.write(`image: root filesystem ${mib.toFixed(0)} MiB uncompressed\n`);
    assert.ok(mib > 50 && mib < 400, `${mib} MiB`);
  },
);

tests('its entrypoint prints the version, as UID 65532 on a read-only root', async (context) => {
  const [program, ...args] = sandboxed(context);
  const { stdout } = await run(program, [...args, '--version']);
  assert.is(stdout, `influx-onboarding-operator ${packageVersion}\n`);
  const probe = sandboxed(context);
  probe[probe.length - 1] = '-e';
  const [probeProgram, ...probeArgs] = probe;
  const { stdout: identity } = await run(probeProgram, [
    ...probeArgs,
    'let w; try { require("fs").writeFileSync("/app/x", ""); w = "writable"; } catch (e) { w = e.code; } console.log(process.getuid(), process.getgid(), process.pid, w)',
  ]);
  assert.is(identity.trim(), `${UID} ${UID} 1 EROFS`, 'uid, gid, PID 1, and the root refuses writes');
});

tests(
  'as the operator: onboards a resource to Ready, then exits 0 on SIGTERM as PID 1 with its Lease released',
  async (context) => {
    const { controlPlane } = await onboardingHarness();
    const namespace = await createNamespace('image');
    context.namespace = namespace;
    const lease = 'image-operator';
    context.operator = await startOperator({
      // The admin kubeconfig is self-contained (CA and token inline). The root is read-only, so it is
      // bound under the /tmp tmpfs; the sandbox sees nothing else of the host.
      kubeconfigPath: controlPlane.kubeconfigPath,
      command: sandboxed(
        context,
        { '/tmp/kube': dirname(controlPlane.kubeconfigPath) },
        { KUBECONFIG: `/tmp/kube/${basename(controlPlane.kubeconfigPath)}` },
      ),
      name: 'image-operator',
      args: [
        `--namespaces=${namespace}`,
        '--leader-elect=true',
        `--leader-election-namespace=${namespace}`,
        `--leader-election-id=${lease}`,
      ],
    });
    await context.operator.waitForReady(60_000);
    const influx = await freshInfluxd('v2.9.1');
    await createOnboarding(namespace, 'from-image', {
      url: influx.url,
      username: 'admin',
      org: 'acme',
      bucket: 'metrics',
    });
    const ready = await waitForReason(namespace, 'from-image', 'Onboarded', 60_000);
    assert.is(readyOf(ready)?.status, 'True');
    const secret = await getSecret(namespace, 'from-image-influxdb');
    const { org = '', bucket = '', username = '', password = '', token = '' } = secret?.data ?? {};
    assert.equal(
      await useCredentials({ url: influx.url, org, bucket, username, password, token }),
      { me: 200, rows: 1, signIn: 204 },
      'the Secret works as an application uses it',
    );

    // bwrap does not pass signals on: SIGTERM goes to the sandbox's PID 1 (node) itself, found as
    // bwrap's child. PID 1 gets only the signals it handles, so this proves the operator's handler.
    const children = readFileSync(`/proc/${context.operator.pid}/task/${context.operator.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    assert.is(children.length, 1, `bwrap has one child: ${children.join(' ')}`);
    process.kill(Number(children[0]), 'SIGTERM');
    assert.is(await context.operator.waitForExit(), 'exit code 0');
    assert.ok(
      context.operator.records().some((record) => record.message === 'released leader lease'),
      'it released the Lease',
    );
    const held = await (
      await adminKubeConfig()
    )
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace, name: lease });
    assert.not.ok(held.spec?.holderIdentity, 'nobody holds the Lease');
  },
);

tests('secrecy: the onboarded password and token are in no operator output, Event or status', async (context) => {
  assert.ok(context.operator && context.namespace, 'the operator ran');
  await assertNoCredentialLeaked([context.operator], [context.namespace], 2);
});

tests.run();
