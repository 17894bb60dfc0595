import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, redactRecord, SecretRegistry, type LogFormat } from '../../src/log.js';

const test = suite('log redaction');

const TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const PASSWORD = 'Sup3r-Secret-Passw0rd';

function capture(
  format: LogFormat,
  registry: SecretRegistry,
): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format, registry, stream }), lines };
}

test('credential-named fields are masked whatever they hold; references to them are not', () => {
  const registry = new SecretRegistry();
  const record = redactRecord(
    {
      token: 'abc',
      password: 'def',
      authorization: 'Token x',
      nested: { apiToken: 'ghi' },
      tokenSecretRef: 'my-secret',
      passwordLength: 12,
      requireSecretConsent: true,
    },
    registry,
  );
  assert.equal(record, {
    token: '[REDACTED]',
    password: '[REDACTED]',
    authorization: '[REDACTED]',
    nested: { apiToken: '[REDACTED]' },
    tokenSecretRef: 'my-secret',
    passwordLength: 12,
    requireSecretConsent: true,
  });
});

test('a registered value is masked anywhere: message, nested fields, arrays, error messages', () => {
  const registry = new SecretRegistry();
  registry.add(TOKEN);
  registry.add(PASSWORD);
  const record = redactRecord(
    {
      message: `request with ${TOKEN} failed`,
      detail: { list: [`x${PASSWORD}y`], error: new Error(`bad token ${TOKEN}`) },
    },
    registry,
  );
  const text = JSON.stringify(record);
  assert.not.match(text, TOKEN);
  assert.not.match(text, PASSWORD);
  assert.match(text, 'request with [REDACTED] failed');
  assert.match(text, 'x[REDACTED]y');
});

test('masking: values sharing a prefix, one inside another, overlapping or adjacent values leave no character of any of them; many values, once each', () => {
  const registry = new SecretRegistry();
  for (const value of ['abcdef-1', 'abcdef-12345', 'xyzxyz', 'zxyzqq', 'ppppppp']) registry.add(value);
  registry.add('abcdef-1');
  assert.is(registry.size, 5, 'a value added twice counts once');
  assert.is(registry.mask('a abcdef-1 b'), 'a [REDACTED] b');
  assert.is(registry.mask('a abcdef-12345 b'), 'a [REDACTED] b', 'the longer value, not just its prefix value');
  assert.is(registry.mask('<xyzxyzqq>'), '<[REDACTED]>', 'overlapping values: one stretch');
  assert.is(registry.mask('ppppppppabcdef-1!'), '[REDACTED]!', 'adjacent values: one stretch');
  assert.is(registry.mask('abcdef-1 and ppppppp, abcdef-2'), '[REDACTED] and [REDACTED], abcdef-2');
  assert.is(registry.mask('short abc'), 'short abc');
  const many = new SecretRegistry();
  for (let index = 0; index < 20_000; index++) many.add(`secret-${index.toString(36).padStart(6, '0')}`);
  const [first, last] = [0, 19_999].map((index) => `secret-${index.toString(36).padStart(6, '0')}`);
  assert.is(
    many.mask(`token ${first} in a line, ${last} too, secret-00zzzz not`),
    'token [REDACTED] in a line, [REDACTED] too, secret-00zzzz not',
  );
});

test('short values are not registered (they would mask ordinary words)', () => {
  const registry = new SecretRegistry();
  registry.add('abc');
  registry.add(undefined);
  assert.is(registry.size, 0);
  assert.is(registry.mask('abc'), 'abc');
});

test('circular structures do not hang the logger', () => {
  const registry = new SecretRegistry();
  const loop: Record<string, unknown> = { name: 'loop' };
  loop.self = loop;
  assert.equal(redactRecord({ loop }, registry), { loop: { name: 'loop', self: '[Circular]' } });
});

for (const format of ['json', 'text'] as const) {
  test(`the ${format} logger writes no registered secret, whatever is logged`, () => {
    const registry = new SecretRegistry();
    registry.add(TOKEN);
    registry.add(PASSWORD);
    const { logger, lines } = capture(format, registry);
    logger.info(`token is ${TOKEN}`, { password: PASSWORD, context: { header: `Token ${TOKEN}` } });
    logger.child({ resource: 'ns/name' }).error('failed', { error: new Error(`login as admin:${PASSWORD}`) });
    logger.warn('plain', { value: PASSWORD });
    assert.is(lines.length, 3);
    for (const line of lines) {
      assert.not.match(line, TOKEN);
      assert.not.match(line, PASSWORD);
    }
    assert.match(lines[1] ?? '', 'ns/name');
    if (format === 'json') assert.is((JSON.parse(lines[0] ?? '{}') as { level: string }).level, 'info');
  });
}

test.run();
