// The clients people run, against real InfluxDB (v2.7.12 and v2.9.1) with no operator yet (issue
// #19, phase A): the DBRP mapping and v1 credentials are made with the operator's own InfluxDB
// client, each example of docs/influxql.md is rendered with the credentials as the operator will
// write them, and the result is handed to the real consumer: Telegraf writes through both of its
// InfluxDB outputs, the `influx` CLI writes and queries, the npm 1.x client SELECTs, and Grafana's
// datasource requests run. Every point written is read back; every refusal is InfluxDB's own.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { checkSecretTemplate, renderSecretTemplate } from '../../src/api/secret-template.js';
import type { SecretTemplate, TemplateValues } from '../../src/api/template-types.js';
import { TOKEN_SECRET_KEYS } from '../../src/api/access-types.js';
import { bucketPermissions } from '../../src/access/token-authorizations.js';
import { createInfluxClient } from '../../src/influx/client.js';
import type { InfluxClient, Outcome } from '../../src/influx/types.js';
import {
  ensureInfluxCli,
  ensureTelegraf,
  grafanaQuery,
  seriesValues,
  influxQLQuery,
  runInfluxCli,
  runTelegrafOnce,
  telegrafErrors,
  telegrafOnceConfig,
  type InfluxQLLogin,
} from '../support/clients.js';
import { docsExample, docsExamples } from '../support/docs-examples.js';
import { REAL_VERSIONS, freshInfluxd, type InfluxServer, type RealVersion } from '../support/influxdb.js';

function unwrap<T>(outcome: Outcome<T>, what: string): T {
  if (!outcome.ok) throw new Error(`${what}: ${JSON.stringify(outcome.failure)}`);
  return outcome.value;
}

const secret = () => randomBytes(18).toString('base64url');

/** A bucket of a tenant with its InfluxQL mapping, and the credentials an application of it gets. */
interface Tenant {
  bucket: string;
  bucketID: string;
  database: string;
  retentionPolicy: string;
}

class World {
  server!: InfluxServer;
  client!: InfluxClient;
  operatorToken = secret();
  orgID = '';
  teamA!: Tenant;
  teamB!: Tenant;
  readonly examples = docsExamples();

  constructor(readonly version: RealVersion) {}

  async start(): Promise<void> {
    await Promise.all([ensureTelegraf(), ensureInfluxCli()]);
    this.server = await freshInfluxd(this.version);
    const setup = await this.server.admin.setUp({
      username: 'admin',
      password: secret(),
      org: 'acme',
      bucket: 'operator',
      token: this.operatorToken,
    });
    this.orgID = setup.orgID;
    this.client = createInfluxClient({ baseUrl: this.server.url, timeoutMs: 15_000 });
    this.teamA = await this.tenant('team-a-metrics', 'team-a.metrics');
    this.teamB = await this.tenant('team-b-data', 'team-b.data');
  }

  /** A bucket (kept forever) mapped to `database`/autogen as its default, as phase B's InfluxBucket.spec.influxql will. */
  async tenant(bucket: string, database: string): Promise<Tenant> {
    const { id } = unwrap(await this.client.createBucket(this.operatorToken, this.orgID, bucket, 0), 'bucket');
    const mapping = unwrap(
      await this.client.createDbrp(this.operatorToken, {
        orgID: this.orgID,
        bucketID: id,
        database,
        retentionPolicy: 'autogen',
        default: true,
      }),
      'DBRP',
    );
    assert.equal([mapping.bucketID, mapping.default, mapping.virtual], [id, true, false]);
    return { bucket, bucketID: id, database, retentionPolicy: 'autogen' };
  }

  /** A v2 token on the tenant's bucket, as an InfluxToken gets it. */
  async token(tenant: Tenant, ...actions: Array<'read' | 'write'>): Promise<string> {
    const permissions = bucketPermissions(
      this.orgID,
      actions.map((action) => ({ action, bucketID: tenant.bucketID })),
    );
    return unwrap(
      await this.client.createAuthorization(this.operatorToken, { orgID: this.orgID, description: 'app', permissions }),
      'token',
    ).token;
  }

  /** v1 credentials with a token's permissions and a generated password, as InfluxToken.spec.v1 will make them. */
  async v1(tenant: Tenant, username: string, ...actions: Array<'read' | 'write'>) {
    const permissions = bucketPermissions(
      this.orgID,
      actions.map((action) => ({ action, bucketID: tenant.bucketID })),
    );
    const created = unwrap(
      await this.client.createV1Authorization(this.operatorToken, {
        orgID: this.orgID,
        username,
        description: 'app v1',
        permissions,
      }),
      'v1 authorization',
    );
    const password = secret();
    unwrap(await this.client.setV1Password(this.operatorToken, created.id, password), 'v1 password');
    return { v1Username: username, v1Password: password };
  }

  /** Everything a template may read for an application of `tenant` holding `token`. */
  values(tenant: Tenant, token: string, v1?: { v1Username: string; v1Password: string }): TemplateValues {
    return {
      url: this.server.url,
      org: 'acme',
      orgID: this.orgID,
      bucket: tenant.bucket,
      bucketID: tenant.bucketID,
      token,
      database: tenant.database,
      retentionPolicy: tenant.retentionPolicy,
      ...v1,
    };
  }

  /** The example InfluxToken's template keys, rendered: what phase B's operator writes into the Secret. */
  render(example: string, values: TemplateValues): Record<string, string> {
    const manifest = parse(this.example(example)) as { kind?: string; spec?: { secretTemplate?: unknown } };
    assert.is(manifest.kind, 'InfluxToken', example);
    const problems: string[] = [];
    const template = checkSecretTemplate(
      manifest.spec?.secretTemplate,
      'spec.secretTemplate',
      TOKEN_SECRET_KEYS,
      problems,
    );
    assert.equal(problems, [], example);
    const rendered = renderSecretTemplate(template as SecretTemplate, values, 'spec.secretTemplate');
    if (!rendered.ok) throw new Error(`${example}: ${rendered.problems.join('; ')}`);
    return rendered.data;
  }

  example(name: string): string {
    return docsExample(name, this.examples);
  }

  /** Rows of `measurement` with the run tag, read with InfluxQL through the mapping by a reader of the tenant. */
  async rows(tenant: Tenant, measurement: string, run: string): Promise<Array<Record<string, unknown>>> {
    const login: InfluxQLLogin = {
      url: this.server.url,
      database: tenant.database,
      username: 'reader',
      password: await this.token(tenant, 'read'),
    };
    const answer = await influxQLQuery(login, `SELECT * FROM "${measurement}" WHERE "run" = '${run}'`);
    if ('error' in answer) throw new Error(`reading ${measurement}: ${answer.error}`);
    return answer.rows;
  }

  /** One point written with the operator token (/api/v2/write), for the readers to find. */
  async writePoint(tenant: Tenant, line: string): Promise<void> {
    const answer = await this.server.admin.request({
      method: 'POST',
      path: `/api/v2/write?org=acme&bucket=${tenant.bucket}&precision=s`,
      token: this.operatorToken,
      body: line,
    });
    assert.is(answer.status, 204, answer.text);
  }

  stop(): void {
    this.client?.close();
  }
}

for (const version of REAL_VERSIONS) {
  const tests = suite<{ world: World }>(`the clients people run, on real influxd ${version}`, {} as { world: World });
  tests.before(async (context) => {
    context.world = new World(version);
    await context.world.start();
  });
  tests.after((context) => context.world?.stop());

  tests(
    'Telegraf writes with the token through outputs.influxdb_v2, configured by the rendered environment',
    async ({ world }) => {
      const env = world.render('telegraf-env', world.values(world.teamA, await world.token(world.teamA, 'write')));
      assert.equal(Object.keys(env).sort(), ['INFLUX_BUCKET', 'INFLUX_ORG', 'INFLUX_TOKEN', 'INFLUX_URL']);
      const run = secret().replace(/[-_]/g, '');
      const result = await runTelegrafOnce(
        telegrafOnceConfig('telegraf_v2', run, world.example('telegraf-v2-conf')),
        env,
      );
      assert.equal([result.code, telegrafErrors(result)], [0, []], result.stderr);
      const rows = await world.rows(world.teamA, 'telegraf_v2', run);
      assert.equal(
        rows.map((row) => [row.run, row.value]),
        [[run, 42]],
      );
    },
  );

  tests(
    'Telegraf writes the 1.x protocol (outputs.influxdb) to the mapped database with v1 credentials, or with the token as password',
    async ({ world }) => {
      const v1 = await world.v1(world.teamA, 'team-a.telegraf-v1', 'write');
      const data = world.render('telegraf-v1', world.values(world.teamA, await world.token(world.teamA, 'write'), v1));
      const run = secret().replace(/[-_]/g, '');
      const output = data['influxdb-output.conf'] ?? '';
      assert.ok(output.includes(`database = "team-a.metrics"`) && output.includes(v1.v1Password), output);
      const result = await runTelegrafOnce(telegrafOnceConfig('telegraf_v1', run, output), {});
      assert.equal([result.code, telegrafErrors(result)], [0, []], result.stderr);
      assert.equal(
        (await world.rows(world.teamA, 'telegraf_v1', run)).map((row) => row.value),
        [42],
      );

      // The same output with a wrong password writes nothing: InfluxDB refuses the login (and Telegraf still exits 0).
      const refused = await runTelegrafOnce(
        telegrafOnceConfig('telegraf_v1', `${run}x`, output.replace(v1.v1Password, 'wrong-password')),
        {},
      );
      const [failure, ...more] = telegrafErrors(refused);
      assert.equal(more, []);
      assert.match(failure ?? '', 'Failed to write metric (will be dropped: 401 Unauthorized)');
      assert.equal(await world.rows(world.teamA, 'telegraf_v1', `${run}x`), []);

      // Without v1 credentials: the application token as the password of a name that is no v1 username.
      const writer = await world.token(world.teamA, 'write');
      const byToken = await runTelegrafOnce(
        telegrafOnceConfig(
          'telegraf_v1',
          `${run}t`,
          output.replace(v1.v1Username, 'telegraf').replace(v1.v1Password, writer),
        ),
        {},
      );
      assert.equal([byToken.code, telegrafErrors(byToken)], [0, []], byToken.stderr);
      assert.equal(
        (await world.rows(world.teamA, 'telegraf_v1', `${run}t`)).map((row) => row.value),
        [42],
      );
    },
  );

  tests(
    'the influx CLI writes and queries with the rendered configs file and no other credentials',
    async ({ world }) => {
      const data = world.render(
        'influx-cli',
        world.values(world.teamA, await world.token(world.teamA, 'read', 'write')),
      );
      const configs = data['influx-configs'] ?? '';
      const run = secret().replace(/[-_]/g, '');
      const wrote = await runInfluxCli(
        [
          'write',
          '--bucket',
          world.teamA.bucket,
          '--precision',
          's',
          `cli_probe,run=${run} value=7i ${Math.floor(Date.now() / 1000)}`,
        ],
        configs,
      );
      assert.is(wrote.code, 0, wrote.stderr);
      const flux = `from(bucket: "${world.teamA.bucket}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "cli_probe" and r.run == "${run}")`;
      const read = await runInfluxCli(['query', '--raw', flux], configs);
      assert.is(read.code, 0, read.stderr);
      assert.match(read.stdout, `,cli_probe,${run}`);
      assert.match(read.stdout, /,7,/);
      // The same file with another token: the CLI reports InfluxDB's refusal.
      const forged = await runInfluxCli(
        ['query', '--raw', flux],
        configs.replace(/token = ".*"/, 'token = "not-a-token"'),
      );
      assert.is.not(forged.code, 0);
      assert.match(forged.stderr, /unauthorized/i);
    },
  );

  tests(
    'the npm 1.x client SELECTs through the mapping with v1 credentials and with the token; a write-only token and another tenant cannot',
    async ({ world }) => {
      const run = secret().replace(/[-_]/g, '');
      await world.writePoint(world.teamA, `npm_probe,run=${run} value=3i ${Math.floor(Date.now() / 1000)}`);
      const query = `SELECT "value" FROM "npm_probe" WHERE "run" = '${run}'`;
      const login = (username: string, password: string, tenant = world.teamA): InfluxQLLogin => ({
        url: world.server.url,
        database: tenant.database,
        username,
        password,
      });
      const v1 = await world.v1(world.teamA, 'team-a.reader', 'read');
      const byV1 = await influxQLQuery(login(v1.v1Username, v1.v1Password), query);
      assert.equal('rows' in byV1 && byV1.rows.map((row) => row.value), [3]);
      const byToken = await influxQLQuery(login('any-name', await world.token(world.teamA, 'read')), query);
      assert.equal('rows' in byToken && byToken.rows.map((row) => row.value), [3]);

      const writeOnly = await influxQLQuery(login('any-name', await world.token(world.teamA, 'write')), query);
      assert.equal(writeOnly, { error: 'Error from InfluxDB: database not found: team-a.metrics' });
      const stranger = await world.v1(world.teamB, 'team-b.reader', 'read');
      const crossTenant = await influxQLQuery(login(stranger.v1Username, stranger.v1Password), query);
      assert.equal(crossTenant, { error: 'Error from InfluxDB: database not found: team-a.metrics' });
      const ownDatabase = await influxQLQuery(login(stranger.v1Username, stranger.v1Password, world.teamB), query);
      assert.equal(ownDatabase, { rows: [] }, "team b's credentials read team b's database, which has no such point");
      const wrongPassword = await influxQLQuery(login(v1.v1Username, 'wrong-password'), query);
      assert.ok(
        'error' in wrongPassword && /401|Unauthorized/i.test(wrongPassword.error),
        JSON.stringify(wrongPassword),
      );
    },
  );

  tests('Grafana: the rendered Flux and InfluxQL datasources query the bucket as Grafana does', async ({ world }) => {
    const run = secret().replace(/[-_]/g, '');
    await world.writePoint(world.teamA, `grafana_probe,run=${run} value=5i ${Math.floor(Date.now() / 1000)}`);
    const reader = await world.token(world.teamA, 'read');
    const file =
      world.render('grafana-datasources', world.values(world.teamA, reader))['influxdb-datasources.yaml'] ?? '';

    const flux = await grafanaQuery(
      file,
      'team-a (Flux)',
      `from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == "grafana_probe" and r.run == "${run}")`,
    );
    assert.is(flux.status, 200, String(flux.body));
    assert.match(String(flux.body), `,grafana_probe,${run}`);

    const influxQL = `SELECT "value" FROM "grafana_probe" WHERE "run" = '${run}' AND time > now() - 1h`;
    const byHeader = await grafanaQuery(file, 'team-a (InfluxQL)', influxQL);
    assert.is(byHeader.status, 200);
    assert.equal(seriesValues(byHeader.body), [5]);

    const v1 = await world.v1(world.teamA, 'team-a.grafana-v1', 'read');
    const v1File =
      world.render('grafana-influxql-v1', world.values(world.teamA, reader, v1))['influxdb-datasources.yaml'] ?? '';
    const byUser = await grafanaQuery(v1File, 'team-a (InfluxQL, v1 user)', influxQL);
    assert.is(byUser.status, 200);
    assert.equal(seriesValues(byUser.body), [5]);

    // Provisioned with a write-only token, the same datasource finds no database.
    const writerFile = world.render(
      'grafana-datasources',
      world.values(world.teamA, await world.token(world.teamA, 'write')),
    );
    const refused = await grafanaQuery(writerFile['influxdb-datasources.yaml'] ?? '', 'team-a (InfluxQL)', influxQL);
    assert.equal(refused.body, { results: [{ statement_id: 0, error: 'database not found: team-a.metrics' }] });
  });

  tests.run();
}
