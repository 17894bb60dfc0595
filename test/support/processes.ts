// Child processes that must never outlive the test process: each runs in its own process group
// (so a terminal's Ctrl-C reaches only us, and killing the group takes its children too), and
// every group and scratch folder is recorded so it is torn down on stop(), on SIGINT/SIGTERM/
// SIGHUP, on an uncaught failure (Node still emits 'exit'), and, through a watchdog, even when
// this process is SIGKILLed. Every child carries this process's run ID in its environment
// (RUN_ID_VARIABLE), so what a run started can be told apart from any other run's.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GroupProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves as `exited` does, holding the event loop open until then (`exited` alone does not). */
  wait(): Promise<string>;
  /** `signal` to the leader alone, then wait(). */
  signal(signal: NodeJS.Signals): Promise<string>;
}

/** The environment variable that tags every process the harness starts with `runId`. */
export const RUN_ID_VARIABLE = 'INFLUX_OPERATOR_TEST_RUN';

/** The kernel's start time of a process (clock ticks since boot), undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    // Fields after the command name (which may hold spaces), from field 3 on; starttime is field 22.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * This test process's run ID: its PID and kernel start time, so a later run can tell whether the
 * run that left something behind is still alive (isRunAlive), even after the PID was reused.
 */
export const runId = `${process.pid}-${processStartTime(process.pid) ?? '0'}`;

/** Whether the test process that had `id` (a runId) is still running. */
export function isRunAlive(id: string): boolean {
  const [pid, startTime] = id.split('-');
  return processStartTime(Number(pid)) === startTime;
}

interface Scope {
  readonly dir: string;
  readonly groups: Set<number>;
  readonly watchdog: number | undefined;
  readonly graceful: () => Promise<void>;
}

const scopes = new Set<Scope>();
let handlersInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we want.
  }
}

function killScopeNow(scope: Scope): void {
  for (const pid of scope.groups) killGroup(pid, 'SIGKILL');
  if (scope.watchdog !== undefined) killGroup(scope.watchdog, 'SIGKILL');
  rmSync(scope.dir, { recursive: true, force: true });
  scopes.delete(scope);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the only stop that cannot be ignored or delayed.
  process.on('exit', () => {
    for (const scope of [...scopes]) killScopeNow(scope);
  });
  let signalled = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      // A second signal means "now": the 'exit' handler kills whatever is left.
      if (signalled) process.exit(code);
      signalled = true;
      process.stderr.write(`\n${signal}: stopping child processes ...\n`);
      const stops = [...scopes].map((scope) => scope.graceful());
      void Promise.allSettled(stops).then(() => process.exit(code));
    });
  }
}

/**
 * A scratch folder plus the process groups started in it. `graceful` is what a signal runs before
 * exiting (normally the owner's stop()).
 */
export class ProcessScope {
  readonly dir: string;
  private readonly scope: Scope;

  /**
   * `atDeath`: a command the watchdog runs after killing the groups and before removing the
   * folder, when this process died without cleaning up (e.g. what lives outside process groups).
   */
  constructor(prefix: string, graceful: () => Promise<void>, parent: string = tmpdir(), atDeath: string[] = []) {
    installHandlers();
    this.dir = mkdtempSync(join(parent, prefix));
    // The watchdog outlives a SIGKILLed parent (no 'exit' handler runs then) and cleans up after it.
    const watchdog = spawn(
      'sh',
      [
        '-c',
        'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
          'if [ -f "$2/.pgids" ]; then for g in $(cat "$2/.pgids"); do kill -s KILL -- "-$g" 2>/dev/null; done; fi; ' +
          'dir=$2; shift 2; if [ $# -gt 0 ]; then "$@"; fi; ' +
          'rm -rf "$dir"',
        'watchdog',
        String(process.pid),
        this.dir,
        ...atDeath,
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();
    this.scope = { dir: this.dir, groups: new Set(), watchdog: watchdog.pid, graceful };
    scopes.add(this.scope);
  }

  /**
   * Starts `command` as the leader of a new process group, its stdout and stderr appended to
   * `logFile`. The child is unref'd so it never keeps the event loop (and thus a finished test
   * process) alive; the exit handlers still stop it.
   */
  spawn(
    name: string,
    command: string,
    args: string[],
    logFile: string,
    env: NodeJS.ProcessEnv = process.env,
  ): GroupProcess {
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...env, [RUN_ID_VARIABLE]: runId },
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
    child.unref();
    this.scope.groups.add(pid);
    appendFileSync(join(this.dir, '.pgids'), `${pid}\n`);
    let done = false;
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        resolve(signal ?? `exit code ${code}`);
      });
      child.once('error', (err) => {
        done = true;
        resolve(err.message);
      });
    });
    const groups = this.scope.groups;
    return {
      name,
      pid,
      exited,
      hasExited: () => done,
      wait() {
        // Without a reference the wait would not keep the loop alive, and a process with nothing
        // else to do would end in the middle of it (exit code 13 at top level).
        if (!done) child.ref();
        return exited;
      },
      signal(signal) {
        if (!done) {
          try {
            process.kill(pid, signal);
          } catch {
            // ESRCH: it exited before its 'exit' event reached us; `exited` settles anyway.
          }
        }
        return this.wait();
      },
      async stop(graceMs = 10_000) {
        if (!done) {
          // Hold the event loop open until the process is gone, or the wait would silently end
          // the whole test process instead.
          child.ref();
          killGroup(pid, 'SIGTERM');
          const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        // The leader is gone; anything it forked is not allowed to linger either.
        killGroup(pid, 'SIGKILL');
        groups.delete(pid);
      },
    };
  }

  /** Kills every remaining group and the watchdog, and removes the scratch folder. */
  dispose(): void {
    killScopeNow(this.scope);
  }
}

/**
 * The ports the kernel hands out itself (to `listen(0)` and to every outgoing connection). A port
 * picked from there is free when checked, yet may be some connection's local port a moment later,
 * before the process it is meant for binds it: so ports are picked below that range.
 */
function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function listenOn(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range (all held open together, so they cannot coincide). */
export async function freePorts(count: number): Promise<number[]> {
  const first = 10_000;
  const span = ephemeralPortsStart() - first;
  const held: Server[] = [];
  for (let tries = 0; held.length < count; tries++) {
    if (tries > 1_000) throw new Error(`no ${count} free ports between ${first} and ${first + span}`);
    const server = await listenOn(first + Math.floor(Math.random() * span));
    if (server !== undefined) held.push(server);
  }
  const ports = held.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Runs a build script of ours (test/<thing>/build.sh, a no-op on a warm cache) and returns the last
 * line it prints on stdout: the path of what it built. Its progress on stderr goes straight through,
 * because a cold build takes long enough that silence would look like a hang.
 */
export async function runBuildScript(script: string, args: string[] = []): Promise<string> {
  const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const built = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || built === '') throw new Error(`${script} failed (exit code ${code})`);
  return built;
}
