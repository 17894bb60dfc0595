import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, MAX_MASKED_LENGTH, redactRecord, SecretRegistry, type LogFormat } from '../../src/log.js';

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
  registry.hold('InfluxOnboarding ns/a', 'credentials', [TOKEN, PASSWORD]);
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
  registry.hold('a', 'values', ['abcdef-1', 'abcdef-12345', 'xyzxyz', 'zxyzqq', 'ppppppp']);
  registry.hold('b', 'values', ['abcdef-1']);
  assert.is(registry.size, 5, 'a value held twice counts once');
  assert.is(registry.mask('a abcdef-1 b'), 'a [REDACTED] b');
  assert.is(registry.mask('a abcdef-12345 b'), 'a [REDACTED] b', 'the longer value, not just its prefix value');
  assert.is(registry.mask('<xyzxyzqq>'), '<[REDACTED]>', 'overlapping values: one stretch');
  assert.is(registry.mask('ppppppppabcdef-1!'), '[REDACTED]!', 'adjacent values: one stretch');
  assert.is(registry.mask('abcdef-1 and ppppppp, abcdef-2'), '[REDACTED] and [REDACTED], abcdef-2');
  assert.is(registry.mask('short abc'), 'short abc');
  const many = new SecretRegistry();
  for (let index = 0; index < 20_000; index++)
    many.hold(`owner-${index}`, 'values', [`secret-${index.toString(36).padStart(6, '0')}`]);
  const [first, last] = [0, 19_999].map((index) => `secret-${index.toString(36).padStart(6, '0')}`);
  assert.is(
    many.mask(`token ${first} in a line, ${last} too, secret-00zzzz not`),
    'token [REDACTED] in a line, [REDACTED] too, secret-00zzzz not',
  );
});

test('short values are not held (they would mask ordinary words), nor values longer than any credential', () => {
  const registry = new SecretRegistry();
  const huge = 'x'.repeat(MAX_MASKED_LENGTH + 1);
  registry.hold('a', 'values', ['abc', undefined, huge]);
  assert.is(registry.size, 0);
  assert.is(registry.mask('abc'), 'abc');
  registry.hold('a', 'values', ['y'.repeat(MAX_MASKED_LENGTH)]);
  assert.is(registry.size, 1, 'up to the longest a credential can be');
});

test('holding a part again replaces what it held: a value no part holds any more is forgotten', () => {
  const registry = new SecretRegistry();
  for (let round = 0; round < 300; round++) registry.hold('InfluxOnboarding ns/a', 'references', [`password-${round}`]);
  assert.is(registry.size, 1, 'one value, the latest, after 300 replacements');
  assert.is(registry.mask('password-299'), '[REDACTED]');
  assert.is(registry.mask('password-298'), 'password-298');
  registry.hold('InfluxOnboarding ns/a', 'references', []);
  assert.is(registry.size, 0);
});

test('a value held by several parts or owners stays until the last lets go; release drops every part of an owner', () => {
  const registry = new SecretRegistry();
  registry.hold('InfluxOnboarding ns/a', 'credentials', [TOKEN, PASSWORD]);
  registry.hold('InfluxOnboarding ns/a', 'references', [PASSWORD]);
  registry.hold('InfluxToken ns/t', 'secret', [TOKEN]);
  registry.hold('InfluxOnboarding ns/a', 'credentials', [TOKEN]);
  assert.is(registry.mask(PASSWORD), '[REDACTED]', 'still held by the references');
  registry.release('InfluxOnboarding ns/a');
  assert.is(registry.mask(PASSWORD), PASSWORD);
  assert.is(registry.mask(TOKEN), '[REDACTED]', 'still held by the token');
  registry.release('InfluxToken ns/t');
  assert.is(registry.size, 0);
  registry.release('InfluxToken ns/t');
  assert.is(registry.size, 0, 'releasing twice is harmless');
});

test('random holds and releases over owners and parts: a value is masked exactly while some part of some owner holds it', () => {
  const registry = new SecretRegistry();
  const model = new Map<string, Map<string, string[]>>();
  const owners = ['InfluxOnboarding ns/a', 'InfluxOnboarding ns/b', 'InfluxToken ns/t'];
  const parts = ['credentials', 'pending', 'references', 'created'];
  const values = Array.from({ length: 8 }, (_, index) => `secret-value-${index}`);
  let seed = 7;
  const random = (below: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % below;
  };
  for (let step = 0; step < 3000; step++) {
    const owner = owners[random(owners.length)];
    if (random(10) === 0) {
      registry.release(owner);
      model.delete(owner);
    } else {
      const part = parts[random(parts.length)];
      const held = Array.from({ length: random(3) }, () => values[random(values.length)]);
      registry.hold(owner, part, held);
      const ownerParts = model.get(owner) ?? new Map<string, string[]>();
      ownerParts.set(part, held);
      model.set(owner, ownerParts);
    }
    const expected = new Set([...model.values()].flatMap((ownerParts) => [...ownerParts.values()].flat()));
    assert.is(registry.size, expected.size, `step ${step}`);
    for (const value of values)
      assert.is(registry.mask(value), expected.has(value) ? '[REDACTED]' : value, `step ${step}: ${value}`);
  }
});

test('values whose prefixes differ but are filed under one number are told apart and forgotten one by one', () => {
  const registry = new SecretRegistry();
  // "Aa" and "BB" make the same number (31 x 65 + 97 = 31 x 66 + 66), so these prefixes do too.
  const first = 'AaAaAa-first-secret';
  const second = 'BBBBBB-second-secret';
  registry.hold('InfluxOnboarding ns/a', 'credentials', [first]);
  registry.hold('InfluxOnboarding ns/b', 'credentials', [second]);
  assert.is(
    registry.mask(`${first} ${second} AaAaAa-other BBBBBB-other`),
    '[REDACTED] [REDACTED] AaAaAa-other BBBBBB-other',
  );
  registry.release('InfluxOnboarding ns/a');
  assert.is(registry.mask(`${first} ${second}`), `${first} [REDACTED]`);
  registry.release('InfluxOnboarding ns/b');
  assert.is(registry.mask(second), second);
  assert.is(registry.size, 0);
});

test('values sharing a prefix are forgotten one by one, the others still masked', () => {
  const registry = new SecretRegistry();
  registry.hold('a', 'values', ['shared-1', 'shared-2', 'shared-3']);
  registry.hold('a', 'values', ['shared-1', 'shared-3']);
  assert.equal(
    ['shared-1', 'shared-2', 'shared-3'].map((value) => registry.mask(value)),
    ['[REDACTED]', 'shared-2', '[REDACTED]'],
  );
  registry.hold('a', 'values', ['shared-3']);
  assert.equal(
    ['shared-1', 'shared-3'].map((value) => registry.mask(value)),
    ['shared-1', '[REDACTED]'],
  );
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
    registry.hold('InfluxOnboarding ns/a', 'credentials', [TOKEN, PASSWORD]);
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
