// Issue #19, InfluxBucket.spec.influxql through the operator, on real InfluxDB (v2.7.12 and
// v2.9.1) and the real control plane. The docs/influxql.md examples are applied as written (in
// this file's namespace instead of team-a) and used as their consumers use them: Grafana's
// provisioning files as Grafana's backend does (Flux with the token, InfluxQL with the token
// header and with the v1 user), the npm `influx` client, Telegraf's outputs.influxdb with the v1
// credentials. The mapping is kept in sync (a retention policy PATCHed in place), never takes over
// another bucket's database (DatabaseTaken), never flips a contested default (DefaultConflict),
// and goes with its field or resource. The attacks: another tenant maps a database under this
// namespace's prefix, or reads it with its own v1 credentials.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
import { createInfluxClient } from '../../src/influx/client.js';
import type { DbrpMapping, InfluxClient } from '../../src/influx/types.js';
import {
  InstanceFile,
  accessHarness,
  createAccess,
  deleteAccess,
  getAccess,
  patchAccessSpec,
  waitForAccess,
  waitForGone,
} from '../support/access.js';
import {
  ensureTelegraf,
  grafanaQuery,
  influxQLQuery,
  runTelegrafOnce,
  seriesValues,
  telegrafErrors,
  telegrafOnceConfig,
} from '../support/clients.js';
import { docsExample } from '../support/docs-examples.js';
import { REAL_VERSIONS, freshInfluxd, type RealVersion } from '../support/influxdb.js';
import {
  printingFailure,
  createNamespace,
  getSecret,
  patchOnboardingSpec,
  type SecretView,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const runID = () => randomBytes(9).toString('hex');

class MappingFile extends InstanceFile {
  client!: InfluxClient;
  /** Another tenant, granted the same onboarding. */
  tenant = '';

  constructor(readonly version: RealVersion) {
    super();
  }

  async start(): Promise<void> {
    await Promise.all([accessHarness(), ensureTelegraf()]);
    await this.setUp(`iqlmap-${this.version.replace(/\./g, '-')}`, { withOperator: false });
    this.tenant = await createNamespace('iqlmap-tenant');
    await this.startOperator(['--drift-check-interval=2s'], [this.namespace, this.tenant]);
    await this.onboard(await freshInfluxd(this.version), { grants: [{ namespace: this.tenant }] });
    this.client = createInfluxClient({ baseUrl: this.server.url, timeoutMs: 15_000 });
  }

  override async tearDown(): Promise<void> {
    this.client?.close();
    await super.tearDown();
  }

  /** This file's database: the docs' team-a.metrics under this namespace's prefix. */
  get database(): string {
    return `${this.namespace}.metrics`;
  }

  async secret(name: string): Promise<SecretView> {
    const secret = await getSecret(this.namespace, name);
    assert.ok(secret, `Secret ${this.namespace}/${name} exists`);
    this.ledger.addSecret(secret);
    return secret;
  }

  /** A docs example, in this file's namespace (team-a replaced) with this file's onboarding. */
  async applyExample<T extends InfluxBucket | InfluxToken>(example: string, reason: string): Promise<T> {
    const manifest = parse(docsExample(example).replaceAll('team-a', this.namespace)) as T;
    const { name } = manifest.metadata;
    await createAccess(manifest.kind, this.namespace, name, { ...manifest.spec, onboardingRef: { name: 'influxdb' } });
    return waitForAccess<T>(manifest.kind, this.namespace, name, reason);
  }

  /** The physical mappings InfluxDB has of a bucket, or of a database. */
  async mappings(filter: { bucketID: string } | { database: string }): Promise<DbrpMapping[]> {
    const listed = await this.client.listDbrps(this.operatorToken, { orgID: this.orgID, ...filter });
    assert.ok(listed.ok, JSON.stringify(listed));
    return listed.value.filter((mapping) => !mapping.virtual);
  }

  /** One point written with the operator token into the bucket. */
  async writePoint(bucket: string, line: string): Promise<void> {
    const answer = await this.server.admin.request({
      method: 'POST',
      path: `/api/v2/write?org=acme&bucket=${encodeURIComponent(bucket)}&precision=s`,
      token: this.operatorToken,
      body: line,
    });
    assert.is(answer.status, 204, answer.text);
  }

  /** The values of `measurement` with the run tag, read through the mapped database (operator token as password). */
  async rows(measurement: string, run: string, database = this.database): Promise<unknown[]> {
    const answer = await influxQLQuery(
      { url: this.server.url, database, username: 'check', password: this.operatorToken },
      `SELECT "value" FROM "${measurement}" WHERE "run" = '${run}'`,
    );
    if ('error' in answer) throw new Error(answer.error);
    return answer.rows.map((row) => row.value);
  }

  async bucket(name: string, namespace = this.namespace): Promise<InfluxBucket> {
    const bucket = await getAccess<InfluxBucket>('InfluxBucket', namespace, name);
    assert.ok(bucket, `InfluxBucket ${namespace}/${name}`);
    return bucket;
  }
}

const messageOf = (resource: InfluxBucket | InfluxToken) => resource.status?.conditions?.[0]?.message ?? '';

for (const version of REAL_VERSIONS) {
  const tests = suite<MappingFile>(
    `InfluxBucket.spec.influxql through the operator, on real influxd ${version}`,
    new MappingFile(version),
  );
  tests.before(printingFailure((file) => file.start()));
  tests.after((file) => file.tearDown());

  tests('bucket-influxql: the example maps the database; status.influxql is the mapping InfluxDB has', async (file) => {
    const bucket = await file.applyExample<InfluxBucket>('bucket-influxql', 'BucketReady');
    const status = await eventually('status.influxql', async () => (await file.bucket('metrics')).status?.influxql);
    const [mapping, ...others] = await file.mappings({ bucketID: bucket.status?.bucketID ?? '' });
    assert.equal(others, []);
    assert.equal(
      [mapping?.id, mapping?.database, mapping?.retentionPolicy, mapping?.default],
      [status.mappingID, file.database, 'autogen', true],
    );
    assert.equal(status, {
      database: file.database,
      retentionPolicy: 'autogen',
      default: true,
      mappingID: mapping?.id,
    });
    assert.match(
      messageOf(await file.bucket('metrics')),
      `InfluxQL database ${file.database} retention policy autogen (its default)`,
    );
  });

  tests(
    'grafana-datasources: the rendered provisioning file reads through the mapping as Grafana does (Flux with the token, InfluxQL with the token header)',
    async (file) => {
      const token = await file.applyExample<InfluxToken>('grafana-datasources', 'TokenReady');
      const secret = await file.secret(token.status?.secretName ?? '');
      assert.is(secret.raw.metadata?.labels?.grafana_datasource, '1');
      const provisioning = secret.data['influxdb-datasources.yaml'] ?? '';
      assert.match(provisioning, `dbName: "${file.database}"`);
      const run = runID();
      await file.writePoint(file.database, `grafana_probe,run=${run} value=5i ${Math.floor(Date.now() / 1000)}`);
      const flux = await grafanaQuery(
        provisioning,
        `${file.namespace} (Flux)`,
        `from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "grafana_probe" and r.run == "${run}")`,
      );
      assert.is(flux.status, 200, String(flux.body));
      assert.match(String(flux.body), `,grafana_probe,${run}`);
      const influxQL = `SELECT "value" FROM "grafana_probe" WHERE "run" = '${run}' AND time > now() - 1h`;
      const byHeader = await grafanaQuery(provisioning, `${file.namespace} (InfluxQL)`, influxQL);
      assert.is(byHeader.status, 200, JSON.stringify(byHeader.body));
      assert.equal(seriesValues(byHeader.body), [5]);
    },
  );

  tests(
    'grafana-influxql-v1 and the npm influx client: the v1 user SELECTs through the mapping; a write-only token cannot',
    async (file) => {
      const token = await file.applyExample<InfluxToken>('grafana-influxql-v1', 'TokenReady');
      const secret = await file.secret(token.status?.secretName ?? '');
      file.ledger.add(secret.data['v1-password']);
      const run = runID();
      await file.writePoint(file.database, `v1_probe,run=${run} value=6i ${Math.floor(Date.now() / 1000)}`);
      const influxQL = `SELECT "value" FROM "v1_probe" WHERE "run" = '${run}' AND time > now() - 1h`;
      const byUser = await grafanaQuery(
        secret.data['influxdb-datasources.yaml'] ?? '',
        `${file.namespace} (InfluxQL, v1 user)`,
        influxQL,
      );
      assert.equal(seriesValues(byUser.body), [6]);
      const login = { url: file.server.url, database: file.database };
      const v1 = await influxQLQuery(
        { ...login, username: secret.data['v1-username'] ?? '', password: secret.data['v1-password'] ?? '' },
        influxQL,
      );
      assert.equal('rows' in v1 && v1.rows.map((row) => row.value), [6], JSON.stringify(v1));
      const byToken = await influxQLQuery(
        { ...login, username: 'grafana', password: secret.data.token ?? '' },
        influxQL,
      );
      assert.equal('rows' in byToken && byToken.rows.map((row) => row.value), [6], JSON.stringify(byToken));
      // A write-only token of the same bucket: InfluxDB hides the database from it.
      await createAccess('InfluxToken', file.namespace, 'writer', {
        onboardingRef: { name: 'influxdb' },
        permissions: [{ action: 'write', bucket: 'metrics' }],
      });
      await waitForAccess<InfluxToken>('InfluxToken', file.namespace, 'writer', 'TokenReady');
      const writer = await file.secret('writer-influx-token');
      const refused = await influxQLQuery({ ...login, username: 'w', password: writer.data.token ?? '' }, influxQL);
      assert.ok('error' in refused && refused.error.includes('database not found'), JSON.stringify(refused));
    },
  );

  tests(
    'telegraf-v1: Telegraf writes through the mapping with outputs.influxdb and the v1 credentials',
    async (file) => {
      const token = await file.applyExample<InfluxToken>('telegraf-v1', 'TokenReady');
      const secret = await file.secret(token.status?.secretName ?? '');
      file.ledger.add(secret.data['v1-password']);
      const output = secret.data['influxdb-output.conf'] ?? '';
      assert.match(output, `database = "${file.database}"`);
      assert.match(output, 'retention_policy = "autogen"');
      const run = runID();
      const result = await runTelegrafOnce(telegrafOnceConfig('telegraf_v1', run, output), {});
      assert.equal([result.code, telegrafErrors(result)], [0, []], result.stderr);
      assert.equal(await file.rows('telegraf_v1', run), [42]);
    },
  );

  tests(
    'kept in sync: a new retention policy is PATCHed in place (same mapping ID); a mapping made by hand on the bucket goes',
    async (file) => {
      const before = (await file.bucket('metrics')).status;
      await patchAccessSpec('InfluxBucket', file.namespace, 'metrics', { influxql: { retentionPolicy: 'weekly' } });
      const after = await eventually('the retention policy PATCHed', async () => {
        const influxql = (await file.bucket('metrics')).status?.influxql;
        return influxql?.retentionPolicy === 'weekly' && influxql;
      });
      assert.is(after.mappingID, before?.influxql?.mappingID, 'the same mapping');
      const created = await file.client.createDbrp(file.operatorToken, {
        orgID: file.orgID,
        bucketID: before?.bucketID ?? '',
        database: `${file.namespace}.byhand`,
        retentionPolicy: 'autogen',
        default: false,
      });
      assert.ok(created.ok, JSON.stringify(created));
      await eventually('the hand-made mapping of the bucket deleted', async () => {
        const mappings = await file.mappings({ bucketID: before?.bucketID ?? '' });
        return mappings.length === 1 && mappings[0]?.id === after.mappingID;
      });
      await patchAccessSpec('InfluxBucket', file.namespace, 'metrics', { influxql: { retentionPolicy: 'autogen' } });
      await eventually(
        'back to autogen',
        async () => (await file.bucket('metrics')).status?.influxql?.retentionPolicy === 'autogen',
      );
    },
  );

  tests(
    'DatabaseTaken: a database and retention policy mapped to another bucket (by an InfluxBucket, or by hand) is left as it is',
    async (file) => {
      const metrics = await file.bucket('metrics');
      await createAccess('InfluxBucket', file.namespace, 'other', {
        onboardingRef: { name: 'influxdb' },
        influxql: { database: file.database },
      });
      const taken = await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, 'other', 'DatabaseTaken');
      assert.match(
        messageOf(taken),
        `InfluxQL database ${file.database} retention policy autogen is mapped to another bucket`,
      );
      assert.is(taken.status?.influxql, undefined, 'no mapping of its own to show');
      const byDatabase = await file.mappings({ database: file.database });
      assert.equal(
        byDatabase.map((mapping) => [mapping.bucketID, mapping.retentionPolicy, mapping.default]),
        [[metrics.status?.bucketID, 'autogen', true]],
        'the mapping stays with metrics',
      );
      // A mapping made outside the operator, onto a bucket made outside it.
      const handmade = await file.client.createBucket(file.operatorToken, file.orgID, 'handmade', 0, '');
      assert.ok(handmade.ok);
      const outside = await file.client.createDbrp(file.operatorToken, {
        orgID: file.orgID,
        bucketID: handmade.value.id,
        database: `${file.namespace}.legacy`,
        retentionPolicy: 'autogen',
        default: true,
      });
      assert.ok(outside.ok);
      await createAccess('InfluxBucket', file.namespace, 'legacy', {
        onboardingRef: { name: 'influxdb' },
        influxql: { database: `${file.namespace}.legacy` },
      });
      await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, 'legacy', 'DatabaseTaken');
      assert.equal(
        (await file.mappings({ database: `${file.namespace}.legacy` })).map((mapping) => mapping.bucketID),
        [handmade.value.id],
      );
      await deleteAccess('InfluxBucket', file.namespace, 'legacy');
      await waitForGone('InfluxBucket', file.namespace, 'legacy');
    },
  );

  tests(
    'DefaultConflict: two InfluxBuckets claiming one database default are both Ready=False and the default does not move; both Ready once one lets go',
    async (file) => {
      const metrics = await file.bucket('metrics');
      await patchAccessSpec('InfluxBucket', file.namespace, 'other', {
        influxql: { retentionPolicy: 'weekly', default: true },
      });
      for (const name of ['other', 'metrics']) {
        const conflict = await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, name, 'DefaultConflict');
        assert.match(messageOf(conflict), `also declares spec.influxql.default: true for database ${file.database}`);
        assert.is(conflict.status?.influxql?.database, file.database, 'the mapping itself is in place');
      }
      const defaults = async () =>
        (await file.mappings({ database: file.database })).map((mapping) => [
          mapping.bucketID,
          mapping.retentionPolicy,
          mapping.default,
        ]);
      const held = await defaults();
      const other = await file.bucket('other');
      assert.equal(
        held.sort(),
        [
          [metrics.status?.bucketID, 'autogen', true],
          [other.status?.bucketID, 'weekly', false],
        ].sort(),
      );
      // Several drift checks (2 s) later, the default has not moved.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      assert.equal((await defaults()).sort(), held.sort(), 'no flip-flopping');
      await patchAccessSpec('InfluxBucket', file.namespace, 'other', { influxql: { default: false } });
      const ready = await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, 'other', 'BucketReady');
      assert.equal([ready.status?.influxql?.retentionPolicy, ready.status?.influxql?.default], ['weekly', false]);
      const metricsReady = await waitForAccess<InfluxBucket>('InfluxBucket', file.namespace, 'metrics', 'BucketReady');
      assert.is(metricsReady.status?.influxql?.default, true);
      // Claimed by metrics alone now: it keeps the default it held.
      assert.equal((await defaults()).sort(), held.sort());
    },
  );

  tests(
    "attacks: another tenant maps a database under this namespace's prefix, or claims this namespace's bucket to map it, or reads it with its own v1 credentials",
    async (file) => {
      const before = await file.mappings({ database: file.database });
      await createAccess('InfluxBucket', file.tenant, 'steal', {
        onboardingRef: file.ref(),
        influxql: { database: file.database, retentionPolicy: 'stolen', default: true },
      });
      const refused = await waitForAccess<InfluxBucket>('InfluxBucket', file.tenant, 'steal', 'NotPermitted');
      assert.match(messageOf(refused), 'spec.accessFrom.grants[].databases');
      assert.is(refused.status?.bucketID, undefined, 'no bucket was created either');
      await createAccess('InfluxBucket', file.tenant, 'hijack', {
        onboardingRef: file.ref(),
        name: file.database,
        adopt: true,
        influxql: { database: `${file.tenant}.hijacked` },
      });
      await waitForAccess<InfluxBucket>('InfluxBucket', file.tenant, 'hijack', 'NotPermitted');
      assert.equal(
        await file.mappings({ database: file.database }),
        before,
        "this namespace's mappings are as they were",
      );
      assert.equal(await file.mappings({ database: `${file.tenant}.hijacked` }), [], 'nothing mapped onto our bucket');
      // The tenant's own v1 credentials, on its own bucket, cannot read this namespace's database.
      await createAccess('InfluxBucket', file.tenant, 'own', {
        onboardingRef: file.ref(),
        influxql: { database: `${file.tenant}.own` },
      });
      await waitForAccess<InfluxBucket>('InfluxBucket', file.tenant, 'own', 'BucketReady');
      await createAccess('InfluxToken', file.tenant, 'reader', {
        onboardingRef: file.ref(),
        permissions: [{ action: 'read', bucket: 'own' }],
        v1: {},
      });
      await waitForAccess<InfluxToken>('InfluxToken', file.tenant, 'reader', 'TokenReady');
      const stranger = await getSecret(file.tenant, 'reader-influx-token');
      assert.ok(stranger);
      file.ledger.addSecret(stranger);
      const login = {
        url: file.server.url,
        username: stranger.data['v1-username'] ?? '',
        password: stranger.data['v1-password'] ?? '',
      };
      const query = 'SELECT "value" FROM "grafana_probe"';
      const denied = await influxQLQuery({ ...login, database: file.database }, query);
      assert.ok('error' in denied && denied.error.includes('database not found'), JSON.stringify(denied));
      assert.equal(
        await influxQLQuery({ ...login, database: `${file.tenant}.own` }, query),
        { rows: [] },
        'its own database it reads',
      );
    },
  );

  tests(
    'grants[].databases: a database outside the prefix is mapped once the onboarding lists it, and loses its mapping when the grant is withdrawn',
    async (file) => {
      const grant = (databases?: string[]) =>
        patchOnboardingSpec(file.namespace, 'influxdb', {
          accessFrom: { grants: [{ namespace: file.tenant, ...(databases && { databases }) }] },
        });
      await grant(['shared-metrics']);
      await createAccess('InfluxBucket', file.tenant, 'shared', {
        onboardingRef: file.ref(),
        influxql: { database: 'shared-metrics' },
      });
      const mapped = await eventually('the shared database mapped', async () => {
        const bucket = await file.bucket('shared', file.tenant);
        return (
          bucket.status?.conditions?.[0]?.reason === 'BucketReady' && bucket.status.influxql !== undefined && bucket
        );
      });
      assert.equal(
        (await file.mappings({ database: 'shared-metrics' })).map((mapping) => mapping.bucketID),
        [mapped.status?.bucketID],
      );
      await grant();
      const withdrawn = await waitForAccess<InfluxBucket>('InfluxBucket', file.tenant, 'shared', 'NotPermitted');
      assert.match(messageOf(withdrawn), 'spec.accessFrom.grants[].databases');
      assert.equal(await file.mappings({ database: 'shared-metrics' }), [], 'the mapping went with the grant');
    },
  );

  tests(
    'removing spec.influxql deletes the mapping and its status; deleting a Retain InfluxBucket deletes its mappings and keeps the bucket',
    async (file) => {
      const other = await file.bucket('other');
      await patchAccessSpec('InfluxBucket', file.namespace, 'other', { influxql: null });
      await eventually(
        'the mapping of other deleted',
        async () => (await file.mappings({ bucketID: other.status?.bucketID ?? '' })).length === 0,
      );
      await eventually('status.influxql gone', async () => {
        const bucket = await file.bucket('other');
        return bucket.status?.conditions?.[0]?.reason === 'BucketReady' && bucket.status.influxql === undefined;
      });
      const metrics = await file.bucket('metrics');
      await deleteAccess('InfluxBucket', file.namespace, 'metrics');
      await waitForGone('InfluxBucket', file.namespace, 'metrics');
      assert.equal(await file.mappings({ bucketID: metrics.status?.bucketID ?? '' }), []);
      const kept = await file.client.findBucketByID(file.operatorToken, metrics.status?.bucketID ?? '');
      assert.ok(kept.ok && kept.value !== null, 'the bucket itself is retained');
      await file.assertNoSecretLeaked(4);
    },
  );

  tests.run();
}
