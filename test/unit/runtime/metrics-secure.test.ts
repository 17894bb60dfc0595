// Secure /metrics without a cluster: the review (TokenReview, then SubjectAccessReview) against
// fake API clients, its cache on a manual clock, the serving certificates (self-signed, and from
// a directory that is re-read), and the HTTP answers 401, 403, 503 and 200 over real HTTPS.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ApiException, type V1SubjectAccessReview, type V1TokenReview } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { cacheAccess, kubernetesAccessReview, type Access } from '../../../src/runtime/access-review.js';
import { ManualClock } from '../../support/manual-clock.js';
import { RuntimeMetrics } from '../../../src/runtime/metrics.js';
import { certificateDirectory, selfSigned } from '../../../src/runtime/serving-cert.js';
import { scrapeHttps } from '../../support/https-scrape.js';
import { createTestCertificates } from '../../support/tls.js';

const lines: string[] = [];
const logger = createLogger({
  level: 'info',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString('utf8')), done()) }),
});

/** Fake review clients: `users` maps a token to its user; `allowed` lists the users RBAC lets get /metrics. */
function fakeApis(users: Record<string, string>, allowed: string[]) {
  const tokenReviews: V1TokenReview[] = [];
  const accessReviews: V1SubjectAccessReview[] = [];
  const authentication = {
    createTokenReview: async ({ body }: { body: V1TokenReview }): Promise<V1TokenReview> => {
      tokenReviews.push(body);
      const username = users[body.spec.token ?? ''];
      return {
        ...body,
        status:
          username === undefined
            ? { authenticated: false }
            : { authenticated: true, user: { username, uid: `uid-${username}`, groups: ['system:authenticated'] } },
      };
    },
  };
  const authorization = {
    createSubjectAccessReview: async ({ body }: { body: V1SubjectAccessReview }): Promise<V1SubjectAccessReview> => {
      accessReviews.push(body);
      return { ...body, status: { allowed: allowed.includes(body.spec.user ?? '') } };
    },
  };
  return { authentication, authorization, tokenReviews, accessReviews };
}

test('the review: unknown token -> unauthenticated; known user -> a SubjectAccessReview for get /metrics as that user', async () => {
  const apis = fakeApis({ 'token-a': 'alice', 'token-b': 'bob' }, ['alice']);
  const review = kubernetesAccessReview(apis.authentication, apis.authorization, { path: '/metrics', verb: 'get' });
  assert.is(await review('nobody'), 'unauthenticated');
  assert.is(apis.accessReviews.length, 0, 'no access review for a token nobody owns');
  assert.is(await review('token-a'), 'allowed');
  assert.is(await review('token-b'), 'forbidden');
  assert.equal(
    apis.tokenReviews.map((body) => body.spec.token),
    ['nobody', 'token-a', 'token-b'],
  );
  assert.equal(apis.accessReviews[0]?.spec, {
    user: 'alice',
    uid: 'uid-alice',
    groups: ['system:authenticated'],
    nonResourceAttributes: { path: '/metrics', verb: 'get' },
  });
});

test('a failed review call rejects with a message that carries neither the token nor the response body', async () => {
  const token = 'secret-token-that-must-not-leak';
  const failing = {
    createTokenReview: async (): Promise<V1TokenReview> => {
      throw new ApiException(
        500,
        `Unknown API Status Code! Body: {"spec":{"token":"${token}"}}`,
        `{"spec":{"token":"${token}"}}`,
        {},
      );
    },
  };
  const review = kubernetesAccessReview(failing, fakeApis({}, []).authorization, { path: '/metrics', verb: 'get' });
  const error = await review(token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, Error);
  assert.is((error as Error).message, 'TokenReview failed (HTTP 500)');
});

test('the cache: one review per token per 10 s, shared by concurrent requests; failures are not kept', async () => {
  const clock = new ManualClock();
  const calls: string[] = [];
  let failNext = false;
  const review = cacheAccess(
    async (token): Promise<Access> => {
      calls.push(token);
      if (failNext) {
        failNext = false;
        throw new Error('API server down');
      }
      return token === 'good' ? 'allowed' : 'forbidden';
    },
    { clock, maxEntries: 2 },
  );
  assert.equal(await Promise.all([review('good'), review('good'), review('bad')]), ['allowed', 'allowed', 'forbidden']);
  assert.equal(calls, ['good', 'bad']);
  await clock.advance(9_999);
  assert.is(await review('good'), 'allowed');
  assert.equal(calls, ['good', 'bad'], 'still cached just before 10 s');
  await clock.advance(1);
  assert.is(await review('good'), 'allowed');
  assert.equal(calls, ['good', 'bad', 'good'], 'asked again after 10 s');

  failNext = true;
  await clock.advance(10_000);
  assert.is(await review('other').catch(() => 'failed'), 'failed');
  assert.is(await review('other'), 'forbidden', 'a failure is not remembered');
  // maxEntries 2, nothing expired: a third token makes room by dropping the oldest ('other').
  await review('third');
  await review('fourth');
  const before = calls.length;
  await review('fourth');
  assert.is(calls.length, before, 'the newest entries are kept');
  await review('other');
  assert.is(calls.length, before + 1, 'the oldest entry was evicted');
});

test('self-signed certificate: fresh key, server-auth only, the given names, a year of validity', async () => {
  const started = Date.now();
  const certificate = await selfSigned('metrics-test', ['localhost', '127.0.0.1', 'pod-0']).load();
  const x509 = new X509Certificate(certificate.certPem);
  assert.is(x509.subject, 'CN=metrics-test');
  assert.is(x509.issuer, x509.subject, 'self-signed');
  assert.ok(x509.verify(x509.publicKey), 'signed by its own key');
  assert.ok(
    x509.checkPrivateKey((await import('node:crypto')).createPrivateKey(certificate.keyPem)),
    'the key matches',
  );
  assert.is(x509.ca, false);
  assert.is(x509.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, DNS:pod-0');
  assert.equal(x509.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const validTo = Date.parse(x509.validTo);
  assert.ok(Date.parse(x509.validFrom) <= started, 'valid already (a minute of clock skew)');
  assert.ok(validTo > started + 364 * 86_400_000 && validTo < started + 366 * 86_400_000, x509.validTo);
  const other = await selfSigned('metrics-test', ['localhost']).load();
  assert.is.not(other.keyPem, certificate.keyPem, 'every start makes a new key');
});

test('secure /metrics over HTTPS: no token 401, unknown token 401, not allowed 403, review failing 503, allowed 200', async () => {
  const metrics = new RuntimeMetrics({ processMetrics: false });
  metrics.leaderMetrics('lease').leading(true);
  const apis = fakeApis({ 'token-a': 'alice', 'token-b': 'bob' }, ['alice']);
  let reviewsWork = true;
  const review = kubernetesAccessReview(apis.authentication, apis.authorization, { path: '/metrics', verb: 'get' });
  const server = await metrics.listen('127.0.0.1:0', logger, {
    certificates: selfSigned('metrics-test', ['127.0.0.1']),
    review: async (token) => {
      if (!reviewsWork) throw new Error('TokenReview failed (HTTP 500)');
      return review(token);
    },
  });
  try {
    const url = `https://127.0.0.1:${server.port}/metrics`;
    const none = await scrapeHttps(url);
    assert.is(none.status, 401);
    assert.is(none.headers['www-authenticate'], 'Bearer');
    assert.is(none.certificate.subject.CN, 'metrics-test', 'served with the self-signed certificate');
    assert.is((await scrapeHttps(url, { token: 'unknown' })).status, 401);
    const forbidden = await scrapeHttps(url, { token: 'token-b' });
    assert.is(forbidden.status, 403);
    assert.not.match(forbidden.body, 'leader_election_master_status');
    const allowed = await scrapeHttps(url, { token: 'token-a' });
    assert.is(allowed.status, 200);
    assert.match(allowed.body, 'leader_election_master_status{name="lease"} 1');
    reviewsWork = false;
    assert.is((await scrapeHttps(url, { token: 'token-a' })).status, 503);
    assert.is(
      (await fetch(`http://127.0.0.1:${server.port}/metrics`).catch(() => undefined))?.status,
      undefined,
      'no plain HTTP on the port',
    );
  } finally {
    await server.close();
  }
});

test('a certificate directory (tls.crt, tls.key) is served, verifiable with its CA, and re-read when it changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'metrics-certs-'));
  try {
    const first = await createTestCertificates(['IP:127.0.0.1']);
    await writeFile(join(dir, 'tls.crt'), first.certPem);
    await writeFile(join(dir, 'tls.key'), first.keyPem);
    const source = certificateDirectory(dir);
    assert.is(source.refreshMs, 60_000);
    const metrics = new RuntimeMetrics({ processMetrics: false });
    const server = await metrics.listen('127.0.0.1:0', logger, {
      certificates: { ...source, refreshMs: 50 },
      review: async () => 'allowed',
    });
    try {
      const url = `https://127.0.0.1:${server.port}/metrics`;
      assert.is((await scrapeHttps(url, { token: 't', caPem: first.caPem })).status, 200, 'verified against the CA');
      const second = await createTestCertificates(['IP:127.0.0.1']);
      await writeFile(join(dir, 'tls.key'), second.keyPem);
      await writeFile(join(dir, 'tls.crt'), second.certPem);
      let served = '';
      for (let attempt = 0; attempt < 100 && served !== new X509Certificate(second.certPem).fingerprint256; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        served = (await scrapeHttps(url, { token: 't' })).certificate.fingerprint256;
      }
      assert.is(
        served,
        new X509Certificate(second.certPem).fingerprint256,
        'the renewed certificate is served without a restart',
      );
      assert.is((await scrapeHttps(url, { token: 't', caPem: second.caPem })).status, 200);
      assert.ok(lines.some((line) => line.includes('serving certificate reloaded')));
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
