// The helm CLI pinned in test/helm, built on first use (a no-op on a warm cache).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const buildScript = fileURLToPath(new URL('../helm/build.sh', import.meta.url));
let built: Promise<string> | undefined;

/** The helm binary's path. */
export function ensureHelm(): Promise<string> {
  built ??= (async () => {
    // A cold build takes minutes; build.sh's progress on stderr is shown when it fails.
    const { stdout } = await promisify(execFile)('bash', [buildScript], { maxBuffer: 1 << 22 }).catch(
      (err: Error & { stderr?: string }) => {
        throw new Error(`${buildScript} failed:\n${err.stderr ?? err.message}`);
      },
    );
    return stdout.trim().split('\n').pop() ?? '';
  })();
  return built;
}
