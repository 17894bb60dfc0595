// What instance ownership costs (docs/tenants.md): the heap of the cluster-wide Service and
// EndpointSlice caches, each object as a real cluster serves it (managedFields, labels, selector,
// kubectl's last-applied annotation), trimmed by the operator's transforms and indexed as the
// operator indexes them; and the time to decide one resource's instance and to check one address
// at connect time against them. The objects come from an in-process fake API server as lists.
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  ClusterDirectory,
  ENDPOINT_SLICE_INDEXES,
  SERVICE_INDEXES,
  keepEndpointSliceRouting,
  keepServiceRouting,
} from '../src/kube/cluster-directory.js';
import { connectGuard, resolveInstance, type InstanceSettings } from '../src/onboarding/instance.js';
import { KubeConnection } from '../src/runtime/index.js';
import { Informer } from '../src/runtime/informer.js';
import { FakeApiServer } from '../test/support/fake-api-server.js';
import { heapUsedAfterGc, kubeConfigFor, mib, say, silentLogger, type Figure } from './util.js';

const SETTINGS: InstanceSettings = { clusterDomain: 'cluster.local', allowedTargets: [] };

function address(base: number, index: number): string {
  return `10.${base + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
}

/** Service `svc-<i>` of namespace `ns-<i % 500>`, as the API server serves one a Helm chart made. */
function service(index: number): KubernetesObject {
  const namespace = `ns-${index % 500}`;
  const name = `svc-${index}`;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      uid: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      resourceVersion: String(1000 + index),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'release', 'helm.sh/chart': 'app-1.2.3' },
      annotations: {
        'meta.helm.sh/release-name': 'release',
        'meta.helm.sh/release-namespace': namespace,
        ...(index % 10 === 0 && { 'influxdb.onboarding.dev/onboard-from': `ns-${(index + 1) % 500}` }),
      },
      managedFields: [
        {
          manager: 'helm',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-01-01T00:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:ports': {}, 'f:selector': {}, 'f:type': {} } },
        },
      ],
    } as unknown as KubernetesObject['metadata'],
    spec: {
      type: 'ClusterIP',
      clusterIP: address(96, index),
      clusterIPs: [address(96, index)],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      selector: { 'app.kubernetes.io/name': name },
      ports: [{ name: 'http', port: 8086, protocol: 'TCP', targetPort: 8086 }],
    },
    status: { loadBalancer: {} },
  } as KubernetesObject;
}

/** Its EndpointSlice, two ready Pods, as the endpointslice controller writes it. */
function slice(index: number): KubernetesObject {
  const namespace = `ns-${index % 500}`;
  const name = `svc-${index}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${name}-x7k2p`,
      namespace,
      resourceVersion: String(50_000 + index),
      labels: {
        'kubernetes.io/service-name': name,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'app.kubernetes.io/name': name,
      },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Service', name, uid: 'x', controller: true, blockOwnerDeletion: true },
      ],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'discovery.k8s.io/v1' }],
    },
    addressType: 'IPv4',
    endpoints: [0, 1].map((pod) => ({
      addresses: [address(128 + pod * 16, index)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${index % 50}`,
      targetRef: { kind: 'Pod', namespace, name: `${name}-${pod}`, uid: 'y' },
      zone: 'zone-a',
    })),
    ports: [{ name: 'http', port: 8086, protocol: 'TCP' }],
  } as KubernetesObject;
}

export async function instanceOwners(count = 10_000): Promise<Figure[]> {
  say(`\n## Instance ownership: ${count.toLocaleString('en')} Services and as many EndpointSlices (2 Pods each)`);
  const objects = {
    services: Array.from({ length: count }, (_, index) => service(index)),
    endpointslices: Array.from({ length: count }, (_, index) => slice(index)),
  };
  const served = (list: KubernetesObject[]) => list.reduce((sum, object) => sum + JSON.stringify(object).length, 0);
  const api = new FakeApiServer();
  api.listHandler = (request) => {
    const plural = request.path.endsWith('/endpointslices') ? 'endpointslices' : 'services';
    return { body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: objects[plural] } };
  };
  api.watchHandler = (response) => api.holdOpen(response);
  const connection = new KubeConnection(kubeConfigFor(await api.start()));
  const informers: Informer[] = [];
  try {
    const baseline = await heapUsedAfterGc();
    const services = new Informer({
      getter: connection,
      resource: { group: '', version: 'v1', plural: 'services' },
      logger: silentLogger(),
      transform: keepServiceRouting,
    });
    services.addIndexes(SERVICE_INDEXES);
    const slices = new Informer({
      getter: connection,
      resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' },
      logger: silentLogger(),
      transform: keepEndpointSliceRouting,
    });
    slices.addIndexes(ENDPOINT_SLICE_INDEXES);
    informers.push(services, slices);
    for (const informer of informers) informer.start();
    await Promise.all(informers.map((informer) => informer.waitForSync()));
    const heap = (await heapUsedAfterGc()) - baseline;
    const perPair = Math.round(heap / count);
    say(
      `served: ${Math.round(served(objects.services) / count)} B per Service, ${Math.round(served(objects.endpointslices) / count)} B per EndpointSlice of JSON`,
    );
    say(`cached and indexed: ${mib(heap)} = ${perPair} B per Service with its EndpointSlice`);

    const directory = new ClusterDirectory(services, slices);
    const urls = Array.from({ length: 20_000 }, (_, turn) => {
      const index = (turn * 7919) % count;
      return [
        `http://svc-${index}.ns-${index % 500}.svc:8086`,
        `http://${address(96, index)}:8086`,
        `http://${address(128, index)}:8086`,
        'http://influx.example.com:8086',
      ][turn % 4];
    });
    let started = performance.now();
    let refused = 0;
    for (const [turn, url] of urls.entries())
      if (!resolveInstance(url, `ns-${(turn * 31) % 500}`, directory, SETTINGS).permitted) refused++;
    const resolveMicros = ((performance.now() - started) * 1000) / urls.length;
    const guard = connectGuard('http://influx.example.com:8086', 'ns-0', directory, SETTINGS);
    started = performance.now();
    for (let turn = 0; turn < 20_000; turn++) guard?.check(address(turn % 2 === 0 ? 96 : 128, turn % count));
    const checkMicros = ((performance.now() - started) * 1000) / 20_000;
    say(
      `resolveInstance: ${resolveMicros.toFixed(1)} µs per resource (${urls.length} URLs of four kinds, ${refused} refused); connect-time check: ${checkMicros.toFixed(1)} µs per address`,
    );
    return [
      {
        name: `instance owners cache, ${count} Services + slices`,
        value: `${mib(heap)} (${perPair} B/pair)`,
        how: 'heapUsed after GC, both informers synced with the trimming transforms and indexes, minus before',
      },
      {
        name: 'instance resolution',
        value: `${resolveMicros.toFixed(1)} µs`,
        how: `resolveInstance per resource, against ${count} Services`,
      },
      {
        name: 'connect-time address check',
        value: `${checkMicros.toFixed(1)} µs`,
        how: 'connectGuard().check per address',
      },
    ];
  } finally {
    await Promise.all(informers.map((informer) => informer.stop()));
    connection.close();
    await api.stop();
  }
}
