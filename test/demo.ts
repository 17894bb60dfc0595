// `npm run demo`: the operator end to end on an embedded default. A real etcd + kube-apiserver
// (+ garbage collector) built from Go modules, an InfluxDB stand-in (or a real InfluxDB), the
// CRD, the operator as a process, and one InfluxOnboarding taken to Ready.
//   npm run demo                       run through and stop everything
//   npm run demo -- --keep             stay up (Ctrl-C stops), print the KUBECONFIG to explore with
//   npm run demo -- --real-influxdb    onboard a real influxd v2.9.1 built from Go modules
//   npm run demo -- --influx-url URL   onboard that (fresh) InfluxDB instead of the stand-in
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { kubeconfigPath, publishKubeconfig, publishedClusterAnswers } from './support/cluster-dir.js';
import { startControlPlane } from './support/controlplane.js';
import { useCredentials } from './support/influx-app.js';
import { InfluxAdmin } from './support/influx-http.js';
import { startInfluxStandin } from './support/influx-standin.js';
import { startInfluxd } from './support/influxdb.js';
import { startOperator } from './support/operator.js';

const { values } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    'influx-url': { type: 'string' },
    'real-influxdb': { type: 'boolean', default: false },
  },
});

const say = (text: string): void => {
  process.stdout.write(`\n\x1b[1m==> ${text}\x1b[0m\n`);
};

async function main(): Promise<number> {
  if (values['real-influxdb'] && values['influx-url'] !== undefined)
    throw new Error('--real-influxdb and --influx-url exclude each other');
  say('Starting a local control plane (etcd, kube-apiserver, kube-controller-manager)');
  const controlPlane = await startControlPlane({ controllerManager: true });
  const unpublish =
    (await publishedClusterAnswers()) === undefined
      ? publishKubeconfig(readFileSync(controlPlane.kubeconfigPath, 'utf8'))
      : undefined;
  const kubectl = async (...args: string[]): Promise<string> => {
    const result = await controlPlane.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  if (values['real-influxdb'])
    say('Starting a real influxd v2.9.1 (built from Go modules on first use: 10-15 minutes cold)');
  const influxd = values['real-influxdb'] ? await startInfluxd('v2.9.1') : undefined;
  const standin = values['influx-url'] === undefined && influxd === undefined ? await startInfluxStandin() : undefined;
  const influxUrl = values['influx-url'] ?? influxd?.url ?? standin?.url ?? '';
  say(standin ? `InfluxDB stand-in listening at ${influxUrl}` : `Using InfluxDB at ${influxUrl}`);

  say('Installing the CRD');
  process.stdout.write(await kubectl('apply', '-f', 'crds/'));

  say('Starting the operator');
  const operator = await startOperator({ kubeconfigPath: controlPlane.kubeconfigPath, args: ['--log-level=info'] });
  await operator.waitForReady();
  process.stdout.write(`operator ready (pid ${operator.pid}); metrics at ${operator.metricsUrl}\n`);

  const stop = async (): Promise<void> => {
    await operator.terminate();
    await standin?.close();
    await influxd?.stop();
    await controlPlane.stop();
    unpublish?.();
  };

  try {
    say('Applying config/samples/minimal.yaml in namespace influx-demo, pointed at that InfluxDB');
    await kubectl('create', 'namespace', 'influx-demo');
    const sample = parse(readFileSync('config/samples/minimal.yaml', 'utf8')) as { spec: { url: string } };
    sample.spec.url = influxUrl;
    const applied = await controlPlane.kubectl(['apply', '-n', 'influx-demo', '-f', '-'], { input: stringify(sample) });
    process.stdout.write(applied.stdout + applied.stderr);

    say('kubectl wait --for=condition=Ready influxonboarding/influxdb');
    process.stdout.write(
      await kubectl('wait', '-n', 'influx-demo', '--for=condition=Ready', 'influxonboarding/influxdb', '--timeout=60s'),
    );

    say('kubectl get influxonboardings -o wide');
    process.stdout.write(await kubectl('get', 'influxonboardings', '-n', 'influx-demo', '-o', 'wide'));

    say('The credentials Secret (keys only; values stay secret)');
    process.stdout.write(await kubectl('describe', 'secret', '-n', 'influx-demo', 'influxdb-influxdb'));

    say('Events');
    process.stdout.write(await kubectl('events', '-n', 'influx-demo', '--for', 'influxonboarding/influxdb'));

    const data = JSON.parse(
      await kubectl('get', 'secret', '-n', 'influx-demo', 'influxdb-influxdb', '-o', 'jsonpath={.data}'),
    ) as Record<string, string>;
    const [token, org, bucket, username, password] = ['token', 'org', 'bucket', 'username', 'password'].map((key) =>
      Buffer.from(data[key] ?? '', 'base64').toString('utf8'),
    );
    if (influxd) {
      say(
        'Using the Secret as an application would: a write and a Flux query with its token, a sign-in with its password',
      );
      const use = await useCredentials({
        url: influxUrl,
        token: token ?? '',
        org: org ?? '',
        bucket: bucket ?? '',
        username: username ?? '',
        password: password ?? '',
      });
      process.stdout.write(
        `GET /api/v2/me: HTTP ${use.me}; rows read back after one write: ${use.rows}; sign-in: HTTP ${use.signIn}\n`,
      );
      if (use.me !== 200 || use.rows !== 1 || use.signIn !== 204)
        throw new Error('the credentials in the Secret do not work as they should');
    } else {
      say('Checking that the token in the Secret works against InfluxDB (GET /api/v2/me)');
      const me = await new InfluxAdmin(influxUrl).request({ path: '/api/v2/me', token: token ?? '' });
      process.stdout.write(
        `HTTP ${me.status}: the token belongs to user ${JSON.stringify((me.json as { name?: string } | undefined)?.name)}\n`,
      );
      if (me.status !== 200) throw new Error('the token in the Secret was not accepted');
    }

    say('What the operator logged');
    for (const record of operator.records().filter((entry) => entry.message === 'reconciled')) {
      process.stdout.write(
        `${String(record.timestamp)} ${String(record.resource)} ${String(record.reason)}: steps ${JSON.stringify(record.steps)}\n`,
      );
    }

    if (values.keep) {
      say('Still running. In another shell:');
      const path = unpublish ? kubeconfigPath : controlPlane.kubeconfigPath;
      process.stdout.write(
        `  export KUBECONFIG=${path}\n  kubectl get influxonboardings -A\nCtrl-C stops everything.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    say('Demo complete: onboarded, token stored in a Secret and verified');
    return 0;
  } finally {
    await stop();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
