import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, parseDuration, type Config } from '../../src/config.js';

const test = suite('config');

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, env);
  if (result.kind !== 'run') throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const result = loadConfig(argv, env);
  if (result.kind !== 'invalid') throw new Error(`expected problems, got ${result.kind}`);
  return result.problems;
}

test('defaults follow controller-runtime and the issue', () => {
  const config = run([]);
  assert.equal(config.namespaces, []);
  assert.is(config.concurrency, 4);
  assert.is(config.resyncPeriodMs, 600_000);
  assert.is(config.driftCheckIntervalMs, 300_000);
  assert.is(config.passwordCheckIntervalMs, 3_600_000);
  assert.is(config.escrowNamespace, undefined, 'no escrow unless asked for');
  assert.is(config.backoffBaseMs, 5);
  assert.is(config.backoffMaxMs, 1_000_000);
  assert.is(config.leaderElect, false);
  assert.is(config.leaseDurationMs, 15_000);
  assert.is(config.renewDeadlineMs, 10_000);
  assert.is(config.retryPeriodMs, 2_000);
  // kubebuilder's default: /metrics over HTTPS on :8443, for tokens allowed to get it.
  assert.is(config.metricsBindAddress, ':8443');
  assert.is(config.metricsSecure, true);
  assert.is(config.metricsCertDir, undefined);
  assert.is(config.healthProbeBindAddress, ':8081');
  assert.is(config.logFormat, 'json');
  assert.is(config.shutdownTimeoutMs, 30_000);
  assert.is(config.allowLinkLocal, false);
  assert.equal(config.allowedUrls, [], 'no allow-list: any URL but link-local ones');
  assert.is(config.requireSecretConsent, true, 'referenced Secrets must consent unless turned off');
  assert.is(config.clusterDomain, 'cluster.local');
});

test('--allowed-urls: NAMESPACE= reserves an entry for that namespace; an entry without it keeps its meaning', () => {
  assert.equal(run(['--allowed-urls=team-a=influx.example.com:8086,*.example.com,team-b=10.1.0.0/16']).allowedUrls, [
    { kind: 'host', pattern: 'influx.example.com', port: 8086, tenant: 'team-a' },
    { kind: 'host', pattern: '*.example.com' },
    { kind: 'network', address: '10.1.0.0', prefix: 16, family: 'ipv4', tenant: 'team-b' },
  ]);
  assert.equal(run(['--allowed-urls=team-a=[fd00::/8]:8086']).allowedUrls, [
    { kind: 'network', address: 'fd00::', prefix: 8, family: 'ipv6', port: 8086, tenant: 'team-a' },
  ]);
  const found = problems(['--allowed-urls=Team_A=influx.example.com,=influx.example.com,team-a=in flux,a=b=c']);
  assert.is(found.length, 4, found.join('\n'));
  assert.match(found[0] ?? '', '--allowed-urls: the prefix of "Team_A=influx.example.com": must be a namespace name');
  assert.match(found[1] ?? '', 'the prefix of "=influx.example.com"');
  assert.match(found[2] ?? '', '"in flux" is neither a host pattern');
  assert.match(found[3] ?? '', '"a=b=c"');
});

test('--cluster-domain: a DNS name, lowercase, without a final dot', () => {
  assert.is(run(['--cluster-domain=Example.Internal.']).clusterDomain, 'example.internal');
  assert.is(run([], { INFLUX_OPERATOR_CLUSTER_DOMAIN: 'k8s.corp' }).clusterDomain, 'k8s.corp');
  assert.match(problems(['--cluster-domain=not a domain']).join(), '--cluster-domain: must be a DNS name');
  assert.match(problems(['--cluster-domain=']).join(), '--cluster-domain');
});

test('--allowed-urls: host patterns and CIDRs, each with an optional port; from the flag or the environment', () => {
  const config = run([
    '--allowed-urls= *.monitoring.svc, influxdb.data:8086,10.0.0.0/8 ,192.168.1.7:8086,fd00::/8,[fd00::/8]:8443,',
  ]);
  assert.equal(config.allowedUrls, [
    { kind: 'host', pattern: '*.monitoring.svc' },
    { kind: 'host', pattern: 'influxdb.data', port: 8086 },
    { kind: 'network', address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { kind: 'network', address: '192.168.1.7', prefix: 32, family: 'ipv4', port: 8086 },
    { kind: 'network', address: 'fd00::', prefix: 8, family: 'ipv6' },
    { kind: 'network', address: 'fd00::', prefix: 8, family: 'ipv6', port: 8443 },
  ]);
  assert.equal(run([], { INFLUX_OPERATOR_ALLOWED_URLS: 'Influx.Example' }).allowedUrls, [
    { kind: 'host', pattern: 'influx.example' },
  ]);
});

test('--allowed-urls: every entry that is neither a host pattern nor an IP/CIDR is named', () => {
  const bad = [
    '*',
    'http://influx:8086',
    'influx:0',
    'influx:70000',
    'influx:',
    '10.0.0.0/33',
    'fd00::/129',
    '[influx]:80',
    'in flux',
    '*.',
  ];
  const found = problems([`--allowed-urls=${bad.join(',')},fine.example`]);
  assert.is(found.length, bad.length, found.join('\n'));
  for (const [index, entry] of bad.entries()) {
    assert.match(found[index] ?? '', '--allowed-urls: ');
    assert.match(found[index] ?? '', JSON.stringify(entry));
  }
});

test('--require-secret-consent: on by default, turned off only explicitly', () => {
  assert.is(run(['--require-secret-consent=false']).requireSecretConsent, false);
  assert.is(run([], { INFLUX_OPERATOR_REQUIRE_SECRET_CONSENT: 'false' }).requireSecretConsent, false);
  assert.is(
    run(['--require-secret-consent'], { INFLUX_OPERATOR_REQUIRE_SECRET_CONSENT: 'false' }).requireSecretConsent,
    true,
  );
  assert.match(problems(['--require-secret-consent=no']).join(), '--require-secret-consent');
});

test('flags win over INFLUX_OPERATOR_* variables, which win over defaults', () => {
  const env = {
    INFLUX_OPERATOR_CONCURRENCY: '8',
    INFLUX_OPERATOR_NAMESPACES: 'a, b',
    INFLUX_OPERATOR_LOG_FORMAT: 'text',
  };
  const config = run(['--concurrency=2'], env);
  assert.is(config.concurrency, 2);
  assert.equal(config.namespaces, ['a', 'b']);
  assert.is(config.logFormat, 'text');
});

test('booleans take the forms manifests use: --flag, --flag=true, --flag=false', () => {
  const env = { POD_NAMESPACE: 'ops' };
  assert.is(run(['--leader-elect'], env).leaderElect, true);
  assert.is(run(['--leader-elect=true'], env).leaderElect, true);
  assert.is(run(['--leader-elect=false'], env).leaderElect, false);
  assert.is(run([], { INFLUX_OPERATOR_ALLOW_LINK_LOCAL: 'true' }).allowLinkLocal, true);
  assert.match(problems(['--allow-link-local=maybe']).join(), '--allow-link-local');
});

test('metrics: plain HTTP only when asked; a certificate directory only with HTTPS', () => {
  assert.is(run(['--metrics-secure=false']).metricsSecure, false);
  assert.is(run([], { INFLUX_OPERATOR_METRICS_SECURE: 'false' }).metricsSecure, false);
  assert.is(run(['--metrics-cert-dir=/certs']).metricsCertDir, '/certs');
  assert.match(
    problems(['--metrics-secure=false', '--metrics-cert-dir=/certs']).join(),
    '--metrics-cert-dir: only with --metrics-secure=true',
  );
});

test('leader election needs a namespace: the flag or POD_NAMESPACE', () => {
  assert.match(problems(['--leader-elect']).join(), '--leader-election-namespace');
  assert.is(run(['--leader-elect'], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace, 'ops');
  assert.is(
    run(['--leader-elect', '--leader-election-namespace=x'], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace,
    'x',
  );
});

test('--namespace-label-grants: off by default (a namespaceSelector grants nothing), on only explicitly', () => {
  assert.is(run([]).namespaceLabelGrants, false);
  assert.is(run(['--namespace-label-grants']).namespaceLabelGrants, true);
  assert.is(run([], { INFLUX_OPERATOR_NAMESPACE_LABEL_GRANTS: 'true' }).namespaceLabelGrants, true);
  assert.match(problems(['--namespace-label-grants=maybe']).join(), '--namespace-label-grants');
});

test('--escrow-namespace: a namespace name, off when empty; --password-check-interval: a duration', () => {
  assert.is(run(['--escrow-namespace=influx-operator']).escrowNamespace, 'influx-operator');
  assert.is(run([], { INFLUX_OPERATOR_ESCROW_NAMESPACE: 'ops' }).escrowNamespace, 'ops');
  assert.match(problems(['--escrow-namespace=Not_A_Namespace']).join(), '--escrow-namespace: must be a namespace name');
  assert.is(run(['--password-check-interval=15m']).passwordCheckIntervalMs, 900_000);
});

test("--operator-namespace: the flag, else POD_NAMESPACE, else unset (each onboarding's own); --token-sweep-interval: 10m by default", () => {
  assert.is(run(['--operator-namespace=influx-operator']).operatorNamespace, 'influx-operator');
  assert.is(run([], { POD_NAMESPACE: 'ops' }).operatorNamespace, 'ops');
  assert.is(run(['--operator-namespace=mine'], { POD_NAMESPACE: 'ops' }).operatorNamespace, 'mine');
  assert.not.ok('operatorNamespace' in run([]));
  assert.match(problems(['--operator-namespace=Ops!']).join(), '--operator-namespace: must be a namespace name');
  assert.is(run([]).tokenSweepIntervalMs, 600_000);
  assert.is(run(['--token-sweep-interval=1m']).tokenSweepIntervalMs, 60_000);
  assert.match(
    problems(['--token-sweep-interval=often']).join(),
    '--token-sweep-interval: must be a positive duration',
  );
});

test('bad values are named with what is allowed', () => {
  assert.match(problems(['--concurrency=0']).join(), '--concurrency: must be an integer from 1 to 1000');
  assert.match(problems(['--resync-period=10']).join(), '--resync-period: must be a positive duration');
  assert.match(problems(['--log-level=loud']).join(), '--log-level: must be one of');
  assert.match(problems(['--renew-deadline=20s']).join(), '--renew-deadline: must be shorter than --lease-duration');
  assert.match(problems(['--backoff-base=2s', '--backoff-max=1s']).join(), '--backoff-base');
  assert.match(problems(['--no-such-flag']).join(), 'See --help');
});

test('--help and --version', () => {
  const help = loadConfig(['--help'], {});
  assert.is(help.kind, 'help');
  if (help.kind === 'help') {
    for (const flag of [
      '--namespaces',
      '--label-selector',
      '--concurrency',
      '--resync-period',
      '--drift-check-interval',
      '--password-check-interval',
      '--escrow-namespace',
      '--leader-elect',
      '--leader-election-namespace',
      '--metrics-bind-address',
      '--metrics-secure',
      '--metrics-cert-dir',
      '--health-probe-bind-address',
      '--log-level',
      '--log-format',
      '--allow-link-local',
      '--allowed-urls',
      '--require-secret-consent',
      '--namespace-label-grants',
      '--version',
    ]) {
      assert.match(help.text, flag);
    }
    assert.match(help.text, 'INFLUX_OPERATOR_CONCURRENCY');
  }
  assert.is(loadConfig(['--version'], {}).kind, 'version');
});

test('durations', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('30s'), 30_000);
  assert.is(parseDuration('1.5m'), 90_000);
  assert.is(parseDuration('1h'), 3_600_000);
  assert.is(parseDuration('10'), undefined);
  assert.is(parseDuration('1d'), undefined);
});

test.run();
