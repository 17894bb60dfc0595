// Realistic InfluxOnboarding objects as the API server returns them: applied with
// `kubectl apply` (so a last-applied-configuration annotation and a client-side-apply managedFields
// entry), labelled, and reconciled (a status written by the operator, with its own managedFields
// entry). About 2 KB of JSON each, half of it managedFields and the annotation.
import { API_VERSION, KIND } from '../src/api/types.js';

function hex(seed: number, length: number): string {
  let text = '';
  let value = seed * 2654435761;
  while (text.length < length) {
    value = (value * 1103515245 + 12345) % 2147483648;
    text += value.toString(16);
  }
  return text.slice(0, length);
}

export function influxOnboardingObject(index: number): Record<string, unknown> {
  const namespace = `team-${index % 50}`;
  const name = `influxdb-${index}`;
  const spec = {
    url: `http://influxdb-${index}.${namespace}.svc:8086`,
    username: 'admin',
    org: `org-${index % 97}`,
    bucket: `telemetry-${index % 13}`,
  };
  const labels = { 'app.kubernetes.io/name': 'influxdb', team: `team-${index % 50}` };
  const lastApplied = JSON.stringify({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { annotations: {}, labels, name, namespace },
    spec,
  });
  const time = '2026-03-01T12:00:00Z';
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      uid: `${hex(index, 8)}-${hex(index + 1, 4)}-4${hex(index + 2, 3)}-8${hex(index + 3, 3)}-${hex(index + 4, 12)}`,
      resourceVersion: String(1000 + index),
      generation: 1,
      creationTimestamp: time,
      labels,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n` },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: API_VERSION,
          time,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} },
              'f:labels': { '.': {}, 'f:app.kubernetes.io/name': {}, 'f:team': {} },
            },
            'f:spec': {
              '.': {},
              'f:bucket': {},
              'f:org': {},
              'f:url': {},
              'f:username': {},
            },
          },
        },
        {
          manager: 'influx-onboarding-operator',
          operation: 'Update',
          apiVersion: API_VERSION,
          time,
          fieldsType: 'FieldsV1',
          subresource: 'status',
          fieldsV1: {
            'f:status': {
              '.': {},
              'f:conditions': {},
              'f:observedGeneration': {},
              'f:onboardedAt': {},
              'f:secretName': {},
            },
          },
        },
      ],
    },
    spec,
    status: {
      observedGeneration: 1,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: time,
          reason: 'Onboarded',
          message: `InfluxDB at ${spec.url} is onboarded; credentials are in Secret ${name}-influxdb`,
        },
      ],
      secretName: `${name}-influxdb`,
      userID: hex(index + 5, 16),
      orgID: hex(index + 6, 16),
      bucketID: hex(index + 7, 16),
      authorizationID: hex(index + 8, 16),
      onboardedAt: time,
      influxdbVersion: 'v2.7.12',
    },
  };
}

export function influxOnboardingObjects(count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, index) => influxOnboardingObject(index));
}
