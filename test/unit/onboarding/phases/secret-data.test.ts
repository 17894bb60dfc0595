/**
 * The credentials Secret with spec.secretTemplate: the template's keys rendered from the same
 * values as the Secret's own (a rotated token and its rendered keys in one write), and a Secret
 * whose template keys, labels or annotations differ is written again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CredentialsSecret } from '../../../../src/api/credentials.js';
import { checkSpec } from '../../../../src/api/spec.js';
import type { EffectiveSpec } from '../../../../src/api/types.js';
import { desiredSecret, secretMatches } from '../../../../src/onboarding/phases/secret-data.js';
import { BASE_SPEC, resource } from '../../../support/facts.js';

function spec(secretTemplate?: unknown): EffectiveSpec {
  const checked = checkSpec({ metadata: resource().metadata, spec: { ...BASE_SPEC, secretTemplate } });
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return checked.spec;
}

const CONFIGS = {
  data: { 'influx-configs': 'token = "{{ .token }}" url = "{{ .url }}"' },
  metadata: { labels: { team: 'platform' } },
};
const CREDENTIALS = { username: 'admin', password: 'the-password', token: 'tok+en==' };

test('the template is rendered from the Secret values, the token as it is (no escaping)', () => {
  const desired = desiredSecret(spec(CONFIGS), CREDENTIALS);
  assert.equal(desired.templated, {
    data: { 'influx-configs': `token = "tok+en==" url = "${desired.data.url}"` },
    labels: { team: 'platform' },
    annotations: {},
  });
  const rotated = desiredSecret(spec(CONFIGS), { ...CREDENTIALS, token: 'new-token' });
  assert.match(rotated.templated?.data['influx-configs'] ?? '', 'token = "new-token"', 'a new token, rendered with it');
  assert.is(desiredSecret(spec(), CREDENTIALS).templated, undefined);
});

test('secretMatches: the template keys, labels and annotations count; a Secret without the template is written again', () => {
  const desired = desiredSecret(spec(CONFIGS), CREDENTIALS);
  const held: CredentialsSecret = {
    state: 'owned',
    data: desired.data,
    garbageCollected: desired.garbageCollected,
    tls: desired.tls,
    ...(desired.templated && { templated: desired.templated }),
  };
  assert.ok(secretMatches(held, desired));
  const { templated: _none, ...plain } = held;
  assert.not.ok(secretMatches(plain, desired), 'the template keys are missing');
  assert.not.ok(
    secretMatches({ ...held, templated: { ...desired.templated!, labels: {} } }, desired),
    'a label dropped by hand',
  );
  assert.not.ok(secretMatches(held, desiredSecret(spec(), CREDENTIALS)), 'a template removed: its keys go');
  assert.ok(secretMatches(plain, desiredSecret(spec(), CREDENTIALS)));
});

test.run();
