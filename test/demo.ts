// `npm run demo`: the operator end to end on an embedded default. A real etcd + kube-apiserver
// (+ garbage collector) built from Go modules, an InfluxDB stand-in (or a real InfluxDB with
// --influx-url), the CRD, the operator as a process, and one InfluxOnboarding taken to Ready.
//   npm run demo                       run through and stop everything
//   npm run demo -- --keep             stay up (Ctrl-C stops), print the KUBECONFIG to explore with
//   npm run demo -- --influx-url URL   onboard that (fresh) InfluxDB instead of the stand-in
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { startControlPlane } from './support/controlplane.js';
import { startInfluxStandin } from './support/influx-standin.js';
import { startOperator } from './support/operator.js';

const { values } = parseArgs({
  options: { keep: { type: 'boolean', default: false }, 'influx-url': { type: 'string' } },
});

const say = (text: string): void => {
  process.stdout.write(`\n\x1b[1m==> ${text}\x1b[0m\n`);
};

async function main(): Promise<number> {
  say('Starting a local control plane (etcd, kube-apiserver, kube-controller-manager)');
  const controlPlane = await startControlPlane({ controllerManager: true });
  mkdirSync('.cluster', { recursive: true });
  writeFileSync('.cluster/kubeconfig', readFileSync(controlPlane.kubeconfigPath));
  const kubectl = async (...args: string[]): Promise<string> => {
    const result = await controlPlane.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  const standin = values['influx-url'] === undefined ? await startInfluxStandin() : undefined;
  const influxUrl = values['influx-url'] ?? standin?.url ?? '';
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
    await controlPlane.stop();
  };

  try {
    say('Applying config/samples/minimal.yaml in namespace influx-demo, pointed at that InfluxDB');
    await kubectl('create', 'namespace', 'influx-demo');
    const sample = parse(readFileSync('config/samples/minimal.yaml', 'utf8')) as { spec: { url: string } };
    sample.spec.url = influxUrl;
    const applied = await controlPlane.kubectl(['apply', '-n', 'influx-demo', '-f', '-'], { input: stringify(sample) });
    process.stdout.write(applied.stdout + applied.stderr);

    say('kubectl wait --for=condition=Ready influxonboarding/influxdb');
    process.stdout.write(await kubectl('wait', '-n', 'influx-demo', '--for=condition=Ready', 'influxonboarding/influxdb', '--timeout=60s'));

    say('kubectl get influxonboardings -o wide');
    process.stdout.write(await kubectl('get', 'influxonboardings', '-n', 'influx-demo', '-o', 'wide'));

    say('The credentials Secret (keys only; values stay secret)');
    process.stdout.write(await kubectl('describe', 'secret', '-n', 'influx-demo', 'influxdb-influxdb'));

    say('Events');
    process.stdout.write(await kubectl('events', '-n', 'influx-demo', '--for', 'influxonboarding/influxdb'));

    say('Checking that the token in the Secret works against InfluxDB (GET /api/v2/me)');
    const encoded = await kubectl('get', 'secret', '-n', 'influx-demo', 'influxdb-influxdb', '-o', 'jsonpath={.data.token}');
    const me = await fetch(`${influxUrl}/api/v2/me`, {
      headers: { Authorization: `Token ${Buffer.from(encoded, 'base64').toString('utf8')}` },
    });
    const user = (await me.json()) as { name?: string };
    process.stdout.write(`HTTP ${me.status}: the token belongs to user ${JSON.stringify(user.name)}\n`);
    if (me.status !== 200) throw new Error('the token in the Secret was not accepted');

    say('What the operator logged');
    for (const record of operator.records().filter((entry) => entry.message === 'reconciled')) {
      process.stdout.write(`${String(record.timestamp)} ${String(record.resource)} ${String(record.reason)}: steps ${JSON.stringify(record.steps)}\n`);
    }

    if (values.keep) {
      say('Still running. In another shell:');
      process.stdout.write(`  export KUBECONFIG=${process.cwd()}/.cluster/kubeconfig\n  kubectl get influxonboardings -A\nCtrl-C stops everything.\n`);
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
