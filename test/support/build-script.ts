// Runs one of the repository's build scripts (test/<thing>/build.sh), which build into a cache on
// first use and are no-ops when it is warm. Their progress goes straight through to stderr: a cold
// build takes minutes, and silence would look like a hang.
import { spawn } from 'node:child_process';

/** The last line the script printed on stdout: where its product is. */
export async function runBuildScript(script: string, args: string[] = []): Promise<string> {
  const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const product = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !product) throw new Error(`${script} failed (exit code ${code})`);
  return product;
}
