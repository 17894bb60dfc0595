import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeConnection } from '../../../src/runtime/connection.js';
import { kubernetesLeaseStore } from '../../../src/runtime/lease-store.js';
import type { LeaseRecord } from '../../../src/runtime/leader.js';

type Route = (request: http.IncomingMessage, body: string, response: http.ServerResponse) => void;

/** A local HTTP server that records requests and the client sockets they came on. */
class RecordingServer {
  readonly sockets = new Set<Socket>();
  readonly closedSockets = new Set<Socket>();
  readonly authorizations: Array<string | undefined> = [];
  private readonly server: http.Server;

  constructor(route: Route) {
    this.server = http.createServer((request, response) => {
      this.authorizations.push(request.headers.authorization);
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => route(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.closedSockets.add(socket));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

function kubeConfigFor(server: string, user: Record<string, string> = { token: 'test-token' }): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'tester', ...user }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  return kubeConfig;
}

const anyObject: Route = (request, _body, response) => {
  const name = request.url?.split('?')[0]?.split('/').pop() ?? '';
  json(response, 200, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' } });
};

async function drain(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

interface Pki {
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
}

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate for CN=operator. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'runtime-pki-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    );
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    for (const [name, subject, ext] of [
      ['server', '/CN=127.0.0.1', ['-extfile', file('san.ext')]],
      ['client', '/CN=operator', []],
    ] as const) {
      openssl('req', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      openssl(
        'x509',
        '-req',
        '-in',
        file(`${name}.csr`),
        '-CA',
        file('ca.crt'),
        '-CAkey',
        file('ca.key'),
        '-CAcreateserial',
        '-out',
        file(`${name}.crt`),
        '-days',
        '1',
        ...ext,
      );
    }
    return {
      ca: readFileSync(file('ca.crt')),
      serverCert: readFileSync(file('server.crt')),
      serverKey: readFileSync(file('server.key')),
      clientCert: readFileSync(file('client.crt')),
      clientKey: readFileSync(file('client.key')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('over https with a cluster CA and a client certificate, every request shares one verified TLS connection', async () => {
  const pki = makePki();
  const sockets = new Set<Socket>();
  const clientNames: string[] = [];
  const server = https.createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
    (request, response) => {
      clientNames.push(String((request.socket as TLSSocket).getPeerCertificate().subject.CN));
      anyObject(request, '', response);
    },
  );
  server.on('secureConnection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: 'tls',
        server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        caData: pki.ca.toString('base64'),
      },
    ],
    users: [
      { name: 'operator', certData: pki.clientCert.toString('base64'), keyData: pki.clientKey.toString('base64') },
    ],
    contexts: [{ name: 'tls', cluster: 'tls', user: 'operator' }],
    currentContext: 'tls',
  });
  const connection = new KubeConnection(kubeConfig);
  try {
    const core = connection.makeApiClient(CoreV1Api);
    for (let call = 0; call < 3; call++) await core.readNamespacedSecret({ namespace: 'ns', name: `s${call}` });
    await drain(await connection.get('/api/v1/namespaces/ns/secrets/raw', new AbortController().signal));
    assert.equal(clientNames, ['operator', 'operator', 'operator', 'operator']);
    assert.is(sockets.size, 1);
    assert.is(connection.agentCount, 1);
  } finally {
    connection.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
});

test('control: client-node alone opens a new connection for every call', async () => {
  const server = new RecordingServer(anyObject);
  const kubeConfig = kubeConfigFor(await server.start());
  try {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    for (let call = 0; call < 4; call++) await core.readNamespacedSecret({ namespace: 'ns', name: `s${call}` });
    assert.is(server.sockets.size, 4);
  } finally {
    await server.stop();
  }
});

test('generated clients of several kinds and raw GETs share one keep-alive agent and its socket', async () => {
  const server = new RecordingServer(anyObject);
  const connection = new KubeConnection(kubeConfigFor(await server.start()));
  try {
    const core = connection.makeApiClient(CoreV1Api);
    const custom = connection.makeApiClient(CustomObjectsApi);
    for (let call = 0; call < 3; call++) {
      const secret = await core.readNamespacedSecret({ namespace: 'ns', name: `s${call}` });
      assert.is(secret.metadata?.name, `s${call}`);
      await custom.getNamespacedCustomObject({
        group: 'example.com',
        version: 'v1',
        namespace: 'ns',
        plural: 'things',
        name: 't',
      });
      const raw = await connection.get('/api/v1/namespaces/ns/secrets/raw', new AbortController().signal);
      assert.is(JSON.parse(await drain(raw)).metadata.name, 'raw');
    }
    assert.is(connection.agentCount, 1);
    assert.is(server.sockets.size, 1, 'nine sequential requests over one socket');
    assert.ok(server.authorizations.every((header) => header === 'Bearer test-token'));
  } finally {
    connection.close();
    await server.stop();
  }
});

test('basic auth credentials become an Authorization header on both paths', async () => {
  const server = new RecordingServer(anyObject);
  const connection = new KubeConnection(kubeConfigFor(await server.start(), { username: 'admin', password: 'pw' }));
  try {
    await connection.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: 'ns', name: 's' });
    await drain(await connection.get('/api/v1/namespaces/ns/secrets/s', new AbortController().signal));
    const expected = `Basic ${Buffer.from('admin:pw').toString('base64')}`;
    assert.equal(server.authorizations, [expected, expected]);
  } finally {
    connection.close();
    await server.stop();
  }
});

test('a changed token is picked up once the credentials read a second ago expire, without a new agent; changed TLS material makes one', async () => {
  const server = new RecordingServer(anyObject);
  const kubeConfig = kubeConfigFor(await server.start());
  let now = 0;
  const connection = new KubeConnection(kubeConfig, { now: () => now });
  const user = kubeConfig.getCurrentUser();
  try {
    const core = connection.makeApiClient(CoreV1Api);
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' });
    if (user) Object.assign(user, { token: 'rotated-token' });
    now = 999;
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' });
    now = 1000;
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' });
    assert.equal(server.authorizations, ['Bearer test-token', 'Bearer test-token', 'Bearer rotated-token']);
    assert.is(connection.agentCount, 1);
    if (user) Object.assign(user, { certData: Buffer.from('new client certificate').toString('base64') });
    now = 2000;
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' });
    assert.is(connection.agentCount, 2);
  } finally {
    connection.close();
    await server.stop();
  }
});

test('requests within a second read the KubeConfig once; a failed read is not reused', async () => {
  const server = new RecordingServer(anyObject);
  const kubeConfig = kubeConfigFor(await server.start());
  const read = kubeConfig.applyToHTTPSOptions.bind(kubeConfig);
  let reads = 0;
  let failNext = false;
  kubeConfig.applyToHTTPSOptions = async (options) => {
    reads++;
    if (failNext) {
      failNext = false;
      throw new Error('exec plugin failed');
    }
    return read(options);
  };
  let now = 0;
  const connection = new KubeConnection(kubeConfig, { now: () => now });
  try {
    const core = connection.makeApiClient(CoreV1Api);
    await Promise.all(Array.from({ length: 20 }, () => core.readNamespacedSecret({ namespace: 'ns', name: 's' })));
    assert.is(reads, 1);
    assert.is(server.authorizations.length, 20);
    now = 1000;
    failNext = true;
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' }).then(
      () => assert.unreachable('the read of the credentials failed'),
      (error: unknown) => assert.match(String(error), /exec plugin failed/),
    );
    await core.readNamespacedSecret({ namespace: 'ns', name: 's' });
    assert.is(reads, 3, 'read again after the failure, at the same time');
  } finally {
    connection.close();
    await server.stop();
  }
});

test('idle sockets are closed after the idle timeout, while a quiet stream on an active socket survives it', async () => {
  let streamResponse: http.ServerResponse | undefined;
  const server = new RecordingServer((request, _body, response) => {
    if (request.url?.includes('watch=1')) {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.flushHeaders();
      streamResponse = response;
      return;
    }
    anyObject(request, _body, response);
  });
  const connection = new KubeConnection(kubeConfigFor(await server.start()), { idleSocketTimeoutMs: 50 });
  try {
    const stream = await connection.get('/api/v1/secrets?watch=1', new AbortController().signal);
    await drain(await connection.get('/api/v1/namespaces/ns/secrets/s', new AbortController().signal));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(server.sockets.size, 2);
    assert.is(server.closedSockets.size, 1, 'the idle socket is gone, the streaming one is not');
    streamResponse?.end('{"type":"BOOKMARK","object":{}}\n');
    assert.is(await drain(stream), '{"type":"BOOKMARK","object":{}}\n');
  } finally {
    connection.close();
    await server.stop();
  }
});

test('generated-client calls are bounded by the request timeout', async () => {
  const server = new RecordingServer(() => undefined);
  const connection = new KubeConnection(kubeConfigFor(await server.start()), { requestTimeoutMs: 100 });
  try {
    const call = connection.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: 'ns', name: 'hangs' });
    await call.then(
      () => assert.unreachable('the call should time out'),
      (error: unknown) => assert.match(String(error), /abort/i),
    );
  } finally {
    connection.close();
    await server.stop();
  }
});

test('the Lease store reads, creates and replaces a Lease with MicroTime and resourceVersion checks', async () => {
  let stored: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  const bodies: Array<Record<string, unknown>> = [];
  const server = new RecordingServer((request, body, response) => {
    const path = request.url?.split('?')[0] ?? '';
    if (request.method === 'GET' && path === '/apis/coordination.k8s.io/v1/namespaces/ops/leases/op') {
      if (!stored) return json(response, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
      return json(response, 200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...stored });
    }
    const lease = JSON.parse(body) as { metadata: { resourceVersion?: string }; spec: Record<string, unknown> };
    bodies.push(lease.spec);
    if (request.method === 'POST' && path === '/apis/coordination.k8s.io/v1/namespaces/ops/leases') {
      stored = { metadata: { resourceVersion: '1' }, spec: lease.spec };
      return json(response, 201, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...stored });
    }
    if (request.method === 'PUT' && path === '/apis/coordination.k8s.io/v1/namespaces/ops/leases/op') {
      if (lease.metadata.resourceVersion !== stored?.metadata.resourceVersion) {
        return json(response, 409, { kind: 'Status', code: 409, reason: 'Conflict' });
      }
      stored = {
        metadata: { resourceVersion: String(Number(stored?.metadata.resourceVersion) + 1) },
        spec: lease.spec,
      };
      return json(response, 200, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...stored });
    }
    json(response, 400, {});
  });
  const connection = new KubeConnection(kubeConfigFor(await server.start()));
  const store = kubernetesLeaseStore(connection.makeApiClient(CoordinationV1Api), 'ops', 'op');
  const signal = new AbortController().signal;
  try {
    assert.is(await store.get(signal), undefined, '404 means no lease yet');
    const renewTime = new Date('2030-01-02T03:04:05.678Z');
    const created = await store.create(
      { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 0 },
      signal,
    );
    assert.is(created.resourceVersion, '1');
    assert.is(bodies[0]?.renewTime, '2030-01-02T03:04:05.678000Z', 'MicroTime carries six fractional digits');

    const read = await store.get(signal);
    assert.is(read?.record.holderIdentity, 'pod-a');
    assert.is(read?.record.renewTime?.getTime(), renewTime.getTime());
    assert.is(read?.record.leaseDurationSeconds, 15);

    const updated = await store.update(
      { ...created.record, holderIdentity: 'pod-b', leaseTransitions: 1 },
      '1',
      signal,
    );
    assert.is(updated.resourceVersion, '2');
    assert.is(updated.record.holderIdentity, 'pod-b');

    const stale = await store.update(created.record, '1', signal).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(stale instanceof ApiException);
    assert.is(stale.code, 409);
  } finally {
    connection.close();
    await server.stop();
  }
});

test('a Lease store update keeps the labels, annotations and owners the Lease had (the chart renders it)', async () => {
  const metadata = {
    labels: { 'app.kubernetes.io/managed-by': 'Helm' },
    annotations: { 'meta.helm.sh/release-name': 'ioo' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1' }],
  };
  const puts: Array<{ metadata: Record<string, unknown> }> = [];
  const server = new RecordingServer((request, body, response) => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: {} };
    if (request.method === 'GET')
      return json(response, 200, { ...lease, metadata: { ...metadata, resourceVersion: '7' } });
    puts.push(JSON.parse(body) as { metadata: Record<string, unknown> });
    return json(response, 200, { ...lease, metadata: { ...metadata, resourceVersion: '8' } });
  });
  const connection = new KubeConnection(kubeConfigFor(await server.start()));
  const store = kubernetesLeaseStore(connection.makeApiClient(CoordinationV1Api), 'ops', 'op');
  const signal = new AbortController().signal;
  try {
    const read = await store.get(signal);
    assert.is(read?.record.holderIdentity, '', 'a Lease rendered without a spec is free');
    await store.update({ ...(read?.record as LeaseRecord), holderIdentity: 'pod-a' }, '7', signal);
    assert.equal(puts[0]?.metadata, { ...metadata, namespace: 'ops', name: 'op', resourceVersion: '7' });
  } finally {
    connection.close();
    await server.stop();
  }
});

test('a Lease store call is abandoned when its signal aborts', async () => {
  const server = new RecordingServer(() => undefined);
  const connection = new KubeConnection(kubeConfigFor(await server.start()));
  const store = kubernetesLeaseStore(connection.makeApiClient(CoordinationV1Api), 'ops', 'op');
  try {
    const abort = new AbortController();
    const pending = store.get(abort.signal);
    setTimeout(() => abort.abort(), 20);
    await pending.then(
      () => assert.unreachable('the read should be aborted'),
      (error: unknown) => assert.match(String(error), /abort/i),
    );
  } finally {
    connection.close();
    await server.stop();
  }
});

test.run();
