// The test runner itself (test/run.ts), run on the fixtures in test/fixtures/runner with a
// one-second deadline: a test whose wait never ends fails by name and the tests after it run; an
// after hook that throws and a before hook that never ends are reported, and the summary is
// printed last with the right counts and a failing exit code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runFixtures(): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/run.ts', 'unit'], {
    cwd: root,
    env: { ...process.env, TEST_DIR: 'test/fixtures/runner', TEST_DEADLINE_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // Without deadlines the runner would wait forever: this bound turns that into a failure.
  const bound = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(bound);
      resolve({ code, output });
    }),
  );
}

test('a hung test fails by name, hook failures are reported, and the summary is still printed', async () => {
  const { code, output } = await runFixtures();
  assert.match(output, 'test "waits forever" did not finish within its deadline of 1 s');
  assert.match(output, /a suite with a hung wait +• ✘ • +\(2 \/ 3\)/, 'the test after the hung one ran');
  assert.match(output, 'after hook of suite "after hook throws" failed: tear-down broke');
  assert.match(output, 'before hook of suite "before hook never ends" did not finish within its deadline of 1 s');
  assert.match(output, /a later suite +• +\(1 \/ 1\)/, 'the suites after the failing hooks ran');
  const lines = output.trimEnd().split('\n');
  assert.is(lines.at(-1), '4 passed, 4 failed', 'the summary is the last line');
  assert.is(code, 1);
});

test.run();
