import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CoreV1Api } from '@kubernetes/client-node';
import { TOKEN_OWNER_LABEL } from '../../../src/api/access-types.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type InfluxOnboarding } from '../../../src/api/types.js';
import { keepManagedSecret, MANAGED_SECRETS, OWN_SECRET_MAX_BYTES } from '../../../src/controllers/shared.js';
import { CredentialsSecrets } from '../../../src/kube/credentials-secret.js';
import { CredentialsEscrow } from '../../../src/kube/escrow.js';

const ownerReferences = [
  {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    name: 'a',
    uid: 'u-1',
    controller: true,
    blockOwnerDeletion: true,
  },
];

function written(): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'a-influxdb',
      namespace: 'ns',
      uid: 'u-2',
      resourceVersion: '7',
      creationTimestamp: new Date(0),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'influxdb.onboarding.dev/owner-name': 'a', team: 'x' },
      annotations: { 'influxdb.onboarding.dev/tls': 'verify', note: 'a person wrote this' },
      ownerReferences,
      finalizers: ['example.com/hold'],
      deletionTimestamp: new Date(1),
      managedFields: [{ manager: 'influx-onboarding-operator' }],
    },
    data: { token: 'dG9rZW4=', url: 'aHR0cDovL2luZmx1eA==' },
  };
}

test("the managed Secrets cache keeps all a reader or a replace needs: labels, annotations (a person's too), owners, finalizers, deletion, type and data", () => {
  assert.is(MANAGED_SECRETS.transform, keepManagedSecret);
  const kept = keepManagedSecret(written());
  assert.equal(kept, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'a-influxdb',
      namespace: 'ns',
      resourceVersion: '7',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'influxdb.onboarding.dev/owner-name': 'a', team: 'x' },
      annotations: { 'influxdb.onboarding.dev/tls': 'verify', note: 'a person wrote this' },
      ownerReferences,
      finalizers: ['example.com/hold'],
      deletionTimestamp: new Date(1),
    },
    data: { token: 'dG9rZW4=', url: 'aHR0cDovL2luZmx1eA==' },
  });
});

test('uid, creationTimestamp and managedFields are not kept (a replace keeps the first two by itself); absent parts stay absent', () => {
  const { metadata } = keepManagedSecret(written());
  for (const dropped of ['uid', 'creationTimestamp', 'managedFields'])
    assert.not.ok(metadata !== undefined && dropped in metadata, dropped);
  assert.equal(
    keepManagedSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'b', namespace: 'ns', resourceVersion: '1' },
    }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: undefined,
      metadata: { name: 'b', namespace: 'ns', resourceVersion: '1' },
    },
  );
  const immutable = keepManagedSecret({ ...written(), immutable: true } as KubernetesObject) as V1Secret;
  assert.is(immutable.immutable, true);
});

const identityOnly = (secret: V1Secret): V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: {
    name: secret.metadata?.name,
    namespace: 'ns',
    resourceVersion: '7',
    labels: secret.metadata?.labels ?? {},
    ownerReferences,
    deletionTimestamp: new Date(1),
  },
});

test("a Secret with the operator's label naming no resource (an escrow copy, a tenant's) is kept as its identity only; an InfluxToken's whole", () => {
  const plain = { ...written(), metadata: { ...written().metadata, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } } };
  assert.equal(keepManagedSecret(plain), identityOnly(plain));
  const token = {
    ...written(),
    metadata: {
      ...written().metadata,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TOKEN_OWNER_LABEL]: 'writer' },
    },
  };
  assert.equal((keepManagedSecret(token) as V1Secret).data, token.data);
});

test('an escrow copy is kept as its identity and the resource it names, so that its approval wakes that resource; nothing else of it', () => {
  const escrowCopy = (owner: string): V1Secret => ({
    ...written(),
    metadata: {
      ...written().metadata,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, 'influxdb.onboarding.dev/escrow': 'true' },
      annotations: {
        'influxdb.onboarding.dev/escrow-for': owner,
        'influxdb.onboarding.dev/escrow-uid': 'u-1',
        'influxdb.onboarding.dev/escrow-approved-uid': 'u-3',
      },
    },
  });
  const copy = escrowCopy('team-e/influxdb');
  const kept = keepManagedSecret(copy);
  assert.equal(kept, {
    ...identityOnly(copy),
    metadata: {
      ...identityOnly(copy).metadata,
      annotations: { 'influxdb.onboarding.dev/escrow-for': 'team-e/influxdb' },
    },
  });
  assert.equal(CredentialsEscrow.ownerOf(kept), { namespace: 'team-e', name: 'influxdb' });
  // A tenant's Secret labelled as an escrow copy, with an annotation no namespace/name is as long as.
  const forged = escrowCopy(`team-e/${'n'.repeat(OWN_SECRET_MAX_BYTES)}`);
  assert.equal(keepManagedSecret(forged), identityOnly(forged));
});

test("a tenant's Secret labelled like a credentials Secret but larger than any (0.9 MiB) is kept as its identity only", () => {
  const huge = written();
  huge.data = { payload: Buffer.alloc(900 * 1024, 1).toString('base64') };
  assert.equal(keepManagedSecret(huge), identityOnly(huge));
  const annotated = written();
  annotated.metadata = { ...annotated.metadata, annotations: { note: 'n'.repeat(OWN_SECRET_MAX_BYTES) } };
  assert.equal(keepManagedSecret(annotated), identityOnly(annotated), 'annotations count too');
});

test('the largest credentials Secret the operator writes is kept whole', () => {
  const base64 = (length: number) => Buffer.from('x'.repeat(length)).toString('base64');
  const largest = written();
  largest.data = {
    url: base64(2048),
    org: base64(256),
    bucket: base64(256),
    username: base64(256),
    password: base64(72),
    'pending-password': base64(72),
    token: base64(4096),
  };
  largest.metadata = {
    ...largest.metadata,
    annotations: {
      'influxdb.onboarding.dev/tls': `caSecretRef=${'c'.repeat(253)}/${'k'.repeat(253)},insecureSkipVerify=false`,
      'influxdb.onboarding.dev/retarget-to': 'u'.repeat(2048),
      'influxdb.onboarding.dev/password-rotation': 'r'.repeat(256),
      'influxdb.onboarding.dev/token-rotation': 'r'.repeat(256),
      'influxdb.onboarding.dev/authorization-id': 'a'.repeat(16),
      'influxdb.onboarding.dev/replaced-authorization': 'a'.repeat(16),
      'influxdb.onboarding.dev/setup-sent-at': '2026-12-06T12:38:00.021Z',
    },
  };
  assert.equal((keepManagedSecret(largest) as V1Secret).data, largest.data);
});

test('a credentials Secret cached without its data is read from the API server', async () => {
  const reads: string[] = [];
  const live: V1Secret = { ...written(), metadata: { ...written().metadata, deletionTimestamp: undefined } };
  const core = {
    readNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }) => {
      reads.push(`${namespace}/${name}`);
      return live;
    },
  } as unknown as CoreV1Api;
  const owner = { metadata: { name: 'a', namespace: 'ns', uid: 'u-1' } } as InfluxOnboarding;
  const oversized: V1Secret = { ...live, data: { payload: 'p'.repeat(OWN_SECRET_MAX_BYTES) } };
  const trimmed = keepManagedSecret(oversized);
  assert.is((trimmed as V1Secret).data, undefined);
  const view = (cached: KubernetesObject) => ({ get: () => cached as V1Secret, wrote: () => undefined });
  const fromCache = new CredentialsSecrets(core, view(keepManagedSecret(live)), () => false);
  assert.is((await fromCache.read(owner, 'a-influxdb')).state, 'owned');
  assert.equal(reads, [], 'a cached Secret with its data is not read again');
  const withoutData = new CredentialsSecrets(core, view(trimmed), () => false);
  const read = await withoutData.read(owner, 'a-influxdb');
  assert.equal(reads, ['ns/a-influxdb']);
  assert.ok(read.state === 'owned' && read.data.token === 'token');
});

test('a credentials Secret bound to an earlier InfluxOnboarding of the same name belongs to that one, not to a newcomer', async () => {
  // A namespace deleted and created again: a cache behind the API server may still show the old Secret.
  const core = {} as CoreV1Api;
  const live: V1Secret = { ...written(), metadata: { ...written().metadata, deletionTimestamp: undefined } };
  const view = { get: () => keepManagedSecret(live) as V1Secret, wrote: () => undefined };
  const secrets = new CredentialsSecrets(core, view, () => false);
  const earlier = { metadata: { name: 'a', namespace: 'ns', uid: 'u-1' } } as InfluxOnboarding;
  const newcomer = { metadata: { name: 'a', namespace: 'ns', uid: 'u-9' } } as InfluxOnboarding;
  assert.is((await secrets.read(earlier, 'a-influxdb')).state, 'owned');
  assert.is((await secrets.read(newcomer, 'a-influxdb')).state, 'foreign');
});

test.run();
