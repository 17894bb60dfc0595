import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isLinkLocalAddress } from '../../../src/influx/address-policy.js';
import { safeMessage } from '../../../src/influx/messages.js';
import type { SetupRequest } from '../../../src/influx/types.js';
import { findSetupRequestProblem } from '../../../src/influx/validate.js';

const SECRET = 'sw0rd"fish\\42';

test('safeMessage redacts a secret raw, JSON-escaped and URL-encoded', () => {
  const echoed = `raw ${SECRET} json ${JSON.stringify(SECRET)} url ${encodeURIComponent(SECRET)}`;
  const safe = safeMessage(echoed, [SECRET]);
  assert.is(safe, 'raw [REDACTED] json "[REDACTED]" url [REDACTED]');
});

test('safeMessage replaces control characters, so a message cannot forge log lines', () => {
  assert.is(safeMessage('first\nlevel=error\u0000 forged\u2028x', []), 'first level=error  forged x');
});

test('safeMessage caps the length after redacting, so no prefix of a secret survives the cut', () => {
  const safe = safeMessage(`${'x'.repeat(190)}${SECRET}${'y'.repeat(50)}`, [SECRET]);
  assert.ok(safe.length <= 200);
  assert.not.ok(safe.includes(SECRET.slice(0, 4)));
});

test('safeMessage finds a secret that contains a control character, and ignores empty secrets', () => {
  assert.is(safeMessage('token a\tb-secret here', ['a\tb-secret', '']), 'token [REDACTED] here');
});

const VALID: SetupRequest = {
  username: 'admin',
  password: '12345678',
  org: 'acme',
  bucket: 'metrics',
  retentionPeriodSeconds: 3600,
  token: 't',
};

test('findSetupRequestProblem accepts the boundaries', () => {
  for (const change of [
    {},
    { retentionPeriodSeconds: 0 },
    { password: 'x'.repeat(72) },
    { password: 'é'.repeat(36) },
    { bucket: 'a_b' },
  ]) {
    assert.is(findSetupRequestProblem({ ...VALID, ...change }), undefined, JSON.stringify(change));
  }
});

test('findSetupRequestProblem names the field and what is allowed, never the value', () => {
  assert.is(
    findSetupRequestProblem({ ...VALID, password: 'short-pw'.slice(0, 7) }),
    'password must be 8 to 72 bytes long (UTF-8)',
  );
  assert.is(
    findSetupRequestProblem({ ...VALID, retentionPeriodSeconds: Number.NaN }),
    'retentionPeriodSeconds must be 0 (infinite) or an integer of at least 3600',
  );
  assert.match(String(findSetupRequestProblem({ ...VALID, bucket: '_tasks' })), /^bucket must not start with '_'/);
});

test('isLinkLocalAddress: 169.254.0.0/16 and fe80::/10, mapped and zoned forms; not names or neighbours', () => {
  const cases: Array<[string, boolean]> = [
    ['169.254.169.254', true],
    ['169.254.0.1', true],
    ['::ffff:169.254.169.254', true],
    ['[fe80::1]', true],
    ['fe80::1%eth0', true],
    ['febf:ffff::1', true],
    ['fec0::1', false],
    ['169.253.255.255', false],
    ['127.0.0.1', false],
    ['::1', false],
    ['metadata.google.internal', false],
  ];
  for (const [address, expected] of cases) assert.is(isLinkLocalAddress(address), expected, address);
});

test.run();
