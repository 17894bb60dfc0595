// Tenants stay in their namespace (#17): each test is an attack one tenant makes on another, or on
// the platform's buckets, with the rights a tenant has (its own namespace's resources, Secrets,
// annotations and, on many clusters, status; its applications' own InfluxDB tokens), on real
// influxd v2.9.1 and the real control plane, with the operator's chart-default flags (its own
// namespace for the records, drift checks every 5 minutes, no label grants); only --namespaces
// keeps it to this file's namespaces. The bucket side: adoption (point 3), a forged status (4),
// ownership by recorded ID and marker (5), what a namespace without a grant learns (10), bucket
// names (12) and limits per grant (13).
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
import { GROUP, VERSION } from '../../src/api/types.js';
import {
  InstanceFile,
  accessHarness,
  chartDefaultFlags,
  createAccess,
  getAccess,
  waitForAccess,
} from '../support/access.js';
import { readStatus, writeStatus } from '../support/influx-app.js';
import { freshInfluxd } from '../support/influxdb.js';
import { createNamespace, getSecret, patchOnboardingSpec, randomSuffix, readyOf } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

type Plural = 'influxbuckets' | 'influxtokens';
type Grant = { namespace: string; bucketNames?: string[]; adoptBuckets?: string[]; limits?: Record<string, number> };

class TenantFile extends InstanceFile {
  operatorNamespace = '';
  victim = '';
  evil = '';
  stranger = '';
  /** Named a and a-b: the old default bucket name (<namespace>-<name>) made a/b-c and a-b/c collide. */
  a = '';
  /** The namespace whose grant has limits. */
  quota = '';
  /** Every namespace the operator watches. */
  watched: string[] = [];

  async start(): Promise<void> {
    await accessHarness();
    await this.setUp('tenants', { withOperator: false });
    this.operatorNamespace = await createNamespace('tenants-operator');
    this.victim = await createNamespace('tenants-victim');
    this.evil = await createNamespace('tenants-evil');
    this.stranger = await createNamespace('tenants-stranger');
    // Namespace names the old default (<namespace>-<name>) made collide: a/b-c and a-b/c.
    this.a = `tenants-a-${randomSuffix()}`;
    this.quota = await createNamespace('tenants-quota');
    const { core } = await accessHarness();
    for (const name of [this.a, `${this.a}-b`]) await core.createNamespace({ body: { metadata: { name } } });
    this.watched = [this.namespace, this.victim, this.evil, this.stranger, this.a, `${this.a}-b`, this.quota];
    await this.startOperator(chartDefaultFlags(this.operatorNamespace), this.watched);
    await this.onboard(await freshInfluxd('v2.9.1'), { namespaces: [this.victim, this.evil] });
  }

  /**
   * The platform changes its grants (the whole accessFrom, as it would edit it). A namespace with
   * terms of its own is listed in `namespaces` too: an operator that knows no terms (before #17)
   * grants it all the same, so each attack meets exactly what the code enforces.
   */
  async grant(namespaces: string[], grants: Grant[]): Promise<void> {
    const all = [...new Set([...namespaces, ...grants.map((grant) => grant.namespace)])];
    await patchOnboardingSpec(this.namespace, 'influxdb', { accessFrom: { namespaces: all, grants } });
  }

  async readyBucket(namespace: string, name: string, spec: Record<string, unknown> = {}): Promise<InfluxBucket> {
    await createAccess('InfluxBucket', namespace, name, { onboardingRef: this.ref(), ...spec });
    return waitForAccess<InfluxBucket>('InfluxBucket', namespace, name, 'BucketReady');
  }

  async readyToken(namespace: string, name: string, permissions: Array<{ action: string; bucket: string }>) {
    await createAccess('InfluxToken', namespace, name, {
      onboardingRef: this.ref(),
      permissions,
      rotationGracePeriodSeconds: 0,
    });
    const token = await waitForAccess<InfluxToken>('InfluxToken', namespace, name, 'TokenReady');
    const secret = await getSecret(namespace, `${name}-influx-token`);
    this.ledger.addSecret(secret);
    return { token, secret: secret?.data ?? {} };
  }

  /** What an application does with a token: the official client's write and Flux query of a bucket. */
  use(token: string, bucket: string) {
    return { url: this.server.url, org: 'acme', bucket, token };
  }

  /** A reconcile that changes no spec, as any annotation (or a resync) brings; resolves once the operator has run it. */
  async poke(plural: Plural, namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const count = () => this.operator.records().filter((r) => r.message === 'reconciled' && r.resource === key).length;
    const before = count();
    const { kubectl } = await accessHarness();
    await kubectl(['annotate', '--overwrite', `${plural}.${GROUP}`, name, '-n', namespace, `poke=${randomSuffix()}`]);
    await eventually(`${key} reconciled again`, () => count() > before, { timeoutMs: 30_000 });
  }

  /** A status patch as a tenant with `<plural>/status` rights (many clusters' wildcard roles) makes it. */
  async forgeStatus(plural: Plural, namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    const { custom } = await accessHarness();
    await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural, namespace, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async message(kind: 'InfluxBucket' | 'InfluxToken', namespace: string, name: string): Promise<string> {
    return readyOf(await getAccess(kind, namespace, name))?.message ?? '';
  }

  async bucketNames(): Promise<string[]> {
    return this.server.admin.bucketNames(this.operatorToken, this.orgID);
  }
}

const tests = suite<TenantFile>('tenants: buckets stay in their namespace (real influxd v2.9.1)', new TenantFile());
tests.before((file) => file.start());
tests.after((file) => file.tearDown());

tests(
  "point 3, adoption needs the owner's consent: a granted tenant's adopt:true on the platform's own bucket is BucketExists, retention and description untouched, nothing readable; adopted once listed",
  async (file) => {
    const { evil } = file;
    const name = `platform-archive-${randomSuffix()}`;
    const id = await file.server.admin.createBucket(file.operatorToken, file.orgID, name, {
      retentionSeconds: 2_592_000,
      description: 'platform archive',
    });
    assert.is(await writeStatus(file.use(file.operatorToken, name)), 204, 'the platform has data there');
    // The platform lets evil claim the name (say, to create it if it were missing), not take over what exists.
    await file.grant([file.victim], [{ namespace: evil, bucketNames: [name] }]);
    await createAccess('InfluxBucket', evil, 'archive', {
      onboardingRef: file.ref(),
      name,
      adopt: true,
      retentionPeriodSeconds: 3600,
      deletionPolicy: 'Delete',
    });
    await createAccess('InfluxToken', evil, 'archive-reader', {
      onboardingRef: file.ref(),
      permissions: [{ action: 'read', bucket: 'archive' }],
    });
    const refused = await waitForAccess<InfluxBucket>('InfluxBucket', evil, 'archive', 'BucketExists');
    assert.match(readyOf(refused)?.message ?? '', 'spec.accessFrom.grants[].adoptBuckets');
    await waitForAccess('InfluxToken', evil, 'archive-reader', 'BucketNotReady');
    const untouched = await file.server.admin.bucket(file.operatorToken, id);
    assert.equal([untouched.everySeconds, untouched.description], [2_592_000, 'platform archive']);
    assert.is((await getSecret(evil, 'archive-reader-influx-token'))?.data.token, undefined, 'no token');

    await file.grant([file.victim], [{ namespace: evil, adoptBuckets: [name] }]);
    const adopted = await waitForAccess<InfluxBucket>('InfluxBucket', evil, 'archive', 'BucketReady');
    assert.equal([adopted.status?.bucketID, adopted.status?.adopted], [id, true]);
    assert.is((await file.server.admin.bucket(file.operatorToken, id)).everySeconds, 3600, 'with consent, its spec');
  },
);

tests(
  "point 4, status is a report: a forged InfluxBucket.status.bucketID naming another tenant's bucket re-issues nothing and reads nothing; the status is corrected at the next reconcile",
  async (file) => {
    const { victim, evil } = file;
    await file.grant([victim, evil], []);
    const secret = await file.readyBucket(victim, 'secret', { retentionPeriodSeconds: 3600 });
    const victimID = secret.status?.bucketID ?? '';
    const victimName = secret.status?.bucketName ?? '';
    assert.is(await writeStatus(file.use(file.operatorToken, victimName)), 204, "the victim's data");
    const mine = await file.readyBucket(evil, 'mine', { retentionPeriodSeconds: 3600 });
    const reader = await file.readyToken(evil, 'reader', [{ action: 'read', bucket: 'mine' }]);
    const authorizationID = reader.token.status?.authorizationID ?? '';

    await file.forgeStatus('influxbuckets', evil, 'mine', { bucketID: victimID });
    await file.poke('influxtokens', evil, 'reader');
    const after = await getSecret(evil, 'reader-influx-token');
    file.ledger.addSecret(after);
    const inSecret = after?.raw.metadata?.annotations?.['influxdb.onboarding.dev/authorization-id'] ?? '';
    assert.equal(
      await file.server.admin.authorizationPermissions(file.operatorToken, inSecret),
      [`read:${mine.status?.bucketID ?? ''}`],
      "the Secret's token may read its own bucket, nothing else",
    );
    assert.equal([inSecret, after?.data.token], [authorizationID, reader.secret.token], 'nothing was re-issued');
    assert.not.equal(
      (await readStatus(file.use(after?.data.token ?? '', victimName))).status,
      200,
      "the victim's bucket cannot be read",
    );

    await file.poke('influxbuckets', evil, 'mine');
    const corrected = await getAccess<InfluxBucket>('InfluxBucket', evil, 'mine');
    assert.is(corrected?.status?.bucketID, mine.status?.bucketID, 'the report is the truth again');
    // The records the decision came from live in the operator's namespace, where no tenant writes.
    const { core } = await accessHarness();
    const records = await core.listNamespacedConfigMap({ namespace: file.operatorNamespace });
    assert.ok(
      records.items.some((item) =>
        Object.values(item.data ?? {}).some((value) => value.includes(mine.status?.bucketID ?? '-')),
      ),
      'the bucket ID is recorded in the operator namespace',
    );
    for (const namespace of [victim, evil]) {
      const there = await core.listNamespacedConfigMap({ namespace });
      assert.equal(
        there.items.filter((item) => item.metadata?.name?.startsWith('influx-access-')),
        [],
        namespace,
      );
    }
  },
);

tests(
  "point 5, ownership is proven: the application's own token renames, re-retains and re-describes its bucket; the operator puts the same bucket back (no second bucket)",
  async (file) => {
    const { evil } = file;
    await file.grant([file.victim, evil], []);
    const bucket = await file.readyBucket(evil, 'repaired', { retentionPeriodSeconds: 3600 });
    const id = bucket.status?.bucketID ?? '';
    const name = bucket.status?.bucketName ?? '';
    const owner = await file.readyToken(evil, 'owner', [
      { action: 'read', bucket: 'repaired' },
      { action: 'write', bucket: 'repaired' },
    ]);
    const token = owner.secret.token ?? '';
    assert.is(await writeStatus(file.use(token, name)), 204);
    // InfluxDB ties bucket administration to write: the application's token may do all of this.
    assert.is(
      await file.server.admin.patchBucket(token, id, { name: `${name}-renamed`, description: 'mine now' }),
      200,
    );
    assert.is(
      await file.server.admin.patchBucket(token, id, {
        retentionRules: [{ type: 'expire', everySeconds: 7200, shardGroupDurationSeconds: 3600 }],
      }),
      200,
    );
    await file.poke('influxbuckets', evil, 'repaired');
    const repaired = await file.server.admin.bucket(file.operatorToken, id);
    assert.equal([repaired.name, repaired.everySeconds], [name, 3600], 'the same bucket, put back');
    assert.match(repaired.description, `uid=${bucket.metadata.uid}]`);
    const ready = await getAccess<InfluxBucket>('InfluxBucket', evil, 'repaired');
    assert.equal([readyOf(ready)?.reason, ready?.status?.bucketID], ['BucketReady', id]);
    assert.is((await file.bucketNames()).filter((entry) => entry.startsWith(name)).length, 1, 'no second bucket');
    assert.equal((await readStatus(file.use(token, name))).rows, 1, 'its data is where it was');
  },
);

tests(
  "point 5, a copied marker proves nothing: a write-only token on the platform's bucket stamps a tenant's marker (old and new form) on it; still BucketExists, nothing readable",
  async (file) => {
    const { evil } = file;
    const name = `shared-ingest-${randomSuffix()}`;
    const id = await file.server.admin.createBucket(file.operatorToken, file.orgID, name, { description: 'ingest' });
    assert.is(await writeStatus(file.use(file.operatorToken, name)), 204);
    // The platform hands evil a write-only token for it (by hand), and lets it claim the name.
    const writeOnly = await file.server.admin.createBucketToken(file.operatorToken, file.orgID, [
      { action: 'write', bucketID: id },
    ]);
    file.ledger.add(writeOnly.token);
    await file.grant([file.victim], [{ namespace: evil, bucketNames: [name] }]);
    await createAccess('InfluxBucket', evil, 'ingest', { onboardingRef: file.ref(), name });
    await createAccess('InfluxToken', evil, 'peek', {
      onboardingRef: file.ref(),
      permissions: [{ action: 'read', bucket: 'ingest' }],
    });
    const first = await waitForAccess<InfluxBucket>('InfluxBucket', evil, 'ingest', 'BucketExists');
    for (const marker of [
      `[managed by InfluxBucket ${evil}/ingest]`,
      `[managed by InfluxBucket ${evil}/ingest uid=${first.metadata.uid}]`,
    ]) {
      assert.is(
        await file.server.admin.patchBucket(writeOnly.token, id, { description: marker }),
        200,
        'write suffices',
      );
      await file.poke('influxbuckets', evil, 'ingest');
      await file.poke('influxtokens', evil, 'peek');
      assert.is(readyOf(await getAccess('InfluxBucket', evil, 'ingest'))?.reason, 'BucketExists', marker);
      assert.is(readyOf(await getAccess('InfluxToken', evil, 'peek'))?.reason, 'BucketNotReady', marker);
    }
    assert.is((await getSecret(evil, 'peek-influx-token'))?.data.token, undefined, 'no token to read it with');
  },
);

tests(
  "point 10, less is revealed: without a grant the same NotPermitted text whether the onboarding exists or not; BucketExists names no other namespace's resource",
  async (file) => {
    const { stranger, evil, victim } = file;
    await createAccess('InfluxBucket', stranger, 'probe-real', { onboardingRef: file.ref() });
    await createAccess('InfluxBucket', stranger, 'probe-none', { onboardingRef: file.ref('no-such-onboarding') });
    const real = await waitForAccess<InfluxBucket>('InfluxBucket', stranger, 'probe-real', 'NotPermitted');
    const none = await waitForAccess<InfluxBucket>('InfluxBucket', stranger, 'probe-none', 'NotPermitted');
    assert.is(
      readyOf(real)?.message.replace('/influxdb ', '/no-such-onboarding '),
      readyOf(none)?.message,
      'one text for both',
    );
    assert.not.match(readyOf(real)?.message ?? '', /Ready|Onboarded|acme|http/);

    const victimBucket = await file.readyBucket(victim, 'private', { retentionPeriodSeconds: 3600 });
    const victimName = victimBucket.status?.bucketName ?? '';
    // Even a grant that (by mistake) lets evil claim the victim's bucket name learns nothing of who has it.
    await file.grant([victim], [{ namespace: evil, bucketNames: [victimName] }]);
    await createAccess('InfluxBucket', evil, 'lookalike', { onboardingRef: file.ref(), name: victimName, adopt: true });
    const exists = await waitForAccess<InfluxBucket>('InfluxBucket', evil, 'lookalike', 'BucketExists');
    assert.match(readyOf(exists)?.message ?? '', 'is managed by another resource');
    assert.not.match(readyOf(exists)?.message ?? '', `InfluxBucket ${victim}/private`);
    assert.not.match(readyOf(exists)?.message ?? '', /InfluxBucket private\b/);
  },
);

tests(
  'point 12, names are claimed, not grabbed: a-b squats c before a creates b-c (the old default made both a-b-c); both are Ready; a name outside <namespace>. needs the grant; an old default bucket is taken over on upgrade',
  async (file) => {
    const a = file.a;
    const ab = `${a}-b`;
    await file.grant([file.victim, a, ab], []);
    const squat = await file.readyBucket(ab, 'c');
    const own = await file.readyBucket(a, 'b-c');
    assert.equal([squat.status?.bucketName, own.status?.bucketName], [`${ab}.c`, `${a}.b-c`]);

    await createAccess('InfluxBucket', a, 'custom', { onboardingRef: file.ref(), name: `team-shared-${a}` });
    const refused = await waitForAccess<InfluxBucket>('InfluxBucket', a, 'custom', 'NotPermitted');
    assert.match(readyOf(refused)?.message ?? '', 'spec.accessFrom.grants[].bucketNames');
    assert.not.ok((await file.bucketNames()).includes(`team-shared-${a}`), 'nothing created');
    await file.grant([file.victim, ab], [{ namespace: a, bucketNames: [`team-shared-${a}`] }]);
    const listed = await waitForAccess<InfluxBucket>('InfluxBucket', a, 'custom', 'BucketReady');
    assert.is(listed.status?.bucketName, `team-shared-${a}`);

    // Upgrade: the bucket the operator made under the old default, with its old marker, is kept (same ID, same data).
    const legacyID = await file.server.admin.createBucket(file.operatorToken, file.orgID, `${a}-legacy`, {
      retentionSeconds: 3600,
      description: `[managed by InfluxBucket ${a}/legacy]`,
    });
    assert.is(await writeStatus(file.use(file.operatorToken, `${a}-legacy`)), 204);
    const upgraded = await file.readyBucket(a, 'legacy', { retentionPeriodSeconds: 3600 });
    assert.equal([upgraded.status?.bucketID, upgraded.status?.bucketName], [legacyID, `${a}-legacy`]);
    assert.match(
      (await file.server.admin.bucket(file.operatorToken, legacyID)).description,
      `uid=${upgraded.metadata.uid}]`,
    );
  },
);

tests(
  'point 13, limits per grant: over maxBuckets, maxTokens or under minRetentionSeconds is QuotaExceeded and nothing is created',
  async (file) => {
    const { quota } = file;
    await file.grant(
      [file.victim],
      [{ namespace: quota, limits: { maxBuckets: 2, maxTokens: 1, minRetentionSeconds: 86_400 } }],
    );
    await createAccess('InfluxBucket', quota, 'short', { onboardingRef: file.ref(), retentionPeriodSeconds: 3600 });
    const short = await waitForAccess<InfluxBucket>('InfluxBucket', quota, 'short', 'QuotaExceeded');
    assert.match(readyOf(short)?.message ?? '', 'minRetentionSeconds');
    await file.readyBucket(quota, 'one', { retentionPeriodSeconds: 86_400 });
    await file.readyBucket(quota, 'two', { retentionPeriodSeconds: 0 });
    await createAccess('InfluxBucket', quota, 'three', { onboardingRef: file.ref(), retentionPeriodSeconds: 86_400 });
    const three = await waitForAccess<InfluxBucket>('InfluxBucket', quota, 'three', 'QuotaExceeded');
    assert.match(readyOf(three)?.message ?? '', 'limits.maxBuckets: 2');
    const names = await file.bucketNames();
    assert.equal(
      [`${quota}.short`, `${quota}.three`].filter((name) => names.includes(name)),
      [],
      'nothing created',
    );

    await file.readyToken(quota, 't1', [{ action: 'read', bucket: 'one' }]);
    await createAccess('InfluxToken', quota, 't2', {
      onboardingRef: file.ref(),
      permissions: [{ action: 'read', bucket: 'two' }],
    });
    const t2 = await waitForAccess<InfluxToken>('InfluxToken', quota, 't2', 'QuotaExceeded');
    assert.match(readyOf(t2)?.message ?? '', 'limits.maxTokens: 1');
    const marked = await file.server.admin.authorizationDescriptions(file.operatorToken, file.orgID);
    assert.equal(
      marked.filter((description) => description.includes(`uid=${t2.metadata.uid}]`)),
      [],
      'no authorization',
    );
  },
);

tests('secrecy: no token of this file in the operator output, any Event or any status', async (file) => {
  await file.assertNoSecretLeaked(3);
});

tests.run();
