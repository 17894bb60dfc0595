// End to end on a real control plane: the operator is SIGKILLed at each moment of issuing or
// changing an application token where a token could exist outside its Secret, and a new operator
// process must end with exactly one authorization of the InfluxToken, the one its Secret holds.
//   (a) create: InfluxDB made the token, its answer never reached the operator;
//   (b) change: the new token made, its answer never reached the operator (the Secret still holds the old one);
//   (c) change: the new token in the Secret, the old one not deleted yet (its DELETE never answered).
// Run twice, each InfluxDB behind the recording proxy that holds back the answer or the request:
// on the stand-in, and on a real influxd v2.9.1, which keeps only hashes of tokens (an orphan can
// be found by its description only). The proxy records every answer, so the test knows every
// token InfluxDB made, and proves that none but the operator token and the Secret's still works.
// The three scenarios build on each other in this order: (a) creates the InfluxToken `writer`,
// (b) and (c) change it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
import { accessHarness, createAccess, getAccess, patchAccessSpec, waitForAccess } from '../support/access.js';
import { readStatus, writeStatus } from '../support/influx-app.js';
import { InfluxAdmin } from '../support/influx-http.js';
import { startInfluxProxy, type InfluxProxy } from '../support/influx-proxy.js';
import { freshInfluxd, startStandinServer, type InfluxServer } from '../support/influxdb.js';
import { OnboardingFile, createOnboarding, getSecret, requestsTo, waitForReason } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

const AUTHORIZATIONS = '/api/v2/authorizations';

class CrashFile extends OnboardingFile {
  server!: InfluxServer;
  proxy!: InfluxProxy;
  admin!: InfluxAdmin;
  operatorToken = '';
  orgID = '';
  /** The InfluxDB bucket of the InfluxBucket `metrics`, the one every application token here is for. */
  bucketName = '';

  constructor(
    private readonly backend: 'standin' | 'influxd',
    private readonly prefix: string,
  ) {
    super();
  }

  async start(): Promise<void> {
    await accessHarness();
    await this.setUp(this.prefix, { withOperator: false });
    this.server = this.backend === 'standin' ? await startStandinServer('v2.9.1') : await freshInfluxd('v2.9.1');
    this.proxy = await startInfluxProxy(this.server.url);
    this.admin = new InfluxAdmin(this.proxy.url);
    await this.startOperator();
    await createOnboarding(this.namespace, 'influxdb', {
      url: this.proxy.url,
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
    });
    const onboarded = await waitForReason(this.namespace, 'influxdb', 'Onboarded', 60_000);
    this.orgID = onboarded.status?.orgID ?? '';
    this.operatorToken = (await getSecret(this.namespace, 'influxdb-influxdb'))?.data.token ?? '';
    await createAccess('InfluxBucket', this.namespace, 'metrics', { onboardingRef: { name: 'influxdb' } });
    const bucket = await waitForAccess<InfluxBucket>('InfluxBucket', this.namespace, 'metrics', 'BucketReady');
    this.bucketName = bucket.status?.bucketName ?? '';
    assert.ok(this.bucketName, 'the InfluxBucket names its bucket');
  }

  async stop(): Promise<void> {
    await this.tearDown();
    await this.proxy?.close();
    if (this.backend === 'standin') await this.server?.stop();
  }

  /** Authorizations of the InfluxToken in InfluxDB (by its UID marker). */
  async authorizationsOf(name: string): Promise<string[]> {
    const token = await getAccess<InfluxToken>('InfluxToken', this.namespace, name);
    const uid = token?.metadata.uid ?? 'none';
    return (await this.admin.authorizationDescriptions(this.operatorToken, this.orgID)).filter((description) =>
      description.includes(`uid=${uid}]`),
    );
  }

  /** Every token InfluxDB made, from the answers the proxy saw (held-back ones included). */
  tokensMade(): string[] {
    return this.proxy.requests.flatMap((request) => {
      const answer = request.answer as { token?: unknown; auth?: { token?: unknown } } | undefined;
      const token = request.path.startsWith(AUTHORIZATIONS) ? answer?.token : answer?.auth?.token;
      return request.method === 'POST' && typeof token === 'string' ? [token] : [];
    });
  }

  /** The tokens InfluxDB made that it still accepts (as an application finds out: see accepts). */
  async workingTokens(): Promise<string[]> {
    const working: string[] = [];
    for (const token of new Set(this.tokensMade())) if (await this.accepts(token)) working.push(token);
    return working.sort();
  }

  /**
   * Whether InfluxDB still accepts the token, found out the way an application would: a point
   * written to the bucket every token of this file was made for, or a Flux query of it (a
   * read-only token cannot write). A deleted token can do neither.
   */
  async accepts(token: string): Promise<boolean> {
    const credentials = { url: this.proxy.url, org: 'acme', bucket: this.bucketName, token };
    if ((await writeStatus(credentials)) === 204) return true;
    return (await readStatus(credentials)).status === 200;
  }

  /** The one operator running now is killed, and another one started. */
  async killAndRestart(): Promise<void> {
    await this.operators.at(-1)?.kill();
    await this.startOperator();
  }

  /** Converged: Ready, one authorization, and InfluxDB accepts exactly the operator token and the Secret's token. */
  async assertConverged(name: string, permissions: string): Promise<string> {
    const ready = await eventually(
      `${name} Ready with ${permissions}`,
      async () => {
        const token = await getAccess<InfluxToken>('InfluxToken', this.namespace, name);
        const ready = token?.status?.conditions?.find((condition) => condition.type === 'Ready');
        return ready?.reason === 'TokenReady' && token?.status?.permissions === permissions && token;
      },
      { timeoutMs: 60_000 },
    );
    const secret = await getSecret(this.namespace, `${name}-influx-token`);
    this.ledger.addSecret(secret);
    assert.ok(secret?.data.token);
    assert.is((await this.authorizationsOf(name)).length, 1, 'exactly one authorization left');
    assert.equal(
      await this.workingTokens(),
      [this.operatorToken, secret.data.token].sort(),
      'InfluxDB accepts no other token it made',
    );
    assert.is(
      ready.status?.authorizationID,
      secret.raw.metadata?.annotations?.['influxdb.onboarding.dev/authorization-id'],
    );
    return secret.data.token;
  }
}

for (const [backend, title, prefix] of [
  ['standin', 'the stand-in', 'acc-crash'],
  ['influxd', 'real influxd v2.9.1 (hashed tokens)', 'acc-crash-real'],
] as const) {
  const tests = suite<CrashFile>(`application token crash safety, on ${title}`, new CrashFile(backend, prefix));
  tests.before((file) => file.start());
  tests.after((file) => file.stop());

  tests(
    '(a) killed after InfluxDB made the token, before its answer: the next operator deletes that orphan and issues one that lands in the Secret',
    async (file) => {
      const { namespace, proxy } = file;
      proxy.disturbNext('dropAnswer', { method: 'POST', path: AUTHORIZATIONS });
      await createAccess('InfluxToken', namespace, 'writer', {
        onboardingRef: { name: 'influxdb' },
        permissions: [{ action: 'write', bucket: 'metrics' }],
        rotationGracePeriodSeconds: 0,
      });
      await proxy.disturbed();
      assert.is((await file.authorizationsOf('writer')).length, 1, 'InfluxDB made the token');
      assert.is(
        await getSecret(namespace, 'writer-influx-token'),
        undefined,
        'no Secret yet: the token exists only in InfluxDB',
      );
      await file.killAndRestart();
      await file.assertConverged('writer', 'write:metrics');
      assert.is(requestsTo(proxy.requests, 'POST', AUTHORIZATIONS), 2, 'the lost one and the one that landed');
    },
  );

  tests(
    '(b) killed during a change after InfluxDB made the new token, before its answer: one authorization with the new permissions',
    async (file) => {
      const { namespace, proxy } = file;
      const before = (await getSecret(namespace, 'writer-influx-token'))?.data.token;
      assert.ok(before, 'scenario (a) left a token in the Secret');
      proxy.disturbNext('dropAnswer', { method: 'POST', path: AUTHORIZATIONS });
      await patchAccessSpec('InfluxToken', namespace, 'writer', {
        permissions: [{ action: 'read', bucket: 'metrics' }],
      });
      await proxy.disturbed();
      assert.is((await file.authorizationsOf('writer')).length, 2, 'both authorizations exist');
      assert.is(
        (await getSecret(namespace, 'writer-influx-token'))?.data.token,
        before,
        'the Secret still holds the old token',
      );
      await file.killAndRestart();
      const after = await file.assertConverged('writer', 'read:metrics');
      assert.is.not(after, before);
      assert.is(await file.accepts(before), false, 'the old token is deleted (grace period 0)');
    },
  );

  tests(
    '(c) killed during a change after the new token is in the Secret, before the old one is deleted: the next operator deletes it',
    async (file) => {
      const { namespace, proxy } = file;
      const before = (await getSecret(namespace, 'writer-influx-token'))?.data.token;
      assert.ok(before, 'scenarios (a) and (b) left a token in the Secret');
      proxy.disturbNext('hold', { method: 'DELETE' });
      await patchAccessSpec('InfluxToken', namespace, 'writer', {
        permissions: [{ action: 'write', bucket: 'metrics' }],
      });
      await proxy.disturbed();
      const moved = await getSecret(namespace, 'writer-influx-token');
      assert.is.not(moved?.data.token, before, 'the new token is in the Secret');
      assert.is((await file.authorizationsOf('writer')).length, 2, 'both tokens work for a moment');
      await file.killAndRestart();
      const after = await file.assertConverged('writer', 'write:metrics');
      assert.is.not(after, before);
      assert.is(await file.accepts(before), false, 'the old token is deleted');
    },
  );

  tests('secrecy: no token of this file in any operator output, Event or status', async (file) => {
    file.ledger.add(file.operatorToken, ...file.tokensMade());
    file.ledger.addRequests(file.proxy.requests);
    await file.assertNoSecretLeaked(4);
  });

  tests.run();
}
