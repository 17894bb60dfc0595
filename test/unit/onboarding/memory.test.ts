// The credential memory: what a resource's Secret held, bound to its instance, for this very
// resource (its uid) only, and held for the log redaction while it is remembered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SecretRegistry } from '../../../src/log.js';
import type { BoundCredentials } from '../../../src/onboarding/facts.js';
import { CredentialMemory } from '../../../src/onboarding/memory.js';
import { GEN_PASSWORD, GEN_TOKEN, INFLUX_URL, NO_TLS, resource } from '../../support/facts.js';

const KEY = 'monitoring/metrics';

function withUid(uid: string): ReturnType<typeof resource> {
  const object = resource();
  return { ...object, metadata: { ...object.metadata, uid } };
}

const credentials = { username: 'admin', password: GEN_PASSWORD, token: GEN_TOKEN };

test('the credentials come back as they were remembered, the target with exactly the parts it had', () => {
  const targets: Array<BoundCredentials['target']> = [{ url: INFLUX_URL, tls: NO_TLS }, { url: INFLUX_URL }, {}];
  for (const target of targets) {
    const memory = new CredentialMemory(new SecretRegistry());
    memory.remember(KEY, withUid('u1'), { credentials, target });
    assert.equal(memory.of(KEY, withUid('u1')), { credentials, target }, JSON.stringify(target));
  }
});

test('another resource under the same name gets nothing, and the redaction lets its values go', () => {
  const registry = new SecretRegistry();
  const memory = new CredentialMemory(registry);
  memory.remember(KEY, withUid('u1'), { credentials, target: { url: INFLUX_URL, tls: NO_TLS } });
  assert.is(registry.mask(GEN_TOKEN), '[REDACTED]');
  assert.is(memory.of(KEY, withUid('u2')), undefined);
  assert.is(memory.of(KEY, withUid('u1')), undefined, 'forgotten, not kept aside');
  assert.is(registry.mask(GEN_TOKEN), GEN_TOKEN);
});

test('equal credentials remembered again keep the first copy; others replace it; forget releases them', () => {
  const registry = new SecretRegistry();
  const memory = new CredentialMemory(registry);
  const target = { url: INFLUX_URL, tls: NO_TLS };
  memory.remember(KEY, withUid('u1'), { credentials, target });
  memory.remember(KEY, withUid('u1'), { credentials: { ...credentials }, target: { ...target } });
  assert.is(memory.of(KEY, withUid('u1'))?.credentials.token, GEN_TOKEN);
  const rotated = { ...credentials, token: 'RotatedTok-0123456789abcdef' };
  memory.remember(KEY, withUid('u1'), { credentials: rotated, target });
  assert.equal(memory.of(KEY, withUid('u1')), { credentials: rotated, target });
  assert.is(registry.mask(GEN_TOKEN), GEN_TOKEN, 'the old token is no longer held');
  assert.is(registry.mask(rotated.token), '[REDACTED]');
  memory.forget(KEY);
  assert.is(memory.of(KEY, withUid('u1')), undefined);
  assert.is(registry.size, 0);
});

test.run();
