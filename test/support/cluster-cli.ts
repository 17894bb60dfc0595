// `npm run cluster`: a control plane (with kube-controller-manager) in the foreground for manual
// work, e.g. running the operator against it. Prints `export KUBECONFIG=...` on stdout; Ctrl-C
// (SIGINT) or SIGTERM stops it and removes everything it made.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startControlPlane } from './controlplane.js';

const clusterDir = fileURLToPath(new URL('../../.cluster/', import.meta.url));
const kubeconfigPath = `${clusterDir}kubeconfig`;

/** Whether something listens at the server of the kubeconfig already in .cluster/. */
async function existingClusterAnswers(): Promise<string | undefined> {
  if (!existsSync(kubeconfigPath)) return undefined;
  const server = new URL(parse(readFileSync(kubeconfigPath, 'utf8'))?.clusters?.[0]?.cluster?.server ?? 'https://127.0.0.1:1');
  return new Promise((resolve) => {
    const socket = connect({ host: server.hostname, port: Number(server.port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(server.href);
    });
    socket.once('error', () => resolve(undefined));
  });
}

// One path, so one cluster: a second one would take the first one's kubeconfig away.
const running = await existingClusterAnswers();
if (running) {
  process.stderr.write(`another \`npm run cluster\` is serving ${running} (${kubeconfigPath}); stop it first\n`);
  process.exit(1);
}

const controlPlane = await startControlPlane({ controllerManager: true });
const kubeconfig = readFileSync(controlPlane.kubeconfigPath, 'utf8');
mkdirSync(clusterDir, { recursive: true });
writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
// A kubeconfig for a stopped cluster only misleads. The processes module stops the control plane
// itself on SIGINT/SIGTERM and on exit; this removes the copy, unless it is no longer ours.
process.on('exit', () => {
  if (existsSync(kubeconfigPath) && readFileSync(kubeconfigPath, 'utf8') === kubeconfig) rmSync(kubeconfigPath);
});

process.stderr.write(`logs: ${controlPlane.dir}/logs\nstop with Ctrl-C\n`);
process.stdout.write(`export KUBECONFIG=${kubeconfigPath}\n`);
// Stay in the foreground until a signal arrives.
setInterval(() => {}, 2 ** 31 - 1);
