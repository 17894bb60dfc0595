// End to end on real InfluxDB (v2.7.12 and v2.9.1), the operator as a process on the real control
// plane: a platform namespace onboards the instance and grants two application namespaces; each
// declares an InfluxBucket and an InfluxToken and gets a Secret with only that. Every token is
// proven the way an application uses it (the official client writes and queries), and every
// refusal records the status the server answers.
// The tests run in order on one instance: later ones change the buckets and tokens earlier
// ones made.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { suite } from 'uvu';
import { parseAllDocuments } from 'yaml';
import * as assert from 'uvu/assert';
import type { InfluxBucket, InfluxToken } from '../../src/api/access-types.js';
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
import { readStatus, writeStatus } from '../support/influx-app.js';
import { REAL_VERSIONS, freshInfluxd, type RealVersion } from '../support/influxdb.js';
import { createNamespace, getSecret, observableText, type SecretView } from '../support/onboarding.js';
import { eventually } from '../support/wait.js';

class AccessFile extends InstanceFile {
  appA = '';
  appB = '';
  stranger = '';

  constructor(readonly version: RealVersion) {
    super();
  }

  async start(): Promise<void> {
    await accessHarness();
    await this.setUp(`acc-${this.version.replace(/\./g, '-')}`, { withOperator: false });
    this.appA = await createNamespace(`${this.namespace}-a`);
    this.appB = await createNamespace(`${this.namespace}-b`);
    this.stranger = await createNamespace(`${this.namespace}-c`);
    // Periodic checks every 2 s: the steady-state check (the Secret's authorization by ID) runs on the real server throughout.
    await this.startOperator(
      ['--namespace-label-grants=true', '--drift-check-interval=2s'],
      [this.namespace, this.appA, this.appB, this.stranger],
    );
    await this.onboard(await freshInfluxd(this.version), this.accessFrom());
  }

  async secret(namespace: string, name: string): Promise<SecretView> {
    const secret = await getSecret(namespace, name);
    assert.ok(secret, `Secret ${namespace}/${name} exists`);
    this.ledger.addSecret(secret);
    return secret;
  }

  /** appA may adopt `legacy` (and even the onboarding's own bucket, which is never adopted all the same); appB may claim `app-b-data`, outside its own prefix. */
  accessFrom(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      grants: [
        { namespace: this.appA, adoptBuckets: ['legacy', this.onboardingBucket] },
        { namespace: this.appB, bucketNames: ['app-b-data'] },
      ],
      ...extra,
    };
  }

  /** Descriptions of the org's authorizations that carry this InfluxToken's marker. */
  authorizationsOf(token: InfluxToken | undefined): Promise<string[]> {
    return this.marked(token?.metadata.uid);
  }
}

function use(
  secret: SecretView,
  bucket = secret.data.bucket ?? '',
): { url: string; org: string; bucket: string; token: string } {
  return { url: secret.data.url ?? '', org: secret.data.org ?? '', bucket, token: secret.data.token ?? '' };
}

for (const version of REAL_VERSIONS) {
  const tests = suite<AccessFile>(`application access on real influxd ${version}`, new AccessFile(version));
  tests.before((file) => file.start());
  tests.after((file) => file.tearDown());

  tests(
    'an application namespace gets its bucket and a write token: it writes there, not to the onboarding bucket, and cannot read',
    async (file) => {
      const { appA } = file;
      await createAccess('InfluxBucket', appA, 'metrics', {
        onboardingRef: file.ref(),
        retentionPeriodSeconds: 3600,
        deletionPolicy: 'Delete',
      });
      await createAccess('InfluxToken', appA, 'writer', {
        onboardingRef: file.ref(),
        permissions: [{ action: 'write', bucket: 'metrics' }],
        rotationGracePeriodSeconds: 0,
      });
      const bucket = await waitForAccess<InfluxBucket>('InfluxBucket', appA, 'metrics', 'BucketReady');
      assert.is(bucket.status?.bucketName, `${appA}.metrics`);
      const inInflux = await file.server.admin.bucket(file.operatorToken, bucket.status?.bucketID ?? '');
      assert.equal(
        [inInflux.name, inInflux.everySeconds, inInflux.shardGroupDurationSeconds],
        [`${appA}.metrics`, 3600, 3600],
      );
      await waitForAccess<InfluxToken>('InfluxToken', appA, 'writer', 'TokenReady');

      const secret = await file.secret(appA, 'writer-influx-token');
      assert.equal(Object.keys(secret.data).sort(), ['bucket', 'org', 'token', 'url']);
      assert.equal(
        [secret.data.url, secret.data.org, secret.data.bucket],
        [file.server.url, 'acme', `${appA}.metrics`],
      );
      assert.is.not(secret.data.token, file.operatorToken, 'never the operator token');
      assert.equal(
        {
          ownBucket: await writeStatus(use(secret)),
          onboardingBucket: await writeStatus(use(secret, file.onboardingBucket)),
          queryOwnBucket: (await readStatus(use(secret))).status,
        },
        { ownBucket: 204, onboardingBucket: 403, queryOwnBucket: 404 },
        "writes to its bucket; the onboarding's bucket is refused; a write-only token cannot query",
      );
    },
  );

  tests(
    "a read token of another application reads its own bucket, cannot write, and the first application's token cannot read it",
    async (file) => {
      const { appA, appB } = file;
      await createAccess('InfluxBucket', appB, 'other', { onboardingRef: file.ref(), name: 'app-b-data' });
      await createAccess('InfluxToken', appB, 'reader', {
        onboardingRef: file.ref(),
        permissions: [{ action: 'read', bucket: 'other' }],
        secretName: 'reader-creds',
      });
      await waitForAccess('InfluxToken', appB, 'reader', 'TokenReady');
      const reader = await file.secret(appB, 'reader-creds');
      assert.is(reader.data.bucket, 'app-b-data');
      const writer = await file.secret(appA, 'writer-influx-token');
      assert.equal(
        {
          readerReads: await readStatus(use(reader)),
          readerWrites: await writeStatus(use(reader)),
          otherAppReads: (await readStatus(use(writer, 'app-b-data'))).status,
          otherAppWrites: await writeStatus(use(writer, 'app-b-data')),
        },
        { readerReads: { status: 200, rows: 0 }, readerWrites: 403, otherAppReads: 404, otherAppWrites: 403 },
      );
    },
  );

  tests(
    'a permission change swaps the authorization: the old token stops working, the new one works, one authorization is left',
    async (file) => {
      const { appA } = file;
      const before = await file.secret(appA, 'writer-influx-token');
      await patchAccessSpec('InfluxToken', appA, 'writer', {
        permissions: [
          { action: 'write', bucket: 'metrics' },
          { action: 'read', bucket: 'metrics' },
        ],
      });
      const after = await eventually('a new token in the Secret', async () => {
        const secret = await getSecret(appA, 'writer-influx-token');
        return secret?.data.token !== before.data.token && secret;
      });
      file.ledger.addSecret(after);
      const token = await eventually('the status to show the new permissions', async () => {
        const current = await getAccess<InfluxToken>('InfluxToken', appA, 'writer');
        return current?.status?.permissions === 'read:metrics,write:metrics' && current;
      });
      assert.is(token.status?.conditions?.[0]?.reason, 'TokenReady');
      await eventually(
        'the old token to stop working',
        async () => (await file.server.admin.meStatus(before.data.token ?? '')) === 401,
      );
      assert.is(await writeStatus(use(after)), 204);
      assert.equal(
        await readStatus(use(after)),
        { status: 200, rows: 2 },
        'it reads both points written with both tokens',
      );
      assert.is((await file.authorizationsOf(token)).length, 1, 'one authorization left');
    },
  );

  tests(
    'an authorization deactivated in InfluxDB is replaced by the periodic check: a new token that writes, the inactive one deleted',
    async (file) => {
      const { appA } = file;
      const before = await file.secret(appA, 'writer-influx-token');
      const token = await getAccess<InfluxToken>('InfluxToken', appA, 'writer');
      await file.server.admin.setAuthorizationStatus(
        file.operatorToken,
        token?.status?.authorizationID ?? '',
        'inactive',
      );
      const after = await eventually('a new token in the Secret', async () => {
        const secret = await getSecret(appA, 'writer-influx-token');
        return secret?.data.token !== before.data.token && secret;
      });
      file.ledger.addSecret(after);
      await waitForAccess('InfluxToken', appA, 'writer', 'TokenReady');
      assert.is(await writeStatus(use(after)), 204);
      await eventually('one authorization left', async () => (await file.authorizationsOf(token)).length === 1);
      assert.is(await file.server.admin.meStatus(before.data.token ?? ''), 401);
    },
  );

  tests('deleting the InfluxToken deletes its authorization: the token fails', async (file) => {
    const { appA } = file;
    const token = await getAccess<InfluxToken>('InfluxToken', appA, 'writer');
    const secret = await file.secret(appA, 'writer-influx-token');
    await deleteAccess('InfluxToken', appA, 'writer');
    await waitForGone('InfluxToken', appA, 'writer');
    assert.is(await file.server.admin.meStatus(secret.data.token ?? ''), 401);
    assert.equal(await file.authorizationsOf(token), []);
  });

  tests('deletionPolicy Delete removes the bucket from InfluxDB; Retain leaves it', async (file) => {
    const { appA, appB } = file;
    await deleteAccess('InfluxBucket', appA, 'metrics');
    await deleteAccess('InfluxToken', appB, 'reader');
    await deleteAccess('InfluxBucket', appB, 'other');
    await waitForGone('InfluxBucket', appA, 'metrics');
    await waitForGone('InfluxBucket', appB, 'other');
    const names = await file.server.admin.bucketNames(file.operatorToken, file.orgID);
    assert.not.ok(names.includes(`${appA}.metrics`), 'Delete: gone');
    assert.ok(names.includes('app-b-data'), 'Retain: kept');
  });

  tests(
    'adoption and retention: an existing bucket is BucketExists until adopted; the onboarding bucket never is; a retention change reaches InfluxDB',
    async (file) => {
      const { appA } = file;
      const created = await file.server.admin.request({
        method: 'POST',
        path: '/api/v2/buckets',
        token: file.operatorToken,
        body: {
          orgID: file.orgID,
          name: 'legacy',
          retentionRules: [{ type: 'expire', everySeconds: 0, shardGroupDurationSeconds: 604800 }],
        },
      });
      assert.is(created.status, 201);
      await createAccess('InfluxBucket', appA, 'legacy', { onboardingRef: file.ref(), name: 'legacy' });
      await waitForAccess('InfluxBucket', appA, 'legacy', 'BucketExists');
      await patchAccessSpec('InfluxBucket', appA, 'legacy', { adopt: true, retentionPeriodSeconds: 86_400 });
      const adopted = await eventually('the bucket adopted with the new retention', async () => {
        const bucket = await getAccess<InfluxBucket>('InfluxBucket', appA, 'legacy');
        return bucket?.status?.adopted === true && bucket.status.conditions?.[0]?.reason === 'BucketReady' && bucket;
      });
      const inInflux = await file.server.admin.bucket(file.operatorToken, adopted.status?.bucketID ?? '');
      assert.equal(
        [inInflux.name, inInflux.everySeconds, inInflux.shardGroupDurationSeconds],
        ['legacy', 86_400, 3600],
        '1 day needs 1 h shard groups',
      );

      await createAccess('InfluxBucket', appA, 'grab', {
        onboardingRef: file.ref(),
        name: file.onboardingBucket,
        adopt: true,
      });
      const refused = await waitForAccess<InfluxBucket>('InfluxBucket', appA, 'grab', 'BucketExists');
      assert.match(refused.status?.conditions?.[0]?.message ?? '', "the onboarding's own bucket");
      await createAccess('InfluxBucket', appA, 'second', { onboardingRef: file.ref(), name: 'legacy', adopt: true });
      const taken = await waitForAccess<InfluxBucket>('InfluxBucket', appA, 'second', 'BucketExists');
      assert.match(taken.status?.conditions?.[0]?.message ?? '', 'is managed by InfluxBucket legacy');
      for (const name of ['grab', 'second', 'legacy']) await deleteAccess('InfluxBucket', appA, name);
      for (const name of ['grab', 'second', 'legacy']) await waitForGone('InfluxBucket', appA, name);
      assert.ok(
        (await file.server.admin.bucketNames(file.operatorToken, file.orgID)).includes('legacy'),
        'Retain (the default) keeps the adopted bucket',
      );
    },
  );

  tests('a namespace without a grant gets NotPermitted and nothing in InfluxDB', async (file) => {
    const { stranger } = file;
    await createAccess('InfluxBucket', stranger, 'sneaky', { onboardingRef: file.ref() });
    await createAccess('InfluxToken', stranger, 'sneaky', {
      onboardingRef: file.ref(),
      permissions: [{ action: 'write', bucket: 'sneaky' }],
    });
    const bucket = await waitForAccess('InfluxBucket', stranger, 'sneaky', 'NotPermitted');
    const token = await waitForAccess<InfluxToken>('InfluxToken', stranger, 'sneaky', 'NotPermitted');
    assert.match(bucket.status?.conditions?.[0]?.message ?? '', `does not grant namespace ${stranger}`);
    assert.not.ok((await file.server.admin.bucketNames(file.operatorToken, file.orgID)).includes(`${stranger}.sneaky`));
    assert.equal(await file.authorizationsOf(token), []);
    assert.is(await getSecret(stranger, 'sneaky-influx-token'), undefined);
  });

  tests(
    'a grant by namespace labels: the labelled namespace gets its bucket and token; withdrawing the grant deletes the token in InfluxDB and empties the Secret',
    async (file) => {
      const { stranger, namespace } = file;
      const { kubectl, custom } = await accessHarness();
      await custom.patchNamespacedCustomObject(
        {
          group: 'influxdb.onboarding.dev',
          version: 'v1alpha1',
          plural: 'influxonboardings',
          namespace,
          name: 'influxdb',
          body: {
            spec: {
              accessFrom: file.accessFrom({
                namespaceSelector: { matchLabels: { 'metrics.example.com/team': 'c' } },
              }),
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await kubectl(['label', 'namespace', stranger, 'metrics.example.com/team=c']);
      await waitForAccess('InfluxBucket', stranger, 'sneaky', 'BucketReady');
      const granted = await waitForAccess<InfluxToken>('InfluxToken', stranger, 'sneaky', 'TokenReady');
      const secret = await file.secret(stranger, 'sneaky-influx-token');
      assert.is(await writeStatus(use(secret)), 204);
      assert.is((await file.authorizationsOf(granted)).length, 1);

      await kubectl(['label', 'namespace', stranger, 'metrics.example.com/team-']);
      // The operator watches namespaces once a selector grant is in use: the label change withdraws access at once.
      await waitForAccess('InfluxToken', stranger, 'sneaky', 'NotPermitted');
      assert.equal(await file.authorizationsOf(granted), [], 'the token is deleted in InfluxDB');
      assert.is(await file.server.admin.meStatus(secret.data.token ?? ''), 401);
      const emptied = await getSecret(stranger, 'sneaky-influx-token');
      assert.equal(Object.keys(emptied?.data ?? {}).sort(), ['org', 'url'], 'the Secret keeps no token');
      await waitForAccess('InfluxBucket', stranger, 'sneaky', 'NotPermitted');
    },
  );

  tests(
    'config/samples/application.yaml applied in a granted namespace: bucket and token Ready, the token writes and reads its bucket',
    async (file) => {
      const { appB, namespace } = file;
      const documents = parseAllDocuments(
        readFileSync(fileURLToPath(new URL('../../config/samples/application.yaml', import.meta.url)), 'utf8'),
      ).map((document) => document.toJS() as { spec: { onboardingRef: { namespace: string } } });
      for (const document of documents) document.spec.onboardingRef.namespace = namespace;
      const { kubectl } = await accessHarness();
      await kubectl(
        ['apply', '-n', appB, '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: documents }),
      );
      await waitForAccess('InfluxBucket', appB, 'metrics', 'BucketReady');
      await waitForAccess('InfluxToken', appB, 'shop-writer', 'TokenReady');
      const secret = await file.secret(appB, 'shop-writer-influx-token');
      assert.is(secret.data.bucket, `${appB}.metrics`);
      assert.is(await writeStatus(use(secret)), 204);
      assert.equal(await readStatus(use(secret)), { status: 200, rows: 1 });
    },
  );

  tests('secrecy: no token of this file in the operator output, any Event or any status', async (file) => {
    file.ledger.add(file.operatorToken);
    assert.ok(file.ledger.size >= 7, `the operator token and six application tokens (${file.ledger.size})`);
    const sources = await observableText(file.operators, [], [file.namespace, file.appA, file.appB, file.stranger]);
    assert.equal(file.ledger.leaks(sources), []);
  });
  tests.run();
}
