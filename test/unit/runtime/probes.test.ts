import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { parseBindAddress } from '../../../src/runtime/http-server.js';
import { Probes } from '../../../src/runtime/probes.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

test('readyz answers 503 until the caches have synced, then 200', async () => {
  let synced = false;
  const probes = new Probes();
  probes.addReadyCheck('informers', () => synced);
  const server = await probes.listen('127.0.0.1:0', logger);
  try {
    assert.ok(server.port > 0, 'the bound port is reported');
    const before = await probe(server.port, '/readyz');
    assert.is(before.status, 503);
    assert.match(before.body, /\[-\]informers failed/);
    synced = true;
    const after = await probe(server.port, '/readyz');
    assert.is(after.status, 200);
    assert.match(after.body, /\[\+\]informers ok/);
  } finally {
    await server.close();
  }
});

test('healthz is 200 while alive and 503 when a registered check fails or throws', async () => {
  let watchesHealthy = true;
  const probes = new Probes();
  probes.addHealthCheck('watches', () => watchesHealthy);
  const server = await probes.listen('127.0.0.1:0', logger);
  try {
    assert.is((await probe(server.port, '/healthz')).status, 200);
    watchesHealthy = false;
    const wedged = await probe(server.port, '/healthz');
    assert.is(wedged.status, 503);
    assert.match(wedged.body, /\[\+\]ping ok/);
    assert.match(wedged.body, /\[-\]watches failed/);
    probes.addHealthCheck('watches', () => {
      throw new Error('check bug');
    });
    assert.is((await probe(server.port, '/healthz')).status, 503);
    assert.is((await probe(server.port, '/elsewhere')).status, 404);
  } finally {
    await server.close();
  }
});

test('bind addresses: host:port, :port for all interfaces, [v6]:port; nonsense is rejected', () => {
  assert.equal(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.equal(parseBindAddress(':8081'), { host: undefined, port: 8081 });
  assert.equal(parseBindAddress('[::1]:8080'), { host: '::1', port: 8080 });
  assert.throws(() => parseBindAddress('8081x'), /invalid bind address/);
  assert.throws(() => parseBindAddress('host:70000'), /invalid bind address/);
});

test.run();
