// The attacks of issue 17 points 1 and 10, as a hostile tenant makes them: rights only in its own
// namespace `evil`, the operator with the chart's default flags (deploy/install.yaml's Deployment),
// the real control plane, team-a's real influxd v2.9.1 behind a recording proxy as the victim, and
// the platform's own real influxd behind a Service in the operator's namespace. The operator runs
// with the network a Pod has (test/support/cluster-dns.ts): Service names resolve as CoreDNS
// answers them through the Pod's search path, and ClusterIPs and Pod addresses are carried to the
// servers behind them as kube-proxy would; nothing in the operator is weakened for the test.
// Each attack succeeds on the code before instance ownership (the note in each test says how) and
// is refused now: NotPermitted (or, for a single label, a name of the attacker's own namespace),
// one Warning, no retry loop, and not one connection to the victim.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accessHarness, createAccess, waitForAccess } from '../support/access.js';
import { useCredentials } from '../support/influx-app.js';
import { startInfluxProxy, type InfluxProxy } from '../support/influx-proxy.js';
import { startInfluxStandin, type InfluxStandin } from '../support/influx-standin.js';
import { freshInfluxd, startInfluxd, type InfluxServer } from '../support/influxdb.js';
import { ClusterNetwork, type PublishedService } from '../support/cluster-network.js';
import {
  SecretLedger,
  createNamespace,
  createOnboarding,
  deleteOnboarding,
  getOnboarding,
  getSecret,
  observableText,
  onboardingEvents,
  onboardingHarness,
  randomSuffix,
  readyOf,
  requestsTo,
  waitForReason,
  type SpecInput,
} from '../support/onboarding.js';
import { chartDefaultArgs, startOperator, type RunningOperator } from '../support/operator.js';
import { eventually, sleep } from '../support/wait.js';

const SHARD_LABEL = 'influxdb.onboarding.dev/shard';
const ONBOARD_FROM = 'influxdb.onboarding.dev/onboard-from';
const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };
// Long enough for any retry (the chart's backoff starts at 5 ms) to show several times over.
const QUIET_MS = 5000;

interface Context {
  ops: string;
  teamA: string;
  teamB: string;
  evil: string;
  shard: string;
  network: ClusterNetwork;
  victim: InfluxServer;
  victimProxy: InfluxProxy;
  platformProxy: InfluxProxy;
  teamAService: PublishedService;
  operator: RunningOperator;
  operators: RunningOperator[];
  closers: Array<() => Promise<void> | void>;
  ledger: SecretLedger;
}

const tests = suite<Context>('tenants: an instance belongs to a namespace', {} as Context);

tests.before(async (context) => {
  await accessHarness();
  const prefix = `ti-${randomSuffix()}`;
  context.ops = await createNamespace(`${prefix}-ops`);
  context.teamA = await createNamespace(`${prefix}-team-a`);
  context.teamB = await createNamespace(`${prefix}-team-b`);
  context.evil = await createNamespace(`${prefix}-evil`);
  context.shard = randomSuffix();
  context.closers = [];
  context.operators = [];
  context.ledger = new SecretLedger();
  // team-a's InfluxDB: a second real influxd, of its own.
  context.victim = await startInfluxd('v2.9.1');
  context.closers.push(() => context.victim.stop());
  context.victimProxy = await startInfluxProxy(context.victim.url);
  context.closers.push(() => context.victimProxy.close());
  // The platform's InfluxDB, in the operator's own namespace.
  const platform = await freshInfluxd('v2.9.1');
  context.platformProxy = await startInfluxProxy(platform.url);
  context.closers.push(() => context.platformProxy.close());

  context.network = new ClusterNetwork(context.ops);
  context.closers.push(() => context.network.close());
  context.teamAService = await context.network.service(context.teamA, 'influxdb', context.victimProxy.url, {
    ports: [8086, 80],
  });
  await context.network.service(context.ops, 'influxdb', context.platformProxy.url);
  context.operator = await startOperatorAs(context, []);
});

tests.after(async (context) => {
  for (const operator of context.operators ?? []) await operator.terminate();
  for (const close of (context.closers ?? []).reverse()) await close();
});

/** An operator with the chart's default flags (plus `extra`) in a Pod of the ops namespace, for this file's shard. */
async function startOperatorAs(context: Context, extra: string[], shard = context.shard): Promise<RunningOperator> {
  const { controlPlane } = await onboardingHarness();
  const operator = await startOperator({
    kubeconfigPath: controlPlane.kubeconfigPath,
    name: `tenant-instance-${context.operators.length + 1}`,
    command: context.network.operatorCommand(),
    env: context.network.env,
    args: [
      ...chartDefaultArgs(context.ops),
      `--leader-election-id=tenant-instance-${shard}`,
      `--label-selector=${SHARD_LABEL}=${shard}`,
      ...extra,
    ],
  });
  context.operators.push(operator);
  await operator.waitForReady(60_000);
  return operator;
}

function create(context: Context, namespace: string, name: string, spec: SpecInput, shard = context.shard) {
  return createOnboarding(namespace, name, { ...SPEC, ...spec }, { [SHARD_LABEL]: shard });
}

/** How many times the operator concluded a reconcile of the resource. */
function evaluations(operator: RunningOperator, namespace: string, name: string): number {
  return operator
    .records()
    .filter((record) => record.message === 'reconciled' && record.resource === `${namespace}/${name}`).length;
}

async function warningsOf(namespace: string, name: string, reason: string): Promise<number> {
  return eventually(`a ${reason} Warning on ${namespace}/${name}`, async () => {
    const events = await onboardingEvents(namespace, name);
    const count = events.filter((event) => event.type === 'Warning' && event.reason === reason).length;
    return count > 0 ? count : undefined;
  });
}

/**
 * The attack's end: refused as NotPermitted by a message naming the owner and how consent is
 * given; then, over a quiet period, no retry, one Warning, no Secret, and no connection at all to
 * the victim.
 */
async function assertRefused(
  context: Context,
  namespace: string,
  name: string,
  owner: string,
  connectionsBefore: number,
): Promise<string> {
  const refused = await waitForReason(namespace, name, 'NotPermitted', 30_000);
  const message = readyOf(refused)?.message ?? '';
  assert.is(readyOf(refused)?.status, 'False');
  assert.match(message, `belongs to namespace ${owner}, not to namespace ${namespace}`);
  assert.match(message, ONBOARD_FROM);
  await sleep(QUIET_MS);
  assert.is(evaluations(context.operator, namespace, name), 1, `${name}: one evaluation, no retry loop`);
  assert.is(await warningsOf(namespace, name, 'NotPermitted'), 1, `${name}: one Warning`);
  assert.is(await getSecret(namespace, `${name}-influxdb`), undefined, `${name}: no credentials made up`);
  assert.is(context.victimProxy.connections(), connectionsBefore, `${name}: not one connection to the victim`);
  return message;
}

/** team-a's instance fresh again, and the attacker's resources of the last test gone. */
async function freshVictim(context: Context, leftovers: Array<[string, string]> = []): Promise<number> {
  for (const [namespace, name] of leftovers) await deleteOnboarding(namespace, name).catch(() => undefined);
  await context.victim.wipe();
  return context.victimProxy.connections();
}

tests(
  "squatting: evil names team-a's Service by its full name before team-a does: NotPermitted, nothing reaches team-a's instance, and team-a's own resource then onboards it",
  // Before: evil's resource onboarded team-a's fresh InfluxDB (its Secret held a working all-access
  // token) and team-a's resource reported AlreadyOnboarded.
  async (context) => {
    const { evil, teamA } = context;
    const before = await freshVictim(context);
    await create(context, evil, 'squat', { url: `http://influxdb.${teamA}.svc.cluster.local:8086` });
    const message = await assertRefused(context, evil, 'squat', teamA, before);
    assert.match(message, `kubectl annotate service -n ${teamA} influxdb ${ONBOARD_FROM}=${evil}`);

    await create(context, teamA, 'influxdb', {
      url: `http://influxdb.${teamA}.svc:8086`,
      credentialsSecret: { deletionPolicy: 'Delete' },
    });
    await waitForReason(teamA, 'influxdb', 'Onboarded', 60_000);
    const secret = await getSecret(teamA, 'influxdb-influxdb');
    context.ledger.addSecret(secret);
    assert.equal(secret?.data.url, `http://influxdb.${teamA}.svc:8086`);
    // As team-a's application uses it (reaching the same instance through the proxy the Service leads to).
    const used = await useCredentials({
      ...(secret?.data as { token: string; org: string; bucket: string }),
      url: context.victimProxy.url,
    });
    assert.equal([used.me, used.rows, used.signIn], [200, 1, 204]);
    assert.is(requestsTo(context.victimProxy.requests, 'POST', '/api/v2/setup'), 1, 'one setup, team-a’s');
    assert.is(readyOf(await getOnboarding(evil, 'squat'))?.reason, 'NotPermitted', 'the squatter stays refused');
    context.ledger.addRequests(context.victimProxy.requests);
  },
);

tests(
  "every spelling and port form of team-a's Service, and its ClusterIP and Pod address written as literals: NotPermitted, nothing reaches it",
  // Before: URLs were compared as strings: each of these onboarded team-a's fresh instance (the
  // first) or was let through to it (the others: AlreadyOnboarded after their requests).
  async (context) => {
    const { evil, teamA, teamAService } = context;
    const before = await freshVictim(context, [
      [evil, 'squat'],
      [teamA, 'influxdb'],
    ]);
    const urls: Record<string, string> = {
      short: `http://influxdb.${teamA}:8086`,
      'default-port': `http://influxdb.${teamA}.svc`,
      shouted: `HTTP://InfluxDB.${teamA.toUpperCase()}.svc.cluster.local.:8086/`,
      'cluster-ip': `http://${teamAService.clusterIP}:8086`,
      'mapped-ip': `http://[::ffff:${teamAService.clusterIP}]:8086`,
      'pod-ip': `http://${teamAService.podIP}:8086`,
    };
    for (const [name, url] of Object.entries(urls)) await create(context, evil, name, { url });
    for (const name of Object.keys(urls)) await assertRefused(context, evil, name, teamA, before);
    for (const name of Object.keys(urls)) await deleteOnboarding(evil, name);
  },
);

tests(
  "an ExternalName Service of evil's own namespace pointing at team-a's Service is followed: NotPermitted",
  // Before: proxy.<evil>.svc was evil's own name; the operator followed the CNAME to team-a's
  // ClusterIP and onboarded team-a's fresh instance for evil.
  async (context) => {
    const { evil, teamA, network } = context;
    const before = await freshVictim(context);
    await network.externalName(evil, 'proxy', network.fqdn(teamA, 'influxdb'));
    await create(context, evil, 'via-alias', { url: `http://proxy.${evil}.svc:8086` });
    const message = await assertRefused(context, evil, 'via-alias', teamA, before);
    assert.match(message, `Service proxy of namespace ${evil} is an ExternalName for`);
    await deleteOnboarding(evil, 'via-alias');
  },
);

tests(
  "a name of the attacker's own domain resolving to team-a's ClusterIP or Pod address: refused where it resolves, at connect time, before any connection",
  // Before: any name was as good as the Service's: the operator connected and onboarded.
  async (context) => {
    const { evil, teamA, network, teamAService } = context;
    const before = await freshVictim(context);
    network.name('influx.attacker.example', [teamAService.clusterIP]);
    network.name('pod.attacker.example', [teamAService.podIP]);
    await create(context, evil, 'by-dns', { url: 'http://influx.attacker.example:8086' });
    await create(context, evil, 'by-pod-dns', { url: 'http://pod.attacker.example:8086' });
    const message = await assertRefused(context, evil, 'by-dns', teamA, before);
    assert.match(
      message,
      `influx.attacker.example resolves to ${teamAService.clusterIP}, which belongs to namespace ${teamA}`,
    );
    await assertRefused(context, evil, 'by-pod-dns', teamA, before);
    await deleteOnboarding(evil, 'by-dns');
    await deleteOnboarding(evil, 'by-pod-dns');
  },
);

tests(
  "a single label is a name in the resource's own namespace, never the operator's: the platform's instance in the operator's namespace receives nothing; evil's own Service of that name is onboarded",
  // Before: http://influxdb:8086 resolved through the operator Pod's search path to the Service
  // `influxdb` of the operator's own namespace: evil onboarded the platform's InfluxDB.
  async (context) => {
    const { evil, network, platformProxy } = context;
    const before = platformProxy.connections();
    await create(context, evil, 'local', { url: 'http://influxdb:8086' });
    const unreachable = await waitForReason(evil, 'local', 'Unreachable', 30_000);
    assert.match(readyOf(unreachable)?.message ?? '', 'host name not found');
    await sleep(QUIET_MS);
    assert.is(platformProxy.connections(), before, 'the operator namespace’s instance: not one connection');
    // evil's own InfluxDB behind its own Service `influxdb`: that is what the single label names.
    const own: InfluxStandin = await startInfluxStandin();
    context.closers.push(() => own.close());
    await network.service(evil, 'influxdb', own.url);
    await waitForReason(evil, 'local', 'Onboarded', 60_000);
    assert.ok(own.onboarded(), "evil's own instance was set up");
    // An application's bucket under that onboarding is made where the onboarding's single label
    // leads (its own namespace's Service), with its operator token: never at the platform's.
    await createAccess(
      'InfluxBucket',
      evil,
      'app',
      { onboardingRef: { name: 'local' } },
      { [SHARD_LABEL]: context.shard },
    );
    await waitForAccess('InfluxBucket', evil, 'app', 'BucketReady', 60_000);
    assert.ok(
      requestsTo(own.requests, 'POST', '/api/v2/buckets') >= 1,
      'the bucket was created on evil’s own instance',
    );
    context.ledger.addStandin(own);
    context.ledger.addSecret(await getSecret(evil, 'local-influxdb'));
    assert.is(platformProxy.connections(), before, 'still nothing to the platform’s');
  },
);

tests(
  "DuplicateTarget compares instances: team-a's resource naming its Service by a single label and one naming its ClusterIP are one instance",
  // Before: the two URLs were different strings: both went to the instance, the second found it
  // set up (AlreadyOnboarded) instead of being a duplicate that sends nothing.
  async (context) => {
    const { teamA, teamAService } = context;
    await freshVictim(context);
    const start = context.victimProxy.requests.length;
    await create(context, teamA, 'by-name', {
      url: 'http://influxdb:8086',
      credentialsSecret: { deletionPolicy: 'Delete' },
    });
    await waitForReason(teamA, 'by-name', 'Onboarded', 60_000);
    context.ledger.addSecret(await getSecret(teamA, 'by-name-influxdb'));
    const requests = context.victimProxy.requests.length;
    await create(context, teamA, 'by-address', { url: `http://${teamAService.clusterIP}:8086` });
    const duplicate = await waitForReason(teamA, 'by-address', 'DuplicateTarget', 30_000);
    assert.match(readyOf(duplicate)?.message ?? '', `InfluxOnboarding ${teamA}/by-name already onboards`);
    await sleep(QUIET_MS);
    const sinceThen = context.victimProxy.requests.slice(requests);
    assert.not.ok(
      sinceThen.some((request) => request.path.startsWith('/api/v2/setup')),
      'the duplicate sent no setup request',
    );
    assert.is(requestsTo(context.victimProxy.requests.slice(start), 'POST', '/api/v2/setup'), 1, 'one setup');
    await deleteOnboarding(teamA, 'by-name');
    await deleteOnboarding(teamA, 'by-address');
  },
);

tests(
  "consent: team-a annotates its Service for team-b: team-b's refused resource is woken by the Service's change and onboards; evil stays refused",
  // Before: team-b needed no consent (it onboarded at once), and neither did evil.
  async (context) => {
    const { teamA, teamB, evil } = context;
    const before = await freshVictim(context);
    await create(context, teamB, 'guest', { url: `http://influxdb.${teamA}.svc:8086` });
    await assertRefused(context, teamB, 'guest', teamA, before);
    const { core } = await onboardingHarness();
    await core.patchNamespacedService(
      {
        namespace: teamA,
        name: 'influxdb',
        body: { metadata: { annotations: { [ONBOARD_FROM]: `${teamB},elsewhere-ns` } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const consented = Date.now();
    await waitForReason(teamB, 'guest', 'Onboarded', 30_000);
    // Woken by the Service's event, not by a resync (10 minutes with the chart's defaults).
    assert.ok(Date.now() - consented < 30_000);
    const secret = await getSecret(teamB, 'guest-influxdb');
    context.ledger.addSecret(secret);
    const used = await useCredentials({
      ...(secret?.data as { token: string; org: string; bucket: string }),
      url: context.victimProxy.url,
    });
    assert.equal([used.me, used.rows], [200, 1]);
    const connections = context.victimProxy.connections();
    await create(context, evil, 'still-squatting', { url: `http://influxdb.${teamA}.svc:8086` });
    await assertRefused(context, evil, 'still-squatting', teamA, connections);
    await deleteOnboarding(teamB, 'guest');
  },
);

tests(
  'NotPermitted tells nothing of the other namespace: the same text whether its Service exists, is annotated for others, or is absent',
  // Before: there was no NotPermitted; each of these reached whatever answered (or failed to resolve).
  async (context) => {
    const { evil, teamA, ops } = context;
    const targets = {
      annotated: `http://influxdb.${teamA}.svc:8086`, // exists, lets team-b and elsewhere-ns in
      plain: `http://influxdb.${ops}.svc:8086`, // exists, no annotation
      absent: `http://ghost.${teamA}.svc:8086`, // no such Service
    };
    for (const [name, url] of Object.entries(targets)) await create(context, evil, `probe-${name}`, { url });
    const messages: string[] = [];
    for (const name of Object.keys(targets)) {
      const refused = await waitForReason(evil, `probe-${name}`, 'NotPermitted', 30_000);
      messages.push(readyOf(refused)?.message ?? '');
    }
    const normalized = messages.map((message) =>
      message.replaceAll(teamA, 'NS').replaceAll(ops, 'NS').replaceAll('ghost', 'influxdb'),
    );
    assert.equal(new Set(normalized).size, 1, messages.join('\n'));
    for (const message of messages) {
      assert.not.match(message, context.teamB, 'not whom else it lets in');
      assert.not.match(message, 'elsewhere-ns');
    }
  },
);

tests(
  'Unreachable never repeats what a server answered: a 500 with a body, a redirect and an HTML page leave nothing of theirs in the status or events',
  // Before: the 500's code and message, the redirect's target and the content type were quoted
  // into the Ready message: a tenant could read answers of any server the operator can reach.
  async (context) => {
    const { evil, network } = context;
    const MARK = `Internal-Answer-${randomSuffix()}`;
    const answers: Record<string, (response: ServerResponse) => void> = {
      'server-error': (response) =>
        response
          .writeHead(500, { 'Content-Type': 'application/json', 'X-Platform-Error-Code': MARK })
          .end(JSON.stringify({ code: MARK, message: `secret ${MARK}` })),
      redirect: (response) =>
        response.writeHead(302, { Location: `http://${MARK.toLowerCase()}.internal:8086/x` }).end(),
      page: (response) => response.writeHead(200, { 'Content-Type': `text/html; ${MARK}` }).end(`<html>${MARK}</html>`),
    };
    for (const [name, answer] of Object.entries(answers)) {
      const server: Server = createServer((_request, response) => answer(response));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      context.closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const { port } = server.address() as AddressInfo;
      await network.service(evil, `answers-${name}`, `http://127.0.0.1:${port}`);
      await create(context, evil, `answers-${name}`, { url: `http://answers-${name}.${evil}.svc:8086` });
    }
    const messages: string[] = [];
    for (const name of Object.keys(answers)) {
      const unreachable = await waitForReason(evil, `answers-${name}`, 'Unreachable', 30_000);
      messages.push(readyOf(unreachable)?.message ?? '');
    }
    await sleep(2000);
    const sources = await observableText([], [], [evil]);
    for (const [source, text] of Object.entries(sources))
      assert.not.match(text.toLowerCase(), MARK.toLowerCase(), `${source} quotes the server`);
    // What they do say: the status of the answer, in the operator's words.
    for (const message of messages) assert.match(message, /answered (500|302|200)/);
    for (const name of Object.keys(answers)) await deleteOnboarding(evil, `answers-${name}`);
  },
);

tests(
  '--allowed-urls NAMESPACE=: an external name reserved for team-a is NotPermitted for team-b, by its name and where another name resolves into a reserved network',
  // Before: the flag did not take a NAMESPACE= prefix (the operator refused to start), and any
  // namespace could target any external name the list admitted.
  async (context) => {
    const { teamA, teamB, network } = context;
    const external: InfluxStandin = await startInfluxStandin();
    context.closers.push(() => external.close());
    const port = Number(new URL(external.url).port);
    network.name('influx.corp.example', ['127.0.0.1']);
    network.name('other.corp.example', ['127.0.0.1']);
    const shard = randomSuffix();
    const operator = await startOperatorAs(
      context,
      [`--allowed-urls=${teamA}=influx.corp.example:${port},*.corp.example,${teamA}=127.0.0.0/8`],
      shard,
    );
    await create(context, teamB, 'borrow', { url: `http://influx.corp.example:${port}` }, shard);
    await create(context, teamB, 'borrow-by-network', { url: `http://other.corp.example:${port}` }, shard);
    const byName = await waitForReason(teamB, 'borrow', 'NotPermitted', 30_000);
    assert.match(readyOf(byName)?.message ?? '', `reserves for namespace ${teamA}, not for namespace ${teamB}`);
    assert.match(readyOf(byName)?.message ?? '', `--allowed-urls ${teamB}=influx.corp.example:${port}`);
    const byNetwork = await waitForReason(teamB, 'borrow-by-network', 'NotPermitted', 30_000);
    assert.match(
      readyOf(byNetwork)?.message ?? '',
      `other.corp.example resolves to 127.0.0.1, which is reserved for ${teamA}`,
    );
    await sleep(QUIET_MS);
    assert.equal(external.requests, [], 'nothing reached it for team-b');
    assert.is(evaluations(operator, teamB, 'borrow'), 1, 'no retry loop');
    await create(context, teamA, 'own-external', { url: `http://influx.corp.example:${port}` }, shard);
    await waitForReason(teamA, 'own-external', 'Onboarded', 30_000);
    context.ledger.addStandin(external);
    context.ledger.addSecret(await getSecret(teamA, 'own-external-influxdb'));
  },
);

tests('secrecy: no credential of this file in any operator output, Event or status', async (context) => {
  const { evil, teamA, teamB } = context;
  context.ledger.addRequests(context.victimProxy.requests);
  assert.ok(context.ledger.size >= 4, `the check covers this file's credentials (${context.ledger.size})`);
  const sources = await observableText(context.operators, [], [evil, teamA, teamB]);
  assert.equal(context.ledger.leaks(sources), []);
});

tests.run();
