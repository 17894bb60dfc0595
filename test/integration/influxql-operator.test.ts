// Issue #19 phase B through the operator, on real InfluxDB (v2.7.12 and v2.9.1) and the real
// control plane: the InfluxToken examples of docs/influxql.md are applied as written (in this
// file's namespace), and the Secret the operator writes is handed as it is to the real consumer:
// Telegraf takes it as its environment (envFrom), the `influx` CLI its configs file. A template
// that is edited is written again with the same token; one that reads a value the token does not
// have, or sets the operator's own labels, is InvalidSpec and the Secret keeps what it held. With
// spec.v1 the Secret's v1 username and password SELECT through InfluxQL, rotate in place, are made
// again on a permission change and go with the resource.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { namespaceUserName } from '../../src/api/access-spec.js';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
import type { InfluxOnboarding } from '../../src/api/types.js';
import { createInfluxClient } from '../../src/influx/client.js';
import {
  accessHarness,
  createAccess,
  deleteAccess,
  getAccess,
  patchAccessSpec,
  waitForAccess,
  waitForGone,
} from '../support/access.js';
import {
  ensureInfluxCli,
  ensureTelegraf,
  influxQLQuery,
  runInfluxCli,
  runTelegrafOnce,
  telegrafErrors,
  telegrafOnceConfig,
} from '../support/clients.js';
import { docsExample } from '../support/docs-examples.js';
import { REAL_VERSIONS, freshInfluxd, type InfluxServer, type RealVersion } from '../support/influxdb.js';
import {
  OnboardingFile,
  createOnboarding,
  printingFailure,
  getSecret,
  patchOnboardingSpec,
  waitForReason,
  type SecretView,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const runID = () => randomBytes(9).toString('hex');

/** The message a read was refused with; fails when it was not. */
async function refusal(read: () => Promise<unknown>): Promise<string> {
  const outcome = await read().then(
    (rows) => ({ rows }),
    (error: unknown) => ({ refused: String(error) }),
  );
  if ('rows' in outcome) assert.unreachable(`expected a refusal, read ${JSON.stringify(outcome.rows)}`);
  return 'refused' in outcome ? outcome.refused : '';
}

class TemplateFile extends OnboardingFile {
  server!: InfluxServer;
  operatorToken = '';
  bucketName = '';
  credentialsName = '';

  constructor(readonly version: RealVersion) {
    super();
  }

  async start(): Promise<void> {
    await Promise.all([accessHarness(), ensureTelegraf(), ensureInfluxCli()]);
    await this.setUp(`iqlop-${this.version.replace(/\./g, '-')}`, { withOperator: false });
    await this.startOperator(['--drift-check-interval=2s']);
    this.server = await freshInfluxd(this.version);
    await createOnboarding(this.namespace, 'influx', {
      url: this.server.url,
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
    });
    const onboarded = await waitForReason(this.namespace, 'influx', 'Onboarded', 60_000);
    this.credentialsName = onboarded.status?.secretName ?? '';
    this.operatorToken = (await this.secret(this.credentialsName)).data.token ?? '';
    await createAccess('InfluxBucket', this.namespace, 'metrics', { onboardingRef: { name: 'influx' } });
    const bucket = await waitForAccess<InfluxBucket>('InfluxBucket', this.namespace, 'metrics', 'BucketReady');
    this.bucketName = bucket.status?.bucketName ?? '';
  }

  async secret(name: string): Promise<SecretView> {
    const secret = await getSecret(this.namespace, name);
    assert.ok(secret, `Secret ${this.namespace}/${name} exists`);
    this.ledger.addSecret(secret);
    return secret;
  }

  /** A docs example InfluxToken, applied in this file's namespace with this file's onboarding. */
  async applyExample(example: string): Promise<InfluxToken> {
    const manifest = parse(docsExample(example)) as InfluxToken;
    assert.is(manifest.kind, 'InfluxToken', example);
    const { name } = manifest.metadata;
    await createAccess('InfluxToken', this.namespace, name, { ...manifest.spec, onboardingRef: { name: 'influx' } });
    return waitForAccess<InfluxToken>('InfluxToken', this.namespace, name, 'TokenReady');
  }

  async v1Token(name: string): Promise<InfluxToken> {
    const token = await getAccess<InfluxToken>('InfluxToken', this.namespace, name);
    assert.ok(token, `InfluxToken ${name}`);
    return token;
  }

  /** One point written with the operator token, for the v1 readers to find. */
  async writePoint(line: string): Promise<void> {
    const answer = await this.server.admin.request({
      method: 'POST',
      path: `/api/v2/write?org=acme&bucket=${encodeURIComponent(this.bucketName)}&precision=s`,
      token: this.operatorToken,
      body: line,
    });
    assert.is(answer.status, 204, answer.text);
  }

  /** Rows read with InfluxQL by the Secret's v1 username and password (the bucket's virtual database); throws InfluxDB's refusal. */
  async v1Rows(secret: SecretView, measurement: string, run: string): Promise<unknown[]> {
    const answer = await influxQLQuery(
      {
        url: this.server.url,
        database: this.bucketName,
        username: secret.data['v1-username'] ?? '',
        password: secret.data['v1-password'] ?? '',
      },
      `SELECT "value" FROM "${measurement}" WHERE "run" = '${run}'`,
    );
    if ('error' in answer) throw new Error(answer.error);
    return answer.rows.map((row) => row.value);
  }

  /** Rows of `measurement` with the run tag, read back with InfluxQL (the bucket's virtual database) by the operator token. */
  async rows(measurement: string, run: string): Promise<unknown[]> {
    const answer = await influxQLQuery(
      { url: this.server.url, database: this.bucketName, username: 'check', password: this.operatorToken },
      `SELECT "value" FROM "${measurement}" WHERE "run" = '${run}'`,
    );
    if ('error' in answer) throw new Error(answer.error);
    return answer.rows.map((row) => row.value);
  }
}

for (const version of REAL_VERSIONS) {
  const tests = suite<TemplateFile>(
    `Secret templates through the operator, on real influxd ${version}`,
    new TemplateFile(version),
  );
  tests.before(printingFailure((file) => file.start()));
  tests.after((file) => file.tearDown());

  tests(
    'telegraf-env: the Secret the operator writes is the environment Telegraf writes with (outputs.influxdb_v2)',
    async (file) => {
      const token = await file.applyExample('telegraf-env');
      const secret = await file.secret(token.status?.secretName ?? '');
      assert.equal(Object.keys(secret.data).sort(), [
        'INFLUX_BUCKET',
        'INFLUX_ORG',
        'INFLUX_TOKEN',
        'INFLUX_URL',
        'bucket',
        'org',
        'token',
        'url',
      ]);
      assert.equal(
        [secret.data.INFLUX_URL, secret.data.INFLUX_TOKEN, secret.data.INFLUX_ORG, secret.data.INFLUX_BUCKET],
        [file.server.url, secret.data.token, 'acme', file.bucketName],
      );
      assert.is.not(secret.data.INFLUX_TOKEN, file.operatorToken);
      const run = runID();
      // envFrom: every key of the Secret becomes a variable; Telegraf's config reads the INFLUX_* ones.
      const result = await runTelegrafOnce(
        telegrafOnceConfig('telegraf_env', run, docsExample('telegraf-v2-conf')),
        secret.data,
      );
      assert.equal([result.code, telegrafErrors(result)], [0, []], result.stderr);
      assert.equal(await file.rows('telegraf_env', run), [42]);
    },
  );

  tests('influx-cli: the influx CLI writes and queries with the configs file from the Secret', async (file) => {
    const token = await file.applyExample('influx-cli');
    const secret = await file.secret(token.status?.secretName ?? '');
    const configs = secret.data['influx-configs'] ?? '';
    assert.match(configs, `token = "${secret.data.token}"`);
    const run = runID();
    const line = `cli_probe,run=${run} value=7i ${Math.floor(Date.now() / 1000)}`;
    const wrote = await runInfluxCli(['write', '--bucket', file.bucketName, '--precision', 's', line], configs);
    assert.is(wrote.code, 0, wrote.stderr);
    const flux = `from(bucket: "${file.bucketName}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "cli_probe" and r.run == "${run}")`;
    const read = await runInfluxCli(['query', '--raw', flux], configs);
    assert.is(read.code, 0, read.stderr);
    assert.match(read.stdout, `,cli_probe,${run}`);
    assert.equal(await file.rows('cli_probe', run), [7]);
  });

  tests(
    'an edited template is written again with the same token; its labels land beside the operator labels',
    async (file) => {
      const before = await file.secret('telegraf-influx-token');
      await patchAccessSpec('InfluxToken', file.namespace, 'telegraf', {
        secretTemplate: {
          metadata: { labels: { team: 'a' }, annotations: { 'example.com/owner': 'team a' } },
          // A merge patch: null removes a key from the template.
          data: {
            INFLUX_URL: null,
            INFLUX_ORG: null,
            INFLUX_BUCKET: null,
            INFLUX_HOST: '{{ .url }}',
            IDS: '{{ .orgID }}/{{ .bucketID }}',
          },
        },
      });
      const after = await eventually('the Secret to hold the edited template', async () => {
        const secret = await getSecret(file.namespace, 'telegraf-influx-token');
        return secret?.data.INFLUX_HOST !== undefined && secret;
      });
      assert.is(after.data.token, before.data.token, 'the same token');
      assert.equal(Object.keys(after.data).sort(), [
        'IDS',
        'INFLUX_HOST',
        'INFLUX_TOKEN',
        'bucket',
        'org',
        'token',
        'url',
      ]);
      const metrics = await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, 'metrics', 'BucketReady');
      const ready = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'telegraf', 'TokenReady');
      assert.ok(ready.status?.authorizationID);
      assert.match(after.data.IDS ?? '', new RegExp(`/${metrics.status?.bucketID}$`));
      const labels = after.raw.metadata?.labels ?? {};
      assert.equal(
        [labels.team, labels['app.kubernetes.io/managed-by'], after.raw.metadata?.annotations?.['example.com/owner']],
        ['a', 'influx-onboarding-operator', 'team a'],
      );
      assert.is(after.raw.type, 'Opaque');
    },
  );

  tests(
    'attacks: a template reading a value the token lacks, or setting the operator labels, is InvalidSpec naming the key; the Secret keeps its token',
    async (file) => {
      const before = await file.secret('telegraf-influx-token');
      await patchAccessSpec('InfluxToken', file.namespace, 'telegraf', {
        secretTemplate: { data: { INFLUX_TOKEN: '{{ .token }}', PASSWORD: '{{ .v1Password }}' } },
      });
      const missing = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'telegraf', 'InvalidSpec');
      assert.match(
        missing.status?.conditions?.[0]?.message ?? '',
        'spec.secretTemplate.data["PASSWORD"]: {{ .v1Password }} not available',
      );
      await patchAccessSpec('InfluxToken', file.namespace, 'telegraf', {
        secretTemplate: { metadata: { labels: { 'influxdb.onboarding.dev/token-name': 'cli' } }, data: null },
      });
      const labelled = await eventually('the label attack to be refused', async () => {
        const token = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'telegraf', 'InvalidSpec');
        const message = token.status?.conditions?.[0]?.message ?? '';
        return message.includes('cannot be set by a template') && message;
      });
      assert.match(labelled, 'spec.secretTemplate.metadata.labels["influxdb.onboarding.dev/token-name"]');
      const after = await file.secret('telegraf-influx-token');
      assert.equal(after.data, before.data, 'nothing written while the spec is invalid');
      assert.is(after.raw.metadata?.labels?.['influxdb.onboarding.dev/token-name'], 'telegraf');
    },
  );

  tests(
    'v1: the Secret holds a v1 username and password that SELECT through InfluxQL; the template reads them',
    async (file) => {
      await createAccess('InfluxToken', file.namespace, 'grafana-v1', {
        onboardingRef: { name: 'influx' },
        permissions: [{ action: 'read', bucket: 'metrics' }],
        v1: {},
        secretTemplate: { data: { 'login.txt': '{{ .v1Username }}:{{ .v1Password }}' } },
      });
      const ready = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'grafana-v1', 'TokenReady');
      const secret = await file.secret('grafana-v1-influx-token');
      const username = `${file.namespace}.grafana-v1`;
      assert.equal([secret.data['v1-username'], ready.status?.v1Username], [username, username]);
      assert.ok(ready.status?.v1AuthorizationID);
      assert.not.ok('v1-pending-password' in secret.data);
      assert.is(secret.data['login.txt'], `${username}:${secret.data['v1-password']}`);
      file.ledger.add(secret.data['v1-password']);
      const run = runID();
      await file.writePoint(`v1_probe,run=${run} value=3i`);
      assert.equal(await file.v1Rows(secret, 'v1_probe', run), [3]);
      // Issued under the namespace's own InfluxDB user, as its v2 tokens are: its list is bounded per tenant.
      const client = createInfluxClient({ baseUrl: file.server.url, timeoutMs: 15_000 });
      try {
        const user = await client.findUser(file.operatorToken, namespaceUserName(file.namespace));
        assert.ok(user.ok && user.value !== null, JSON.stringify(user));
        const own = await client.listV1Authorizations(file.operatorToken, { userID: user.value ?? '' });
        assert.equal(
          own.ok && own.value.map((entry) => entry.username),
          [username],
          "the namespace user's v1 list holds it",
        );
      } finally {
        client.close();
      }
    },
  );

  tests('v1: a new rotate-v1-password value sets a new password in place; the old one stops working', async (file) => {
    const before = await file.secret('grafana-v1-influx-token');
    const authorizationBefore = (await file.v1Token('grafana-v1')).status?.v1AuthorizationID;
    const { kubectl } = await accessHarness();
    await kubectl([
      'annotate',
      'influxtokens.influxdb.onboarding.dev',
      'grafana-v1',
      '-n',
      file.namespace,
      'influxdb.onboarding.dev/rotate-v1-password=2026-12-06',
    ]);
    const after = await eventually('a new v1 password in the Secret', async () => {
      const secret = await getSecret(file.namespace, 'grafana-v1-influx-token');
      const password = secret?.data['v1-password'];
      return password !== before.data['v1-password'] && !('v1-pending-password' in (secret?.data ?? {})) && secret;
    });
    file.ledger.add(after.data['v1-password']);
    const token = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'grafana-v1', 'TokenReady');
    assert.is(token.status?.v1AuthorizationID, authorizationBefore, 'the same v1 authorization, a new password');
    assert.equal(
      [after.data['v1-username'], after.data.token],
      [before.data['v1-username'], before.data.token],
      'same username, same token',
    );
    const run = runID();
    await file.writePoint(`v1_rotated,run=${run} value=4i`);
    assert.equal(await file.v1Rows(after, 'v1_rotated', run), [4]);
    assert.match(await refusal(() => file.v1Rows(before, 'v1_rotated', run)), /401|unauthorized|authoriz/i);
  });

  tests(
    'v1: a permission change makes the v1 authorization again under the same username, with a new password',
    async (file) => {
      const before = await file.v1Token('grafana-v1');
      const secretBefore = await file.secret('grafana-v1-influx-token');
      await patchAccessSpec('InfluxToken', file.namespace, 'grafana-v1', {
        permissions: [{ action: 'write', bucket: 'metrics' }],
      });
      const after = await eventually('a new v1 authorization', async () => {
        const token = await file.v1Token('grafana-v1');
        return (
          token.status?.permissions === 'write:metrics' &&
          token.status.conditions?.[0]?.reason === 'TokenReady' &&
          token.status.v1AuthorizationID !== before.status?.v1AuthorizationID &&
          token
        );
      });
      assert.is(after.status?.v1Username, before.status?.v1Username);
      const secret = await file.secret('grafana-v1-influx-token');
      assert.is.not(secret.data['v1-password'], secretBefore.data['v1-password']);
      // Write-only now: the same username cannot SELECT any more.
      assert.match(await refusal(() => file.v1Rows(secret, 'v1_probe', 'x')), 'database not found');
    },
  );

  tests(
    'attacks: a v1 username of another namespace is InvalidSpec; a username another token holds is V1UsernameTaken',
    async (file) => {
      await createAccess('InfluxToken', file.namespace, 'other-ns', {
        onboardingRef: { name: 'influx' },
        permissions: [{ action: 'read', bucket: 'metrics' }],
        v1: { username: 'kube-system.admin' },
      });
      const invalid = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'other-ns', 'InvalidSpec');
      assert.match(
        invalid.status?.conditions?.[0]?.message ?? '',
        `spec.v1.username: must start with "${file.namespace}."`,
      );
      await createAccess('InfluxToken', file.namespace, 'thief', {
        onboardingRef: { name: 'influx' },
        permissions: [{ action: 'read', bucket: 'metrics' }],
        v1: { username: `${file.namespace}.grafana-v1` },
      });
      const taken = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'thief', 'V1UsernameTaken');
      assert.match(taken.status?.conditions?.[0]?.message ?? '', `v1 username ${file.namespace}.grafana-v1 is taken`);
      const owner = await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'grafana-v1', 'TokenReady');
      assert.ok(owner.status?.v1AuthorizationID, 'the owner keeps its v1 credentials');
    },
  );

  tests('v1: deleting the InfluxToken deletes its v1 authorization', async (file) => {
    const token = await file.v1Token('grafana-v1');
    await deleteAccess('InfluxToken', file.namespace, 'grafana-v1');
    await waitForGone('InfluxToken', file.namespace, 'grafana-v1');
    const client = createInfluxClient({ baseUrl: file.server.url, timeoutMs: 15_000 });
    try {
      const left = await client.v1Authorization(file.operatorToken, token.status?.v1AuthorizationID ?? '');
      assert.equal(left, { ok: true, value: null });
      const listed = await client.listV1Authorizations(file.operatorToken, {
        username: token.status?.v1Username ?? '',
      });
      assert.equal(listed, { ok: true, value: [] });
    } finally {
      client.close();
    }
    // The values never appear where people read: the operator output, Events, statuses.
    await file.assertNoSecretLeaked(4);
  });

  tests(
    "onboarding-influx-cli: the credentials Secret carries the rendered configs and the CLI queries with them; the template cannot relabel it; a removed template's keys go",
    async (file) => {
      const example = parse(docsExample('onboarding-influx-cli')) as InfluxOnboarding;
      await patchOnboardingSpec(file.namespace, 'influx', { secretTemplate: example.spec.secretTemplate as never });
      const templated = await eventually('the credentials Secret to hold influx-configs', async () => {
        const secret = await getSecret(file.namespace, file.credentialsName);
        return secret?.data['influx-configs'] !== undefined && secret;
      });
      assert.is(templated.data.token, file.operatorToken, 'the same operator token');
      assert.match(templated.data['influx-configs'] ?? '', `token = "${file.operatorToken}"`);
      const read = await runInfluxCli(['query', '--raw', 'buckets()'], templated.data['influx-configs'] ?? '');
      assert.is(read.code, 0, read.stderr);
      assert.match(read.stdout, 'platform');
      // The attack: a template that names the Secret as another onboarding's.
      await patchOnboardingSpec(file.namespace, 'influx', {
        secretTemplate: { metadata: { labels: { 'influxdb.onboarding.dev/owner-name': 'other' } } },
      });
      const invalid = await waitForReason(file.namespace, 'influx', 'InvalidSpec', 30_000);
      assert.match(
        invalid.status?.conditions?.find((condition) => condition.type === 'Ready')?.message ?? '',
        'spec.secretTemplate.metadata.labels["influxdb.onboarding.dev/owner-name"]',
      );
      const kept = await file.secret(file.credentialsName);
      assert.equal(kept.data, templated.data, 'nothing written while the spec is invalid');
      assert.is(kept.raw.metadata?.labels?.['influxdb.onboarding.dev/owner-name'], 'influx');
      await patchOnboardingSpec(file.namespace, 'influx', { secretTemplate: null });
      await waitForReason(file.namespace, 'influx', 'Onboarded', 30_000);
      const plain = await eventually('the template keys removed', async () => {
        const secret = await getSecret(file.namespace, file.credentialsName);
        return secret?.data['influx-configs'] === undefined && secret;
      });
      assert.equal(Object.keys(plain.data).sort(), ['bucket', 'org', 'password', 'token', 'url', 'username']);
      assert.is(plain.data.token, file.operatorToken);
    },
  );

  tests.run();
}
