import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, redactRecord, SecretRegistry, type LogFormat } from '../../src/log.js';

const test = suite('log redaction');

const TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const PASSWORD = 'Sup3r-Secret-Passw0rd';

function capture(format: LogFormat, registry: SecretRegistry): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format, registry, stream }), lines };
}

test('credential-named fields are masked whatever they hold; references to them are not', () => {
  const registry = new SecretRegistry();
  const record = redactRecord(
    { token: 'abc', password: 'def', authorization: 'Token x', nested: { apiToken: 'ghi' }, tokenSecretRef: 'my-secret', passwordLength: 12 },
    registry,
  );
  assert.equal(record, {
    token: '[REDACTED]',
    password: '[REDACTED]',
    authorization: '[REDACTED]',
    nested: { apiToken: '[REDACTED]' },
    tokenSecretRef: 'my-secret',
    passwordLength: 12,
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
