// End to end on a real control plane, InfluxDB played by the stand-in: the operator is SIGKILLed
// at each moment of issuing or changing an application token where a token could exist outside
// its Secret, and a new operator process must end with exactly one authorization of the
// InfluxToken, the one its Secret holds.
//   (a) create: InfluxDB made the token, its answer never reached the operator;
//   (b) change: the new token made, its answer never reached the operator (the Secret still holds the old one);
//   (c) change: the new token in the Secret, the old one not deleted yet (its DELETE never answered).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxToken } from '../../src/api/access-types.js';
import { accessHarness, createAccess, getAccess, patchAccessSpec, waitForAccess } from '../support/access.js';
import { InfluxAdmin } from '../support/influx-http.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import { OnboardingFile, createOnboarding, getSecret, requestsTo, waitForReason } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

class CrashFile extends OnboardingFile {
  influx!: InfluxStandin;
  admin!: InfluxAdmin;
  operatorToken = '';
  orgID = '';

  async start(): Promise<void> {
    await accessHarness();
    await this.setUp('acc-crash', { withOperator: false });
    this.influx = await this.standin();
    this.admin = new InfluxAdmin(this.influx.url);
    await this.startOperator();
    await createOnboarding(this.namespace, 'influxdb', {
      url: this.influx.url,
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
    });
    const onboarded = await waitForReason(this.namespace, 'influxdb', 'Onboarded');
    this.orgID = onboarded.status?.orgID ?? '';
    this.operatorToken = (await getSecret(this.namespace, 'influxdb-influxdb'))?.data.token ?? '';
    await createAccess('InfluxBucket', this.namespace, 'metrics', { onboardingRef: { name: 'influxdb' } });
    await waitForAccess('InfluxBucket', this.namespace, 'metrics', 'BucketReady');
  }

  /** Authorizations of the InfluxToken in InfluxDB (by its UID marker). */
  async authorizationsOf(name: string): Promise<string[]> {
    const token = await getAccess<InfluxToken>('InfluxToken', this.namespace, name);
    const uid = token?.metadata.uid ?? 'none';
    return (await this.admin.authorizationDescriptions(this.operatorToken, this.orgID)).filter((description) =>
      description.includes(`uid=${uid}]`),
    );
  }

  /** The one operator running now is killed, and another one started. */
  async killAndRestart(): Promise<void> {
    await this.operators.at(-1)?.kill();
    this.influx.knobs.answerDelayMs = 0;
    await this.startOperator();
  }

  /** Converged: Ready, one authorization, and InfluxDB accepts exactly the operator token and the Secret's token. */
  async assertConverged(name: string, permissions: string): Promise<string> {
    const ready = await eventually(`${name} Ready with ${permissions}`, async () => {
      const token = await getAccess<InfluxToken>('InfluxToken', this.namespace, name);
      const ready = token?.status?.conditions?.find((condition) => condition.type === 'Ready');
      return ready?.reason === 'TokenReady' && token?.status?.permissions === permissions && token;
    });
    const secret = await getSecret(this.namespace, `${name}-influx-token`);
    this.ledger.addSecret(secret);
    assert.ok(secret?.data.token);
    assert.is((await this.authorizationsOf(name)).length, 1, 'exactly one authorization left');
    assert.equal(
      this.influx.tokens().sort(),
      [this.operatorToken, secret.data.token].sort(),
      'InfluxDB accepts no other token',
    );
    assert.is(
      ready.status?.authorizationID,
      secret.raw.metadata?.annotations?.['influxdb.onboarding.dev/authorization-id'],
    );
    return secret.data.token;
  }
}

const tests = suite<CrashFile>('application token crash safety', new CrashFile());
tests.before((file) => file.start());
tests.after((file) => file.tearDown());

tests(
  '(a) killed after InfluxDB made the token, before its answer: the next operator deletes that orphan and issues one that lands in the Secret',
  async (file) => {
    const { namespace, influx } = file;
    influx.knobs.answerDelayMs = 60_000;
    await createAccess('InfluxToken', namespace, 'writer', {
      onboardingRef: { name: 'influxdb' },
      permissions: [{ action: 'write', bucket: 'metrics' }],
      rotationGracePeriodSeconds: 0,
    });
    await eventually('InfluxDB to make the token', async () => (await file.authorizationsOf('writer')).length === 1);
    assert.is(
      await getSecret(namespace, 'writer-influx-token'),
      undefined,
      'no Secret yet: the token exists only in InfluxDB',
    );
    await file.killAndRestart();
    await file.assertConverged('writer', 'write:metrics');
    assert.is(requestsTo(influx.requests, 'POST', '/api/v2/authorizations'), 2, 'the lost one and the one that landed');
  },
);

tests(
  '(b) killed during a change after InfluxDB made the new token, before its answer: one authorization with the new permissions',
  async (file) => {
    const { namespace, influx } = file;
    const before = (await getSecret(namespace, 'writer-influx-token'))?.data.token;
    influx.knobs.answerDelayMs = 60_000;
    const posts = requestsTo(influx.requests, 'POST', '/api/v2/authorizations');
    await patchAccessSpec('InfluxToken', namespace, 'writer', { permissions: [{ action: 'read', bucket: 'metrics' }] });
    await eventually(
      'InfluxDB to make the new token',
      () => requestsTo(influx.requests, 'POST', '/api/v2/authorizations') === posts + 1,
    );
    await eventually('both authorizations to exist', async () => (await file.authorizationsOf('writer')).length === 2);
    assert.is(
      (await getSecret(namespace, 'writer-influx-token'))?.data.token,
      before,
      'the Secret still holds the old token',
    );
    await file.killAndRestart();
    const after = await file.assertConverged('writer', 'read:metrics');
    assert.is.not(after, before);
    assert.not.ok(influx.tokens().includes(before ?? ''), 'the old token is deleted (grace period 0)');
  },
);

tests(
  '(c) killed during a change after the new token is in the Secret, before the old one is deleted: the next operator deletes it',
  async (file) => {
    const { namespace, influx } = file;
    const before = (await getSecret(namespace, 'writer-influx-token'))?.data.token;
    influx.knobs.failNext(1, 'hang', { method: 'DELETE' });
    await patchAccessSpec('InfluxToken', namespace, 'writer', {
      permissions: [{ action: 'write', bucket: 'metrics' }],
    });
    await eventually('the new token in the Secret', async () => {
      const secret = await getSecret(namespace, 'writer-influx-token');
      return secret?.data.token !== before && secret;
    });
    await eventually('the DELETE of the old authorization in flight', () =>
      influx.requests.some((request) => request.method === 'DELETE'),
    );
    assert.is((await file.authorizationsOf('writer')).length, 2, 'both tokens work for a moment');
    await file.killAndRestart();
    const after = await file.assertConverged('writer', 'write:metrics');
    assert.is.not(after, before);
    assert.not.ok(influx.tokens().includes(before ?? ''));
  },
);

tests('secrecy: no token of this file in any operator output, Event or status', async (file) => {
  file.ledger.add(file.operatorToken);
  await file.assertNoSecretLeaked(4);
});

tests.run();
