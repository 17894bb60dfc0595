// The drift schedule: a Ready resource whose inputs are unchanged waits for its next check; any
// change of what a reconcile decides on (the resource's version, its Secret, its references, a
// collision, a refusal) checks it again at once, as does a Secret whose version is not known.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CredentialsSecret } from '../../../src/api/credentials.js';
import { inputsOf, type CheckInputs } from '../../../src/onboarding/drift-schedule.js';
import { DriftSchedule } from '../../../src/runtime/drift-schedule.js';
import type { Facts } from '../../../src/onboarding/facts.js';
import { facts, GEN_PASSWORD, GEN_TOKEN, ownedSecret, REF_PASSWORD, resource } from '../../support/facts.js';

const KEY = 'monitoring/metrics';
const DUE_MS = 300_000;

function secretAt(resourceVersion: string | undefined): CredentialsSecret {
  return ownedSecret({ username: 'admin', password: GEN_PASSWORD, token: GEN_TOKEN }, false, {
    ...(resourceVersion !== undefined && { resourceVersion }),
  });
}

function at(resourceVersion: string): Facts['resource'] {
  const object = resource();
  return { ...object, metadata: { ...object.metadata, resourceVersion } };
}

const checkedFacts = (overrides: Partial<Facts> = {}): Facts =>
  facts({ resource: at('10'), secret: secretAt('20'), ...overrides });

function scheduled(clock: { now: number }): DriftSchedule<CheckInputs> {
  const schedule = new DriftSchedule<CheckInputs>(() => new Date(clock.now));
  schedule.checked(KEY, inputsOf(checkedFacts()), DUE_MS);
  return schedule;
}

test('unchanged inputs (rebuilt by a later reconcile, references too) wait for the rest of the interval, then not', () => {
  const clock = { now: 1_000_000 };
  const schedule = scheduled(clock);
  clock.now += 100_000;
  assert.is(schedule.unchangedFor(KEY, inputsOf(checkedFacts({ references: {} }))), 200_000);
  clock.now += 200_000;
  assert.is(schedule.unchangedFor(KEY, inputsOf(checkedFacts())), undefined, 'due');
  assert.is(scheduled(clock).unchangedFor('monitoring/other', inputsOf(checkedFacts())), undefined, 'never checked');
});

test('every input that changed checks again at once', () => {
  const changes: Array<[string, Partial<Facts>]> = [
    ['the resource', { resource: at('11') }],
    ['the Secret', { secret: secretAt('21') }],
    ['the Secret gone', { secret: { state: 'absent' } }],
    ['the Secret foreign', { secret: { state: 'foreign' } }],
    ['a reference', { references: { password: { found: true, value: REF_PASSWORD, allowedUrls: [] } } }],
    ['a collision', { duplicateOf: 'monitoring/first' }],
    ['a refusal', { notPermitted: 'not yours' }],
  ];
  for (const [what, change] of changes) {
    const clock = { now: 1_000_000 };
    assert.is(scheduled(clock).unchangedFor(KEY, inputsOf(checkedFacts(change))), undefined, what);
  }
});

test('a Secret without a version is never unchanged; a Secret that is absent or foreign is known by its state', () => {
  const clock = { now: 1_000_000 };
  const schedule = new DriftSchedule<CheckInputs>(() => new Date(clock.now));
  const unversioned = inputsOf(checkedFacts({ secret: secretAt(undefined) }));
  assert.is(unversioned, undefined);
  schedule.checked(KEY, unversioned, DUE_MS);
  assert.is(schedule.unchangedFor(KEY, unversioned), undefined);
  for (const secret of [{ state: 'absent' }, { state: 'foreign' }] as const) {
    const inputs = inputsOf(checkedFacts({ secret }));
    schedule.checked(KEY, inputs, DUE_MS);
    assert.is(schedule.unchangedFor(KEY, inputsOf(checkedFacts({ secret }))), DUE_MS, secret.state);
  }
  schedule.forget(KEY);
  assert.is(
    schedule.unchangedFor(KEY, inputsOf(checkedFacts({ secret: { state: 'absent' } }))),
    undefined,
    'forgotten',
  );
});

test.run();
