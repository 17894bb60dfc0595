// Tenants stay in their namespace (#17), the token side, as attacks on real influxd v2.7.12 and
// v2.9.1 (which lists tokens and which does not) with the operator's chart-default flags (only
// --namespaces keeps it to this file's namespaces): no token outlives its grant (point 6: a
// finalizer removed by hand, a re-created InfluxToken, a grant withdrawn while the Secret was
// gone, a token deleted while its onboarding was absent), and churn is bounded (point 9: one retiring authorization per token, each namespace's
// tokens under its own InfluxDB user, listed per user, so one tenant's pile of authorizations stops
// no one else).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
import { GROUP } from '../../src/api/types.js';
import {
  InstanceFile,
  accessHarness,
  chartDefaultFlags,
  createAccess,
  deleteAccess,
  getAccess,
  waitForAccess,
  waitForGone,
} from '../support/access.js';
import { writeStatus } from '../support/influx-app.js';
import { REAL_VERSIONS, freshInfluxd, type RealVersion } from '../support/influxdb.js';
import {
  createNamespace,
  createOnboarding,
  deleteOnboarding,
  deleteSecret,
  getOnboarding,
  getSecret,
  patchOnboardingSpec,
  readyOf,
  randomSuffix,
  updateSecretData,
} from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

class TokenFile extends InstanceFile {
  operatorNamespace = '';
  tenants: string[] = [];

  constructor(readonly version: RealVersion) {
    super();
  }

  async start(): Promise<void> {
    await accessHarness();
    await this.setUp(`tokens-${this.version.replace(/\./g, '-')}`, { withOperator: false });
    this.operatorNamespace = await createNamespace('tokens-operator');
    for (const name of ['gone', 'withdrawn', 'absent', 'churn', 'noisy', 'quiet'])
      this.tenants.push(await createNamespace(`tokens-${name}`));
    await this.startOperator(chartDefaultFlags(this.operatorNamespace), [this.namespace, ...this.tenants]);
    await this.onboard(await freshInfluxd(this.version), { namespaces: this.tenants });
  }

  tenant(name: string): string {
    return this.tenants.find((namespace) => namespace.startsWith(`tokens-${name}-`)) ?? '';
  }

  /** A bucket and a write token on it, Ready; the token's value and its bucket's name. */
  async writer(
    namespace: string,
    name: string,
    grace = 0,
  ): Promise<{ resource: InfluxToken; token: string; bucket: string }> {
    await createAccess('InfluxBucket', namespace, name, { onboardingRef: this.ref(), retentionPeriodSeconds: 3600 });
    await createAccess('InfluxToken', namespace, name, {
      onboardingRef: this.ref(),
      permissions: [{ action: 'write', bucket: name }],
      rotationGracePeriodSeconds: grace,
    });
    const resource = await waitForAccess<InfluxToken>('InfluxToken', namespace, name, 'TokenReady');
    const secret = await getSecret(namespace, `${name}-influx-token`);
    this.ledger.addSecret(secret);
    return { resource, token: secret?.data.token ?? '', bucket: secret?.data.bucket ?? '' };
  }

  writes(token: string, bucket: string): Promise<number> {
    return writeStatus({ url: this.server.url, org: 'acme', bucket, token });
  }

  /** The InfluxToken deleted with its finalizer removed by hand first: the operator never sees it go. */
  async deleteBehindTheOperator(namespace: string, name: string): Promise<void> {
    const { kubectl } = await accessHarness();
    const kind = `influxtokens.${GROUP}`;
    await kubectl(['patch', kind, name, '-n', namespace, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await kubectl(['delete', kind, name, '-n', namespace, '--wait=true']);
  }

  /** The sweep's deletions for `reason`, as the operator running now counts them. */
  async sweptTotal(reason: string): Promise<number> {
    const line = (await this.operators.at(-1)?.metrics())
      ?.split('\n')
      .find((entry) => entry.startsWith(`influx_token_sweep_deleted_total{reason="${reason}"}`));
    return Number(line?.split(' ').at(-1) ?? 0);
  }
}

for (const version of REAL_VERSIONS) {
  const tests = suite<TokenFile>(
    `tenants: tokens end with their grant, churn is bounded (real influxd ${version})`,
    new TokenFile(version),
  );
  tests.before((file) => file.start());
  tests.after((file) => file.tearDown());

  tests(
    'point 6: an InfluxToken whose finalizer was removed by hand and that was deleted stops working within seconds (the sweep, woken by the deletion); one re-created under the same name gets its own',
    async (file) => {
      const namespace = file.tenant('gone');
      const first = await file.writer(namespace, 'app');
      assert.is(await file.writes(first.token, first.bucket), 204);
      await file.deleteBehindTheOperator(namespace, 'app');
      await eventually(
        'the deleted token to stop working',
        async () => (await file.writes(first.token, first.bucket)) === 401,
        {
          timeoutMs: 15_000,
        },
      );
      assert.equal(await file.marked(first.resource.metadata.uid), [], 'its authorization is gone');
      assert.is(await file.sweptTotal('token-gone'), 1, 'counted');

      // Removed by hand and created again at once: the old authorization (the old UID's) goes, the new token works.
      const second = await file.writer(namespace, 'again');
      await file.deleteBehindTheOperator(namespace, 'again');
      await createAccess('InfluxToken', namespace, 'again', {
        onboardingRef: file.ref(),
        permissions: [{ action: 'write', bucket: 'again' }],
        rotationGracePeriodSeconds: 0,
      });
      const again = await eventually('the new InfluxToken to be Ready with its own token', async () => {
        const token = await getAccess<InfluxToken>('InfluxToken', namespace, 'again');
        const secret = await getSecret(namespace, 'again-influx-token');
        return (
          token?.metadata.uid !== second.resource.metadata.uid &&
          token?.status?.conditions?.[0]?.reason === 'TokenReady' &&
          secret?.data.token !== second.token &&
          secret
        );
      });
      file.ledger.addSecret(again);
      await eventually(
        'the old token to stop working',
        async () => (await file.writes(second.token, second.bucket)) === 401,
        {
          timeoutMs: 15_000,
        },
      );
      assert.equal(await file.marked(second.resource.metadata.uid), []);
      assert.is(await file.writes(again.data.token ?? '', second.bucket), 204);
    },
  );

  tests(
    'point 6: a grant withdrawn while the token Secret was gone (deleted while the operator was down) still revokes the token',
    async (file) => {
      const namespace = file.tenant('withdrawn');
      const issued = await file.writer(namespace, 'app');
      assert.is(await file.writes(issued.token, issued.bucket), 204);
      assert.is(await file.operator.terminate(), 'exit code 0');
      await deleteSecret(namespace, 'app-influx-token');
      await patchOnboardingSpec(file.namespace, 'influxdb', {
        accessFrom: { namespaces: file.tenants.filter((tenant) => tenant !== namespace) },
      });
      await file.startOperator(chartDefaultFlags(file.operatorNamespace), [file.namespace, ...file.tenants]);
      await waitForAccess('InfluxToken', namespace, 'app', 'NotPermitted');
      await eventually(
        'the copied token to stop working',
        async () => (await file.writes(issued.token, issued.bucket)) === 401,
        {
          timeoutMs: 15_000,
        },
      );
      assert.equal(await file.marked(issued.resource.metadata.uid), []);
    },
  );

  tests(
    "point 6: an InfluxToken deleted while its InfluxOnboarding was absent lets go at once (OnboardingGone), and its token stops working within seconds of the onboarding's return, not a sweep interval (10 min) later",
    async (file) => {
      const namespace = file.tenant('absent');
      const issued = await file.writer(namespace, 'app');
      assert.is(await file.writes(issued.token, issued.bucket), 204);
      const before = await getOnboarding(file.namespace, 'influxdb');
      const swept = await file.sweptTotal('token-gone');
      await deleteOnboarding(file.namespace, 'influxdb');
      await eventually(
        'the InfluxOnboarding to be gone',
        async () => (await getOnboarding(file.namespace, 'influxdb')) === undefined,
      );
      await deleteAccess('InfluxToken', namespace, 'app');
      // Nothing reaches InfluxDB without the onboarding: the finalizer lets go rather than hold the namespace's deletion.
      await waitForGone('InfluxToken', namespace, 'app', 15_000);
      assert.is(await file.writes(issued.token, issued.bucket), 204, 'no one could revoke it meanwhile');

      // The onboarding comes back (its Secret was retained): the sweep, woken by its Ready, deletes the orphan.
      await createOnboarding(file.namespace, 'influxdb', { ...before?.spec });
      await eventually(
        'the InfluxOnboarding to be Ready again',
        async () => readyOf(await getOnboarding(file.namespace, 'influxdb'))?.status === 'True',
        { timeoutMs: 60_000 },
      );
      await eventually(
        'the token of the InfluxToken deleted meanwhile to stop working',
        async () => (await file.writes(issued.token, issued.bucket)) === 401,
        { timeoutMs: 30_000 },
      );
      assert.equal(await file.marked(issued.resource.metadata.uid), [], 'its authorization is gone');
      assert.is(await file.sweptTotal('token-gone'), swept + 1, 'counted');
    },
  );

  tests(
    'point 9: a tenant editing its token Secret 60 times leaves at most two live authorizations (the current one and one retiring), not 61',
    async (file) => {
      const namespace = file.tenant('churn');
      const issued = await file.writer(namespace, 'app', 300);
      let current = issued.token;
      for (let edit = 1; edit <= 60; edit++) {
        await updateSecretData(namespace, 'app-influx-token', { token: `edited-by-hand-${edit}` });
        current = await eventually(
          `the token re-issued after edit ${edit}`,
          async () => {
            const token = (await getSecret(namespace, 'app-influx-token'))?.data.token;
            return token !== undefined && token !== current && !token.startsWith('edited-by-hand') && token;
          },
          { timeoutMs: 15_000, intervalMs: 50 },
        );
        file.ledger.add(current);
      }
      await waitForAccess('InfluxToken', namespace, 'app', 'TokenReady');
      const live = await file.marked(issued.resource.metadata.uid);
      assert.ok(live.length <= 2, `${live.length} live authorizations`);
      assert.is(await file.writes(current, issued.bucket), 204, 'the one in the Secret works');
    },
  );

  tests(
    "point 9: each namespace's tokens live under its own InfluxDB user and are listed per user: one tenant's pile of authorizations past 1 MiB stops no other tenant's token",
    async (file) => {
      const noisy = file.tenant('noisy');
      const quiet = file.tenant('quiet');
      const first = await file.writer(noisy, 'app');
      const auth = await file.server.admin.request({
        path: `/api/v2/authorizations/${first.resource.status?.authorizationID ?? ''}`,
        token: file.operatorToken,
      });
      const userID = String((auth.json as { userID?: string }).userID ?? '');
      // The noisy tenant's authorizations (under the user its tokens belong to) grow the org-wide list past the client's 1 MiB limit.
      const bucketID = (await getAccess<InfluxBucket>('InfluxBucket', noisy, 'app'))?.status?.bucketID;
      const padding = 'x'.repeat(900);
      for (let index = 0; index < 1300; index++) {
        const created = await file.server.admin.request({
          method: 'POST',
          path: '/api/v2/authorizations',
          token: file.operatorToken,
          body: {
            orgID: file.orgID,
            userID,
            description: `noise ${index} ${padding}`,
            permissions: [{ action: 'write', resource: { type: 'buckets', id: bucketID, orgID: file.orgID } }],
          },
        });
        assert.is(created.status, 201);
      }
      const orgWide = await file.server.admin.request({
        path: `/api/v2/authorizations?orgID=${file.orgID}`,
        token: file.operatorToken,
      });
      assert.ok(orgWide.text.length > 1024 * 1024, `the org-wide list is ${orgWide.text.length} bytes`);
      const other = await file.writer(quiet, `app-${randomSuffix()}`);
      assert.is(await file.writes(other.token, other.bucket), 204, 'another tenant still gets a working token');
      // Because each namespace's tokens belong to a user of its own, and are listed per user.
      const users = await file.server.admin.request({
        path: `/api/v2/users?name=${encodeURIComponent(`influx-onboarding-operator:${noisy}`)}`,
        token: file.operatorToken,
      });
      assert.is(
        String((users.json as { users?: Array<{ id: string }> }).users?.[0]?.id),
        userID,
        "the namespace's own user",
      );
    },
  );

  tests('secrecy: no token of this file in the operator output, any Event or any status', async (file) => {
    await file.assertNoSecretLeaked(3);
  });

  tests.run();
}
