// .cluster/kubeconfig: where `npm run cluster` and `npm run demo` publish the kubeconfig of the
// control plane they run, for kubectl in another shell. One path, so one cluster at a time; the
// file is removed when its publisher exits, unless someone else's kubeconfig replaced it.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const clusterDir = fileURLToPath(new URL('../../.cluster/', import.meta.url));
export const kubeconfigPath = `${clusterDir}kubeconfig`;

/** The server of the kubeconfig already in .cluster/, when something listens there. */
export async function publishedClusterAnswers(): Promise<string | undefined> {
  if (!existsSync(kubeconfigPath)) return undefined;
  const server = new URL(
    parse(readFileSync(kubeconfigPath, 'utf8'))?.clusters?.[0]?.cluster?.server ?? 'https://127.0.0.1:1',
  );
  return new Promise((resolve) => {
    const socket = connect({ host: server.hostname, port: Number(server.port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(server.href);
    });
    socket.once('error', () => resolve(undefined));
  });
}

/** Writes the kubeconfig to .cluster/; the returned function (also run at exit) removes it if it is still ours. */
export function publishKubeconfig(kubeconfig: string): () => void {
  mkdirSync(clusterDir, { recursive: true });
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  // A kubeconfig for a stopped cluster only misleads.
  const unpublish = (): void => {
    if (existsSync(kubeconfigPath) && readFileSync(kubeconfigPath, 'utf8') === kubeconfig) rmSync(kubeconfigPath);
  };
  process.on('exit', unpublish);
  return unpublish;
}
