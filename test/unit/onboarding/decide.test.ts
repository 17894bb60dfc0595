/**
 * decide(): every branch, case by case, then properties over thousands of random facts and a
 * crash-injecting model of InfluxDB + Kubernetes that checks the Secret never loses a token
 * InfluxDB accepted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSpec } from '../../../src/api/spec.js';
import { sameInstance, tlsSettings } from '../../../src/api/instance-identity.js';
import {
  ALLOWED_URLS_ANNOTATION,
  ONBOARD_FROM_ANNOTATION,
  READY,
  RETARGET_ANNOTATION,
  ROTATE_PASSWORD_ANNOTATION,
  ROTATE_TOKEN_ANNOTATION,
  Reason,
  type Condition,
  type InfluxOnboardingSpec,
  type InfluxOnboardingStatus,
} from '../../../src/api/types.js';
import type { Authorization, BucketState, Deletion, Outcome } from '../../../src/influx/types.js';
import { withReady } from '../../../src/api/reconcile.js';
import type { Requeue } from '../../../src/runtime/steps.js';
import { credentialsIn, secretMatches } from '../../../src/onboarding/phases/secret-data.js';
import type { Finish, Step } from '../../../src/onboarding/step.js';
import {
  ABSENT,
  AUTH_TOKEN,
  DRIFT_MS,
  EARLIER,
  FOREIGN,
  GEN_PASSWORD,
  GEN_TOKEN,
  IDS,
  INFLUX_URL,
  MEMO_PASSWORD,
  MEMO_TOKEN,
  NO_TLS,
  NOW,
  OPERATOR_PERMISSIONS,
  REF_PASSWORD,
  REF_TOKEN,
  SECRET_NAME,
  SECRET_VALUES,
  STORED_PASSWORD,
  STORED_TOKEN,
  VERSION,
  alreadySetUp,
  apply,
  credentials,
  decideRecorded,
  desiredSecret,
  drive,
  facts,
  failedStatus,
  finishesSeen,
  found,
  freshWorld,
  health,
  leaks,
  missing,
  ok,
  onboardedStatus,
  only,
  owner,
  ownedSecret,
  pick,
  prng,
  readyCondition,
  refused,
  rejected,
  rejectedFailure,
  rememberedAt,
  ROTATED_AUTHORIZATION_ID,
  ROTATED_TOKEN,
  authorization,
  resource,
  secretData,
  setUpWorld,
  setupResult,
  unauthorized,
  unreachable,
  unreachableFailure,
  type Credentials,
  type CredentialsSecret,
  type Facts,
  type World,
} from '../../support/facts.js';
import type { Reference } from '../../../src/api/credentials.js';
import { createdAuthorization } from '../../support/access-facts.js';

/** What the reconciler finds when spec.url reaches another namespace's instance (instance.ts words it). */
const NOT_PERMITTED =
  'spec.url names Service influxdb of namespace team-a, so the InfluxDB there belongs to namespace team-a, not to namespace monitoring; nothing is sent to it';
/** The escrow Secret holding a copy taken from another resource of this name. */
const ESCROW_SECRET = { namespace: 'influx-onboarding', name: 'influx-onboarding-escrow-0123' };

// ---------------------------------------------------------------------------------------------
// helpers

function finishOf(step: Step): Finish {
  if (step.kind !== 'finish') throw new Error(`expected a finish, got step ${step.kind}`);
  return step;
}

function readyOf(finish: Finish): Condition {
  const all = (finish.status.conditions ?? []).filter((condition) => condition.type === READY);
  assert.is(all.length, 1, 'exactly one Ready condition');
  return all[0];
}

function noLeaks(finish: Finish): void {
  assert.equal(leaks(finish), [], 'no credential in the finish');
}

const STORED = credentials('admin', STORED_PASSWORD, STORED_TOKEN);
const MEMO = credentials('admin', MEMO_PASSWORD, MEMO_TOKEN);
const ONBOARDED_MESSAGE = `InfluxDB at ${INFLUX_URL} is onboarded; credentials are in Secret ${SECRET_NAME}`;
const AFTER: Requeue = { kind: 'after', ms: DRIFT_MS };
const BACKOFF: Requeue = { kind: 'backoff' };
const NONE: Requeue = { kind: 'none' };

/** Facts with a spec patch and/or status on the resource. */
function given(
  spec: Partial<InfluxOnboardingSpec> & Record<string, unknown> = {},
  more: Partial<Facts> = {},
  status?: InfluxOnboardingStatus,
): Facts {
  return facts({ resource: resource({ spec, ...(status && { status }) }), ...more });
}

const passwordRef = { passwordSecretRef: { name: 'influx-admin', key: 'password' } };
const tokenRef = { tokenSecretRef: { name: 'influx-token', key: 'token' } };
const authRef = { authTokenSecretRef: { name: 'influx-super', key: 'token' } };
const caRef = { tls: { caSecretRef: { name: 'influx-ca', key: 'ca.crt' } } };
const setupUser = { mode: 'SetupUser' as const, ...authRef };

/** The same facts, but the resource's previous Ready condition carries `reason` (other status fields kept). */
function withPrevious(input: Facts, reason: string, status: Condition['status']): Facts {
  const previous = input.resource.status ?? {};
  return {
    ...input,
    resource: { ...input.resource, status: { ...previous, conditions: [readyCondition(status, reason)] } },
  };
}

// ---------------------------------------------------------------------------------------------
// Spec and references: nothing is sent

test('InvalidSpec: a spec error finishes at once, requeue none, naming the field, before any request', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ url: 'ftp://influxdb:8086' }, 'spec.url'],
    [{ url: 'http://admin:hunter2@influxdb:8086' }, 'spec.url'],
    [{ bucket: '_monitoring' }, 'spec.bucket'],
    [{ retentionPeriodSeconds: 3599 }, 'spec.retentionPeriodSeconds'],
    [{ mode: 'SetupUser' }, 'spec.authTokenSecretRef'],
    [{ resetPolicy: 'Ignore' }, 'spec.resetPolicy'],
    [{ requestTimeoutSeconds: 0 }, 'spec.requestTimeoutSeconds'],
    [{ passwordSecretRef: { name: 'Not_A_Name', key: 'password' } }, 'spec.passwordSecretRef.name'],
  ];
  for (const [spec, field] of cases) {
    // Even with a foreign Secret, a duplicate and a GET answer at hand, the spec comes first.
    const input = given(spec, { secret: FOREIGN, duplicateOf: 'monitoring/older', setupStatus: ok({ allowed: true }) });
    const finish = finishOf(decideRecorded(input));
    assert.is(finish.reason, Reason.InvalidSpec, JSON.stringify(spec));
    assert.equal(finish.requeue, NONE);
    assert.match(finish.message, field);
    assert.is(readyOf(finish).status, 'False');
    assert.equal(finish.event, { type: 'Warning', reason: Reason.InvalidSpec, message: finish.message });
    assert.not.match(finish.message, 'hunter2');
    noLeaks(finish);
  }
});

test('InvalidSpec: no second event while the reason stays; lastTransitionTime kept', () => {
  const input = given({ bucket: 'bad"name' }, {}, failedStatus(Reason.InvalidSpec));
  const finish = finishOf(decideRecorded(input));
  assert.is(finish.reason, Reason.InvalidSpec);
  assert.is(finish.event, undefined);
  assert.is(readyOf(finish).lastTransitionTime, EARLIER);
  assert.is(readyOf(finish).message, finish.message, 'the message is refreshed');
});

test('DuplicateTarget: an older resource onboards the same instance; no request; looked at again at the next drift check', () => {
  const run = drive(given({}, { duplicateOf: 'other-ns/first', secret: FOREIGN }), {});
  assert.equal(run.kinds, []);
  assert.is(run.finish.reason, Reason.DuplicateTarget);
  assert.equal(run.finish.requeue, AFTER);
  assert.match(run.finish.message, 'other-ns/first');
  assert.match(run.finish.message, INFLUX_URL);
  assert.is(readyOf(run.finish).status, 'False');
  assert.equal(run.finish.event, { type: 'Warning', reason: Reason.DuplicateTarget, message: run.finish.message });
});

test('SecretNotFound: each declared reference that cannot be read, joined; no request; looked at again at the next drift check', () => {
  const cases: Array<[Record<string, unknown>, Partial<Facts['references']>]> = [
    [passwordRef, { password: missing('Secret influx-admin not found') }],
    [tokenRef, { token: missing('Secret influx-token has no key token') }],
    [setupUser, { authToken: missing('Secret influx-super not found') }],
    [caRef, { ca: missing('Secret influx-ca not found') }],
  ];
  for (const [spec, references] of cases) {
    const run = drive(given(spec, { references: references }), {});
    assert.equal(run.kinds, [], JSON.stringify(spec));
    assert.is(run.finish.reason, Reason.SecretNotFound);
    assert.equal(run.finish.requeue, AFTER);
    const problem = Object.values(references)[0];
    assert.ok(problem && !problem.found);
    assert.is(run.finish.message, problem.problem);
    assert.equal(run.finish.event?.type, 'Warning');
  }
  const both = finishOf(
    decideRecorded(
      given(
        { ...passwordRef, ...tokenRef },
        { references: { password: missing('no password'), token: missing('no token') } },
      ),
    ),
  );
  assert.is(both.message, 'no password; no token');
});

test('SecretNotFound: a reference problem for a reference the spec does not declare is ignored', () => {
  const step = decideRecorded(given({}, { references: { password: missing('stale'), ca: missing('stale') } }));
  assert.is(step.kind, 'checkSetupStatus');
});

test('password from passwordSecretRef must be 8 to 72 bytes (InfluxDB limit, counted in UTF-8); value never echoed', () => {
  const cases: Array<[string, boolean]> = [
    ['', false],
    ['Sev3n!x', false],
    ['Eight8!x', true],
    ['p'.repeat(72), true],
    ['p'.repeat(73), false],
    ['é'.repeat(36), true],
    ['é'.repeat(37), false],
  ];
  for (const [password, accepted] of cases) {
    const step = decideRecorded(given(passwordRef, { references: { password: found(password) } }));
    if (accepted) {
      assert.is(step.kind, 'checkSetupStatus', `length ${password.length}`);
      continue;
    }
    const finish = finishOf(step);
    assert.is(finish.reason, Reason.InvalidSpec, `bytes ${Buffer.byteLength(password)}`);
    // The referenced Secret can be fixed without touching the resource: looked at again (its event, the next drift check).
    assert.equal(finish.requeue, AFTER);
    assert.match(finish.message, 'Secret influx-admin key password');
    assert.match(finish.message, `it has ${Buffer.byteLength(password)}`);
    if (password !== '') assert.equal(leaks(finish, [password]), []);
  }
});

test('tokens from tokenSecretRef / authTokenSecretRef: empty, whitespace (trailing newline) or control characters are rejected', () => {
  const bad = [
    `${REF_TOKEN}\n`,
    `${REF_TOKEN}\r\n`,
    ` ${REF_TOKEN}`,
    `${REF_TOKEN.slice(0, 10)} ${REF_TOKEN.slice(10)}`,
    `${REF_TOKEN}\t`,
    `${REF_TOKEN}\u0000`,
    `${REF_TOKEN}\u007f`,
    '',
  ];
  for (const token of bad) {
    const finish = finishOf(decideRecorded(given(tokenRef, { references: { token: found(token) } })));
    assert.is(finish.reason, Reason.InvalidSpec, JSON.stringify(token));
    assert.equal(finish.requeue, AFTER);
    assert.match(finish.message, 'Secret influx-token key token');
    assert.match(finish.message, token === '' ? 'empty' : 'whitespace or a control character');
    noLeaks(finish);

    const auth = finishOf(
      decideRecorded(given(setupUser, { references: { authToken: found(token.replace(REF_TOKEN, AUTH_TOKEN)) } })),
    );
    assert.is(auth.reason, Reason.InvalidSpec);
    assert.match(auth.message, 'Secret influx-super key token');
    noLeaks(auth);
  }
  assert.is(decideRecorded(given(tokenRef, { references: { token: found(REF_TOKEN) } })).kind, 'checkSetupStatus');
});

test('SecretConflict: a foreign Secret is never written and nothing is requested', () => {
  for (const world of [freshWorld(), setUpWorld(REF_TOKEN), {}]) {
    const run = drive(
      given(
        { ...tokenRef, ...passwordRef },
        { secret: FOREIGN, references: { token: found(REF_TOKEN), password: found(REF_PASSWORD) } },
      ),
      world,
    );
    assert.equal(run.kinds, []);
    assert.is(run.finish.reason, Reason.SecretConflict);
    assert.equal(run.finish.requeue, AFTER);
    assert.match(run.finish.message, `Secret ${SECRET_NAME}`);
    assert.equal(run.finish.event?.type, 'Warning');
    noLeaks(run.finish);
  }
});

test('Unreachable: GET /api/v2/setup failing stops the reconcile with backoff and the failure text', () => {
  const cases: Array<[World['setupStatus'], string]> = [
    [unreachable('timeout', 'no answer within 10s'), 'no answer within 10s'],
    [unreachable('not-influxdb', 'answered with text/html, not InfluxDB JSON'), 'not InfluxDB JSON'],
    [rejected(401, 'unauthorized', 'unauthorized access'), 'unauthorized: unauthorized access'],
  ];
  for (const [answer, text] of cases) {
    const run = drive(facts(), { setupStatus: answer });
    assert.equal(run.kinds, ['checkSetupStatus']);
    assert.is(run.finish.reason, Reason.Unreachable);
    assert.equal(run.finish.requeue, BACKOFF);
    assert.match(run.finish.message, INFLUX_URL);
    assert.match(run.finish.message, text);
    assert.equal(run.finish.event?.type, 'Warning');
  }
});

// ---------------------------------------------------------------------------------------------
// Setup on a fresh instance: the Secret first, then the POST with the same credentials

test('fresh instance: writeSecret strictly before postSetup, with identical credentials; Onboarded', () => {
  const run = drive(facts(), freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  const written = only(run, 'writeSecret');
  const expected = credentials('admin', GEN_PASSWORD, GEN_TOKEN);
  assert.equal(written.credentials, expected);
  assert.equal(written.secret, desiredSecret(expected, false));
  assert.equal(only(run, 'postSetup').request, {
    username: 'admin',
    password: GEN_PASSWORD,
    token: GEN_TOKEN,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });
  // The POST was decided from facts in which the Secret already holds exactly these values.
  const postFacts = run.trace.find((entry) => entry.step.kind === 'postSetup')?.facts;
  assert.equal(postFacts?.secret, ownedSecret(secretData(expected)));

  const { finish } = run;
  assert.is(finish.reason, Reason.Onboarded);
  assert.is(finish.message, ONBOARDED_MESSAGE);
  assert.equal(finish.requeue, AFTER);
  assert.equal(finish.event, { type: 'Normal', reason: Reason.Onboarded, message: ONBOARDED_MESSAGE });
  assert.equal(finish.status, {
    observedGeneration: 1,
    conditions: [
      {
        type: READY,
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: NOW,
        reason: Reason.Onboarded,
        message: ONBOARDED_MESSAGE,
      },
    ],
    secretName: SECRET_NAME,
    ...IDS,
    onboardedAt: NOW,
    influxdbVersion: VERSION,
    observedURL: INFLUX_URL,
    observedTLS: NO_TLS,
    username: 'admin',
    adopted: false,
    passwordCheckedAt: NOW,
  });
  noLeaks(finish);
});

test('fresh instance: referenced password and token are what is stored and sent; retention passes through', () => {
  const input = given(
    { ...passwordRef, ...tokenRef, retentionPeriodSeconds: 86_400 },
    { references: { password: found(REF_PASSWORD), token: found(REF_TOKEN) } },
  );
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  const creds = credentials('admin', REF_PASSWORD, REF_TOKEN);
  assert.equal(only(run, 'writeSecret').secret.data, secretData(creds));
  assert.equal(only(run, 'postSetup').request, {
    ...creds,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 86_400,
  });
  assert.is(run.finish.reason, Reason.Onboarded);
  noLeaks(run.finish);
});

test('deletionPolicy: Delete makes the desired Secret garbage-collected, Retain does not; a mismatch is rewritten before the POST', () => {
  for (const [policy, gc] of [
    ['Delete', true],
    ['Retain', false],
  ] as const) {
    const run = drive(given({ credentialsSecret: { deletionPolicy: policy } }), freshWorld());
    assert.is(only(run, 'writeSecret').secret.garbageCollected, gc, policy);
  }
  // The Secret holds the right credentials but the wrong ownership: rewritten, then posted.
  const input = given(
    { credentialsSecret: { deletionPolicy: 'Delete' } },
    { secret: ownedSecret(secretData(STORED), false) },
  );
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.equal(only(run, 'writeSecret').secret, desiredSecret(STORED, true));
  assert.equal(only(run, 'postSetup').request.token, STORED_TOKEN);
});

test('credentialsSecret.name is the Secret written and reported', () => {
  const run = drive(given({ credentialsSecret: { name: 'custom-creds' } }), freshWorld());
  assert.is(only(run, 'writeSecret').secret.name, 'custom-creds');
  assert.is(run.finish.status.secretName, 'custom-creds');
  assert.match(run.finish.message, 'Secret custom-creds');
});

test('crash after the Secret write: the next reconcile posts the same credentials again, without rewriting', () => {
  // New generated values in the new reconcile must not be used: the Secret's are.
  const input = facts({ secret: ownedSecret(secretData(STORED)), remembered: rememberedAt(STORED) });
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'postSetup', 'checkHealth']);
  assert.equal(only(run, 'postSetup').request, {
    ...STORED,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });
  assert.is(run.finish.reason, Reason.Onboarded);
  noLeaks(run.finish);
});

test('crash after the Secret write, then the process restarted (nothing remembered): same credentials from the Secret', () => {
  const run = drive(facts({ secret: ownedSecret(secretData(STORED)) }), freshWorld());
  assert.equal(only(run, 'postSetup').request.password, STORED_PASSWORD);
  assert.equal(only(run, 'postSetup').request.token, STORED_TOKEN);
});

test('tokenSecretRef and passwordSecretRef values win over what the Secret holds (and are stored before the POST)', () => {
  const input = given(
    { ...tokenRef, ...passwordRef },
    {
      secret: ownedSecret(secretData(STORED)),
      remembered: rememberedAt(STORED),
      references: { token: found(REF_TOKEN), password: found(REF_PASSWORD) },
    },
  );
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  const want = credentials('admin', REF_PASSWORD, REF_TOKEN);
  assert.equal(only(run, 'writeSecret').credentials, want);
  assert.equal(only(run, 'postSetup').request, {
    ...want,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });

  // Only the token referenced: the stored password is kept.
  const tokenOnly = drive(
    given(tokenRef, { secret: ownedSecret(secretData(STORED)), references: { token: found(REF_TOKEN) } }),
    freshWorld(),
  );
  assert.equal(only(tokenOnly, 'postSetup').request.password, STORED_PASSWORD);
  assert.equal(only(tokenOnly, 'postSetup').request.token, REF_TOKEN);
});

test('Secret deleted before the POST landed: remembered credentials are written back, then posted', () => {
  const run = drive(facts({ secret: ABSENT, remembered: rememberedAt(MEMO) }), freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.equal(only(run, 'writeSecret').credentials, MEMO);
  assert.equal(only(run, 'postSetup').request.token, MEMO_TOKEN);
  assert.equal(only(run, 'postSetup').request.password, MEMO_PASSWORD);
});

test('an owned Secret without a token (edited by hand) falls back to remembered credentials, else to generated ones', () => {
  const partial = ownedSecret({ ...secretData(STORED), token: '' });
  const remembered = drive(facts({ secret: partial, remembered: rememberedAt(MEMO) }), freshWorld());
  assert.equal(only(remembered, 'writeSecret').credentials, MEMO);
  const generated = drive(facts({ secret: partial }), freshWorld());
  assert.equal(only(generated, 'writeSecret').credentials, credentials('admin', GEN_PASSWORD, GEN_TOKEN));
});

test('the POST answer: conflict and the instance now set up -> Progressing (Unknown, no event); unreachable -> Unreachable; other refusal -> SetupFailed', () => {
  const conflict = drive(facts(), freshWorld({ postSetup: alreadySetUp(), setupRecheck: ok({ allowed: false }) }));
  assert.equal(conflict.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'recheckSetupStatus']);
  assert.is(conflict.finish.reason, Reason.Progressing);
  assert.is(readyOf(conflict.finish).status, 'Unknown');
  assert.equal(conflict.finish.requeue, BACKOFF);
  assert.is(conflict.finish.event, undefined);

  const lost = drive(facts(), freshWorld({ postSetup: unreachable('timeout', 'no answer within 10s') }));
  assert.is(lost.finish.reason, Reason.Unreachable);
  assert.equal(lost.finish.requeue, BACKOFF);
  assert.match(lost.finish.message, 'no answer within 10s');

  const refused = drive(
    facts(),
    freshWorld({ postSetup: rejected(400, 'invalid', 'passwords must be between 8 and 72 characters long') }),
  );
  assert.is(refused.finish.reason, Reason.SetupFailed);
  assert.equal(refused.finish.requeue, NONE, 'a refusal waits for a spec change');
  assert.match(refused.finish.message, 'invalid: passwords must be between 8 and 72 characters long');
  assert.match(refused.finish.message, 'nothing is sent again until the spec changes');
  assert.equal(refused.finish.event, { type: 'Warning', reason: Reason.SetupFailed, message: refused.finish.message });
  for (const run of [lost, refused]) assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup']);
  for (const run of [conflict, lost, refused]) {
    assert.is(run.finish.status.onboardedAt, undefined, 'not onboarded');
    noLeaks(run.finish);
  }
});

test('mode Setup: conflict while the instance still says it is not set up is a fixed refusal: SetupFailed, no POST again in this generation; a recheck that fails is Unreachable', () => {
  const cases: Array<[Outcome<{ allowed: boolean }>, Reason, Requeue]> = [
    [ok({ allowed: true }), Reason.SetupFailed, NONE],
    [ok({ allowed: false }), Reason.Progressing, BACKOFF],
    [unreachable(), Reason.Unreachable, BACKOFF],
  ];
  for (const [recheck, reason, requeue] of cases) {
    const run = drive(
      facts(),
      freshWorld({
        postSetup: rejected(422, 'conflict', 'onboarding has already been completed'),
        setupRecheck: recheck,
      }),
    );
    assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'recheckSetupStatus'], reason);
    assert.is(run.finish.reason, reason);
    assert.equal(run.finish.requeue, requeue, reason);
    noLeaks(run.finish);
  }
  const fixed = drive(
    facts(),
    freshWorld({ postSetup: rejected(422, 'conflict', 'onboarding has already been completed') }),
  );
  assert.match(fixed.finish.message, 'conflict: onboarding has already been completed');
  assert.match(fixed.finish.message, 'still reports that it is not set up');
  assert.match(fixed.finish.message, 'nothing is sent again until the spec changes');
  assert.equal(fixed.finish.event?.type, 'Warning');
  // The instance stays fresh: the next reconcile of the same generation sends nothing.
  const again = drive(
    facts({ resource: resource({ status: fixed.finish.status }), secret: fixed.facts.secret }),
    freshWorld(),
  );
  assert.equal(again.kinds, ['checkSetupStatus']);
  assert.is(again.finish.reason, Reason.SetupFailed);
  assert.equal(again.finish.requeue, NONE);
  // A new generation posts again.
  const changed = drive(
    facts({ resource: resource({ status: fixed.finish.status, generation: 2 }), secret: fixed.facts.secret }),
    freshWorld(),
  );
  assert.ok(changed.kinds.includes('postSetup'));
});

test('writeSecret finds a Secret someone else just created: SecretConflict, and no POST', () => {
  const run = drive(facts(), freshWorld({ writeSecret: 'foreign' }));
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret']);
  assert.is(run.finish.reason, Reason.SecretConflict);
});

// ---------------------------------------------------------------------------------------------
// An instance that is already set up

test('AlreadyOnboarded: set up by someone else and no token known -> no POST, no token check', () => {
  const run = drive(facts(), { setupStatus: ok({ allowed: false }) });
  assert.equal(run.kinds, ['checkSetupStatus']);
  assert.is(run.finish.reason, Reason.AlreadyOnboarded);
  assert.equal(run.finish.requeue, AFTER);
  assert.is(readyOf(run.finish).status, 'False');
  assert.match(run.finish.message, 'spec.tokenSecretRef');
  assert.equal(run.finish.event?.type, 'Warning');
});

test('crash after the POST: allowed is false, the stored token is valid -> Onboarded, IDs looked up', () => {
  const run = drive(facts({ secret: ownedSecret(secretData(STORED)) }), setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'lookupIDs', 'checkPassword', 'checkHealth']);
  assert.is(only(run, 'checkToken').token, STORED_TOKEN);
  assert.equal(only(run, 'lookupIDs'), {
    kind: 'lookupIDs',
    token: STORED_TOKEN,
    org: 'acme',
    bucket: 'telemetry',
    userID: IDS.userID,
  });
  const { finish } = run;
  assert.is(finish.reason, Reason.Onboarded);
  assert.equal(finish.requeue, AFTER);
  assert.equal(finish.event?.type, 'Normal');
  assert.equal(finish.status, {
    observedGeneration: 1,
    conditions: [
      {
        type: READY,
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: NOW,
        reason: Reason.Onboarded,
        message: ONBOARDED_MESSAGE,
      },
    ],
    secretName: SECRET_NAME,
    userID: IDS.userID,
    orgID: IDS.orgID,
    bucketID: IDS.bucketID,
    authorizationID: IDS.authorizationID,
    onboardedAt: NOW,
    influxdbVersion: VERSION,
    observedURL: INFLUX_URL,
    observedTLS: NO_TLS,
    username: 'admin',
    adopted: false,
    passwordCheckedAt: NOW,
  });
  noLeaks(finish);
});

test('health failing never blocks Ready; an org and bucket that cannot be looked up do (Unreachable)', () => {
  const noHealth = drive(
    facts({ secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN, { health: unreachable() }),
  );
  assert.is(noHealth.finish.reason, Reason.Onboarded);
  assert.is(noHealth.finish.status.influxdbVersion, undefined);

  const noIDs = drive(
    facts({ secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN, { lookupIDs: unreachable() }),
  );
  assert.is(noIDs.finish.reason, Reason.Unreachable);
  assert.equal(noIDs.finish.requeue, BACKOFF);
  assert.is(noIDs.finish.status.orgID, undefined);

  const kept = drive(
    facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN, { health: unreachable() }),
  );
  assert.is(kept.finish.status.influxdbVersion, VERSION);
  assert.equal(
    kept.kinds,
    ['checkBucket', 'checkSetupStatus', 'checkToken', 'lookupIDs', 'checkHealth'],
    'IDs known: still looked up (org and bucket must exist)',
  );

  const upgraded = drive(
    facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN, { health: ok(health('v2.7.13')) }),
  );
  assert.is(upgraded.finish.status.influxdbVersion, 'v2.7.13');
});

test('IDs: looked up when either orgID or bucketID is unknown; a health answer without a version keeps the known one', () => {
  for (const missingID of ['orgID', 'bucketID'] as const) {
    const { [missingID]: _gone, ...status } = onboardedStatus();
    const run = drive(
      facts({ resource: resource({ status }), secret: ownedSecret(secretData(STORED)) }),
      setUpWorld(STORED_TOKEN),
    );
    assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'lookupIDs', 'checkHealth'], missingID);
    assert.is(run.finish.status[missingID], IDS[missingID]);
  }
  const versionless = drive(
    facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN, { health: ok(health(null)) }),
  );
  assert.is(versionless.finish.status.influxdbVersion, VERSION);
  const fresh = drive(facts(), freshWorld({ health: ok(health(null)) }));
  assert.not.ok('influxdbVersion' in fresh.finish.status, 'no undefined-valued key');
});

test('valid tokenSecretRef on an instance set up elsewhere: token checked, then stored, IDs looked up; no POST', () => {
  const input = given(tokenRef, { references: { token: found(REF_TOKEN) } });
  const run = drive(input, setUpWorld(REF_TOKEN));
  assert.is(run.finish.reason, Reason.Adopted);
  assert.equal(run.finish.event?.type, 'Normal');
  assert.is(run.finish.event?.reason, Reason.Adopted);
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.is(only(run, 'checkToken').token, REF_TOKEN);
  // Adopted without passwordSecretRef: the password is unknown, so the Secret holds an empty one.
  assert.equal(only(run, 'writeSecret').secret.data, secretData(credentials('admin', '', REF_TOKEN)));
  assert.is(readyOf(run.finish).status, 'True');
  assert.equal(run.finish.requeue, AFTER);
  assert.is(run.finish.status.orgID, IDS.orgID);
  assert.is(run.finish.status.onboardedAt, NOW);
  noLeaks(run.finish);

  const withPassword = drive(
    given({ ...tokenRef, ...passwordRef }, { references: { token: found(REF_TOKEN), password: found(REF_PASSWORD) } }),
    setUpWorld(REF_TOKEN),
  );
  assert.equal(only(withPassword, 'writeSecret').credentials, credentials('admin', REF_PASSWORD, REF_TOKEN));
});

test('Adopted: kept as the reason once Ready, with a message naming tokenSecretRef; steady state writes nothing', () => {
  const message = `Adopted InfluxDB at ${INFLUX_URL} with the token from Secret influx-token; credentials are in Secret ${SECRET_NAME}`;
  // Adoption never saw a setup answer: the authorizationID is what the lookup found (servers that list tokens).
  const status: InfluxOnboardingStatus = {
    ...onboardedStatus({ adopted: true }),
    conditions: [readyCondition('True', Reason.Adopted, message)],
  };
  const input = given(
    tokenRef,
    { references: { token: found(REF_TOKEN) }, secret: ownedSecret(secretData(credentials('admin', '', REF_TOKEN))) },
    status,
  );
  const run = drive(input, setUpWorld(REF_TOKEN));
  assert.equal(run.kinds, ['checkBucket']);
  assert.is(run.finish.reason, Reason.Adopted);
  assert.is(run.finish.message, message);
  assert.is(run.finish.event, undefined);
  assert.equal(run.finish.status, status);
  assert.equal(run.finish.requeue, AFTER);
});

test("adoption of an instance set up by someone else: org and bucket created with the operator token, the Secret names the token's user, the mismatch reported", () => {
  const input = given({ ...tokenRef, retentionPeriodSeconds: 86_400 }, { references: { token: found(REF_TOKEN) } });
  const run = drive(
    input,
    setUpWorld(REF_TOKEN, {
      checkToken: ok(owner('9a9b9c9d9e9f9091', 'someone')),
      lookupIDs: ok({}),
      repair: (step) => ok({ id: step.kind === 'createOrg' ? IDS.orgID : IDS.bucketID }),
    }),
  );
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'writeSecret',
    'lookupIDs',
    'createOrg',
    'createBucket',
    'checkHealth',
  ]);
  assert.equal(only(run, 'createOrg'), {
    kind: 'createOrg',
    token: REF_TOKEN,
    org: 'acme',
    repair: { done: 'created org acme', doing: 'creating org acme' },
  });
  const bucket = only(run, 'createBucket');
  assert.equal(
    [bucket.token, bucket.orgID, bucket.bucket, bucket.retentionSeconds],
    [REF_TOKEN, IDS.orgID, 'telemetry', 86_400],
  );
  assert.equal(
    only(run, 'writeSecret').secret.data.username,
    'someone',
    'the user the token belongs to, not spec.username',
  );
  const { finish } = run;
  assert.is(finish.reason, Reason.Adopted);
  assert.equal(
    [finish.status.username, finish.status.adopted, finish.status.userID, finish.status.orgID, finish.status.bucketID],
    ['someone', true, '9a9b9c9d9e9f9091', IDS.orgID, IDS.bucketID],
  );
  assert.match(finish.message, 'The token belongs to user someone, not spec.username admin');
  assert.equal(finish.event?.type, 'Normal');
  assert.is(finish.event?.reason, Reason.Adopted);
  assert.match(finish.event?.message ?? '', 'not spec.username admin');
  assert.match(finish.event?.message ?? '', 'created org acme; created bucket telemetry with retention 86400 s');
  noLeaks(finish);
});

test('drift after onboarding: a deleted bucket is re-created, a changed retention applied; Repaired event, reason kept', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const deleted = drive(
    input,
    setUpWorld(STORED_TOKEN, { lookupIDs: ok({ orgID: IDS.orgID }), repair: ok({ id: 'ffffffffffffffff' }) }),
  );
  assert.equal(deleted.kinds, [
    'checkBucket',
    'checkSetupStatus',
    'checkToken',
    'lookupIDs',
    'createBucket',
    'checkHealth',
  ]);
  assert.is(deleted.finish.reason, Reason.Onboarded);
  assert.is(deleted.finish.status.bucketID, 'ffffffffffffffff');
  assert.equal(deleted.finish.event, {
    type: 'Normal',
    reason: 'Repaired',
    message: `InfluxDB at ${INFLUX_URL}: created bucket telemetry with infinite retention`,
  });

  const changed = facts({
    resource: resource({ spec: { retentionPeriodSeconds: 3600 }, status: onboardedStatus(), generation: 2 }),
    secret: ownedSecret(secretData(STORED)),
  });
  const retention = drive(changed, setUpWorld(STORED_TOKEN));
  assert.equal(retention.kinds, ['checkSetupStatus', 'checkToken', 'lookupIDs', 'setRetention', 'checkHealth']);
  assert.equal(only(retention, 'setRetention'), {
    kind: 'setRetention',
    token: STORED_TOKEN,
    bucketID: IDS.bucketID,
    retentionSeconds: 3600,
    repair: {
      done: 'changed bucket telemetry from infinite retention to retention 3600 s',
      doing: 'changing bucket telemetry from infinite retention to retention 3600 s',
    },
  });
  assert.is(retention.finish.reason, Reason.Onboarded);
  assert.is(retention.finish.event?.reason, 'Repaired');
  assert.match(
    retention.finish.event?.message ?? '',
    'changed bucket telemetry from infinite retention to retention 3600 s',
  );
});

test('org or bucket that cannot be ensured: not Ready (EnsureFailed names what and why, checked again after the drift interval); unreachable -> Unreachable', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const forbidden = drive(
    input,
    setUpWorld(STORED_TOKEN, { lookupIDs: ok({}), repair: rejected(403, 'forbidden', 'write:orgs is unauthorized') }),
  );
  assert.equal(forbidden.kinds, ['checkBucket', 'checkSetupStatus', 'checkToken', 'lookupIDs', 'createOrg']);
  assert.is(forbidden.finish.reason, Reason.EnsureFailed);
  assert.is(readyOf(forbidden.finish).status, 'False');
  assert.match(forbidden.finish.message, 'refused creating org acme');
  assert.match(forbidden.finish.message, 'forbidden: write:orgs is unauthorized');
  assert.equal(forbidden.finish.requeue, AFTER);
  assert.equal(forbidden.finish.event?.type, 'Warning');

  const lookupRefused = drive(
    input,
    setUpWorld(STORED_TOKEN, { lookupIDs: rejected(401, 'unauthorized', 'read:orgs is unauthorized') }),
  );
  assert.is(lookupRefused.finish.reason, Reason.EnsureFailed);
  assert.match(lookupRefused.finish.message, 'refused looking up org acme and bucket telemetry (infinite retention)');

  const down = drive(
    input,
    setUpWorld(STORED_TOKEN, {
      lookupIDs: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 7200 }),
      repair: unreachable(),
    }),
  );
  assert.is(down.finish.reason, Reason.Unreachable);
  assert.equal(down.finish.requeue, BACKOFF);
});

test('Adopted survives a failed check: after Unreachable the adopted resource is Adopted again, an onboarded one Onboarded', () => {
  for (const [adopted, reason] of [
    [true, Reason.Adopted],
    [false, Reason.Onboarded],
  ] as const) {
    const status = { ...onboardedStatus({ adopted }), conditions: [readyCondition('False', Reason.Unreachable)] };
    const input = given(
      tokenRef,
      { references: { token: found(REF_TOKEN) }, secret: ownedSecret(secretData(credentials('admin', '', REF_TOKEN))) },
      status,
    );
    const run = drive(input, setUpWorld(REF_TOKEN));
    assert.is(run.finish.reason, reason, String(adopted));
    assert.is(run.finish.status.adopted, adopted);
  }
});

test('SetupFailed waits for a spec change: the same generation sends nothing, a new one posts again', () => {
  const refused = drive(
    facts(),
    freshWorld({ postSetup: rejected(400, 'invalid', 'passwords must be between 8 and 72 characters long') }),
  );
  const stored = { secret: refused.facts.secret };
  const again = drive(facts({ ...stored, resource: resource({ status: refused.finish.status }) }), freshWorld());
  assert.equal(again.kinds, ['checkSetupStatus']);
  assert.is(again.finish.reason, Reason.SetupFailed);
  assert.equal(again.finish.requeue, NONE);
  assert.is(again.finish.event, undefined);
  const changed = drive(
    facts({ ...stored, resource: resource({ status: refused.finish.status, generation: 2 }) }),
    freshWorld(),
  );
  assert.ok(changed.kinds.includes('postSetup'));
  assert.is(changed.finish.reason, Reason.Onboarded);
});

test('tokenSecretRef rejected by an instance this resource never onboarded -> AlreadyOnboarded naming the Secret', () => {
  const run = drive(given(tokenRef, { references: { token: found(REF_TOKEN) } }), setUpWorld('someone-elses-token'));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken']);
  assert.is(run.finish.reason, Reason.AlreadyOnboarded);
  assert.match(run.finish.message, 'Secret influx-token');
  assert.match(run.finish.message, 'unauthorized: unauthorized access');
  assert.equal(run.finish.requeue, AFTER);
  noLeaks(run.finish);
});

test('TokenInvalid: the token of an onboarded resource is revoked; Warning once, lastTransitionTime moves once', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const run = drive(input, setUpWorld('a-new-operator-token'));
  assert.equal(run.kinds, ['checkBucket', 'checkSetupStatus', 'checkToken']);
  assert.is(run.finish.reason, Reason.TokenInvalid);
  assert.equal(run.finish.requeue, AFTER);
  assert.match(run.finish.message, `Secret ${SECRET_NAME}`);
  assert.match(run.finish.message, 'spec.tokenSecretRef');
  assert.is(readyOf(run.finish).status, 'False');
  assert.is(readyOf(run.finish).lastTransitionTime, NOW);
  assert.equal(run.finish.event, { type: 'Warning', reason: Reason.TokenInvalid, message: run.finish.message });
  assert.is(run.finish.status.orgID, IDS.orgID, 'other status fields kept');
  noLeaks(run.finish);

  const again = drive(
    { ...input, resource: resource({ status: run.finish.status }), now: '2026-03-01T12:05:00Z' },
    setUpWorld('a-new-operator-token'),
  );
  assert.is(again.finish.reason, Reason.TokenInvalid);
  assert.is(again.finish.event, undefined, 'not repeated on retries');
  assert.is(readyOf(again.finish).lastTransitionTime, NOW, 'kept while the status stays False');
  assert.equal(again.finish.status, run.finish.status);
});

test('a stored token that never worked (someone set the instance up first) reports AlreadyOnboarded, not TokenInvalid', () => {
  const run = drive(facts({ secret: ownedSecret(secretData(STORED)) }), setUpWorld('someone-elses-token'));
  assert.is(run.finish.reason, Reason.AlreadyOnboarded);
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken']);
});

test('token check unreachable -> Unreachable, not TokenInvalid', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const run = drive(
    input,
    setUpWorld(STORED_TOKEN, { checkToken: unreachable('tls', 'certificate signed by unknown authority') }),
  );
  assert.is(run.finish.reason, Reason.Unreachable);
  assert.match(run.finish.message, 'certificate signed by unknown authority');
  assert.is(readyOf(run.finish).status, 'False');
});

test('Secret deleted after onboarding: restored from remembered with the same token; no event', () => {
  const input = facts({
    resource: resource({ status: onboardedStatus() }),
    secret: ABSENT,
    remembered: rememberedAt(MEMO),
  });
  const run = drive(input, setUpWorld(MEMO_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.is(only(run, 'checkToken').token, MEMO_TOKEN);
  assert.equal(only(run, 'writeSecret').secret, desiredSecret(MEMO, false));
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.is(run.finish.event, undefined);
  assert.equal(run.finish.status, input.resource.status);
});

test('Secret deleted and nothing remembered: AlreadyOnboarded; no Secret is made up', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ABSENT });
  const run = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus']);
  assert.is(run.finish.reason, Reason.AlreadyOnboarded);
});

test("a new tokenSecretRef on an onboarded resource: checked with /me first; accepted, it replaces the Secret's token; rejected, the Secret keeps the old one and the message names the new one", () => {
  const input = given(
    tokenRef,
    { secret: ownedSecret(secretData(STORED)), references: { token: found(REF_TOKEN) } },
    onboardedStatus(),
  );
  const accepted = drive(input, setUpWorld(REF_TOKEN));
  assert.equal(accepted.kinds.slice(0, 3), ['checkSetupStatus', 'checkToken', 'writeSecret']);
  assert.is(only(accepted, 'checkToken').token, REF_TOKEN);
  assert.is(only(accepted, 'writeSecret').credentials.token, REF_TOKEN);
  assert.not.ok(accepted.kinds.includes('deleteAuthorization'), 'the old token is not deleted');
  const rejectedRun = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(rejectedRun.kinds, ['checkSetupStatus', 'checkToken']);
  assert.is(rejectedRun.finish.reason, Reason.TokenInvalid);
  assert.is(
    rejectedRun.finish.message,
    `InfluxDB at ${INFLUX_URL} rejected the token from Secret influx-token (unauthorized: unauthorized access), so it did not replace the token in Secret ${SECRET_NAME}. Put a valid operator token of this instance there`,
  );
});

test("a new tokenSecretRef: status.authorizationID of the old token is removed, and the new token's recorded when InfluxDB lists tokens", () => {
  const REF_AUTHORIZATION_ID = 'c000000000000004';
  const listing = (step: Extract<Step, { kind: 'lookupIDs' }>) =>
    ok({
      orgID: IDS.orgID,
      bucketID: IDS.bucketID,
      bucketRetentionSeconds: 0,
      ...(step.userID && { authorizationID: REF_AUTHORIZATION_ID }),
    });
  const hashed = () => ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 });
  const cases: Array<[string, World['lookupIDs'], string | undefined]> = [
    ['tokens listed (v2.7)', listing, REF_AUTHORIZATION_ID],
    ['tokens hashed (v2.9+)', hashed, undefined],
  ];
  for (const [name, lookupIDs, expected] of cases) {
    const input = given(
      tokenRef,
      {
        secret: ownedSecret(secretData(STORED)),
        remembered: rememberedAt(STORED),
        references: { token: found(REF_TOKEN) },
      },
      onboardedStatus(),
    );
    const run = drive(input, setUpWorld(REF_TOKEN, { lookupIDs }));
    assert.is(only(run, 'writeSecret').credentials.token, REF_TOKEN, name);
    assert.ok(only(run, 'lookupIDs').userID !== undefined, `${name}: the new token's authorization is looked for`);
    assert.is(run.finish.status.authorizationID, expected, name);
    assert.ok(
      expected !== undefined || 'authorizationID' in run.finish.status,
      `${name}: undefined, so the status patch removes it`,
    );
  }
  // A Secret that recorded the old token's authorization (an earlier rotate-token) forgets it with the old token.
  const rotatedBefore = given(
    tokenRef,
    {
      secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, authorizationID: IDS.authorizationID }),
      remembered: rememberedAt(STORED),
      references: { token: found(REF_TOKEN) },
    },
    onboardedStatus(),
  );
  const forgotten = drive(rotatedBefore, setUpWorld(REF_TOKEN, { lookupIDs: hashed }));
  assert.is(only(forgotten, 'writeSecret').secret.authorizationID, null);
  assert.ok('authorizationID' in forgotten.finish.status && forgotten.finish.status.authorizationID === undefined);
  // The Secret held the referenced token already (or the operator restarted after writing it): nothing is removed.
  const settled = given(
    tokenRef,
    {
      secret: ownedSecret(secretData({ ...STORED, token: REF_TOKEN })),
      remembered: rememberedAt({ ...STORED, token: REF_TOKEN }),
      references: { token: found(REF_TOKEN) },
    },
    onboardedStatus(),
  );
  const steady = drive(settled, setUpWorld(REF_TOKEN));
  assert.not.ok(steady.kinds.includes('writeSecret'));
  assert.is(steady.finish.status.authorizationID, IDS.authorizationID);
});

test('a valid tokenSecretRef repairs TokenInvalid: stored in the Secret, Ready again with a Normal event', () => {
  const input = given(
    tokenRef,
    { secret: ownedSecret(secretData(STORED)), references: { token: found(REF_TOKEN) } },
    { ...onboardedStatus(), conditions: [readyCondition('False', Reason.TokenInvalid)] },
  );
  const run = drive(input, setUpWorld(REF_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.equal(only(run, 'writeSecret').credentials, credentials('admin', STORED_PASSWORD, REF_TOKEN));
  assert.is(readyOf(run.finish).status, 'True');
  assert.is(readyOf(run.finish).lastTransitionTime, NOW);
  assert.equal(run.finish.event?.type, 'Normal');
});

test('steady state: a Ready resource whose Secret matches finishes with exactly its status (nothing to write), no event', () => {
  const cases: Array<[Partial<InfluxOnboardingSpec> & Record<string, unknown>, boolean, number]> = [
    [{}, false, 1],
    [{ credentialsSecret: { deletionPolicy: 'Delete' } }, true, 1],
    [{ retentionPeriodSeconds: 604_800, resetPolicy: 'Report' }, false, 7],
  ];
  for (const [spec, gc, generation] of cases) {
    const status = onboardedStatus({ observedGeneration: generation });
    status.conditions = [readyCondition('True', Reason.Onboarded, ONBOARDED_MESSAGE, EARLIER, generation)];
    const input = facts({
      resource: resource({ spec, status, generation }),
      secret: ownedSecret(secretData(STORED), gc),
      remembered: rememberedAt(STORED),
    });
    const retention = typeof spec.retentionPeriodSeconds === 'number' ? spec.retentionPeriodSeconds : 0;
    const run = drive(
      input,
      setUpWorld(STORED_TOKEN, {
        lookupIDs: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: retention }),
      }),
    );
    assert.equal(run.kinds, ['checkBucket'], JSON.stringify(spec));
    assert.equal(run.finish.status, status);
    assert.is(run.finish.event, undefined);
    assert.equal(run.finish.requeue, AFTER);
    assert.is(run.finish.reason, Reason.Onboarded);
  }
});

test('steady state keeps conditions of other types', () => {
  const other: Condition = {
    type: 'Degraded',
    status: 'False',
    lastTransitionTime: EARLIER,
    reason: 'AsExpected',
    message: '',
  };
  const status = onboardedStatus();
  status.conditions = [other, ...(status.conditions ?? [])];
  const run = drive(
    facts({ resource: resource({ status }), secret: ownedSecret(secretData(STORED)) }),
    setUpWorld(STORED_TOKEN),
  );
  assert.equal(run.finish.status, status);
});

test('deletionPolicy changed on a Ready resource: Secret rewritten (garbageCollected true) with the same credentials', () => {
  const input = facts({
    resource: resource({ spec: { credentialsSecret: { deletionPolicy: 'Delete' } }, status: onboardedStatus() }),
    secret: ownedSecret(secretData(STORED), false),
  });
  const run = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.equal(only(run, 'writeSecret').secret, desiredSecret(STORED, true));
  assert.equal(run.finish.status, input.resource.status);
});

test('observedGeneration follows metadata.generation (status and condition); absent generation adds none', () => {
  const input = facts({
    resource: resource({ status: onboardedStatus(), generation: 4 }),
    secret: ownedSecret(secretData(STORED)),
  });
  const run = drive(input, setUpWorld(STORED_TOKEN));
  assert.is(run.finish.status.observedGeneration, 4);
  assert.is(readyOf(run.finish).observedGeneration, 4);
  assert.is(readyOf(run.finish).lastTransitionTime, EARLIER, 'status unchanged: time kept');

  const bare = facts();
  delete bare.resource.metadata.generation;
  const finish = drive(bare, { setupStatus: ok({ allowed: false }) }).finish;
  assert.not.ok('observedGeneration' in finish.status);
  assert.not.ok('observedGeneration' in readyOf(finish));
});

// ---------------------------------------------------------------------------------------------
// The instance was wiped (allowed again after onboardedAt)

test('instance reset, resetPolicy Reonboard: the Secret credentials are posted again; event Reonboarded; onboardedAt renewed', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const fresh = {
    userID: 'b000000000000001',
    orgID: 'b000000000000002',
    bucketID: 'b000000000000003',
    authorizationID: 'b000000000000004',
  };
  const run = drive(input, freshWorld({ postSetup: ok(setupResult(fresh)) }));
  assert.equal(run.kinds, ['checkBucket', 'checkSetupStatus', 'postSetup', 'checkHealth']);
  assert.equal(only(run, 'postSetup').request, {
    ...STORED,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.equal(run.finish.event?.type, 'Normal');
  assert.is(run.finish.event?.reason, 'Reonboarded');
  assert.match(run.finish.event?.message ?? '', 'same credentials');
  assert.is(run.finish.status.onboardedAt, NOW);
  assert.equal(
    { ...run.finish.status, conditions: undefined },
    { ...onboardedStatus(fresh), onboardedAt: NOW, conditions: undefined },
  );
  assert.is(readyOf(run.finish).lastTransitionTime, EARLIER, 'Ready stayed True');
  noLeaks(run.finish);
});

test('instance reset, resetPolicy Report: InstanceReset, no POST, Warning once, checked again after the drift interval', () => {
  const input = given({ resetPolicy: 'Report' }, { secret: ownedSecret(secretData(STORED)) }, onboardedStatus());
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkBucket', 'checkSetupStatus']);
  assert.is(run.finish.reason, Reason.InstanceReset);
  assert.equal(run.finish.requeue, AFTER);
  assert.match(run.finish.message, 'resetPolicy');
  assert.is(readyOf(run.finish).status, 'False');
  assert.equal(run.finish.event, { type: 'Warning', reason: Reason.InstanceReset, message: run.finish.message });
  assert.is(run.finish.status.onboardedAt, EARLIER, 'onboardedAt kept');
  const again = drive(
    { ...input, resource: resource({ spec: { resetPolicy: 'Report' }, status: run.finish.status }) },
    freshWorld(),
  );
  assert.is(again.finish.event, undefined);
  assert.equal(again.finish.status, run.finish.status);
});

test('resetPolicy Report does not stop the first onboarding of a fresh instance', () => {
  const run = drive(given({ resetPolicy: 'Report' }), freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.is(run.finish.reason, Reason.Onboarded);
  // Nor a crash after the Secret write (still not onboarded): the same credentials are posted.
  const again = drive(given({ resetPolicy: 'Report' }, { secret: ownedSecret(secretData(STORED)) }), freshWorld());
  assert.equal(only(again, 'postSetup').request.token, STORED_TOKEN);
});

test('adopted without passwordSecretRef, then wiped: a generated password is stored first, then posted with the same token', () => {
  const status = { ...onboardedStatus(), conditions: [readyCondition('True', Reason.Adopted)] };
  const adoptedSecret = ownedSecret(secretData(credentials('admin', '', REF_TOKEN)));
  const input = given(tokenRef, { secret: adoptedSecret, references: { token: found(REF_TOKEN) } }, status);
  const run = drive(input, freshWorld());
  assert.equal(run.kinds, ['checkBucket', 'checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  const want = credentials('admin', GEN_PASSWORD, REF_TOKEN);
  assert.equal(only(run, 'writeSecret').credentials, want);
  assert.equal(only(run, 'postSetup').request, {
    ...want,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });
  assert.is(run.finish.event?.reason, 'Reonboarded');
});

test('instance reset after the Secret was deleted: remembered credentials are stored and posted', () => {
  const run = drive(
    facts({ resource: resource({ status: onboardedStatus() }), secret: ABSENT, remembered: rememberedAt(MEMO) }),
    freshWorld(),
  );
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.equal(only(run, 'postSetup').request.token, MEMO_TOKEN);
});

test('re-onboarding that fails: SetupFailed Warning once, no request again until the spec changes; the success after it emits Reonboarded', () => {
  const input = facts({ resource: resource({ status: onboardedStatus() }), secret: ownedSecret(secretData(STORED)) });
  const refusal = rejected<never>(500, 'internal error', 'timeout');
  const first = drive(input, freshWorld({ postSetup: refusal }));
  assert.is(first.finish.reason, Reason.SetupFailed);
  assert.equal(first.finish.event?.type, 'Warning');
  const second = drive(
    { ...input, resource: resource({ status: first.finish.status }) },
    freshWorld({ postSetup: refusal }),
  );
  assert.is(second.finish.event, undefined);
  assert.equal(second.kinds, ['checkSetupStatus'], 'the refused request is not sent again for the same generation');
  assert.equal(second.finish.requeue, NONE);
  const third = drive({ ...input, resource: resource({ status: second.finish.status, generation: 2 }) }, freshWorld());
  assert.is(third.finish.reason, Reason.Onboarded);
  assert.is(third.finish.event?.reason, 'Reonboarded');
  assert.is(readyOf(third.finish).lastTransitionTime, NOW);
});

// ---------------------------------------------------------------------------------------------
// Credentials stay with their instance: target binding, retargeting, consent, refused addresses

const NEW_URL = 'http://influxdb.new.svc:8086';
const CA_TLS = 'caSecretRef=influx-ca/ca.crt,insecureSkipVerify=false';
const SKIP_TLS = 'caSecretRef=none,insecureSkipVerify=true';
/** Every step that carries a credential to InfluxDB. */
const CREDENTIAL_STEPS = [
  'checkToken',
  'lookupIDs',
  'postSetup',
  'postSetupUser',
  'setPassword',
  'checkPassword',
  'listAuthorizations',
  'createAuthorization',
  'checkNewToken',
  'deleteAuthorization',
];

/** An onboarded resource whose spec now says `spec`, with the Secret (or memory) as it was. */
function moved(spec: Partial<InfluxOnboardingSpec> & Record<string, unknown>, more: Partial<Facts> = {}): Facts {
  return given(
    spec,
    { secret: ownedSecret(secretData(STORED)), references: caFound(spec), ...more },
    onboardedStatus(),
  );
}

function caFound(spec: Record<string, unknown>): Facts['references'] {
  return 'tls' in spec && JSON.stringify(spec).includes('caSecretRef')
    ? { ca: found('-----BEGIN CERTIFICATE-----') }
    : {};
}

test("TargetChanged: spec.url moved away from the Secret's url -> no request at all, Secret untouched, Warning once, waits", () => {
  for (const mode of [{}, setupUser] as const) {
    const references = 'mode' in mode ? { authToken: found(AUTH_TOKEN, [NEW_URL]) } : {};
    for (const world of [freshWorld(), setUpWorld(STORED_TOKEN), {}]) {
      const run = drive(moved({ url: NEW_URL, ...mode }, { references }), world);
      assert.equal(run.kinds, [], 'not even GET /api/v2/setup reaches the new URL');
      const { finish } = run;
      assert.is(finish.reason, Reason.TargetChanged);
      assert.equal(finish.requeue, NONE);
      assert.is(readyOf(finish).status, 'False');
      assert.match(finish.message, `created for ${INFLUX_URL}`);
      assert.match(finish.message, `${RETARGET_ANNOTATION}=${NEW_URL}`);
      assert.match(finish.message, `annotate Secret ${SECRET_NAME}`);
      assert.match(finish.message, 'spec.credentialsSecret.name');
      assert.equal(finish.event, { type: 'Warning', reason: Reason.TargetChanged, message: finish.message });
      assert.is(finish.status.observedURL, INFLUX_URL, 'status says where the credentials belong');
      noLeaks(finish);
    }
  }
  const again = drive(withPrevious(moved({ url: NEW_URL }), Reason.TargetChanged, 'False'), {});
  assert.is(again.finish.event, undefined, 'not repeated');
});

test('TargetChanged: the same instance spelled differently (case, default port, trailing slash) is no change', () => {
  const spellings: Array<[string, string]> = [
    ['http://influxdb.data.svc:8086/', 'http://INFLUXDB.data.svc:8086'],
    ['https://influxdb.data.svc:443/prefix/', 'https://influxdb.data.svc/prefix'],
  ];
  for (const [stored, wanted] of spellings) {
    const input = given(
      { url: wanted },
      { secret: ownedSecret(secretData(STORED, { url: stored })) },
      onboardedStatus({ observedURL: stored }),
    );
    const run = drive(input, setUpWorld(STORED_TOKEN));
    assert.is(run.finish.reason, Reason.Onboarded, `${stored} ~ ${wanted}`);
    assert.is(run.finish.event, undefined, 'no Retargeted event for a respelling');
  }
});

test('TargetChanged: TLS settings are part of the target (caSecretRef added, insecureSkipVerify turned on)', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [caRef, CA_TLS],
    [{ tls: { insecureSkipVerify: true } }, SKIP_TLS],
  ];
  for (const [spec, tls] of cases) {
    const run = drive(moved(spec), setUpWorld(STORED_TOKEN));
    assert.equal(run.kinds, [], JSON.stringify(spec));
    assert.is(run.finish.reason, Reason.TargetChanged);
    assert.match(run.finish.message, `created with TLS settings ${NO_TLS}`);
    assert.match(run.finish.message, `now names TLS settings ${tls}`);
    assert.match(run.finish.message, `${RETARGET_ANNOTATION}=${INFLUX_URL}`);
    assert.is(run.finish.status.observedTLS, NO_TLS);
  }
  // And the other way round: a Secret created with a CA is not used without it.
  const dropped = drive(
    given({}, { secret: ownedSecret(secretData(STORED), false, { tls: CA_TLS }) }, onboardedStatus()),
    setUpWorld(STORED_TOKEN),
  );
  assert.is(dropped.finish.reason, Reason.TargetChanged);
  assert.equal(dropped.kinds, []);
});

test('a Secret written before TLS settings were recorded is bound on its next write, not refused', () => {
  const legacy = ownedSecret(secretData(STORED), false, {});
  const { observedURL: _u, observedTLS: _t, ...before } = onboardedStatus();
  const run = drive(given(caRef, { secret: legacy, references: caFound(caRef) }, before), setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.is(only(run, 'writeSecret').secret.tls, CA_TLS);
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.equal([run.finish.status.observedURL, run.finish.status.observedTLS], [INFLUX_URL, CA_TLS]);
  assert.is(run.finish.event, undefined, 'recording the settings is no move');
});

test('TargetChanged: credentials only remembered (Secret deleted) are written back where they belong, never sent to another URL', () => {
  const run = drive(
    given({ url: NEW_URL }, { secret: ABSENT, remembered: rememberedAt(MEMO) }, onboardedStatus()),
    freshWorld(),
  );
  assert.equal(run.kinds, ['writeSecret'], 'nothing is sent to any InfluxDB');
  const restored = only(run, 'writeSecret').secret;
  assert.equal([restored.data.url, restored.data.token], [INFLUX_URL, MEMO.token]);
  assert.is(run.finish.reason, Reason.TargetChanged);
  assert.match(run.finish.message, `annotate Secret ${SECRET_NAME} with ${RETARGET_ANNOTATION}=${NEW_URL}`);
  assert.match(run.finish.message, `created for ${INFLUX_URL}`);
  noLeaks(run.finish);
  // An approval left on a Secret that lost its credentials is still its editor's: once they are
  // back, the move goes ahead (here to a fresh instance, which is not theirs: nothing is posted).
  const approved = ownedSecret({ url: NEW_URL }, false, { tls: NO_TLS, retargetTo: NEW_URL });
  const moving = drive(
    given({ url: NEW_URL }, { secret: approved, remembered: rememberedAt(MEMO) }, onboardedStatus()),
    freshWorld(),
  );
  assert.equal(moving.kinds, ['writeSecret', 'checkSetupStatus']);
  assert.is(only(moving, 'writeSecret').secret.data.url, INFLUX_URL);
  assert.is(moving.finish.reason, Reason.TargetChanged);
  assert.match(moving.finish.message, 'is not set up');
});

test("retarget: the Secret's annotation names the new URL -> token checked there, then the Secret moves; Retargeted", () => {
  for (const approval of [NEW_URL, `${NEW_URL}/`, NEW_URL.toUpperCase().replace('HTTP://', 'http://')]) {
    const secret = ownedSecret(secretData(STORED), false, { tls: NO_TLS, retargetTo: approval });
    const run = drive(moved({ url: NEW_URL }, { secret }), setUpWorld(STORED_TOKEN));
    assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth'], approval);
    assert.is(only(run, 'checkToken').token, STORED_TOKEN);
    assert.equal(only(run, 'writeSecret').secret, desiredSecret(STORED, false, { url: NEW_URL }));
    const { finish } = run;
    assert.is(finish.reason, Reason.Onboarded);
    assert.is(readyOf(finish).status, 'True');
    assert.is(finish.status.observedURL, NEW_URL);
    assert.is(finish.event?.type, 'Normal');
    assert.is(finish.event?.reason, 'Retargeted');
    assert.match(finish.event?.message ?? '', `now belong to ${NEW_URL}`);
    assert.match(finish.event?.message ?? '', `before, they belonged to ${INFLUX_URL}`);
    noLeaks(finish);
  }
});

test('retarget after TargetChanged: Ready again, Retargeted event; a later drift check is quiet', () => {
  const changed = drive(moved({ url: NEW_URL }), {}).finish;
  const approved = ownedSecret(secretData(STORED), false, { tls: NO_TLS, retargetTo: NEW_URL });
  const run = drive(given({ url: NEW_URL }, { secret: approved }, changed.status), setUpWorld(STORED_TOKEN));
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.is(run.finish.event?.reason, 'Retargeted');
  assert.is(readyOf(run.finish).lastTransitionTime, NOW);
  const later = drive(
    given({ url: NEW_URL }, { secret: ownedSecret(secretData(STORED, { url: NEW_URL })) }, run.finish.status),
    setUpWorld(STORED_TOKEN),
  );
  assert.equal(later.kinds, ['checkBucket']);
  assert.is(later.finish.event, undefined);
  assert.equal(later.finish.status, run.finish.status);
});

test('retarget of the TLS settings: the annotation names the unchanged URL', () => {
  const secret = ownedSecret(secretData(STORED), false, { tls: NO_TLS, retargetTo: INFLUX_URL });
  const run = drive(moved(caRef, { secret }), setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'writeSecret', 'lookupIDs', 'checkHealth']);
  assert.is(only(run, 'writeSecret').secret.tls, CA_TLS);
  assert.is(run.finish.event?.reason, 'Retargeted');
  assert.is(run.finish.status.observedTLS, CA_TLS);
});

test('retarget refused: annotation naming another URL; new URL fresh; token rejected there', () => {
  const other = drive(
    moved(
      { url: NEW_URL },
      { secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, retargetTo: 'http://elsewhere:8086' }) },
    ),
    setUpWorld(STORED_TOKEN),
  );
  assert.equal(other.kinds, []);
  assert.is(other.finish.reason, Reason.TargetChanged);

  const approved = { secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, retargetTo: NEW_URL }) };
  const fresh = drive(moved({ url: NEW_URL }, approved), freshWorld());
  assert.equal(fresh.kinds, ['checkSetupStatus'], 'no setup POST with the old credentials');
  assert.is(fresh.finish.reason, Reason.TargetChanged);
  assert.equal(fresh.finish.requeue, AFTER);
  assert.match(fresh.finish.message, 'is not set up');

  const rejectedThere = drive(moved({ url: NEW_URL }, approved), setUpWorld('their-token'));
  assert.equal(rejectedThere.kinds, ['checkSetupStatus', 'checkToken'], 'the Secret is not rewritten');
  assert.is(rejectedThere.finish.reason, Reason.TargetChanged);
  assert.equal(rejectedThere.finish.requeue, NONE);
  assert.match(rejectedThere.finish.message, 'rejected the operator token');

  const down = drive(moved({ url: NEW_URL }, approved), { setupStatus: unreachable() });
  assert.is(down.finish.reason, Reason.Unreachable);
  for (const run of [other, fresh, rejectedThere, down]) noLeaks(run.finish);
});

test('SecretNotPermitted: a referenced Secret without consent for spec.url is never sent; looked at again at the next drift check', () => {
  const refs: Array<[Record<string, unknown>, keyof Facts['references'], string, string]> = [
    [passwordRef, 'password', REF_PASSWORD, 'influx-admin'],
    [tokenRef, 'token', REF_TOKEN, 'influx-token'],
    [setupUser, 'authToken', AUTH_TOKEN, 'influx-super'],
  ];
  for (const [spec, key, value, name] of refs) {
    for (const allowedUrls of [[], ['http://elsewhere:8086'], ['http://influxdb.data.svc']]) {
      const run = drive(given(spec, { references: { [key]: found(value, allowedUrls) } }), freshWorld());
      assert.equal(run.kinds, [], `${key} ${JSON.stringify(allowedUrls)}`);
      assert.is(run.finish.reason, Reason.SecretNotPermitted);
      assert.equal(run.finish.requeue, AFTER);
      assert.match(run.finish.message, `Secret ${name} allows`);
      assert.match(run.finish.message, ALLOWED_URLS_ANNOTATION);
      assert.match(run.finish.message, INFLUX_URL);
      assert.equal(run.finish.event?.type, 'Warning');
      noLeaks(run.finish);
    }
    // Consent naming the URL (normalized like the instance), among others: onboarding goes on.
    for (const allowedUrls of [[INFLUX_URL], ['http://other:1', `${INFLUX_URL}/`], ['HTTP://INFLUXDB.DATA.SVC:8086']]) {
      const step = decideRecorded(given(spec, { references: { [key]: found(value, allowedUrls) } }));
      assert.is(step.kind, 'checkSetupStatus', JSON.stringify(allowedUrls));
    }
  }
});

test('SecretNotPermitted: one problem per Secret; the CA bundle needs no consent; --require-secret-consent=false turns it off', () => {
  const shared = {
    passwordSecretRef: { name: 'influx-admin', key: 'password' },
    tokenSecretRef: { name: 'influx-admin', key: 'token' },
  };
  const both = finishOf(
    decideRecorded(given(shared, { references: { password: found(REF_PASSWORD, []), token: found(REF_TOKEN, []) } })),
  );
  assert.is(both.message.split('Secret influx-admin').length - 1, 1, both.message);

  const ca = decideRecorded(given(caRef, { references: { ca: found('-----BEGIN CERTIFICATE-----', []) } }));
  assert.is(ca.kind, 'checkSetupStatus');

  const off = drive(
    given(tokenRef, { references: { token: found(REF_TOKEN, []) }, requireSecretConsent: false }),
    freshWorld(),
  );
  assert.is(off.finish.reason, Reason.Onboarded);
  assert.is(only(off, 'postSetup').request.token, REF_TOKEN);
});

test('a refused address is a configuration error: its own reason, one Warning, no retry until the spec changes', () => {
  const cases: Array<['link-local' | 'not-allowed' | 'not-permitted', Reason, string]> = [
    ['link-local', Reason.AddressRefused, '--allow-link-local'],
    ['not-allowed', Reason.URLNotAllowed, '--allowed-urls'],
    ['not-permitted', Reason.NotPermitted, ONBOARD_FROM_ANNOTATION],
  ];
  for (const [kind, reason, flag] of cases) {
    const run = drive(facts(), { setupStatus: refused(kind) });
    assert.equal(run.kinds, ['checkSetupStatus']);
    assert.is(run.finish.reason, reason);
    assert.equal(run.finish.requeue, NONE, 'no retry loop');
    assert.is(readyOf(run.finish).status, 'False');
    assert.match(run.finish.message, 'was not contacted');
    assert.match(run.finish.message, flag);
    assert.match(run.finish.message, 'spec.url');
    assert.equal(run.finish.event, { type: 'Warning', reason, message: run.finish.message });
    const again = drive(withPrevious(facts(), reason, 'False'), { setupStatus: refused(kind) });
    assert.is(again.finish.event, undefined, 'the Warning is not repeated');
    assert.equal(again.finish.requeue, NONE);
    // Refused on a later connection (a name re-resolved): the same verdict, not Unreachable.
    const later = drive(
      facts({ secret: ownedSecret(secretData(STORED)) }),
      setUpWorld(STORED_TOKEN, { checkToken: refused(kind) }),
    );
    assert.is(later.finish.reason, reason);
  }
});

test('NotPermitted: decided before anything else of a valid spec (duplicates, references, the Secret); nothing is sent or written, one Warning, no retry', () => {
  const cases: Array<[string, Partial<Facts>]> = [
    ['alone', {}],
    ['a duplicate too', { duplicateOf: 'team-a/influxdb' }],
    ['a missing reference too', { resource: resource({ spec: { tokenSecretRef: { name: 'absent', key: 'token' } } }) }],
    ['a foreign Secret too', { secret: FOREIGN }],
    [
      'credentials known',
      { secret: ownedSecret(secretData(STORED)), resource: resource({ status: onboardedStatus() }) },
    ],
    ['an escrow copy waiting too', { escrowApprovalNeeded: ESCROW_SECRET }],
  ];
  for (const [label, more] of cases) {
    const run = drive(facts({ ...more, notPermitted: NOT_PERMITTED }), setUpWorld(STORED_TOKEN));
    assert.equal(run.kinds, [], `${label}: no step at all`);
    assert.is(run.finish.reason, Reason.NotPermitted, label);
    assert.is(run.finish.message, NOT_PERMITTED, label);
    assert.equal(run.finish.requeue, NONE, `${label}: no retry loop`);
    assert.equal(run.finish.event, { type: 'Warning', reason: Reason.NotPermitted, message: NOT_PERMITTED });
  }
  const again = drive(withPrevious(facts({ notPermitted: NOT_PERMITTED }), Reason.NotPermitted, 'False'), {});
  assert.is(again.finish.event, undefined, 'the Warning is not repeated');
  // An invalid spec is reported as such first: its URL may not even parse.
  const invalid = drive(facts({ resource: resource({ spec: { url: 'not a url' } }), notPermitted: NOT_PERMITTED }), {});
  assert.is(invalid.finish.reason, Reason.InvalidSpec);
  // Once permitted (consent given), it onboards.
  assert.is(drive(facts(), freshWorld()).finish.reason, Reason.Onboarded);
});

test('EscrowApprovalRequired: an escrow copy of another UID is not used and nothing is sent until approved; the message says how', () => {
  const run = drive(facts({ escrowApprovalNeeded: ESCROW_SECRET }), freshWorld());
  assert.equal(run.kinds, [], 'no request, no Secret written');
  assert.is(run.finish.reason, Reason.EscrowApprovalRequired);
  assert.is(readyOf(run.finish).status, 'False');
  const { message } = run.finish;
  const uid = facts().resource.metadata.uid;
  assert.match(
    message,
    `kubectl annotate secret -n ${ESCROW_SECRET.namespace} ${ESCROW_SECRET.name} influxdb.onboarding.dev/escrow-approved-uid=${uid}`,
  );
  assert.match(message, 'nothing from it is used and nothing is sent');
  assert.equal(
    run.finish.requeue,
    { kind: 'after', ms: DRIFT_MS },
    'looked at again, slowly (the escrow Secret may not be watched)',
  );
  assert.equal(run.finish.event, { type: 'Warning', reason: Reason.EscrowApprovalRequired, message });
  // Before it: the spec, duplicates and the references; a foreign Secret is a conflict whatever the escrow holds.
  assert.is(
    drive(facts({ escrowApprovalNeeded: ESCROW_SECRET, duplicateOf: 'ns/older' }), {}).finish.reason,
    Reason.DuplicateTarget,
  );
  assert.is(
    drive(facts({ escrowApprovalNeeded: ESCROW_SECRET, secret: FOREIGN }), {}).finish.reason,
    Reason.SecretConflict,
  );
});

// ---------------------------------------------------------------------------------------------
// mode SetupUser

const setupUserFacts = (more: Partial<Facts> = {}, status?: InfluxOnboardingStatus): Facts =>
  given(setupUser, { references: { authToken: found(AUTH_TOKEN) }, ...more }, status);

test('SetupUser on an instance that is not set up: Progressing, no POST', () => {
  const run = drive(setupUserFacts(), freshWorld());
  assert.equal(run.kinds, ['checkSetupStatus']);
  assert.is(run.finish.reason, Reason.Progressing);
  assert.is(readyOf(run.finish).status, 'Unknown');
  assert.equal(run.finish.requeue, AFTER);
  assert.is(run.finish.event, undefined);
});

test('SetupUser: Secret first, then POST /setup/user with the same credentials and the auth token; Onboarded', () => {
  const world = setUpWorld(GEN_TOKEN, { checkToken: unauthorized(), postSetupUser: ok(setupResult()) });
  const run = drive(setupUserFacts(), world);
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret', 'checkToken', 'postSetupUser', 'checkHealth']);
  const want = credentials('admin', GEN_PASSWORD, GEN_TOKEN);
  assert.equal(only(run, 'writeSecret').credentials, want);
  const post = only(run, 'postSetupUser');
  assert.equal(post.request, { ...want, org: 'acme', bucket: 'telemetry', retentionPeriodSeconds: 0 });
  assert.is(post.authToken, AUTH_TOKEN);
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.equal(run.finish.status.authorizationID, IDS.authorizationID);
  assert.is(run.finish.event?.reason, Reason.Onboarded, 'no Reonboarded event in SetupUser');
  noLeaks(run.finish);
});

test('SetupUser: 404 / 401 / 405 from /setup/user -> Unsupported with requeue none', () => {
  for (const [status, code, text] of [
    [404, 'not found', 'does not offer'],
    [405, 'method not allowed', 'does not offer'],
    [401, 'unauthorized', 'refused the token from spec.authTokenSecretRef'],
  ] as const) {
    const run = drive(
      setupUserFacts(),
      setUpWorld('x', { checkToken: unauthorized(), postSetupUser: rejected(status, code, 'nope') }),
    );
    assert.is(run.finish.reason, Reason.Unsupported, String(status));
    assert.equal(run.finish.requeue, NONE);
    assert.match(run.finish.message, text);
    assert.is(readyOf(run.finish).status, 'False');
    assert.equal(run.finish.event?.type, 'Warning');
    noLeaks(run.finish);
  }
});

test('SetupUser: once Unsupported, no request is sent again until the spec changes', () => {
  const first = drive(
    setupUserFacts(),
    setUpWorld('x', { checkToken: unauthorized(), postSetupUser: rejected(404, 'not found', 'nope') }),
  );
  const again = drive(
    setupUserFacts({ secret: ownedSecret(only(first, 'writeSecret').secret.data) }, first.finish.status),
    setUpWorld('x', { checkToken: unauthorized() }),
  );
  assert.equal(again.kinds, ['checkSetupStatus']);
  assert.is(again.finish.reason, Reason.Unsupported);
  assert.equal(again.finish.requeue, NONE);
  assert.is(again.finish.event, undefined);
  assert.equal(again.finish.status, first.finish.status, 'nothing to write');
  const changed = drive(
    setupUserFacts(
      { secret: ownedSecret(only(first, 'writeSecret').secret.data) },
      { ...first.finish.status, observedGeneration: 0 },
    ),
    setUpWorld('x', { checkToken: unauthorized(), postSetupUser: rejected(404, 'not found', 'nope') }),
  );
  assert.ok(changed.kinds.includes('postSetupUser'), 'a new generation asks again');
});

test('SetupUser: other answers -> SetupFailed waiting for a spec change (conflict names what exists; other refusals), Unreachable', () => {
  const cases: Array<[World['postSetupUser'], string, Requeue]> = [
    [rejected(422, 'conflict', 'organization with name acme already exists'), Reason.SetupFailed, NONE],
    [rejected(403, 'forbidden', 'insufficient permissions'), Reason.SetupFailed, NONE],
    [rejected(400, 'invalid', 'bucket name is invalid'), Reason.SetupFailed, NONE],
    [unreachable(), Reason.Unreachable, BACKOFF],
  ];
  for (const [answer, reason, requeue] of cases) {
    const run = drive(setupUserFacts(), setUpWorld('x', { checkToken: unauthorized(), postSetupUser: answer }));
    assert.is(run.finish.reason, reason);
    assert.equal(run.finish.requeue, requeue);
  }
  const conflict = drive(
    setupUserFacts(),
    setUpWorld('x', {
      checkToken: unauthorized(),
      postSetupUser: rejected(422, 'conflict', 'organization with name acme already exists'),
    }),
  );
  assert.match(conflict.finish.message, 'organization with name acme already exists');
  assert.match(conflict.finish.message, 'exists on the instance already');
  assert.match(conflict.finish.message, 'nothing is sent again until the spec changes');
  assert.not.match(conflict.finish.message, 'another client');
  assert.equal(conflict.finish.event?.type, 'Warning');

  // The next reconcile of the same generation sends nothing; a spec change posts again.
  const stored = { secret: ownedSecret(secretData(credentials('admin', GEN_PASSWORD, GEN_TOKEN))) };
  const again = drive(setupUserFacts(stored, conflict.finish.status), setUpWorld('x', { checkToken: unauthorized() }));
  assert.equal(again.kinds, ['checkSetupStatus']);
  assert.is(again.finish.reason, Reason.SetupFailed);
  assert.is(again.finish.event, undefined);
  assert.equal(again.finish.requeue, NONE);
  const changed = setupUserFacts(stored, conflict.finish.status);
  const bumped = {
    ...changed,
    resource: { ...changed.resource, metadata: { ...changed.resource.metadata, generation: 2 } },
  };
  const posted = drive(bumped, setUpWorld('x', { checkToken: unauthorized(), postSetupUser: ok(setupResult()) }));
  assert.ok(posted.kinds.includes('postSetupUser'));
  assert.is(posted.finish.reason, Reason.Onboarded);
});

test('SetupUser with a stored token: valid -> Onboarded without POST; rejected after onboarding -> TokenInvalid; unreachable -> Unreachable', () => {
  const secret = ownedSecret(secretData(STORED));
  const valid = drive(setupUserFacts({ secret }), setUpWorld(STORED_TOKEN));
  assert.equal(valid.kinds, ['checkSetupStatus', 'checkToken', 'lookupIDs', 'checkPassword', 'checkHealth']);
  assert.is(valid.finish.reason, Reason.Onboarded);

  const revoked = drive(setupUserFacts({ secret }, onboardedStatus()), setUpWorld('other'));
  assert.equal(revoked.kinds, ['checkBucket', 'checkSetupStatus', 'checkToken']);
  assert.is(revoked.finish.reason, Reason.TokenInvalid);
  assert.equal(revoked.finish.requeue, AFTER);

  const down = drive(setupUserFacts({ secret }), setUpWorld(STORED_TOKEN, { checkToken: unreachable() }));
  assert.equal(down.kinds, ['checkSetupStatus', 'checkToken']);
  assert.is(down.finish.reason, Reason.Unreachable);
});

test('SetupUser crash after the Secret write: stored token rejected, never onboarded -> the same credentials are posted', () => {
  const run = drive(
    setupUserFacts({ secret: ownedSecret(secretData(STORED)) }),
    setUpWorld('x', { checkToken: unauthorized(), postSetupUser: ok(setupResult()) }),
  );
  assert.equal(run.kinds, ['checkSetupStatus', 'checkToken', 'postSetupUser', 'checkHealth']);
  assert.equal(only(run, 'postSetupUser').request, {
    ...STORED,
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
  });
});

test('SetupUser: a foreign Secret found on write -> SecretConflict, no POST; missing authTokenSecretRef -> InvalidSpec', () => {
  const run = drive(setupUserFacts(), setUpWorld('x', { writeSecret: 'foreign' }));
  assert.equal(run.kinds, ['checkSetupStatus', 'writeSecret']);
  assert.is(run.finish.reason, Reason.SecretConflict);
  const invalid = finishOf(decideRecorded(given({ mode: 'SetupUser' })));
  assert.is(invalid.reason, Reason.InvalidSpec);
  assert.equal(invalid.requeue, NONE);
  assert.match(invalid.message, 'spec.authTokenSecretRef');
});

// ---------------------------------------------------------------------------------------------
// Password rotation and the password check

const ROTATE = (value: string) => ({ [ROTATE_PASSWORD_ANNOTATION]: value });

/** An onboarded resource (password checked recently) whose Secret holds `creds`. */
function onboarded(
  spec: Partial<InfluxOnboardingSpec> & Record<string, unknown> = {},
  more: Partial<Facts> = {},
  annotations?: Record<string, string>,
): Facts {
  return facts({
    resource: resource({ spec, status: onboardedStatus(), ...(annotations && { annotations }) }),
    secret: ownedSecret(secretData(STORED)),
    ...more,
  });
}

test("passwordSecretRef changed after onboarding: set in InfluxDB for the token's user first, then written to the Secret, then proven; PasswordRotated", () => {
  const input = onboarded(passwordRef, { references: { password: found(REF_PASSWORD) } });
  const run = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'setPassword',
    'writeSecret',
    'lookupIDs',
    'checkPassword',
    'checkHealth',
  ]);
  assert.equal(only(run, 'setPassword'), {
    kind: 'setPassword',
    token: STORED_TOKEN,
    userID: IDS.userID,
    password: REF_PASSWORD,
  });
  assert.equal(only(run, 'writeSecret').secret, {
    ...desiredSecret(credentials('admin', REF_PASSWORD, STORED_TOKEN)),
    pendingPassword: null,
  });
  assert.equal(only(run, 'checkPassword'), { kind: 'checkPassword', username: 'admin', password: REF_PASSWORD });
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.equal(run.finish.event, {
    type: 'Normal',
    reason: 'PasswordRotated',
    message: `The password of user admin at ${INFLUX_URL} was changed from Secret influx-admin; Secret ${SECRET_NAME} holds it`,
  });
  assert.is(run.finish.status.passwordRotatedAt, NOW);
  assert.is(run.finish.status.passwordCheckedAt, NOW);
  noLeaks(run.finish);

  // Killed after the set, before the write: the Secret still holds the old password, the
  // referenced one the new; the next reconcile sets it again and writes it.
  const again = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(again.kinds, run.kinds);

  // Settled: the Secret holds the referenced password; nothing is set again.
  const settled = drive(
    onboarded(passwordRef, {
      references: { password: found(REF_PASSWORD) },
      secret: ownedSecret(secretData(credentials('admin', REF_PASSWORD, STORED_TOKEN))),
    }),
    setUpWorld(STORED_TOKEN),
  );
  assert.equal(settled.kinds, ['checkBucket'], 'the one-request drift check');
  assert.is(settled.finish.event, undefined);
});

test('password rotation targets the user the token belongs to, not spec.username', () => {
  const input = onboarded(
    { ...passwordRef, username: 'someone-else' },
    { references: { password: found(REF_PASSWORD) } },
  );
  const run = drive(input, setUpWorld(STORED_TOKEN, { checkToken: ok(owner('9f9f9f9f9f9f9f9f', 'theirs')) }));
  assert.is(only(run, 'setPassword').userID, '9f9f9f9f9f9f9f9f');
  assert.equal(only(run, 'checkPassword').username, 'theirs');
});

test('InfluxDB refuses the new password: PasswordNotSet, the Secret keeps the old one; an outage is Unreachable with backoff', () => {
  const input = onboarded(passwordRef, { references: { password: found(REF_PASSWORD) } });
  const refused = drive(
    input,
    setUpWorld(STORED_TOKEN, { setPassword: rejected(403, 'forbidden', 'write:users is unauthorized') }),
  );
  assert.equal(refused.kinds, ['checkSetupStatus', 'checkToken', 'setPassword']);
  assert.is(refused.finish.reason, Reason.PasswordNotSet);
  assert.equal(refused.finish.requeue, AFTER);
  assert.match(refused.finish.message, 'refused to set the new password of user admin');
  assert.match(refused.finish.message, 'forbidden: write:users is unauthorized');
  const down = drive(input, setUpWorld(STORED_TOKEN, { setPassword: unreachable() }));
  assert.is(down.finish.reason, Reason.Unreachable);
  assert.equal(down.finish.requeue, BACKOFF);
  noLeaks(refused.finish);
});

test("adopted without a known password, then passwordSecretRef: not set (someone else's password is never overwritten) but proven by sign-in", () => {
  const adopted = credentials('admin', '', REF_TOKEN);
  const input = given(
    { ...tokenRef, ...passwordRef },
    {
      secret: ownedSecret(secretData(adopted)),
      references: { token: found(REF_TOKEN), password: found(REF_PASSWORD) },
    },
    onboardedStatus({ adopted: true, passwordCheckedAt: undefined }),
  );
  const run = drive(input, setUpWorld(REF_TOKEN));
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'writeSecret',
    'lookupIDs',
    'checkPassword',
    'checkHealth',
  ]);
  assert.is(only(run, 'checkPassword').password, REF_PASSWORD);
  const wrong = drive(input, setUpWorld(REF_TOKEN, { checkPassword: unauthorized() }));
  assert.is(wrong.finish.reason, Reason.PasswordInvalid);
  assert.equal(wrong.finish.requeue, AFTER);
  assert.is(
    wrong.finish.message,
    `The password in Secret ${SECRET_NAME} does not sign in to InfluxDB at ${INFLUX_URL} as user admin (unauthorized: unauthorized access); the token works. To fix it, put the user's current password in Secret influx-admin key password`,
  );
  noLeaks(wrong.finish);
});

test('rotate-password annotation: a generated password is persisted as pending first, then set, then promoted with the request recorded', () => {
  const input = onboarded({}, {}, ROTATE('2026-12-01'));
  const run = drive(input, setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'writeSecret',
    'setPassword',
    'writeSecret',
    'lookupIDs',
    'checkPassword',
    'checkHealth',
  ]);
  const [pending, promoted] = run.steps.filter(
    (step): step is Extract<Step, { kind: 'writeSecret' }> => step.kind === 'writeSecret',
  );
  assert.equal(pending?.secret, { ...desiredSecret(STORED), pendingPassword: GEN_PASSWORD });
  assert.equal(only(run, 'setPassword').password, GEN_PASSWORD);
  assert.equal(promoted?.secret, {
    ...desiredSecret(credentials('admin', GEN_PASSWORD, STORED_TOKEN)),
    pendingPassword: null,
    passwordRotation: '2026-12-01',
  });
  assert.is(only(run, 'checkPassword').password, GEN_PASSWORD);
  assert.is(run.finish.event?.reason, 'PasswordRotated');
  assert.match(run.finish.event?.message ?? '', `on request (${ROTATE_PASSWORD_ANNOTATION}: 2026-12-01)`);
  assert.is(run.finish.status.passwordRotatedAt, NOW);
  noLeaks(run.finish);

  // Done once: the Secret records the request.
  const done = drive({ ...input, secret: run.facts.secret }, setUpWorld(STORED_TOKEN));
  assert.equal(done.kinds, ['checkBucket'], 'the one-request drift check');
  // A new value is a new request.
  const next = drive(
    {
      ...input,
      resource: resource({ status: onboardedStatus(), annotations: ROTATE('2026-12-02') }),
      secret: run.facts.secret,
    },
    setUpWorld(STORED_TOKEN),
  );
  assert.is(next.kinds.filter((kind) => kind === 'setPassword').length, 1);
});

test('rotate-password: killed after the pending write or after the set, the next reconcile sets the pending password (again) and promotes it', () => {
  const pendingSecret = ownedSecret(secretData(STORED), false, { tls: NO_TLS, pendingPassword: MEMO_PASSWORD });
  const run = drive(onboarded({}, { secret: pendingSecret }, ROTATE('2026-12-01')), setUpWorld(STORED_TOKEN));
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'setPassword',
    'writeSecret',
    'lookupIDs',
    'checkPassword',
    'checkHealth',
  ]);
  assert.is(only(run, 'setPassword').password, MEMO_PASSWORD, 'the persisted password, not a new one');
  assert.equal(only(run, 'writeSecret').secret, {
    ...desiredSecret(credentials('admin', MEMO_PASSWORD, STORED_TOKEN)),
    pendingPassword: null,
    passwordRotation: '2026-12-01',
  });
  // A refused set leaves the pending password in place for the next try.
  const refused = drive(
    onboarded({}, { secret: pendingSecret }, ROTATE('2026-12-01')),
    setUpWorld(STORED_TOKEN, { setPassword: rejected(400, 'invalid', 'x') }),
  );
  assert.equal(refused.kinds, ['checkSetupStatus', 'checkToken', 'setPassword']);
  assert.is(refused.finish.reason, Reason.PasswordNotSet);
});

test('rotate-password: with passwordSecretRef the referenced password rules and a pending one is dropped; a Secret created now counts the request as handled', () => {
  const pendingSecret = ownedSecret(secretData(STORED), false, { tls: NO_TLS, pendingPassword: MEMO_PASSWORD });
  const referenced = drive(
    onboarded(passwordRef, { secret: pendingSecret, references: { password: found(REF_PASSWORD) } }, ROTATE('x')),
    setUpWorld(STORED_TOKEN),
  );
  assert.is(only(referenced, 'setPassword').password, REF_PASSWORD);
  assert.equal(only(referenced, 'writeSecret').secret, {
    ...desiredSecret(credentials('admin', REF_PASSWORD, STORED_TOKEN)),
    pendingPassword: null,
  });
  // A fresh onboarding with the annotation already set: the Secret records it before the POST.
  const fresh = drive(facts({ resource: resource({ annotations: ROTATE('2026-12-01') }) }), freshWorld());
  assert.equal(fresh.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.equal(only(fresh, 'writeSecret').secret, {
    ...desiredSecret(credentials('admin', GEN_PASSWORD, GEN_TOKEN)),
    passwordRotation: '2026-12-01',
  });
  // Without a known token owner (right after the setup) nothing is rotated.
  assert.is(fresh.finish.event?.reason, Reason.Onboarded);
});

test("password check: a setup made now (201) created the user with the Secret's password, so it counts as the first check: no sign-in, passwordCheckedAt now", () => {
  const fresh = drive(facts(), freshWorld());
  assert.not.ok(fresh.kinds.includes('checkPassword'));
  assert.is(fresh.finish.status.passwordCheckedAt, NOW);
  const user = drive(
    setupUserFacts(),
    setUpWorld(GEN_TOKEN, { checkToken: unauthorized(), postSetupUser: ok(setupResult()) }),
  );
  assert.not.ok(user.kinds.includes('checkPassword'));
  assert.is(user.finish.status.passwordCheckedAt, NOW);
  // A refused setup proves nothing, and a later reconcile without a setup signs in once the interval is up.
  const refused = drive(facts(), freshWorld({ postSetup: unauthorized() }));
  assert.not.ok(refused.kinds.includes('checkPassword'));
  assert.is(refused.finish.status.passwordCheckedAt, undefined);
});

test('password check: every --password-check-interval, not in between; none without a password; an outage is Unreachable', () => {
  const recently = onboarded();
  assert.not.ok(drive(recently, setUpWorld(STORED_TOKEN)).kinds.includes('checkPassword'));
  const due = {
    ...recently,
    resource: resource({ status: onboardedStatus({ passwordCheckedAt: '2026-03-01T11:00:00Z' }) }),
  };
  const checked = drive(due, setUpWorld(STORED_TOKEN));
  assert.equal(only(checked, 'checkPassword'), { kind: 'checkPassword', username: 'admin', password: STORED_PASSWORD });
  assert.is(checked.finish.status.passwordCheckedAt, NOW);
  assert.is(checked.finish.event, undefined, 'a passing check is quiet');
  const wrong = drive(due, setUpWorld(STORED_TOKEN, { checkPassword: unauthorized() }));
  assert.is(wrong.finish.reason, Reason.PasswordInvalid);
  assert.match(wrong.finish.message, `annotate this resource with ${ROTATE_PASSWORD_ANNOTATION}=<a new value>`);
  assert.is(wrong.finish.status.passwordCheckedAt, '2026-03-01T11:00:00Z', 'a failed check is not recorded as one');
  const down = drive(due, setUpWorld(STORED_TOKEN, { checkPassword: unreachable() }));
  assert.is(down.finish.reason, Reason.Unreachable);
  const noPassword = drive(
    given(
      tokenRef,
      { references: { token: found(REF_TOKEN) }, secret: ownedSecret(secretData(credentials('admin', '', REF_TOKEN))) },
      onboardedStatus({ adopted: true, passwordCheckedAt: undefined }),
    ),
    setUpWorld(REF_TOKEN),
  );
  assert.not.ok(noPassword.kinds.includes('checkPassword'));
});

// ---------------------------------------------------------------------------------------------
// Operator token rotation on request

const ROTATE_TOKEN = (value: string) => ({ [ROTATE_TOKEN_ANNOTATION]: value });
const MARKER = `influx-onboarding-operator rotation ${resource().metadata.uid} `;
const SETUP_AUTHORIZATION = authorization(IDS.authorizationID, "admin's Token", STORED_TOKEN);

/** A set-up instance whose Secret token is STORED_TOKEN, and where a rotation's new token works too. */
function rotationWorld(listed: Authorization[] = [SETUP_AUTHORIZATION], extra: World = {}): World {
  return setUpWorld(STORED_TOKEN, {
    checkToken: (step) => ([STORED_TOKEN, ROTATED_TOKEN].includes(step.token) ? ok(owner()) : unauthorized()),
    lookupIDs: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }),
    listAuthorizations: ok(listed),
    createAuthorization: ok(createdAuthorization(ROTATED_AUTHORIZATION_ID, ROTATED_TOKEN)),
    deleteAuthorization: ok<Deletion>('deleted'),
    ...extra,
  });
}

test("rotate-token: a copy of the token's authorization is created, proven with /me, written with the IDs, then the old one deleted; TokenRotated", () => {
  const input = onboarded({}, {}, ROTATE_TOKEN('r1'));
  const run = drive(input, rotationWorld());
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'listAuthorizations',
    'createAuthorization',
    'checkNewToken',
    'writeSecret',
    'deleteAuthorization',
    'writeSecret',
    'lookupIDs',
    'checkHealth',
  ]);
  assert.equal(only(run, 'createAuthorization'), {
    kind: 'createAuthorization',
    token: STORED_TOKEN,
    request: { orgID: IDS.orgID, userID: IDS.userID, description: `${MARKER}r1`, permissions: OPERATOR_PERMISSIONS },
  });
  assert.is(only(run, 'checkNewToken').token, ROTATED_TOKEN);
  const [rotated, cleaned] = run.steps.filter(
    (step): step is Extract<Step, { kind: 'writeSecret' }> => step.kind === 'writeSecret',
  );
  const next = credentials('admin', STORED_PASSWORD, ROTATED_TOKEN);
  assert.equal(rotated?.secret, {
    ...desiredSecret(next),
    tokenRotation: 'r1',
    authorizationID: ROTATED_AUTHORIZATION_ID,
    replacedAuthorization: IDS.authorizationID,
  });
  assert.equal(only(run, 'deleteAuthorization'), {
    kind: 'deleteAuthorization',
    token: ROTATED_TOKEN,
    id: IDS.authorizationID,
  });
  assert.equal(cleaned?.secret, { ...desiredSecret(next), replacedAuthorization: null });
  assert.is(only(run, 'lookupIDs').token, ROTATED_TOKEN);
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.is(run.finish.event?.reason, 'TokenRotated');
  assert.match(run.finish.event?.message ?? '', `new authorization ${ROTATED_AUTHORIZATION_ID}`);
  assert.is(run.finish.status.tokenRotatedAt, NOW);
  assert.is(run.finish.status.authorizationID, ROTATED_AUTHORIZATION_ID);
  noLeaks(run.finish);
  // Done once.
  // The status (without the new authorization ID) is as before the rotation: a full check, not the one-request drift check.
  const done = drive({ ...input, secret: run.facts.secret }, rotationWorld());
  assert.equal(done.kinds, ['checkSetupStatus', 'checkToken', 'lookupIDs', 'checkHealth']);
  assert.is(
    done.finish.status.authorizationID,
    ROTATED_AUTHORIZATION_ID,
    'from the Secret, even if a status write was lost',
  );
});

test('rotate-token on v2.9 (tokens not listed): the setup token is known by the ID the setup answered; an adopted token without a record cannot be copied (TokenNotRotated)', () => {
  const hashed = authorization(IDS.authorizationID, "admin's Token");
  const run = drive(onboarded({}, {}, ROTATE_TOKEN('r1')), rotationWorld([hashed]));
  assert.is(only(run, 'deleteAuthorization').id, IDS.authorizationID);
  assert.is(run.finish.event?.reason, 'TokenRotated');
  const adopted = facts({
    resource: resource({ status: onboardedStatus({ adopted: true }), annotations: ROTATE_TOKEN('r1') }),
    secret: ownedSecret(secretData(STORED)),
  });
  const refused = drive(adopted, rotationWorld([hashed]));
  assert.equal(refused.kinds, ['checkSetupStatus', 'checkToken', 'listAuthorizations']);
  assert.is(refused.finish.reason, Reason.TokenNotRotated);
  assert.equal(refused.finish.requeue, AFTER);
  assert.match(refused.finish.message, 'influx auth create --operator');
});

test('rotate-token: a token this operator did not create (adopted) is replaced but never deleted', () => {
  const theirs = authorization('5a1b2c3d4e5f6076', "someone's Token", STORED_TOKEN);
  const adopted = facts({
    resource: resource({ status: onboardedStatus({ adopted: true }), annotations: ROTATE_TOKEN('r1') }),
    secret: ownedSecret(secretData(STORED)),
  });
  const run = drive(adopted, rotationWorld([theirs]));
  assert.equal(run.kinds, [
    'checkSetupStatus',
    'checkToken',
    'listAuthorizations',
    'createAuthorization',
    'checkNewToken',
    'writeSecret',
    'lookupIDs',
    'checkHealth',
  ]);
  assert.is(only(run, 'writeSecret').secret.replacedAuthorization, undefined);
  assert.is(run.finish.event?.reason, 'TokenRotated');
});

test("rotate-token after a crash: an orphan of an earlier attempt (marked, not the Secret's) is deleted before the new create; the Secret's own marked token never is", () => {
  const orphan = authorization('6a1b2c3d4e5f6077', `${MARKER}r0`);
  const run = drive(onboarded({}, {}, ROTATE_TOKEN('r1')), rotationWorld([SETUP_AUTHORIZATION, orphan]));
  assert.equal(run.kinds.slice(0, 5), [
    'checkSetupStatus',
    'checkToken',
    'listAuthorizations',
    'deleteAuthorization',
    'createAuthorization',
  ]);
  assert.equal(
    run.steps
      .filter((step) => step.kind === 'deleteAuthorization')
      .map((step) => step.kind === 'deleteAuthorization' && step.id),
    [orphan.id, IDS.authorizationID],
  );
  // The Secret holds a rotated token (recorded with its authorization ID): that one is current.
  const current = authorization(ROTATED_AUTHORIZATION_ID, `${MARKER}r1`);
  const secret = ownedSecret(secretData(credentials('admin', STORED_PASSWORD, ROTATED_TOKEN)), false, {
    tls: NO_TLS,
    tokenRotation: 'r1',
    authorizationID: ROTATED_AUTHORIZATION_ID,
  });
  const again = drive(
    facts({ resource: resource({ status: onboardedStatus(), annotations: ROTATE_TOKEN('r2') }), secret }),
    rotationWorld([current, orphan], {
      checkToken: ok(owner()),
      createAuthorization: ok(createdAuthorization('7a1b2c3d4e5f6078', `${ROTATED_TOKEN}-2`)),
    }),
  );
  const deletedIDs = again.steps.flatMap((step) => (step.kind === 'deleteAuthorization' ? [step.id] : []));
  assert.equal(
    deletedIDs,
    [orphan.id, ROTATED_AUTHORIZATION_ID],
    'the orphan first; the current one only after the new token is in the Secret',
  );
  assert.ok(again.kinds.indexOf('writeSecret') < again.kinds.lastIndexOf('deleteAuthorization'));
  assert.is(only(again, 'createAuthorization').request.description, `${MARKER}r2`);
});

test('rotate-token killed after the Secret write: the replaced authorization is deleted on the next reconcile (404 counts as gone), then its record dropped', () => {
  const secret = ownedSecret(secretData(credentials('admin', STORED_PASSWORD, ROTATED_TOKEN)), false, {
    tls: NO_TLS,
    tokenRotation: 'r1',
    authorizationID: ROTATED_AUTHORIZATION_ID,
    replacedAuthorization: IDS.authorizationID,
  });
  for (const answer of [ok<Deletion>('deleted'), ok<Deletion>('absent')]) {
    const run = drive(
      facts({ resource: resource({ status: onboardedStatus(), annotations: ROTATE_TOKEN('r1') }), secret }),
      rotationWorld([], { deleteAuthorization: answer }),
    );
    assert.equal(run.kinds, [
      'checkSetupStatus',
      'checkToken',
      'deleteAuthorization',
      'writeSecret',
      'lookupIDs',
      'checkHealth',
    ]);
    assert.equal(only(run, 'deleteAuthorization'), {
      kind: 'deleteAuthorization',
      token: ROTATED_TOKEN,
      id: IDS.authorizationID,
    });
    assert.is(only(run, 'writeSecret').secret.replacedAuthorization, null);
    assert.is(run.finish.reason, Reason.Onboarded);
  }
  const refused = drive(
    facts({ resource: resource({ status: onboardedStatus() }), secret }),
    rotationWorld([], { deleteAuthorization: rejected(403, 'forbidden', 'no') }),
  );
  assert.is(refused.finish.reason, Reason.TokenNotRotated);
  assert.match(refused.finish.message, `to delete the replaced authorization ${IDS.authorizationID}`);
});

test('rotate-token refused or unproven: TokenNotRotated, the Secret keeps its working token; with tokenSecretRef the annotation does nothing', () => {
  const cases: Array<[World, string]> = [
    [
      rotationWorld([SETUP_AUTHORIZATION], {
        createAuthorization: rejected(403, 'forbidden', 'write:authorizations is unauthorized'),
      }),
      'to create a new authorization',
    ],
    [
      rotationWorld([SETUP_AUTHORIZATION], {
        checkToken: (step) => (step.token === STORED_TOKEN ? ok(owner()) : unauthorized()),
      }),
      `the token of the new authorization ${ROTATED_AUTHORIZATION_ID}`,
    ],
    [
      rotationWorld([SETUP_AUTHORIZATION], {
        listAuthorizations: rejected(403, 'forbidden', 'read:authorizations is unauthorized'),
      }),
      'to list the authorizations',
    ],
  ];
  for (const [world, doing] of cases) {
    const run = drive(onboarded({}, {}, ROTATE_TOKEN('r1')), world);
    assert.is(run.finish.reason, Reason.TokenNotRotated, doing);
    assert.match(run.finish.message, doing);
    assert.not.ok(run.kinds.includes('writeSecret'), `${doing}: the Secret is not touched`);
    noLeaks(run.finish);
  }
  const down = drive(
    onboarded({}, {}, ROTATE_TOKEN('r1')),
    rotationWorld([SETUP_AUTHORIZATION], { createAuthorization: unreachable() }),
  );
  assert.is(down.finish.reason, Reason.Unreachable);
  const referenced = drive(
    given(
      tokenRef,
      { references: { token: found(STORED_TOKEN) }, secret: ownedSecret(secretData(STORED)) },
      onboardedStatus(),
    ),
    rotationWorld(),
  );
  assert.not.ok(referenced.kinds.includes('listAuthorizations'));
});

// ---------------------------------------------------------------------------------------------
// Every Ready reason: requeue, condition status, and events only on transitions

interface ReasonCase {
  reason: Reason;
  input: Facts;
  world: World;
  requeue: Requeue;
  status: Condition['status'];
  /** Event type on the first occurrence (undefined: none). */
  event: 'Normal' | 'Warning' | undefined;
}

const reasonCases: ReasonCase[] = [
  { reason: Reason.Onboarded, input: facts(), world: freshWorld(), requeue: AFTER, status: 'True', event: 'Normal' },
  {
    reason: Reason.Adopted,
    input: given(
      tokenRef,
      { references: { token: found(REF_TOKEN) }, secret: ownedSecret(secretData(credentials('admin', '', REF_TOKEN))) },
      onboardedStatus({ adopted: true }),
    ),
    world: setUpWorld(REF_TOKEN),
    requeue: AFTER,
    status: 'True',
    event: undefined, // only reachable as the kept reason (see withPrevious below)
  },
  {
    reason: Reason.Progressing,
    input: setupUserFacts(),
    world: freshWorld(),
    requeue: AFTER,
    status: 'Unknown',
    event: undefined,
  },
  {
    reason: Reason.InvalidSpec,
    input: given({ retentionPeriodSeconds: 1.5 }),
    world: {},
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.SecretNotFound,
    input: given(passwordRef, { references: { password: missing('gone') } }),
    world: {},
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.SecretConflict,
    input: facts({ secret: FOREIGN }),
    world: {},
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.Unreachable,
    input: facts(),
    world: { setupStatus: unreachable() },
    requeue: BACKOFF,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.SetupFailed,
    input: facts(),
    world: freshWorld({ postSetup: rejected(400, 'invalid', 'x') }),
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.EnsureFailed,
    input: facts({ secret: ownedSecret(secretData(STORED)), resource: resource({ status: onboardedStatus() }) }),
    world: setUpWorld(STORED_TOKEN, {
      lookupIDs: ok({ orgID: IDS.orgID }),
      repair: rejected(403, 'forbidden', 'write:orgs/x is unauthorized'),
    }),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.AlreadyOnboarded,
    input: facts(),
    world: { setupStatus: ok({ allowed: false }) },
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.TokenInvalid,
    input: facts({ secret: ownedSecret(secretData(STORED)), resource: resource({ status: onboardedStatus() }) }),
    world: setUpWorld('other'),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.InstanceReset,
    input: given({ resetPolicy: 'Report' }, { secret: ownedSecret(secretData(STORED)) }, { onboardedAt: EARLIER }),
    world: freshWorld(),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.Unsupported,
    input: setupUserFacts(),
    world: setUpWorld('x', {
      checkToken: unauthorized(),
      postSetupUser: rejected(404, 'not found', '404 page not found'),
    }),
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.DuplicateTarget,
    input: facts({ duplicateOf: 'a/b' }),
    world: {},
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.TargetChanged,
    input: moved({ url: NEW_URL }),
    world: {},
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.SecretNotPermitted,
    input: given(tokenRef, { references: { token: found(REF_TOKEN, []) } }),
    world: {},
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.URLNotAllowed,
    input: facts(),
    world: { setupStatus: refused('not-allowed') },
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.NotPermitted,
    input: facts({ notPermitted: NOT_PERMITTED }),
    world: {},
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.EscrowApprovalRequired,
    input: facts({ escrowApprovalNeeded: ESCROW_SECRET }),
    world: freshWorld(),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.AddressRefused,
    input: facts(),
    world: { setupStatus: refused('link-local') },
    requeue: NONE,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.PasswordNotSet,
    input: given(
      passwordRef,
      { secret: ownedSecret(secretData(STORED)), references: { password: found(REF_PASSWORD) } },
      onboardedStatus(),
    ),
    world: setUpWorld(STORED_TOKEN, { setPassword: rejected(403, 'forbidden', 'write:users is unauthorized') }),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.TokenNotRotated,
    input: facts({
      secret: ownedSecret(secretData(STORED)),
      resource: resource({ status: onboardedStatus(), annotations: { [ROTATE_TOKEN_ANNOTATION]: 'r1' } }),
    }),
    world: setUpWorld(STORED_TOKEN, {
      listAuthorizations: rejected(403, 'forbidden', 'read:authorizations is unauthorized'),
    }),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
  {
    reason: Reason.PasswordInvalid,
    input: facts({
      secret: ownedSecret(secretData(STORED)),
      resource: resource({ status: onboardedStatus({ passwordCheckedAt: EARLIER }) }),
    }),
    world: setUpWorld(STORED_TOKEN, { checkPassword: unauthorized() }),
    requeue: AFTER,
    status: 'False',
    event: 'Warning',
  },
];

test('every Ready reason: requeue kind, condition status, event on the first occurrence only', () => {
  assert.equal(
    [...new Set(reasonCases.map((c) => c.reason))].sort(),
    Object.values(Reason).sort(),
    'every reason covered',
  );
  for (const c of reasonCases) {
    const input = c.reason === Reason.Adopted ? withPrevious(c.input, Reason.Adopted, 'True') : c.input;
    const first = drive(input, c.world).finish;
    assert.is(first.reason, c.reason);
    assert.equal(first.requeue, c.requeue, `${c.reason} requeue`);
    assert.is(readyOf(first).status, c.status, `${c.reason} condition status`);
    assert.is(readyOf(first).reason, c.reason);
    assert.is(readyOf(first).message, first.message);
    if (c.event === undefined) assert.is(first.event, undefined, `${c.reason}: no event`);
    else assert.equal(first.event, { type: c.event, reason: c.reason, message: first.message }, `${c.reason} event`);
    noLeaks(first);

    // The same reason again (a retry): no event, and the transition time is kept.
    const retry = drive(withPrevious(c.input, c.reason, c.status), c.world).finish;
    assert.is(retry.reason, c.reason);
    assert.is(retry.event, undefined, `${c.reason}: not repeated on retries`);
    assert.is(readyOf(retry).lastTransitionTime, EARLIER, `${c.reason}: time kept`);
  }
});

test('events follow Ready-reason transitions, including between two failures with the same status', () => {
  const unreachableBefore = withPrevious(facts(), Reason.Unreachable, 'False');
  const failed = drive(unreachableBefore, freshWorld({ postSetup: rejected(400, 'invalid', 'x') })).finish;
  assert.is(failed.reason, Reason.SetupFailed);
  assert.equal(failed.event?.type, 'Warning', 'a new reason is an event');
  assert.is(readyOf(failed).lastTransitionTime, EARLIER, 'False -> False keeps the time');

  const progressing = drive(
    unreachableBefore,
    freshWorld({ postSetup: alreadySetUp(), setupRecheck: ok({ allowed: false }) }),
  ).finish;
  assert.is(progressing.event, undefined, 'Progressing has no event');
  assert.is(readyOf(progressing).lastTransitionTime, NOW, 'False -> Unknown moves the time');

  const recovered = drive(unreachableBefore, freshWorld()).finish;
  assert.equal(recovered.event?.type, 'Normal');
  assert.is(readyOf(recovered).lastTransitionTime, NOW);
});

// ---------------------------------------------------------------------------------------------
// Exported helpers

test('withReady: set by type, others kept, lastTransitionTime only changes when the status does', () => {
  const other: Condition = { type: 'Other', status: 'True', lastTransitionTime: EARLIER, reason: 'Fine', message: '' };
  const start = [readyCondition('True', 'Onboarded', 'm', EARLIER), other];
  const same = withReady(start, { status: 'True', reason: 'Adopted', message: 'n', observedGeneration: 2 }, NOW);
  assert.is(same.length, 2);
  assert.equal(
    same.filter((c) => c.type === READY),
    [
      {
        type: READY,
        status: 'True',
        observedGeneration: 2,
        lastTransitionTime: EARLIER,
        reason: 'Adopted',
        message: 'n',
      },
    ],
  );
  assert.equal(
    same.find((c) => c.type === 'Other'),
    other,
  );
  const changed = withReady(start, { status: 'False', reason: 'TokenInvalid', message: 'x' }, NOW);
  assert.is(changed.find((c) => c.type === READY)?.lastTransitionTime, NOW);
  assert.not.ok('observedGeneration' in (changed.find((c) => c.type === READY) ?? {}));
  assert.equal(withReady(undefined, { status: 'Unknown', reason: 'Progressing', message: '' }, NOW), [
    { type: READY, status: 'Unknown', lastTransitionTime: NOW, reason: 'Progressing', message: '' },
  ]);
});

test('secretMatches: owned, same garbage collection, same TLS settings, and every key equal', () => {
  const desired = desiredSecret(STORED);
  assert.ok(secretMatches(ownedSecret(secretData(STORED)), desired));
  assert.ok(
    secretMatches(ownedSecret({ ...secretData(STORED), extra: 'x' } as never), desired),
    'extra keys do not matter',
  );
  assert.not.ok(secretMatches(ownedSecret(secretData(STORED), true), desired));
  assert.not.ok(secretMatches(ownedSecret(secretData(STORED), false, {}), desired), 'TLS settings not recorded yet');
  assert.not.ok(
    secretMatches(
      ownedSecret(secretData(STORED), false, { tls: 'caSecretRef=ca/ca.crt,insecureSkipVerify=false' }),
      desired,
    ),
  );
  assert.not.ok(secretMatches(ownedSecret({ ...secretData(STORED), password: 'other' }), desired));
  assert.not.ok(secretMatches(ownedSecret({ ...secretData(STORED), bucket: undefined }), desired));
  assert.not.ok(secretMatches(FOREIGN, desired));
  assert.not.ok(secretMatches(ABSENT, desired));
});

// ---------------------------------------------------------------------------------------------
// Properties over random facts

const SHORT_PASSWORD = 'Sh0rt!x';
const PENDING_PASSWORD = 'PendingPw-5d41402abc4b2a76b9';
const PROPERTY_SECRETS = [...SECRET_VALUES, SHORT_PASSWORD, PENDING_PASSWORD];

function randomSpec(r: () => number): Record<string, unknown> {
  const mode = r() < 0.35 ? 'SetupUser' : r() < 0.05 ? 'Bogus' : undefined;
  return {
    ...(r() < 0.05 ? { url: pick(r, ['ftp://x', 'http://u:p@h', 'http://h?q=1']) } : {}),
    ...(r() < 0.5 ? passwordRef : {}),
    ...(r() < 0.5 ? tokenRef : {}),
    ...(mode === 'SetupUser' ? (r() < 0.9 ? authRef : {}) : r() < 0.1 ? authRef : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(r() < 0.2 ? caRef : {}),
    ...(r() < 0.5
      ? {
          credentialsSecret: {
            deletionPolicy: pick(r, ['Retain', 'Delete']),
            ...(r() < 0.3 ? { name: 'custom-creds' } : {}),
          },
        }
      : {}),
    ...(r() < 0.5 ? { resetPolicy: pick(r, ['Reonboard', 'Report']) } : {}),
    ...(r() < 0.3 ? { retentionPeriodSeconds: pick(r, [0, 3600, 86_400, 604_800, 0, 3600, 3599, -1]) } : {}),
    ...(r() < 0.03 ? { bucket: '_internal' } : {}),
  };
}

function randomReference(r: () => number, good: string, bad: readonly string[]): Reference {
  const roll = r();
  const consentRoll = r();
  const consent = consentRoll < 0.94 ? [INFLUX_URL] : consentRoll < 0.97 ? [] : ['http://elsewhere:8086'];
  return roll < 0.9 ? found(good, consent) : roll < 0.95 ? missing('Secret not found') : found(pick(r, bad), consent);
}

function randomCreds(r: () => number): Credentials {
  return pick(r, [
    STORED,
    MEMO,
    credentials('admin', '', REF_TOKEN),
    credentials('admin', GEN_PASSWORD, GEN_TOKEN),
    credentials('admin', REF_PASSWORD, REF_TOKEN),
  ]);
}

function randomSecret(r: () => number, spec: Record<string, unknown>): CredentialsSecret {
  const kind = pick(r, ['absent', 'foreign', 'owned', 'owned', 'owned', 'partial']);
  if (kind === 'absent') return ABSENT;
  if (kind === 'foreign') return FOREIGN;
  // Mostly bound to the spec's target; sometimes to another URL or TLS settings, or not recorded.
  const url = r() < 0.93 ? {} : { url: NEW_URL };
  const data = secretData(randomCreds(r), { ...(spec as Partial<InfluxOnboardingSpec>), ...url });
  const checked = checkSpec(resource({ spec }));
  const tlsRoll = r();
  const tls = tlsRoll < 0.9 ? (checked.ok ? tlsSettings(checked.spec) : NO_TLS) : tlsRoll < 0.95 ? CA_TLS : undefined;
  const annotations = {
    ...(tls !== undefined && { tls }),
    ...(r() < 0.3 && { retargetTo: INFLUX_URL }),
    ...(r() < 0.15 && { pendingPassword: PENDING_PASSWORD }),
    ...(r() < 0.3 && { passwordRotation: pick(r, ['2026-01', '2026-02']) }),
    ...(r() < 0.15 && { tokenRotation: pick(r, ['2026-01', '2026-02']) }),
    ...(r() < 0.15 && { authorizationID: pick(r, [IDS.authorizationID, ROTATED_AUTHORIZATION_ID]) }),
    ...(r() < 0.05 && { replacedAuthorization: pick(r, [IDS.authorizationID, ROTATED_AUTHORIZATION_ID]) }),
  };
  if (kind === 'partial')
    return ownedSecret({ ...data, ...(r() < 0.5 ? { token: '' } : { username: undefined }) }, false, annotations);
  return ownedSecret(data, r() < 0.3, annotations);
}

function randomStatus(r: () => number): InfluxOnboardingStatus | undefined {
  const reason = pick(r, Object.values(Reason));
  const condition = readyCondition(
    reason === Reason.Onboarded || reason === Reason.Adopted
      ? 'True'
      : reason === Reason.Progressing
        ? 'Unknown'
        : 'False',
    reason,
  );
  return pick(r, [
    undefined,
    onboardedStatus(),
    { ...onboardedStatus(), conditions: [condition] },
    { conditions: [condition] },
    { ...failedStatus(reason), onboardedAt: EARLIER },
  ]);
}

function randomFailure(r: () => number): Outcome<never> {
  return pick(r, [
    unreachable<never>(),
    refused<never>('link-local'),
    refused<never>('not-allowed'),
    unauthorized<never>(),
    rejected<never>(404, 'not found', '404 page not found'),
    rejected<never>(405, 'method not allowed', 'x'),
    alreadySetUp<never>(),
    rejected<never>(400, 'invalid', 'bad'),
  ]);
}

function randomFacts(r: () => number, observations: boolean): Facts {
  const spec = randomSpec(r);
  const status = randomStatus(r);
  // As the reconciler builds them: a Reference for every declared reference, none for the others.
  const references: Facts['references'] = {};
  const declared = (key: string): boolean => key in spec || (key === 'caSecretRef' && 'tls' in spec);
  if (declared('passwordSecretRef'))
    references.password = randomReference(r, REF_PASSWORD, [SHORT_PASSWORD, 'x'.repeat(73)]);
  if (declared('tokenSecretRef'))
    references.token = randomReference(r, REF_TOKEN, [`${REF_TOKEN}\n`, '', `${REF_TOKEN} `]);
  if (declared('authTokenSecretRef')) references.authToken = randomReference(r, AUTH_TOKEN, [`${AUTH_TOKEN}\n`]);
  if (declared('caSecretRef')) references.ca = randomReference(r, '-----BEGIN CERTIFICATE-----', ['']);
  const annotations = {
    annotations: {
      ...(r() < 0.3 && { [ROTATE_PASSWORD_ANNOTATION]: pick(r, ['2026-01', '2026-02']) }),
      ...(r() < 0.15 && { [ROTATE_TOKEN_ANNOTATION]: pick(r, ['2026-01', '2026-02']) }),
    },
  };
  const input = facts({
    resource: resource({ spec, ...(status && { status }), generation: 1 + Math.floor(r() * 3), ...annotations }),
    references,
    secret: randomSecret(r, spec),
    ...(r() < 0.4 ? { remembered: rememberedAt(randomCreds(r), r() < 0.9 ? INFLUX_URL : NEW_URL) } : {}),
    ...(r() < 0.05 ? { duplicateOf: 'other/older' } : {}),
    ...(r() < 0.03 ? { notPermitted: NOT_PERMITTED } : {}),
    requireSecretConsent: r() < 0.9,
  });
  // As the reconciler reads the escrow: only with the Secret gone and nothing remembered.
  if (input.secret.state === 'absent' && input.remembered === undefined && r() < 0.1)
    input.escrowApprovalNeeded = ESCROW_SECRET;
  if (!observations) return input;
  return {
    ...input,
    ...(r() < 0.8
      ? {
          setupStatus: pick(r, [
            ok({ allowed: true }),
            ok({ allowed: true }),
            ok({ allowed: false }),
            ok({ allowed: false }),
            ok({ allowed: false }),
            unreachable<{ allowed: boolean }>(),
            refused<{ allowed: boolean }>('not-allowed'),
          ]),
        }
      : {}),
    ...(r() < 0.5 ? { tokenCheck: pick(r, [ok(owner()), unauthorized(), unreachable()]) } : {}),
    ...(r() < 0.3
      ? {
          ids: pick(r, [
            ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }),
            ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }),
            ok({ orgID: IDS.orgID }),
            ok({}),
            unreachable(),
          ]),
        }
      : {}),
    ...(r() < 0.1
      ? {
          repairFailure: {
            doing: 'creating org acme',
            failure: pick(r, [rejectedFailure(403, 'forbidden', 'no'), unreachableFailure()]),
          },
        }
      : {}),
    ...(r() < 0.1 ? { repairs: ['created org acme'] } : {}),
    ...(r() < 0.3 ? { health: pick(r, [ok(health()), ok(health(null)), unreachable()]) } : {}),
    ...(r() < 0.15
      ? {
          passwordSet: {
            password: pick(r, [REF_PASSWORD, PENDING_PASSWORD]),
            outcome: pick(r, [ok(true as const), unreachable<true>(), rejected<true>(403, 'forbidden', 'no')]),
          },
        }
      : {}),
    ...(r() < 0.6
      ? {
          passwordCheck: pick(r, [
            ok(true as const),
            ok(true as const),
            ok(true as const),
            unauthorized<true>(),
            unreachable<true>(),
          ]),
        }
      : {}),
    ...(r() < 0.3 ? { setupAnswer: r() < 0.5 ? ok(setupResult()) : randomFailure(r) } : {}),
    ...(r() < 0.2 ? { secretWritten: r() < 0.5 } : {}),
  };
}

function randomWorld(r: () => number): World {
  return {
    setupStatus: () =>
      r() < 0.05
        ? refused(pick(r, ['link-local', 'not-allowed'] as const))
        : pick(r, [
            ok({ allowed: true }),
            ok({ allowed: false }),
            ok({ allowed: false }),
            unreachable<{ allowed: boolean }>(),
          ]),
    checkToken: () => pick(r, [ok(owner()), ok(owner()), unauthorized(), unreachable()]),
    lookupIDs: () =>
      pick(r, [
        ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }),
        ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 3600 }),
        ok({ orgID: IDS.orgID }),
        ok({}),
        unreachable(),
      ]),
    repair: () =>
      pick(r, [
        ok({ id: IDS.bucketID }),
        ok({ id: IDS.bucketID }),
        unreachable(),
        rejected(403, 'forbidden', 'write:orgs is unauthorized'),
      ]),
    health: () => pick(r, [ok(health()), unreachable()]),
    listAuthorizations: () =>
      pick(r, [
        ok([authorization(IDS.authorizationID, "admin's Token", STORED_TOKEN)]),
        ok([authorization(IDS.authorizationID, "admin's Token")]),
        ok([
          authorization(IDS.authorizationID, "admin's Token"),
          authorization('6a1b2c3d4e5f6077', `${MARKER}2026-00`),
        ]),
        ok([
          authorization(ROTATED_AUTHORIZATION_ID, `${MARKER}2026-01`),
          authorization(IDS.authorizationID, "admin's Token", STORED_TOKEN),
        ]),
        unreachable<Authorization[]>(),
        rejected<Authorization[]>(403, 'forbidden', 'no'),
      ]),
    createAuthorization: () =>
      pick(r, [
        ok(createdAuthorization('7a1b2c3d4e5f6078', ROTATED_TOKEN)),
        ok(createdAuthorization('7a1b2c3d4e5f6078', ROTATED_TOKEN)),
        unreachable(),
        rejected(403, 'forbidden', 'no'),
      ]),
    deleteAuthorization: () =>
      pick(r, [
        ok<Deletion>('deleted'),
        ok<Deletion>('deleted'),
        ok<Deletion>('absent'),
        rejected<Deletion>(403, 'forbidden', 'no'),
      ]),
    setPassword: () =>
      pick(r, [
        ok(true as const),
        ok(true as const),
        unreachable<true>(),
        rejected<true>(403, 'forbidden', 'write:users is unauthorized'),
      ]),
    checkPassword: () =>
      pick(r, [ok(true as const), ok(true as const), ok(true as const), unauthorized<true>(), unreachable<true>()]),
    writeSecret: () => (r() < 0.9 ? 'written' : 'foreign'),
    postSetup: () => (r() < 0.6 ? ok(setupResult()) : randomFailure(r)),
    postSetupUser: () => (r() < 0.5 ? ok(setupResult()) : randomFailure(r)),
  };
}

/** The invariants every single decision must satisfy, whatever the facts. */
function checkInvariants(input: Facts, step: Step, label: string): void {
  const checked = checkSpec(input.resource);
  if (step.kind === 'postSetup' || step.kind === 'postSetupUser') {
    const { request } = step;
    assert.ok(checked.ok, `${label}: POST with an invalid spec`);
    assert.is(input.secret.state, 'owned', `${label}: POST without our Secret`);
    if (input.secret.state !== 'owned' || !checked.ok) return;
    assert.is(input.secret.data.username, request.username, `${label}: username in Secret = request`);
    assert.is(input.secret.data.password, request.password, `${label}: password in Secret = request`);
    assert.is(input.secret.data.token, request.token, `${label}: token in Secret = request`);
    assert.ok(request.password.length >= 8, `${label}: a POST always carries a password`);
    assert.is(request.org, checked.spec.org);
    assert.is(request.bucket, checked.spec.bucket);
    assert.is(request.retentionPeriodSeconds, checked.spec.retentionPeriodSeconds);
    assert.is(input.setupAnswer, undefined, `${label}: never a second POST in one reconcile`);
    assert.is(input.duplicateOf, undefined);
    assert.ok(input.setupStatus?.ok, `${label}: POST only after a successful GET`);
    if (!input.setupStatus?.ok) return;
    assert.is(
      input.setupStatus.value.allowed,
      step.kind === 'postSetup',
      `${label}: /setup only when allowed, /setup/user only when not`,
    );
    assert.is(step.kind === 'postSetup' ? 'Setup' : 'SetupUser', checked.spec.mode);
    if (step.kind === 'postSetupUser') assert.is(step.authToken, AUTH_TOKEN);
  }
  if (input.secret.state === 'foreign')
    assert.is(step.kind, 'finish', `${label}: nothing but a finish with a foreign Secret`);
  // Another namespace's instance, or an escrow copy nobody approved: nothing is sent or written at all.
  if (checked.ok && input.notPermitted !== undefined)
    assert.is(step.kind === 'finish' && step.reason, Reason.NotPermitted, label);
  if (input.escrowApprovalNeeded !== undefined) assert.is(step.kind, 'finish', `${label}: escrow copy unapproved`);
  if (checked.ok && step.kind !== 'finish') {
    // Known credentials are used only with the target they belong to, or one their Secret approved;
    // a Secret is written for the target its credentials belong to (the spec's, or the one they were bound to).
    const inSecret = credentialsIn(input.secret);
    const bound = (inSecret ?? input.remembered)?.target;
    const used =
      step.kind === 'writeSecret'
        ? { url: step.secret.data.url, tls: step.secret.tls }
        : { url: checked.spec.url, tls: tlsSettings(checked.spec) };
    const belongs =
      bound === undefined ||
      ((bound.url === undefined || sameInstance(bound.url, used.url)) &&
        (bound.tls === undefined || bound.tls === used.tls));
    const approved =
      inSecret !== undefined &&
      input.secret.state === 'owned' &&
      sameInstance(input.secret.retargetTo ?? '', checked.spec.url);
    assert.ok(belongs || approved, `${label}: ${step.kind} with credentials that belong to another target`);
    if (!belongs)
      assert.ok(
        step.kind === 'checkSetupStatus' ||
          CREDENTIAL_STEPS.includes(step.kind) ||
          step.kind === 'writeSecret' ||
          step.kind === 'checkHealth',
      );
    // Referenced values go only where their Secret consents to.
    if (input.requireSecretConsent) {
      for (const reference of [input.references.password, input.references.token, input.references.authToken]) {
        if (reference?.found)
          assert.ok(
            reference.allowedUrls.some((url) => sameInstance(url, checked.spec.url)),
            `${label}: ${step.kind} without consent`,
          );
      }
    }
  }
  if (step.kind === 'writeSecret') {
    assert.ok(checked.ok, `${label}: write with an invalid spec`);
    if (!checked.ok) return;
    const { data } = step.secret;
    assert.equal({ username: data.username, password: data.password, token: data.token }, step.credentials);
    // For the spec's target; or, written back while a move waits for an approval on it, for the
    // target the remembered credentials belong to.
    const remembered = credentialsIn(input.secret) === undefined ? input.remembered?.target : undefined;
    const target =
      remembered !== undefined && (data.url !== checked.spec.url || step.secret.tls !== tlsSettings(checked.spec))
        ? { url: remembered.url ?? checked.spec.url, tls: remembered.tls ?? tlsSettings(checked.spec) }
        : { url: checked.spec.url, tls: tlsSettings(checked.spec) };
    assert.equal(
      { url: data.url, org: data.org, bucket: data.bucket },
      { url: target.url, org: checked.spec.org, bucket: checked.spec.bucket },
    );
    assert.is(step.secret.name, checked.spec.credentialsSecretName);
    assert.is(step.secret.garbageCollected, checked.spec.deletionPolicy === 'Delete');
    assert.is(step.secret.tls, target.tls);
  }
  if (step.kind === 'setPassword') {
    // Crash safety: InfluxDB gets a new password only while a Secret already holds it.
    const inReference = input.references.password?.found === true && input.references.password.value === step.password;
    const pending = input.secret.state === 'owned' && input.secret.pendingPassword === step.password;
    assert.ok(inReference || pending, `${label}: setPassword with a password no Secret holds`);
    assert.ok(input.tokenCheck?.ok, `${label}: setPassword only for the user of a token that works`);
    if (input.tokenCheck?.ok) assert.is(step.userID, input.tokenCheck.value.userID);
    assert.is(input.passwordSet, undefined, `${label}: one password set per reconcile`);
  }
  if (step.kind === 'deleteAuthorization' && input.secret.state === 'owned') {
    // Never the authorization of the token the Secret holds.
    assert.is.not(step.id, input.secret.authorizationID, `${label}: deletes the Secret's own authorization`);
    const listed = input.authorizations?.ok ? input.authorizations.value : [];
    const secretToken = input.secret.data.token;
    assert.not.ok(
      listed.some((entry) => entry.id === step.id && entry.token === secretToken),
      `${label}: deletes the authorization listed with the Secret's token`,
    );
  }
  if (
    step.kind === 'writeSecret' &&
    input.secret.state === 'owned' &&
    input.createdAuthorization?.ok &&
    step.secret.data.token === input.createdAuthorization.value.token
  ) {
    // A created token reaches the Secret only after /me accepted it.
    assert.ok(input.createdTokenCheck?.ok, `${label}: an unproven token written`);
  }
  if (step.kind === 'createAuthorization')
    assert.is(input.createdAuthorization, undefined, `${label}: one create per reconcile`);
  if (step.kind === 'checkPassword') {
    assert.ok(
      input.secret.state === 'owned' && input.secret.data.password === step.password,
      `${label}: the password proven is the Secret's`,
    );
    assert.ok(step.password !== '');
  }
  if (step.kind === 'checkToken') {
    const candidates = [REF_TOKEN, STORED_TOKEN, MEMO_TOKEN, GEN_TOKEN];
    assert.ok(candidates.includes(step.token), `${label}: checkToken with an unexpected token`);
  }
  if (step.kind === 'finish') {
    assert.equal(leaks(step, PROPERTY_SECRETS), [], `${label}: credential in finish`);
    const conditions = (step.status.conditions ?? []).filter((c) => c.type === READY);
    assert.is(conditions.length, 1, `${label}: one Ready condition`);
    const condition = conditions[0];
    const expectedStatus =
      step.reason === Reason.Onboarded || step.reason === Reason.Adopted
        ? 'True'
        : step.reason === Reason.Progressing
          ? 'Unknown'
          : 'False';
    assert.is(condition.status, expectedStatus, `${label}: condition status for ${step.reason}`);
    assert.is(condition.reason, step.reason);
    assert.is(condition.observedGeneration, input.resource.metadata.generation);
    assert.is(step.status.observedGeneration, input.resource.metadata.generation);
    const previous = input.resource.status?.conditions?.find((c) => c.type === READY);
    assert.is(
      condition.lastTransitionTime,
      previous && previous.status === condition.status ? previous.lastTransitionTime : NOW,
      `${label}: lastTransitionTime`,
    );
    // Reonboarded and Retargeted tell of a change that keeps the reason; every other event is a transition.
    const keepsReason = ['Reonboarded', 'Retargeted', 'Repaired', 'PasswordRotated', 'TokenRotated'];
    if (previous?.reason === step.reason)
      assert.ok(
        step.event === undefined || keepsReason.includes(step.event.reason),
        `${label}: event without a transition`,
      );
    if (step.event) assert.ok(step.event.reason === step.reason || keepsReason.includes(step.event.reason));
    const waitsForChange: string[] = [
      Reason.Unsupported,
      Reason.URLNotAllowed,
      Reason.AddressRefused,
      Reason.SetupFailed,
      Reason.NotPermitted,
    ];
    // Failures go through the rate limiter: InfluxDB could not be reached, or a setup raced another
    // client. Everything else that may change by itself is looked at again at the next drift check.
    const fails =
      step.reason === Reason.Unreachable ||
      (step.reason === Reason.Progressing && step.message.includes('set up by another client'));
    const requeue =
      waitsForChange.includes(step.reason) || !checked.ok
        ? 'none'
        : step.reason === Reason.TargetChanged
          ? // Only a fresh instance at an approved new target may still turn into the right one.
            step.message.includes('is not set up')
            ? 'after'
            : 'none'
          : fails
            ? 'backoff'
            : 'after';
    assert.is(step.requeue.kind, requeue, `${label}: requeue for ${step.reason}`);
    if (step.requeue.kind === 'after') assert.is(step.requeue.ms, DRIFT_MS);
  }
}

test('property: a single decision over 12000 random facts never throws and keeps every invariant', () => {
  const r = prng(0xdec1de);
  const kinds = new Map<string, number>();
  for (let i = 0; i < 12_000; i++) {
    const input = randomFacts(r, true);
    let step: Step;
    try {
      step = decideRecorded(input);
    } catch (err) {
      throw new Error(`case ${i}: decide threw ${String(err)} for ${JSON.stringify(input)}`, { cause: err });
    }
    checkInvariants(input, step, `case ${i}`);
    const label = step.kind === 'finish' ? step.reason : step.kind;
    kinds.set(label, (kinds.get(label) ?? 0) + 1);
  }
  // The generator must reach the interesting places, or the invariants prove little.
  for (const kind of [
    'postSetup',
    'writeSecret',
    'checkToken',
    'lookupIDs',
    'checkHealth',
    'checkSetupStatus',
    'setPassword',
    Reason.Onboarded,
    Reason.PasswordNotSet,
    Reason.SecretConflict,
    Reason.TokenInvalid,
    Reason.TargetChanged,
    Reason.SecretNotPermitted,
    Reason.URLNotAllowed,
    Reason.NotPermitted,
    Reason.EscrowApprovalRequired,
  ]) {
    assert.ok((kinds.get(kind) ?? 0) > 5, `random facts reached ${kind} only ${kinds.get(kind) ?? 0} times`);
  }
});

test('property: 6000 random reconciles driven to the end keep every invariant at every step', () => {
  const r = prng(0x5eed);
  const reasons = new Set<string>();
  const posts = { postSetup: 0, postSetupUser: 0 };
  for (let i = 0; i < 6000; i++) {
    const input = randomFacts(r, false);
    const run = drive(input, randomWorld(r));
    for (const [index, entry] of run.trace.entries())
      checkInvariants(entry.facts, entry.step, `run ${i} step ${index}`);
    // No POST of either kind twice, and never a POST after a Secret turned out foreign.
    const postKinds = run.kinds.filter((k): k is keyof typeof posts => k === 'postSetup' || k === 'postSetupUser');
    for (const kind of postKinds) posts[kind]++;
    assert.ok(postKinds.length <= 1, `run ${i}: ${run.kinds.join(',')}`);
    reasons.add(run.finish.reason);
  }
  // SetupUser refusals (conflict included) wait for a spec change, so fewer runs post again.
  assert.ok(posts.postSetup > 100 && posts.postSetupUser > 10, `only ${JSON.stringify(posts)} POSTs reached`);
  assert.equal(
    [...reasons].sort(),
    Object.values(Reason)
      .filter((reason) => reason !== Reason.Adopted || reasons.has(reason))
      .sort(),
  );
});

// ---------------------------------------------------------------------------------------------
// A model of InfluxDB and Kubernetes with crashes at random points

interface InfluxModel {
  allowed: boolean;
  /** By ID: each authorization's token and description. */
  authorizations: Map<string, { token: string; description: string }>;
  password?: string;
  ids: typeof IDS;
}

test('model: killed at any point (password and token rotations on request included), reconciles converge to Onboarded and the Secret always holds what InfluxDB accepted', () => {
  const r = prng(0xc0ffee);
  let scenarios = 0;
  let crashes = 0;
  let reonboards = 0;
  let rotations = 0;
  let tokenRotations = 0;
  let orphans = 0;
  for (let scenario = 0; scenario < 400; scenario++) {
    const influx: InfluxModel = { allowed: true, authorizations: new Map(), ids: IDS };
    const live = (token: string): boolean => [...influx.authorizations.values()].some((entry) => entry.token === token);
    // v2.9 and later list no tokens.
    const hashed = r() < 0.5;
    let created = 0;
    let secret: CredentialsSecret = ABSENT;
    let status: InfluxOnboardingStatus | undefined;
    let memory: Credentials | undefined;
    let serial = 0;
    const policy = pick(r, ['Retain', 'Delete'] as const);
    // The rotate-password annotation, changed now and then by a person.
    let rotateRequest: string | undefined;
    let rotateTokenRequest: string | undefined;

    let calm = false;
    const flaky = (): boolean => !calm && r() < 0.1;
    const reconcile = (crashAfter: number | undefined): Finish | undefined => {
      serial++;
      // What the reconciler remembers: the Secret it reads, else what it last wrote.
      if (secret.state === 'owned' && secret.data.username && secret.data.token) {
        memory = { username: secret.data.username, password: secret.data.password ?? '', token: secret.data.token };
      }
      let current = facts({
        resource: resource({
          spec: { credentialsSecret: { deletionPolicy: policy } },
          ...(status && { status }),
          annotations: {
            ...(rotateRequest !== undefined && ROTATE(rotateRequest)),
            ...(rotateTokenRequest !== undefined && ROTATE_TOKEN(rotateTokenRequest)),
          },
        }),
        now: `2026-03-01T12:${String(serial % 60).padStart(2, '0')}:00Z`,
        secret,
        ...(memory && { remembered: rememberedAt(memory) }),
        generated: { password: `gen-password-${scenario}-${serial}`, token: `gen-token-${scenario}-${serial}` },
      });
      const world: World = {
        setupStatus: () => (flaky() ? unreachable() : ok({ allowed: influx.allowed })),
        checkToken: (step) => (live(step.token) ? ok(owner()) : unauthorized()),
        lookupIDs: (step) =>
          live(step.token)
            ? ok({ orgID: influx.ids.orgID, bucketID: influx.ids.bucketID, bucketRetentionSeconds: 0 })
            : unauthorized(),
        listAuthorizations: (step) => {
          if (!live(step.token)) return unauthorized();
          if (flaky()) return unreachable();
          return ok(
            [...influx.authorizations].map(([id, entry]) =>
              authorization(id, entry.description, hashed ? undefined : entry.token),
            ),
          );
        },
        createAuthorization: (step) => {
          if (!live(step.token)) return unauthorized();
          const id = `${scenario}-${++created}`;
          influx.authorizations.set(id, {
            token: `rot-token-${scenario}-${created}`,
            description: step.request.description,
          });
          // Created, and the answer lost on the way back.
          if (flaky()) return unreachable();
          tokenRotations++;
          return ok(createdAuthorization(id, `rot-token-${scenario}-${created}`));
        },
        deleteAuthorization: (step) => {
          if (!live(step.token)) return unauthorized();
          if (flaky()) return unreachable();
          if (!influx.authorizations.delete(step.id)) return ok<Deletion>('absent');
          if (step.id !== influx.ids.authorizationID && !step.id.startsWith(`${scenario}-`))
            throw new Error('deleted an unknown authorization');
          orphans++;
          return ok<Deletion>('deleted');
        },
        health: () => (flaky() ? unreachable() : ok(health())),
        checkPassword: (step) =>
          flaky() ? unreachable() : step.password === influx.password ? ok(true) : unauthorized(),
        setPassword: (step) => {
          if (!live(step.token)) return unauthorized();
          if (flaky()) return unreachable();
          influx.password = step.password;
          rotations++;
          return ok(true);
        },
        writeSecret: (step) => {
          memory = step.credentials;
          return 'written';
        },
        postSetup: (step) => {
          // The crash-safety rule, checked against the cluster's state, not just the facts.
          assert.equal(secret.state === 'owned' && [secret.data.username, secret.data.password, secret.data.token], [
            step.request.username,
            step.request.password,
            step.request.token,
          ]);
          if (!influx.allowed) return alreadySetUp();
          influx.allowed = false;
          influx.authorizations = new Map([
            [influx.ids.authorizationID, { token: step.request.token, description: "admin's Token" }],
          ]);
          influx.password = step.request.password;
          return ok(setupResult());
        },
      };
      for (let count = 0; count < 24; count++) {
        const step = decideRecorded(current);
        if (step.kind === 'finish') {
          status = step.status;
          return step;
        }
        current = apply(current, step, world);
        // The cluster's Secret is what the write made of it (the adapter's rules, as apply() has them).
        if (step.kind === 'writeSecret') secret = current.secret;
        if (influx.authorizations.size > 0) {
          // From the moment InfluxDB accepted a token, the Secret holds one that works, and the
          // password InfluxDB has (while a rotation is under way, as the pending one); at most
          // one authorization more than the Secret's exists.
          assert.ok(secret.state === 'owned', `scenario ${scenario}: the Secret exists`);
          if (secret.state !== 'owned') throw new Error('unreachable');
          assert.ok(live(secret.data.token ?? ''), `scenario ${scenario}: the Secret's token works`);
          assert.ok(
            influx.authorizations.size <= 2,
            `scenario ${scenario}: ${influx.authorizations.size} authorizations`,
          );
          assert.ok(
            [secret.data.password, secret.pendingPassword].includes(influx.password),
            `scenario ${scenario}: the password InfluxDB has is in the Secret`,
          );
        }
        if (crashAfter !== undefined && count >= crashAfter) {
          crashes++;
          if (r() < 0.5) memory = undefined; // the process restarted
          return undefined;
        }
      }
      throw new Error('no finish');
    };

    for (let round = 0; round < 8; round++) {
      if (status?.onboardedAt !== undefined && r() < 0.15) {
        influx.allowed = true; // wiped
        influx.authorizations = new Map();
        influx.password = undefined;
        reonboards++;
      }
      if (status?.onboardedAt !== undefined && r() < 0.3) rotateRequest = `request-${round}`;
      if (status?.onboardedAt !== undefined && r() < 0.3) rotateTokenRequest = `token-request-${round}`;
      reconcile(r() < 0.6 ? Math.floor(r() * 12) : undefined);
    }
    // Then no more crashes nor flaky answers: it converges.
    calm = true;
    let last: Finish | undefined;
    // A reconcile that set the instance up again rotates nothing yet (the token's user is known
    // from the next one on), so a request still open takes one more round.
    const requestOpen = (): boolean =>
      secret.state === 'owned' &&
      ((rotateRequest !== undefined && secret.passwordRotation !== rotateRequest) ||
        (rotateTokenRequest !== undefined && secret.tokenRotation !== rotateTokenRequest));
    for (let round = 0; round < 6 && (last?.reason !== Reason.Onboarded || requestOpen()); round++)
      last = reconcile(undefined);
    assert.is(
      last?.reason,
      Reason.Onboarded,
      `scenario ${scenario} did not converge: ${last?.reason} ${last?.message}`,
    );
    assert.ok(secret.state === 'owned');
    if (secret.state !== 'owned') continue;
    assert.equal(
      [...influx.authorizations.values()].map((entry) => entry.token),
      [secret.data.token],
      "exactly one authorization, the Secret's",
    );
    if (rotateTokenRequest !== undefined)
      assert.is(secret.tokenRotation, rotateTokenRequest, 'the last token request was handled');
    assert.is(secret.replacedAuthorization, undefined);
    assert.is(secret.data.password, influx.password);
    assert.is(secret.pendingPassword, undefined, 'no rotation left half done');
    if (rotateRequest !== undefined) assert.is(secret.passwordRotation, rotateRequest, 'the last request was handled');
    assert.is(secret.garbageCollected, policy === 'Delete');
    assert.is(status?.orgID, IDS.orgID);
    assert.is(status?.bucketID, IDS.bucketID);
    // And once converged, a reconcile changes nothing.
    const before = status;
    const steady = reconcile(undefined);
    assert.is(steady?.reason, Reason.Onboarded);
    assert.equal(steady?.status, before, `scenario ${scenario}: steady state`);
    assert.is(steady?.event, undefined);
    scenarios++;
  }
  assert.is(scenarios, 400);
  assert.ok(crashes > 300, `only ${crashes} crashes injected`);
  assert.ok(reonboards > 50, `only ${reonboards} wipes`);
  assert.ok(rotations > 100, `only ${rotations} passwords set`);
  assert.ok(tokenRotations > 100, `only ${tokenRotations} tokens rotated`);
  assert.ok(orphans > 100, `only ${orphans} authorizations deleted`);
});

// ---------------------------------------------------------------------------------------------
// Last: every Finish any test above produced is free of credentials.

test('no Finish produced by any test carries a password or token (message, status, event)', () => {
  assert.ok(finishesSeen.length > 1000, `only ${finishesSeen.length} finishes recorded`);
  const dirty = finishesSeen.flatMap((finish) => leaks(finish, PROPERTY_SECRETS));
  assert.equal(dirty, []);
});

// ---------------------------------------------------------------------------------------------
// The drift check: one request while nothing changed, the full check on any doubt.

test('drift check of a Ready resource: ONE GET /api/v2/buckets/{id} with the Secret token; everything as recorded -> exactly its status, no event', () => {
  const status = onboardedStatus();
  const input = given({}, { secret: ownedSecret(secretData(STORED)) }, status);
  const step = decideRecorded(input);
  assert.equal(step, { kind: 'checkBucket', token: STORED_TOKEN, bucketID: IDS.bucketID });
  const run = drive(input, {
    bucket: ok({ name: 'telemetry', orgID: IDS.orgID, retentionSeconds: 0, version: VERSION }),
  });
  assert.equal(run.kinds, ['checkBucket']);
  assert.equal(run.finish.status, status);
  assert.is(run.finish.reason, Reason.Onboarded);
  assert.is(run.finish.event, undefined);
  assert.equal(run.finish.requeue, AFTER);
});

test('drift check: any failure or difference in its answer runs the full check', () => {
  const recorded: BucketState = { name: 'telemetry', orgID: IDS.orgID, retentionSeconds: 0, version: VERSION };
  const answers: Array<[string, Outcome<BucketState>]> = [
    ['token deleted or inactive (401)', unauthorized()],
    ['bucket gone, or its org with it (404)', rejected(404, 'not found', 'bucket not found')],
    ['unreachable', unreachable()],
    ['another name', ok({ ...recorded, name: 'renamed' })],
    ['another org', ok({ ...recorded, orgID: 'ffffffffffffffff' })],
    ['another retention', ok({ ...recorded, retentionSeconds: 3600 })],
    ['another version', ok({ ...recorded, version: 'v2.9.1' })],
    ['no version header', ok({ name: 'telemetry', orgID: IDS.orgID, retentionSeconds: 0 })],
  ];
  for (const [what, answer] of answers) {
    const input = given({}, { secret: ownedSecret(secretData(STORED)) }, onboardedStatus());
    const next = decideRecorded(
      apply(input, { kind: 'checkBucket', token: STORED_TOKEN, bucketID: IDS.bucketID }, { bucket: answer }),
    );
    assert.equal(next, { kind: 'checkSetupStatus' }, what);
  }
});

test('drift check: only for a Ready resource unchanged since (generation, IDs, Secret); otherwise the full check at once', () => {
  const secret = ownedSecret(secretData(STORED));
  const cases: Array<[string, Facts]> = [
    [
      'not Ready',
      given({}, { secret }, { ...onboardedStatus(), conditions: [readyCondition('False', Reason.Unreachable)] }),
    ],
    [
      'spec changed (new generation)',
      facts({ resource: resource({ generation: 2, status: onboardedStatus() }), secret }),
    ],
    ['no bucketID recorded', given({}, { secret }, onboardedStatus({ bucketID: undefined }))],
    ['no orgID recorded', given({}, { secret }, onboardedStatus({ orgID: undefined }))],
    [
      'password sign-in check due',
      given({}, { secret }, onboardedStatus({ passwordCheckedAt: '2026-03-01T11:00:00Z' })),
    ],
    [
      'rotate-password requested',
      facts({ resource: resource({ status: onboardedStatus(), annotations: ROTATE('2026-12-01') }), secret }),
    ],
    [
      'rotate-token requested',
      facts({ resource: resource({ status: onboardedStatus(), annotations: ROTATE_TOKEN('2026-12-01') }), secret }),
    ],
    [
      'a pending password in the Secret',
      given(
        {},
        { secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, pendingPassword: GEN_PASSWORD }) },
        onboardedStatus(),
      ),
    ],
    [
      'a replaced authorization not yet deleted',
      given(
        {},
        { secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, replacedAuthorization: IDS.authorizationID }) },
        onboardedStatus(),
      ),
    ],
    [
      'the Secret names an authorization the status does not',
      given(
        {},
        { secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, authorizationID: ROTATED_AUTHORIZATION_ID }) },
        onboardedStatus(),
      ),
    ],
    [
      'Secret differs from what a full check leaves',
      given({}, { secret: ownedSecret({ ...secretData(STORED), org: 'other' }) }, onboardedStatus()),
    ],
    ['Secret gone', given({}, { secret: ABSENT, remembered: rememberedAt(STORED) }, onboardedStatus())],
    [
      'tokenSecretRef names another token',
      given(tokenRef, { secret, references: { token: found(REF_TOKEN) } }, onboardedStatus()),
    ],
  ];
  for (const [what, input] of cases) {
    const step = decideRecorded(input);
    assert.not.equal(step.kind, 'checkBucket', what);
  }
});

test('version from the X-Influxdb-Version header of GET /api/v2/setup: no /health; without the header, /health', () => {
  const stamped = drive(facts(), freshWorld({ setupStatus: ok({ allowed: true, version: 'v2.9.1' }) }));
  assert.equal(stamped.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup']);
  assert.is(stamped.finish.status.influxdbVersion, 'v2.9.1');
  const unstamped = drive(facts(), freshWorld());
  assert.equal(unstamped.kinds, ['checkSetupStatus', 'writeSecret', 'postSetup', 'checkHealth']);
  assert.is(unstamped.finish.status.influxdbVersion, VERSION);
});

test.run();
