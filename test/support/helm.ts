// The helm CLI pinned in test/helm, built on first use (a no-op on a warm cache).
import { fileURLToPath } from 'node:url';
import { runBuildScript } from './processes.js';

const buildScript = fileURLToPath(new URL('../helm/build.sh', import.meta.url));
let built: Promise<string> | undefined;

/** The helm binary's path. */
export function ensureHelm(): Promise<string> {
  built ??= runBuildScript(buildScript);
  return built;
}
