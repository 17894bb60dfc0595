// The instance phases alone: reachable and set up or not; then set up (the Secret first) or
// reached with a token that works there, as the mode says; what they settle is the accepted
// credentials and the verdict the rest of the decision reports them with.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reason } from '../../../../src/api/types.js';
import { setupOrAdoption, setupStatusKnown } from '../../../../src/onboarding/phases/instance.js';
import {
  AUTH_TOKEN,
  DRIFT_MS,
  GEN_PASSWORD,
  GEN_TOKEN,
  NO_TLS,
  NOW,
  credentials,
  facts,
  found,
  ok,
  onboardedStatus,
  owner,
  ownedSecret,
  rejected,
  resource,
  secretData,
  setupResult,
  situationOf,
  unauthorized,
  unreachable,
} from '../../../support/facts.js';

const STORED = credentials();
const WAIT = { kind: 'after', ms: DRIFT_MS };

test('setupStatusKnown: asks GET /api/v2/setup; an unreachable instance ends the decision with backoff', () => {
  assert.equal(setupStatusKnown(situationOf(facts())), { kind: 'checkSetupStatus' });
  assert.is(setupStatusKnown(situationOf(facts({ setupStatus: ok({ allowed: true }) }))), undefined);
  const down = setupStatusKnown(situationOf(facts({ setupStatus: unreachable() })));
  assert.ok(down?.kind === 'finish' && down.reason === Reason.Unreachable);
  assert.equal(down.requeue, { kind: 'backoff' });
});

test('Setup on a fresh instance: the Secret first, then the POST; the answer settles Onboarded with its IDs', () => {
  const fresh = facts({ setupStatus: ok({ allowed: true }) });
  const write = setupOrAdoption(situationOf(fresh));
  assert.ok('kind' in write && write.kind === 'writeSecret');
  assert.equal([write.credentials.password, write.credentials.token], [GEN_PASSWORD, GEN_TOKEN]);
  assert.is(write.secret.setupSentAt, NOW, 'the Secret records the setup as sent');
  const written = {
    ...fresh,
    secret: ownedSecret(secretData(write.credentials), false, { tls: NO_TLS, setupSentAt: NOW }),
  };
  const post = setupOrAdoption(situationOf(written));
  assert.ok('kind' in post && post.kind === 'postSetup');
  const accepted = setupOrAdoption(situationOf({ ...written, setupAnswer: ok(setupResult()) }));
  assert.ok(!('kind' in accepted));
  assert.is(accepted.verdict.reason, Reason.Onboarded);
  assert.is(accepted.verdict.fields?.orgID, setupResult().orgID);
});

test('Setup on an instance set up before: the known token is checked; accepted it settles, rejected it ends the decision', () => {
  const known = { setupStatus: ok({ allowed: false }), secret: ownedSecret(secretData(STORED)) };
  assert.equal(setupOrAdoption(situationOf(facts(known))), { kind: 'checkToken', token: STORED.token });
  const accepted = setupOrAdoption(situationOf(facts({ ...known, tokenCheck: ok(owner()) })));
  assert.ok(!('kind' in accepted) && accepted.verdict.reason === Reason.Onboarded);
  const revoked = setupOrAdoption(
    situationOf(facts({ ...known, tokenCheck: unauthorized(), resource: resource({ status: onboardedStatus() }) })),
  );
  assert.ok('kind' in revoked && revoked.kind === 'finish' && revoked.reason === Reason.TokenInvalid);
  assert.equal(revoked.requeue, WAIT, 'waiting for a person to give a valid token');
  // The Secret records a setup sent and never answered: InfluxDB stopped in the middle of it.
  const cut = facts({
    ...known,
    secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, setupSentAt: NOW }),
    tokenCheck: unauthorized(),
  });
  const interrupted = setupOrAdoption(situationOf(cut));
  assert.ok('kind' in interrupted && interrupted.kind === 'finish' && interrupted.reason === Reason.SetupInterrupted);
  assert.equal(interrupted.requeue, WAIT, 'waiting for a person to wipe or recover the instance');
  const nobody = setupOrAdoption(situationOf(facts({ setupStatus: ok({ allowed: false }) })));
  assert.ok('kind' in nobody && nobody.kind === 'finish' && nobody.reason === Reason.AlreadyOnboarded);
  assert.equal(nobody.requeue, WAIT);
});

test('SetupUser: waits for an instance set up by someone else; then adds the user with the Secret written first', () => {
  const spec = { mode: 'SetupUser' as const, authTokenSecretRef: { name: 'root', key: 'token' } };
  const base = { resource: resource({ spec }), references: { authToken: found(AUTH_TOKEN) } };
  const waiting = setupOrAdoption(situationOf(facts({ ...base, setupStatus: ok({ allowed: true }) })));
  assert.ok('kind' in waiting && waiting.kind === 'finish' && waiting.reason === Reason.Progressing);
  assert.equal(waiting.requeue, WAIT);
  const setUp = { ...base, setupStatus: ok({ allowed: false }) };
  const write = setupOrAdoption(situationOf(facts(setUp)));
  assert.ok('kind' in write && write.kind === 'writeSecret');
  const written = { ...setUp, secret: ownedSecret(secretData(write.credentials)) };
  // Not onboarded yet: the token the Secret holds was never handed out, so a rejection means the POST never arrived.
  assert.equal(setupOrAdoption(situationOf(facts(written))), { kind: 'checkToken', token: write.credentials.token });
  const post = setupOrAdoption(situationOf(facts({ ...written, tokenCheck: unauthorized() })));
  assert.ok('kind' in post && post.kind === 'postSetupUser' && post.authToken === AUTH_TOKEN);
  const gone = setupOrAdoption(
    situationOf(
      facts({
        ...written,
        setupAnswer: rejected(404, 'not found', '404 page not found'),
      }),
    ),
  );
  assert.ok('kind' in gone && gone.kind === 'finish' && gone.reason === Reason.Unsupported);
});

test.run();
