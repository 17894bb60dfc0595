// The control plane shared by the integration tests of one run. The runner (test/run.ts) starts
// one and hands it over with setControlPlane(); a test file run on its own
// (`npx tsx test/integration/x.test.ts`) gets one started on first use and stopped at exit.
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane } from './controlplane.js';
import type { ControlPlane } from './controlplane.js';

let shared: Promise<ControlPlane> | undefined;

export function setControlPlane(controlPlane: ControlPlane): void {
  shared = Promise.resolve(controlPlane);
  process.env.KUBECONFIG = controlPlane.kubeconfigPath;
}

export function getControlPlane(): Promise<ControlPlane> {
  if (!shared) {
    shared = startControlPlane({ controllerManager: true }).then((controlPlane) => {
      process.env.KUBECONFIG = controlPlane.kubeconfigPath;
      // The child processes do not hold the event loop open, so once the tests are done the loop
      // drains and 'beforeExit' fires: stop gracefully then (the 'exit' handler is the backstop).
      process.once('beforeExit', () => void controlPlane.stop());
      return controlPlane;
    });
  }
  return shared;
}

/** A client-node KubeConfig for the shared control plane's admin. */
export async function adminKubeConfig(): Promise<KubeConfig> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile((await getControlPlane()).kubeconfigPath);
  return kubeConfig;
}
