/**
 * The credentials escrow (kube/escrow.ts) against an in-memory Secret store: a copy goes back only to
 * the resource (UID) it was taken from, or to a UID an administrator approved on the escrow Secret;
 * the write records the new owner's UID and uses the approval up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiException, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import type { DesiredSecret } from '../../../src/api/credentials.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import { CredentialsEscrow } from '../../../src/kube/escrow.js';
import { resource } from '../../support/facts.js';

const ESCROW_NAMESPACE = 'influx-onboarding';

/** Just the Secret calls the escrow makes, over a Map; stringData folded into data as the API server does. */
function store(): { core: CoreV1Api; secrets: Map<string, V1Secret> } {
  const secrets = new Map<string, V1Secret>();
  const save = (body: V1Secret): V1Secret => {
    const data = Object.fromEntries(
      Object.entries(body.stringData ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    );
    const saved: V1Secret = { ...body, data, stringData: undefined };
    secrets.set(body.metadata?.name ?? '', saved);
    return saved;
  };
  const core = {
    readNamespacedSecret: async ({ name }: { name: string }) => {
      const found = secrets.get(name);
      if (found === undefined) throw new ApiException(404, 'not found', '{"reason":"NotFound"}', {});
      return found;
    },
    createNamespacedSecret: async ({ body }: { body: V1Secret }) => save(body),
    replaceNamespacedSecret: async ({ body }: { body: V1Secret }) => save(body),
  };
  return { core: core as unknown as CoreV1Api, secrets };
}

function owner(uid: string): InfluxOnboarding {
  const base = resource();
  return { ...base, metadata: { ...base.metadata, uid } };
}

const DESIRED: DesiredSecret = {
  name: 'metrics-influxdb',
  tls: 'caSecretRef=none,insecureSkipVerify=false',
  garbageCollected: false,
  data: {
    url: 'http://influxdb.monitoring.svc:8086',
    org: 'acme',
    bucket: 'metrics',
    username: 'admin',
    password: 'Escrowed-Passw0rd',
    token: 'Escrowed-Token-0123456789',
  },
};

test('a copy goes back to the UID it was taken from; another UID needs the approval, named by the escrow Secret', async () => {
  const { core, secrets } = store();
  const escrow = new CredentialsEscrow(core, ESCROW_NAMESPACE);
  assert.is(await escrow.read(owner('uid-1')), undefined, 'nothing kept yet');
  await escrow.write(owner('uid-1'), DESIRED);
  const name = CredentialsEscrow.nameFor(owner('uid-1'));
  assert.equal(await escrow.read(owner('uid-1')), {
    kind: 'restorable',
    escrowed: {
      credentials: { username: 'admin', password: 'Escrowed-Passw0rd', token: 'Escrowed-Token-0123456789' },
      target: { url: DESIRED.data.url, tls: DESIRED.tls },
    },
  });
  assert.equal(await escrow.read(owner('uid-2')), {
    kind: 'approval-needed',
    secret: { namespace: ESCROW_NAMESPACE, name },
  });

  // The administrator of the escrow namespace approves uid-2.
  const secret = secrets.get(name);
  assert.ok(secret?.metadata);
  if (secret?.metadata)
    secret.metadata.annotations = {
      ...secret.metadata.annotations,
      'influxdb.onboarding.dev/escrow-approved-uid': 'uid-2',
    };
  assert.is((await escrow.read(owner('uid-2')))?.kind, 'restorable');
  assert.is((await escrow.read(owner('uid-3')))?.kind, 'approval-needed', 'only the approved UID');
  assert.is((await escrow.read(owner('uid-1')))?.kind, 'restorable', 'until the copy is written again');

  // Restored into uid-2's Secret, the copy is written again: now uid-2's, the approval used up.
  await escrow.write(owner('uid-2'), DESIRED);
  assert.equal(secrets.get(name)?.metadata?.annotations, {
    'influxdb.onboarding.dev/escrow-for': 'monitoring/metrics',
    'influxdb.onboarding.dev/escrow-uid': 'uid-2',
  });
  assert.is((await escrow.read(owner('uid-1')))?.kind, 'approval-needed', 'the old UID is another resource now');
});

test('a copy without a recorded UID, or for another namespace/name, gives nothing by itself', async () => {
  const { core, secrets } = store();
  const escrow = new CredentialsEscrow(core, ESCROW_NAMESPACE);
  await escrow.write(owner('uid-1'), DESIRED);
  const name = CredentialsEscrow.nameFor(owner('uid-1'));
  const annotations = secrets.get(name)?.metadata?.annotations ?? {};
  delete annotations['influxdb.onboarding.dev/escrow-uid'];
  assert.is((await escrow.read(owner('uid-1')))?.kind, 'approval-needed');
  annotations['influxdb.onboarding.dev/escrow-for'] = 'monitoring/other';
  assert.is(await escrow.read(owner('uid-1')), undefined);
});

test('ownerOf: the resource an escrow Secret keeps a copy for; nothing for another Secret', () => {
  const labels = { 'influxdb.onboarding.dev/escrow': 'true' };
  const annotations = { 'influxdb.onboarding.dev/escrow-for': 'team-e/influxdb' };
  assert.equal(CredentialsEscrow.ownerOf({ metadata: { labels, annotations } }), {
    namespace: 'team-e',
    name: 'influxdb',
  });
  assert.is(CredentialsEscrow.ownerOf({ metadata: { annotations } }), undefined, 'not an escrow Secret');
  assert.is(
    CredentialsEscrow.ownerOf({ metadata: { labels, annotations: { 'influxdb.onboarding.dev/escrow-for': 'a/b/c' } } }),
    undefined,
  );
  assert.is(CredentialsEscrow.ownerOf({}), undefined);
});

test.run();
