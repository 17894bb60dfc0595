import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../src/api/types.js';
import { keepManagedSecret, MANAGED_SECRETS } from '../../../src/controllers/shared.js';

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

test.run();
