// Tenant roles (#17 point 11): the chart's ClusterRoles, aggregated by the real control plane's
// clusterrole-aggregation controller into Kubernetes' own `edit` and `view`, let a namespace's
// editors declare InfluxBuckets and InfluxTokens and its viewers read them, never write their
// status (the operator's report), and InfluxOnboardings only behind tenantRoles.onboardings. Each
// check is what that person tries (kubectl as them, by impersonation).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { accessHarness, createAccess } from '../support/access.js';
import { createNamespace, randomSuffix } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Context {
  namespace: string;
  release: string;
}

const tests = suite<Context>('tenant roles aggregated into edit and view', {} as Context);

async function tenantRoles(release: string, values: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout: built } = await promisify(execFile)('bash', [join(root, 'test/helm/build.sh')], {
    maxBuffer: 1 << 20,
  });
  const helm = built.trim().split('\n').pop() ?? '';
  const { stdout } = await promisify(execFile)(
    helm,
    [
      'template',
      release,
      join(root, 'deploy/influx-onboarding-operator'),
      '--namespace',
      'ops',
      ...values.flatMap((value) => ['--set', value]),
    ],
    { maxBuffer: 1 << 22 },
  );
  return parseAllDocuments(stdout)
    .map((document) => document.toJSON() as { kind?: string; metadata?: { name?: string } } | null)
    .filter(
      (manifest) => manifest?.kind === 'ClusterRole' && /-tenant-(edit|view)$/.test(manifest.metadata?.name ?? ''),
    )
    .map((manifest) => manifest as Record<string, unknown>);
}

async function apply(manifests: Array<Record<string, unknown>>): Promise<void> {
  const { kubectl } = await accessHarness();
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
}

/** What `kubectl auth can-i` answers for that user in the test namespace. */
async function can(context: Context, user: string, ...args: string[]): Promise<string> {
  const { kubectlResult } = await accessHarness();
  return (await kubectlResult(['auth', 'can-i', `--as=${user}`, '-n', context.namespace, ...args])).stdout.trim();
}

tests.before(async (context) => {
  context.namespace = await createNamespace('tenant-roles');
  context.release = `roles-${randomSuffix()}`;
  const { kubectl } = await accessHarness();
  await kubectl(['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', context.namespace]);
  await kubectl(['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', context.namespace]);
});

tests.after(async (context) => {
  const { kubectlResult } = await accessHarness();
  for (const role of ['tenant-edit', 'tenant-view'])
    await kubectlResult([
      'delete',
      'clusterrole',
      `${context.release}-influx-onboarding-operator-${role}`,
      '--ignore-not-found',
    ]);
});

tests(
  'with the chart defaults: edit creates InfluxBuckets and InfluxTokens, view reads them; nobody writes their status',
  async (context) => {
    const roles = await tenantRoles(context.release, []);
    assert.equal(roles.length, 2, 'an edit and a view role');
    await apply(roles);
    const bucket = 'influxbuckets.influxdb.onboarding.dev';
    const token = 'influxtokens.influxdb.onboarding.dev';
    await eventually(
      'the rules to be aggregated into edit',
      async () => (await can(context, 'alice', 'create', bucket)) === 'yes',
    );
    for (const verb of ['create', 'update', 'patch', 'delete']) {
      assert.is(await can(context, 'alice', verb, bucket), 'yes', `edit: ${verb} InfluxBucket`);
      assert.is(await can(context, 'alice', verb, token), 'yes', `edit: ${verb} InfluxToken`);
    }
    await eventually(
      'the rules to be aggregated into view',
      async () => (await can(context, 'bob', 'list', token)) === 'yes',
    );
    assert.is(await can(context, 'bob', 'get', bucket), 'yes');
    assert.is(await can(context, 'bob', 'create', bucket), 'no', 'view reads only');
    for (const user of ['alice', 'bob']) {
      for (const plural of [bucket, token]) {
        assert.is(await can(context, user, 'patch', plural, '--subresource=status'), 'no', `${user}: ${plural}/status`);
        assert.is(
          await can(context, user, 'update', plural, '--subresource=status'),
          'no',
          `${user}: ${plural}/status`,
        );
      }
    }
    assert.is(
      await can(context, 'alice', 'create', 'influxonboardings.influxdb.onboarding.dev'),
      'no',
      'off by default',
    );

    // The attack itself: an editor forging a status is refused by the API server.
    await createAccess('InfluxBucket', context.namespace, 'mine', { onboardingRef: { name: 'influxdb' } });
    const { kubectlResult } = await accessHarness();
    const forged = await kubectlResult([
      'patch',
      bucket,
      'mine',
      '-n',
      context.namespace,
      '--as=alice',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"bucketID":"0123456789abcdef"}}',
    ]);
    assert.is.not(forged.code, 0);
    assert.match(forged.stderr, 'forbidden');
  },
);

tests('tenantRoles.onboardings: InfluxOnboarding in the same roles, on purpose only', async (context) => {
  await apply(await tenantRoles(context.release, ['tenantRoles.onboardings=true']));
  const onboardings = 'influxonboardings.influxdb.onboarding.dev';
  await eventually(
    'InfluxOnboarding aggregated into edit',
    async () => (await can(context, 'alice', 'create', onboardings)) === 'yes',
  );
  assert.is(await can(context, 'bob', 'list', onboardings), 'yes');
  assert.is(await can(context, 'alice', 'patch', onboardings, '--subresource=status'), 'no');
});

tests.run();
