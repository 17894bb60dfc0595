// `npm run cluster`: a control plane (with kube-controller-manager) in the foreground for manual
// work, e.g. running the operator against it. Prints `export KUBECONFIG=...` on stdout; Ctrl-C
// (SIGINT) or SIGTERM stops it and removes everything it made.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './controlplane.js';

const clusterDir = fileURLToPath(new URL('../../.cluster/', import.meta.url));
const kubeconfigPath = `${clusterDir}kubeconfig`;

const controlPlane = await startControlPlane({ controllerManager: true });
mkdirSync(clusterDir, { recursive: true });
copyFileSync(controlPlane.kubeconfigPath, kubeconfigPath);
// A kubeconfig for a stopped cluster only misleads; the processes module stops the control plane
// itself on SIGINT/SIGTERM and on exit, this removes the copy.
process.on('exit', () => rmSync(kubeconfigPath, { force: true }));

process.stderr.write(`logs: ${controlPlane.dir}/logs\nstop with Ctrl-C\n`);
process.stdout.write(`export KUBECONFIG=${kubeconfigPath}\n`);
// Stay in the foreground until a signal arrives.
setInterval(() => {}, 2 ** 31 - 1);
