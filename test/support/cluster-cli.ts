// `npm run cluster`: a control plane (with kube-controller-manager) in the foreground for manual
// work, e.g. running the operator against it. `npm run cluster -- --node`: the node tier's whole
// cluster instead (the full control plane, a node with containerd, CoreDNS, and the operator's
// image built and imported under the chart's default name), so that `helm install <name>
// deploy/influx-onboarding-operator -n <ns> --create-namespace --wait` with the chart's defaults
// reaches Ready. Prints `export KUBECONFIG=...` on stdout; Ctrl-C (SIGINT) or SIGTERM stops it
// and removes everything it made.
import { readFileSync } from 'node:fs';
import { kubeconfigPath, publishKubeconfig, publishedClusterAnswers } from './cluster-dir.js';
import { startControlPlane } from './controlplane.js';
import type { ControlPlane } from './controlplane.js';
import { startCluster } from './node.js';
import { loadOperatorImage } from './operator-image.js';

const args = process.argv.slice(2);
const withNode = args.includes('--node');
const unknown = args.filter((arg) => arg !== '--node');
if (unknown.length > 0) {
  process.stderr.write(`unknown argument ${unknown.join(' ')}; usage: npm run cluster [-- --node]\n`);
  process.exit(2);
}

// One path, so one cluster: a second one would take the first one's kubeconfig away.
const running = await publishedClusterAnswers();
if (running) {
  process.stderr.write(
    `another \`npm run cluster\` or \`npm run demo\` is serving ${running} (${kubeconfigPath}); stop it first\n`,
  );
  process.exit(1);
}

let controlPlane: ControlPlane;
let logs: string;
if (withNode) {
  const cluster = await startCluster();
  controlPlane = cluster.controlPlane;
  logs = `${cluster.dir}/logs and ${controlPlane.dir}/logs`;
  await loadOperatorImage(cluster, (line) => process.stderr.write(`[node] ${line}\n`));
  process.stderr.write(
    `node ${cluster.nodeName} at ${cluster.nodeIp} (Pods ${cluster.podCidr}, DNS ${cluster.dnsIp}) in its own network namespace\n`,
  );
} else {
  controlPlane = await startControlPlane({ controllerManager: true });
  logs = `${controlPlane.dir}/logs`;
}
// The processes module stops everything itself on SIGINT/SIGTERM and on exit.
publishKubeconfig(readFileSync(controlPlane.kubeconfigPath, 'utf8'));

process.stderr.write(`logs: ${logs}\nstop with Ctrl-C\n`);
process.stdout.write(`export KUBECONFIG=${kubeconfigPath}\n`);
// Stay in the foreground until a signal arrives.
setInterval(() => {}, 2 ** 31 - 1);
