// The preconditions phases alone: each lets the decision go on when its concern holds, and ends
// it with its own reason when not; none sends anything anywhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reason } from '../../../../src/api/types.js';
import {
  escrowApproved,
  instanceOwned,
  invalidSpec,
  referencedValuesValid,
  referencesConsent,
  referencesFound,
  secretOurs,
  soleTarget,
} from '../../../../src/onboarding/phases/preconditions.js';
import {
  DRIFT_MS,
  FOREIGN,
  INFLUX_URL,
  REF_PASSWORD,
  REF_TOKEN,
  facts,
  found,
  missing,
  resource,
  situationOf,
} from '../../../support/facts.js';

const WAIT = { kind: 'after', ms: DRIFT_MS };
const passwordRef = { passwordSecretRef: { name: 'influx-admin', key: 'password' } };
const tokenRef = { tokenSecretRef: { name: 'influx-admin', key: 'token' } };

test('invalidSpec: the problems joined, nothing tried again until the spec changes', () => {
  const finish = invalidSpec(facts(), ['spec.url: required', 'spec.org: required']);
  assert.is(finish.reason, Reason.InvalidSpec);
  assert.is(finish.message, 'spec.url: required; spec.org: required');
  assert.equal(finish.requeue, { kind: 'none' });
});

test('instanceOwned: goes on when the namespace may target the instance; else NotPermitted in the words instance.ts gave, waiting for a change (no retry)', () => {
  assert.is(instanceOwned(situationOf(facts())), undefined);
  const refusal =
    'spec.url names Service influxdb of namespace team-a, so the InfluxDB there belongs to namespace team-a';
  const finish = instanceOwned(situationOf(facts({ notPermitted: refusal })));
  assert.is(finish?.reason, Reason.NotPermitted);
  assert.is(finish?.message, refusal);
  assert.equal(finish?.requeue, { kind: 'none' });
  assert.equal(finish?.event, { type: 'Warning', reason: Reason.NotPermitted, message: refusal });
});

test('escrowApproved: goes on without an unapproved copy; with one, EscrowApprovalRequired ends with the approval command for this UID, looked at again at the next drift check', () => {
  assert.is(escrowApproved(situationOf(facts())), undefined);
  const escrow = { namespace: 'influx-onboarding', name: 'influx-onboarding-escrow-0123' };
  const situation = situationOf(facts({ escrowApprovalNeeded: escrow }));
  const finish = escrowApproved(situation);
  assert.is(finish?.reason, Reason.EscrowApprovalRequired);
  const { uid } = situation.facts.resource.metadata;
  assert.ok(
    finish?.message.endsWith(
      `kubectl annotate secret -n influx-onboarding influx-onboarding-escrow-0123 influxdb.onboarding.dev/escrow-approved-uid=${uid}`,
    ),
    finish?.message,
  );
  assert.equal(finish?.requeue, WAIT);
});

test('soleTarget: goes on alone; behind another resource for the instance, DuplicateTarget waits for the next drift check', () => {
  assert.is(soleTarget(situationOf(facts())), undefined);
  const finish = soleTarget(situationOf(facts({ duplicateOf: 'other/first' })));
  assert.is(finish?.reason, Reason.DuplicateTarget);
  assert.match(finish?.message ?? '', 'other/first');
  assert.match(finish?.message ?? '', INFLUX_URL);
  assert.equal(finish?.requeue, WAIT);
});

test('referencesFound: every declared reference read; an undeclared one does not count; the problems of the rest joined', () => {
  const declared = resource({ spec: { ...passwordRef } });
  assert.is(
    referencesFound(situationOf(facts({ resource: declared, references: { password: found(REF_PASSWORD) } }))),
    undefined,
  );
  assert.is(referencesFound(situationOf(facts({ references: { password: missing('stale') } }))), undefined);
  const finish = referencesFound(
    situationOf(facts({ resource: declared, references: { password: missing('no Secret influx-admin') } })),
  );
  assert.is(finish?.reason, Reason.SecretNotFound);
  assert.is(finish?.message, 'no Secret influx-admin');
  assert.equal(finish?.requeue, WAIT);
  const unread = referencesFound(situationOf(facts({ resource: declared })));
  assert.is(unread?.message, 'a referenced Secret was not read');
});

test('referencesConsent: a Secret whose annotation names spec.url, or consent not required; else SecretNotPermitted once per Secret', () => {
  const both = resource({ spec: { ...passwordRef, ...tokenRef } });
  const withoutConsent = { password: found(REF_PASSWORD, []), token: found(REF_TOKEN, []) };
  assert.is(
    referencesConsent(
      situationOf(facts({ resource: both, references: { password: found(REF_PASSWORD), token: found(REF_TOKEN) } })),
    ),
    undefined,
  );
  assert.is(
    referencesConsent(situationOf(facts({ resource: both, references: withoutConsent, requireSecretConsent: false }))),
    undefined,
  );
  const finish = referencesConsent(situationOf(facts({ resource: both, references: withoutConsent })));
  assert.is(finish?.reason, Reason.SecretNotPermitted);
  assert.is(
    finish?.message.split('Secret influx-admin allows').length,
    2,
    'password and token share one Secret: one problem',
  );
  assert.match(finish?.message ?? '', 'allows no URL');
  assert.equal(finish?.requeue, WAIT);
  assert.not.match(finish?.message ?? '', REF_TOKEN);
});

test('referencedValuesValid: a password of 8 to 72 bytes, tokens without whitespace; else InvalidSpec, looked at again when the Secret changes', () => {
  const declared = resource({ spec: { ...passwordRef, ...tokenRef } });
  const valid = { password: found(REF_PASSWORD), token: found(REF_TOKEN) };
  assert.is(referencedValuesValid(situationOf(facts({ resource: declared, references: valid }))), undefined);
  const finish = referencedValuesValid(
    situationOf(
      facts({ resource: declared, references: { password: found('short'), token: found(`${REF_TOKEN}\n`) } }),
    ),
  );
  assert.is(finish?.reason, Reason.InvalidSpec);
  assert.match(finish?.message ?? '', 'it has 5');
  assert.match(finish?.message ?? '', 'whitespace or a control character');
  assert.equal(finish?.requeue, WAIT);
});

test("secretOurs: absent or the operator's own goes on; a foreign Secret is SecretConflict and never written", () => {
  assert.is(secretOurs(situationOf(facts())), undefined);
  const finish = secretOurs(situationOf(facts({ secret: FOREIGN })));
  assert.is(finish?.reason, Reason.SecretConflict);
  assert.equal(finish?.requeue, WAIT);
});

test.run();
