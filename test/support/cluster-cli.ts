// `npm run cluster`: a control plane (with kube-controller-manager) in the foreground for manual
// work, e.g. running the operator against it. Prints `export KUBECONFIG=...` on stdout; Ctrl-C
// (SIGINT) or SIGTERM stops it and removes everything it made.
import { readFileSync } from 'node:fs';
import { kubeconfigPath, publishKubeconfig, publishedClusterAnswers } from './cluster-dir.js';
import { startControlPlane } from './controlplane.js';

// One path, so one cluster: a second one would take the first one's kubeconfig away.
const running = await publishedClusterAnswers();
if (running) {
  process.stderr.write(
    `another \`npm run cluster\` or \`npm run demo\` is serving ${running} (${kubeconfigPath}); stop it first\n`,
  );
  process.exit(1);
}

const controlPlane = await startControlPlane({ controllerManager: true });
// The processes module stops the control plane itself on SIGINT/SIGTERM and on exit.
publishKubeconfig(readFileSync(controlPlane.kubeconfigPath, 'utf8'));

process.stderr.write(`logs: ${controlPlane.dir}/logs\nstop with Ctrl-C\n`);
process.stdout.write(`export KUBECONFIG=${kubeconfigPath}\n`);
// Stay in the foreground until a signal arrives.
setInterval(() => {}, 2 ** 31 - 1);
