/**
 * Instance ownership (onboarding/instance.ts) over the real ClusterDirectory: which instance a URL
 * reaches, whose it is, who may target it, and what the connect-time guard refuses; every way round
 * the text (spellings, ports, literal ClusterIPs and endpoints, ExternalNames, forwarding Services,
 * DNS of any domain) and every way of consent (the Service annotation, --allowed-urls NAMESPACE=).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AllowedTarget } from '../../../src/influx/index.js';
import { parseAllowedTargets } from '../../../src/influx/index.js';
import { canonicalAddress } from '../../../src/api/cluster.js';
import {
  endpointFacts,
  keepEndpointSliceRouting,
  keepServiceRouting,
  serviceFacts,
} from '../../../src/kube/cluster-directory.js';
import {
  connectGuard,
  resolveInstance,
  reachOf,
  rememberedReach,
  specAtInstance,
  targetsOfEndpoints,
  targetsOfService,
  targetKey,
  type Instance,
  type InstanceSettings,
} from '../../../src/onboarding/instance.js';
import { TestCluster } from '../../support/cluster-objects.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import { resource } from '../../support/facts.js';

const SETTINGS: InstanceSettings = { clusterDomain: 'cluster.local', allowedTargets: [] };

/**
 * team-a runs InfluxDB behind Service influxdb (ClusterIP 10.0.0.17, port 8086 and 80, Pod
 * 10.244.1.5) and a load balancer; shared lets team-b in; evil aliases and forwards to team-a; the
 * operator's own namespace has an influxdb Service too.
 */
function cluster(): TestCluster {
  const c = new TestCluster();
  c.service('team-a', 'influxdb', {
    clusterIP: '10.0.0.17',
    ports: [
      { name: 'http', port: 8086, targetPort: 8086 },
      { name: 'web', port: 80, targetPort: 8086 },
    ],
  });
  c.endpoints('team-a', 'influxdb', ['10.244.1.5'], {
    ports: [
      { name: 'http', port: 8086 },
      { name: 'web', port: 8086 },
    ],
  });
  c.service('team-a', 'influx-lb', { clusterIP: '10.0.0.18', loadBalancerIP: '203.0.113.7' });
  c.service('shared', 'influxdb', { clusterIP: '10.0.0.30', consent: 'team-b, not_a_namespace ,team-d' });
  c.endpoints('shared', 'influxdb', ['10.244.3.3']);
  c.service('evil', 'proxy', { externalName: 'InfluxDB.Team-A.svc.cluster.local.' });
  c.service('evil', 'outside', { externalName: 'influx.example.com' });
  c.service('evil', 'fwd', { clusterIP: '10.0.0.50' });
  // A hand-made slice (no targetRef) forwarding to team-a's Pod.
  c.endpoints('evil', 'fwd', ['10.244.1.5'], { podNamespace: null });
  c.service('evil', 'spoof', { clusterIP: '10.0.0.51', externalIPs: ['203.0.113.7', '10.0.0.17'] });
  c.service('influx-onboarding', 'influxdb', { clusterIP: '10.0.0.99' });
  return c;
}

function resolve(c: TestCluster, url: string, namespace: string, settings = SETTINGS): Instance {
  return resolveInstance(url, namespace, c.directory, settings);
}

test('every spelling of a Service URL, in any port form, is that namespace’s: another namespace is refused, the owner is not', () => {
  const c = cluster();
  const forms = [
    'http://influxdb.team-a:8086',
    'http://influxdb.team-a.svc:8086',
    'http://influxdb.team-a.svc.cluster.local:8086',
    'http://INFLUXDB.Team-A.svc.Cluster.Local.:8086/',
    'http://influxdb.team-a.svc.cluster.local.:8086//',
  ];
  const keys = new Set<string>();
  for (const url of forms) {
    const evil = resolve(c, url, 'evil');
    assert.is(evil.permitted, false, url);
    assert.equal(evil.owners, ['team-a'], url);
    assert.is(evil.resolveAs, 'influxdb.team-a.svc.cluster.local.', url);
    assert.ok(resolve(c, url, 'team-a').permitted, `${url} for its owner`);
    keys.add(evil.key);
  }
  assert.equal([...keys], ['http://service:team-a/influxdb:8086'], 'one instance');
  // The default port and https: other ports of the same Service, team-a's all the same.
  for (const url of ['http://influxdb.team-a.svc', 'https://influxdb.team-a.svc.cluster.local']) {
    assert.is(resolve(c, url, 'evil').permitted, false, url);
    assert.equal(resolve(c, url, 'evil').owners, ['team-a']);
  }
  assert.is(resolve(c, 'http://influxdb.team-a.svc', 'evil').key, 'http://service:team-a/influxdb:80');
});

test('a single label is a Service of the resource’s own namespace, looked up by its absolute name, never the operator’s', () => {
  const c = cluster();
  // Rooted (a final dot), one or two labels are never searched: names outside the cluster.
  for (const url of ['http://influxdb.:8086', 'http://influxdb.team-a.:8086']) {
    const rooted = resolve(c, url, 'evil');
    assert.equal([rooted.permitted, rooted.owners, rooted.resolveAs], [true, [], undefined], url);
  }
  c.service('y', 'short', { externalName: 'influxdb.team-a' });
  assert.equal(resolve(c, 'http://short.y:8086', 'y').owners, [], 'an ExternalName’s target is rooted too');
  const evil = resolve(c, 'http://influxdb:8086', 'evil');
  assert.ok(evil.permitted, 'its own namespace');
  assert.equal(evil.owners, ['evil']);
  assert.is(evil.key, 'http://service:evil/influxdb:8086');
  assert.is(evil.resolveAs, 'influxdb.evil.svc.cluster.local.');
  const teamA = resolve(c, 'http://influxdb:8086', 'team-a');
  assert.is(teamA.key, resolve(c, 'http://influxdb.team-a.svc:8086', 'team-a').key, 'an alias of the full name');
  assert.is(
    resolve(c, 'http://influxdb:8086', 'team-a', { ...SETTINGS, clusterDomain: 'corp.internal' }).resolveAs,
    'influxdb.team-a.svc.corp.internal.',
  );
  // The operator's namespace is an ordinary one.
  assert.is(resolve(c, 'http://influxdb.influx-onboarding.svc:8086', 'evil').permitted, false);
});

test('a literal ClusterIP, load-balancer IP or endpoint address is its Service’s instance, in every address form', () => {
  const c = cluster();
  const service = resolve(c, 'http://influxdb.team-a.svc:8086', 'team-a').key;
  for (const url of [
    'http://10.0.0.17:8086',
    'http://[::ffff:10.0.0.17]:8086',
    'http://[::ffff:a00:11]:8086',
    'http://167772177:8086',
    'http://10.244.1.5:8086',
  ]) {
    const evil = resolve(c, url, 'evil');
    assert.is(evil.permitted, false, url);
    assert.equal(evil.owners, ['team-a'], url);
    assert.is(evil.key, service, `${url}: the same instance as the Service's name`);
    assert.is(evil.resolveAs, undefined, 'a literal is never looked up');
    assert.ok(resolve(c, url, 'team-a').permitted, url);
  }
  // An endpoint on the target port of the Service's port 80 is port 80 of the Service.
  assert.is(resolve(c, 'http://10.0.0.17:80', 'evil').key, 'http://service:team-a/influxdb:80');
  const lb = resolve(c, 'http://203.0.113.7:8086', 'evil');
  assert.equal([lb.permitted, lb.owners, lb.key], [false, ['team-a'], 'http://service:team-a/influx-lb:8086']);
  assert.match(lb.refusal ?? '', 'the address 203.0.113.7 belongs to a Service of namespace team-a');
  assert.not.match(lb.refusal ?? '', 'influx-lb', 'the Service is not named: the author did not name it');
});

test('spec.externalIPs claims nothing (anyone who creates a Service may write any address there)', () => {
  const c = cluster();
  // evil/spoof lists team-a's load-balancer IP and ClusterIP as external IPs.
  assert.equal(resolve(c, 'http://203.0.113.7:8086', 'team-a').owners, ['team-a']);
  assert.ok(resolve(c, 'http://10.0.0.17:8086', 'team-a').permitted, 'team-a is not blocked by it');
  // Nor an external address someone else uses.
  c.service('evil', 'claims', { clusterIP: '10.0.0.52', externalIPs: ['198.51.100.1'] });
  const external = resolve(c, 'http://198.51.100.1:8086', 'team-a');
  assert.equal([external.permitted, external.owners], [true, []]);
});

test('an ExternalName is followed to its target: the owner of the target decides; loops end', () => {
  const c = cluster();
  const proxy = resolve(c, 'http://proxy.evil.svc:8086', 'evil');
  assert.is(proxy.permitted, false);
  assert.equal(proxy.owners, ['team-a']);
  assert.is(proxy.key, 'http://service:team-a/influxdb:8086', 'an alias of team-a’s Service');
  assert.is(proxy.resolveAs, 'proxy.evil.svc.cluster.local.', 'looked up as written: DNS follows the CNAME');
  assert.match(
    proxy.refusal ?? '',
    'Service proxy of namespace evil is an ExternalName for influxdb.team-a.svc.cluster.local, and spec.url names Service influxdb of namespace team-a',
  );
  // To an external name: whoever --allowed-urls reserves it for, else nobody.
  const outside = resolve(c, 'http://outside.evil:8086', 'team-b');
  assert.equal([outside.permitted, outside.owners, outside.key], [true, [], 'http://host:influx.example.com:8086']);
  // Chains and loops.
  c.service('x', 'a', { externalName: 'b.x.svc.cluster.local' });
  c.service('x', 'b', { externalName: 'a.x.svc' });
  const loop = resolve(c, 'http://a.x:8086', 'evil');
  assert.equal(loop.owners, ['x']);
  c.service('y', 'hop', { externalName: 'proxy.evil.svc' });
  assert.equal(resolve(c, 'http://hop.y:8086', 'y').owners, ['team-a'], 'two hops to team-a');
  // To an address.
  c.service('y', 'ip', { externalName: '10.0.0.17' });
  assert.is(resolve(c, 'http://ip.y:8086', 'y').key, 'http://service:team-a/influxdb:8086');
});

test('a Service forwarding to another namespace’s Pods belongs to that namespace too; a hand-made slice never takes the owner’s own', () => {
  const c = cluster();
  const fwd = resolve(c, 'http://fwd.evil.svc:8086', 'evil');
  assert.is(fwd.permitted, false);
  assert.equal(fwd.owners, ['evil', 'team-a']);
  assert.is(resolve(c, 'http://10.0.0.50:8086', 'evil').permitted, false, 'nor by its ClusterIP');
  // team-a's own Service and Pod stay team-a's alone: the slice without a Pod does not count.
  assert.equal(resolve(c, 'http://influxdb.team-a.svc:8086', 'team-a').owners, ['team-a']);
  assert.ok(resolve(c, 'http://10.244.1.5:8086', 'team-a').permitted);
  // Pods behind their own Services only: owner alone.
  assert.equal(resolve(c, 'http://influxdb.shared.svc:8086', 'shared').owners, ['shared']);
  // team-a consenting to evil lets the forwarder through too.
  c.service('team-a', 'influxdb', { clusterIP: '10.0.0.17', consent: 'evil' });
  assert.ok(resolve(c, 'http://fwd.evil.svc:8086', 'evil').permitted);
});

test('consent: the Service’s onboard-from annotation lets those namespaces in (its own address forms too); invalid entries grant nothing', () => {
  const c = cluster();
  for (const url of ['http://influxdb.shared.svc:8086', 'http://10.0.0.30:8086', 'http://10.244.3.3:8086']) {
    assert.ok(resolve(c, url, 'team-b').permitted, `${url} for team-b`);
    assert.ok(resolve(c, url, 'team-d').permitted, `${url} for team-d`);
    assert.is(resolve(c, url, 'team-c').permitted, false, `${url} for team-c`);
    assert.equal(resolve(c, url, 'team-b').owners, ['shared']);
  }
  assert.is(resolve(c, 'http://influxdb.shared.svc:8086', 'not_a_namespace').permitted, false);
});

test('the refusal says who owns it and how consent is given, and nothing about their state (Service there or not, annotated or not)', () => {
  const c = cluster();
  const refusal = (namespace: string) => resolve(c, `http://influxdb.${namespace}.svc:8086`, 'evil').refusal ?? '';
  const texts = [
    refusal('shared').replaceAll('shared', 'X'), // annotated for others
    refusal('team-a').replaceAll('team-a', 'X'), // there, not annotated
    refusal('nobody').replaceAll('nobody', 'X'), // no Service at all
  ];
  assert.equal(new Set(texts).size, 1, texts.join('\n'));
  const text = refusal('team-a');
  assert.match(text, 'belongs to namespace team-a, not to namespace evil; nothing is sent to it');
  assert.match(text, 'kubectl annotate service -n team-a influxdb influxdb.onboarding.dev/onboard-from=evil');
  assert.match(text, 'nothing is tried again until the spec, the Service or the operator');
  assert.ok(text.endsWith(`onboard-from=evil`), 'the command last, to be copied as it is');
  assert.not.match(refusal('shared'), 'team-b', 'nor whom else it lets in');
});

test('external names and addresses: nobody’s unless --allowed-urls reserves them; a reservation lets its namespaces in only', () => {
  const c = cluster();
  const parsed = parseAllowedTargets(['influx.example.com:8086', '198.51.100.0/24']);
  if (!parsed.ok) throw new Error(parsed.problems.join());
  const [name, network] = parsed.targets as [AllowedTarget, AllowedTarget];
  const settings: InstanceSettings = {
    ...SETTINGS,
    allowedTargets: [
      { ...name, tenant: 'team-a' },
      { ...network, tenant: 'team-a' },
      { ...network, tenant: 'team-c' },
    ],
  };
  const open = resolve(c, 'https://influx.example.com:8086', 'evil');
  assert.equal([open.permitted, open.owners, open.key], [true, [], 'https://host:influx.example.com:8086']);
  assert.is(open.resolveAs, undefined, 'an external name is looked up as written');
  const bound = resolve(c, 'https://influx.example.com:8086', 'evil', settings);
  assert.equal([bound.permitted, bound.owners], [false, ['team-a']]);
  assert.match(
    bound.refusal ?? '',
    "the operator's --allowed-urls reserves for namespace team-a, not for namespace evil",
  );
  assert.match(bound.refusal ?? '', '--allowed-urls evil=influx.example.com:8086');
  assert.ok(resolve(c, 'https://influx.example.com:8086', 'team-a', settings).permitted);
  assert.ok(resolve(c, 'https://influx.example.com:9999', 'evil', settings).permitted, 'reserved on 8086 only');
  assert.equal(resolve(c, 'http://198.51.100.9:8086', 'evil', settings).owners, ['team-a', 'team-c']);
  assert.ok(resolve(c, 'http://198.51.100.9:8086', 'team-c', settings).permitted);
  // An ExternalName for a reserved name: the same reservation.
  assert.equal(resolve(c, 'http://outside.evil.svc:8086', 'evil', settings).owners, []);
});

test('other cluster names: an endpoint hostname of a headless Service and a Pod DNS name are their namespace’s', () => {
  const c = cluster();
  const pod0 = resolve(c, 'http://pod0.influxdb.team-a.svc.cluster.local:8086', 'evil');
  assert.equal(
    [pod0.permitted, pod0.owners, pod0.key],
    [false, ['team-a'], 'http://service:team-a/influxdb#pod0:8086'],
  );
  assert.is(pod0.resolveAs, 'pod0.influxdb.team-a.svc.cluster.local.');
  const pod = resolve(c, 'http://10-244-1-5.team-a.pod.cluster.local:8086', 'evil');
  assert.equal([pod.permitted, pod.owners], [false, ['team-a']]);
  // Anything else under the cluster domain is decided where it resolves.
  assert.equal(resolve(c, 'http://team-a.svc.cluster.local:8086', 'evil').owners, []);
});

test('keys keep scheme, port and path apart; targetKey indexes the host as the text names it', () => {
  const c = cluster();
  const keys = [
    'http://influxdb.team-a.svc:8086',
    'https://influxdb.team-a.svc:8086',
    'http://influxdb.team-a.svc:8087',
    'http://influxdb.team-a.svc:8086/a',
    'http://influxdb.team-a.svc:8086/A',
  ].map((url) => resolve(c, url, 'team-a').key);
  assert.is(new Set(keys).size, keys.length);
  assert.is(targetKey('http://influxdb:8086', 'team-a', 'cluster.local'), 'service:team-a/influxdb');
  assert.is(
    targetKey('http://InfluxDB.team-a.svc.cluster.local.:1/x', 'b', 'cluster.local'),
    'service:team-a/influxdb',
  );
  assert.is(targetKey('http://[::ffff:10.0.0.17]', 'b', 'cluster.local'), 'address:10.0.0.17');
  assert.is(targetKey('http://Influx.Example.com.', 'b', 'cluster.local'), 'host:influx.example.com');
  assert.is(targetKey('not a url', 'b', 'cluster.local'), undefined);
});

test('spellings: every target key naming the instance (names, addresses, endpoints, ExternalNames for it), for DuplicateTarget and wake-ups', () => {
  const c = cluster();
  const expected = ['address:10.0.0.17', 'address:10.244.1.5', 'service:evil/proxy', 'service:team-a/influxdb'];
  for (const url of [
    'http://influxdb:8086',
    'http://10.0.0.17:8086',
    'http://proxy.evil:8086',
    'http://10.244.1.5:8086',
  ])
    assert.equal([...resolve(c, url, 'team-a').spellings].sort(), expected, url);
  // A change of team-a's slice, or of its Service, wakes the resources naming team-a's Service and
  // evil's forwarder, which lists the same Pod, and those naming the Pod's address.
  const throughAnyService = [
    'address:10.0.0.17',
    'address:10.0.0.50',
    'address:10.244.1.5',
    'service:evil/fwd',
    'service:evil/proxy',
    'service:team-a/influxdb',
  ];
  const service = c.directory.service('team-a', 'influxdb');
  assert.ok(service);
  if (service) {
    assert.equal(
      targetsOfService(service, c.directory, SETTINGS).sort(),
      throughAnyService,
      'what a change of it wakes',
    );
  }
  assert.equal(
    targetsOfEndpoints(c.directory.endpointsOf('team-a', 'influxdb'), c.directory, SETTINGS),
    throughAnyService,
  );
  assert.equal(resolve(c, 'http://influx.example.com', 'x').spellings, [
    'host:influx.example.com',
    'service:evil/outside',
  ]);
});

test('consent given on one of two Services listing the same address wakes the resources that reach it through the other', () => {
  // As on a node: the test InfluxDB at the node's address behind Service standin (namespace db), and
  // the API server's `kubernetes` Service (default) listing the same address. A resource of app
  // naming standin waits NotPermitted until both owners let app in; the second consent must wake it.
  const c = new TestCluster();
  c.service('db', 'standin', { clusterIP: '10.0.0.40', consent: 'app' });
  c.endpoints('db', 'standin', ['10.10.0.2'], { podNamespace: null });
  c.service('default', 'kubernetes', { clusterIP: '10.0.0.1', consent: 'app' });
  c.endpoints('default', 'kubernetes', ['10.10.0.2'], { podNamespace: null });
  const kubernetes = c.directory.service('default', 'kubernetes');
  assert.ok(kubernetes);
  const woken = kubernetes ? targetsOfService(kubernetes, c.directory, SETTINGS) : [];
  // The resources are indexed by the host their URL names (targetKey), as the controller looks them up.
  const named = targetKey('http://standin.db.svc:8086', 'app', SETTINGS.clusterDomain);
  assert.is(named, 'service:db/standin');
  assert.ok(woken.includes(named ?? ''), `a change of default/kubernetes wakes ${named}: ${woken.join(', ')}`);
});

test('connectGuard: an address the host resolves to at connect time must not belong to a namespace that did not let this one in', () => {
  const c = cluster();
  const guard = connectGuard('http://sneaky.attacker.example:8086', 'evil', c.directory, SETTINGS);
  assert.ok(guard);
  assert.is(guard?.resolveAs, undefined);
  for (const address of ['10.0.0.17', '::ffff:10.0.0.17', '10.244.1.5', '203.0.113.7', '10.0.0.50']) {
    const refusal = guard?.check(address);
    assert.is(refusal?.reason, 'not-permitted', address);
    assert.ok(refusal?.owners?.includes('team-a'), address);
    assert.match(refusal?.message ?? '', 'sneaky.attacker.example resolves to ');
  }
  for (const address of ['127.0.0.1', '198.51.100.1', 'not an address']) assert.is(guard?.check(address), undefined);
  assert.is(
    connectGuard('http://sneaky.attacker.example', 'team-a', c.directory, SETTINGS)?.check('10.0.0.17'),
    undefined,
  );
  assert.is(
    connectGuard('http://x.example', 'team-b', c.directory, SETTINGS)?.check('10.0.0.30'),
    undefined,
    'consent',
  );
  const literal = connectGuard('http://10.0.0.17:8086', 'evil', c.directory, SETTINGS);
  assert.is(
    literal?.check('10.0.0.17')?.message,
    'the address 10.0.0.17 belongs to namespace team-a, not to namespace evil',
  );
  assert.is(
    connectGuard('http://influxdb:8086', 'evil', c.directory, SETTINGS)?.resolveAs,
    'influxdb.evil.svc.cluster.local.',
  );
  assert.is(connectGuard('not a url', 'evil', c.directory, SETTINGS), undefined);
  // Decided from the cluster as it is at each connection: consent given later counts.
  c.service('team-a', 'influxdb', { clusterIP: '10.0.0.17', consent: 'evil' });
  assert.is(guard?.check('10.0.0.17'), undefined);
});

test('the caches keep what the questions need of a Service or EndpointSlice, nothing else', () => {
  const c = new TestCluster();
  const service = c.service('a', 'db', {
    clusterIP: '10.0.0.1',
    consent: 'b',
    loadBalancerIP: '203.0.113.1',
    externalIPs: ['1.2.3.4'],
    extraAnnotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(1000), note: 'y' },
  });
  const kept = keepServiceRouting(structuredClone(service));
  assert.equal(kept, {
    metadata: {
      name: 'db',
      namespace: 'a',
      resourceVersion: '1',
      annotations: { 'influxdb.onboarding.dev/onboard-from': 'b' },
    },
    spec: { type: 'LoadBalancer', clusterIPs: ['10.0.0.1'], ports: [{ name: 'http', port: 8086 }] },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
  });
  assert.equal(serviceFacts(kept), serviceFacts(service), 'the same answers from the trimmed copy');
  assert.equal(serviceFacts(kept).addresses, ['10.0.0.1', '203.0.113.1']);
  const slice = c.endpoints('a', 'db', ['10.244.0.1', 'fd00::1'], { podNamespace: 'a' });
  const keptSlice = keepEndpointSliceRouting(structuredClone(slice));
  assert.equal(endpointFacts(keptSlice), endpointFacts(slice));
  assert.equal(
    endpointFacts(keptSlice).map((endpoint) => [endpoint.address, endpoint.podNamespace]),
    [
      ['10.244.0.1', 'a'],
      ['fd00::1', 'a'],
    ],
  );
  const unlabelled = { ...slice, metadata: { ...slice.metadata, labels: {} } };
  assert.equal(endpointFacts(unlabelled), [], 'a slice of no Service claims nothing');
  assert.equal(
    ['10.0.0.1', '::ffff:10.0.0.1', '[::FFFF:a00:1]', 'FD00::0:1', 'fe80::1%eth0', 'None', '', 'x'].map(
      canonicalAddress,
    ),
    ['10.0.0.1', '10.0.0.1', '10.0.0.1', 'fd00::1', 'fe80::1', undefined, undefined, undefined],
  );
});

test("rememberedReach: a resource's instance is kept while neither it nor the cluster changes; consent given on the Service, it is resolved again", () => {
  const c = cluster();
  const remembered = rememberedReach(c.directory, SETTINGS);
  const onboarding: InfluxOnboarding = {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: { name: 'db', namespace: 'team-c', uid: 'u1', resourceVersion: '1' },
    spec: { url: 'http://influxdb.team-a:8086', username: 'admin', org: 'acme', bucket: 'metrics' },
  };
  assert.is(remembered(onboarding), undefined, 'team-a has not let team-c in');
  assert.is(remembered(onboarding), undefined, 'and again, unchanged');
  c.service('team-a', 'influxdb', {
    clusterIP: '10.0.0.17',
    consent: 'team-c',
    ports: [
      { name: 'http', port: 8086, targetPort: 8086 },
      { name: 'web', port: 80, targetPort: 8086 },
    ],
  });
  const key = resolveInstance(onboarding.spec.url, 'team-c', c.directory, SETTINGS).key;
  assert.is(remembered(onboarding)?.key, key, 'consent given: the same object is resolved again');
  const edited = { ...onboarding, metadata: { ...onboarding.metadata, resourceVersion: '2' } };
  edited.spec = { ...onboarding.spec, url: 'http://influxdb.team-a:80' };
  const otherPort = resolveInstance(edited.spec.url, 'team-c', c.directory, SETTINGS).key;
  assert.is.not(otherPort, key);
  assert.is(remembered(edited)?.key, otherPort, 'a new version is read again');
});

test('specAtInstance: another resource counts at an instance only if it reaches that instance and its namespace may target it', () => {
  const c = cluster();
  const mine = resolve(c, 'http://influxdb.team-a.svc:8086', 'team-a');
  const at = (namespace: string, url: string) => {
    const other = resource({ spec: { url } });
    other.metadata.namespace = namespace;
    return specAtInstance(other, mine.key, (candidate) => reachOf(candidate, (ns, u) => resolve(c, u, ns)));
  };
  // Another spelling of the same Service port, from the owner's namespace: the same instance.
  assert.is(
    at('team-a', 'http://influxdb.team-a.svc.cluster.local:8086')?.url,
    'http://influxdb.team-a.svc.cluster.local:8086',
  );
  assert.is(at('team-a', 'http://10.0.0.17:8086')?.mode, 'Setup');
  // The same instance from a namespace that may not target it: not counted (neither wins nor blocks).
  assert.is(at('evil', 'http://influxdb.team-a.svc:8086'), undefined);
  // Another port of the Service is another key (instances are told apart by Service port).
  assert.is(at('team-a', 'http://influxdb.team-a.svc:80'), undefined);
  // An invalid spec is nobody's.
  assert.is(at('team-a', 'not a url'), undefined);
});

test.run();
