import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { exitOnSignals, FORCED_EXIT_CODE } from '../../../src/runtime/signals.js';
import type { SignalTarget } from '../../../src/runtime/signals.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

class FakeProcess extends EventEmitter implements SignalTarget {
  readonly exits: number[] = [];
  private exited: () => void = () => undefined;
  readonly firstExit = new Promise<void>((resolve) => (this.exited = resolve));

  exit(code: number): void {
    this.exits.push(code);
    this.exited();
  }

  override on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): this {
    return super.on(signal, listener);
  }

  override off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): this {
    return super.off(signal, listener);
  }
}

test('SIGTERM runs the graceful shutdown, then exits 0', async () => {
  const target = new FakeProcess();
  let shutdowns = 0;
  exitOnSignals({ logger, target, shutdown: async () => void shutdowns++ });
  target.emit('SIGTERM', 'SIGTERM');
  await target.firstExit;
  assert.is(shutdowns, 1);
  assert.equal(target.exits, [0]);
});

test('a second signal during shutdown exits at once', async () => {
  const target = new FakeProcess();
  let finish: () => void = () => undefined;
  exitOnSignals({ logger, target, shutdown: () => new Promise<void>((resolve) => (finish = resolve)) });
  target.emit('SIGINT', 'SIGINT');
  target.emit('SIGINT', 'SIGINT');
  assert.equal(target.exits, [FORCED_EXIT_CODE]);
  finish();
});

test('a shutdown that overruns its bound or fails exits 1', async () => {
  const slow = new FakeProcess();
  exitOnSignals({ logger, target: slow, timeoutMs: 20, shutdown: () => new Promise<void>(() => undefined) });
  slow.emit('SIGTERM', 'SIGTERM');
  await slow.firstExit;
  assert.equal(slow.exits, [1]);

  const failing = new FakeProcess();
  exitOnSignals({ logger, target: failing, shutdown: async () => Promise.reject(new Error('release failed')) });
  failing.emit('SIGTERM', 'SIGTERM');
  await failing.firstExit;
  assert.equal(failing.exits, [1]);
});

test('the returned function uninstalls the handlers', () => {
  const target = new FakeProcess();
  const uninstall = exitOnSignals({ logger, target, shutdown: async () => undefined });
  assert.is(target.listenerCount('SIGTERM'), 1);
  uninstall();
  assert.is(target.listenerCount('SIGTERM'), 0);
  assert.is(target.listenerCount('SIGINT'), 0);
});

test.run();
