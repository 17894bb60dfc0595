// The phases after InfluxDB accepted the credentials, each alone on an instance set up before whose
// Secret token works: the operator token, the password, the Secret, the org and bucket, the version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROTATE_PASSWORD_ANNOTATION, ROTATE_TOKEN_ANNOTATION, Reason } from '../../../../src/api/types.js';
import { orgAndBucket } from '../../../../src/onboarding/phases/org-bucket.js';
import { passwordProven, passwordRotation } from '../../../../src/onboarding/phases/password.js';
import { ready, versionKnown } from '../../../../src/onboarding/phases/ready.js';
import { secretHolds } from '../../../../src/onboarding/phases/secret.js';
import { operatorToken } from '../../../../src/onboarding/phases/token.js';
import type { Facts } from '../../../../src/onboarding/facts.js';
import {
  DRIFT_MS,
  IDS,
  NOW,
  REF_PASSWORD,
  VERSION,
  credentials,
  facts,
  found,
  health,
  ok,
  onboardedStatus,
  owner,
  ownedSecret,
  rejected,
  resource,
  secretData,
  situationOf,
  unauthorized,
} from '../../../support/facts.js';

const STORED = credentials();
const WAIT = { kind: 'after', ms: DRIFT_MS };

/** An instance set up before, the Secret's token accepted for user `admin` (and `more` on top). */
function accepted(more: Partial<Facts> = {}, annotations?: Record<string, string>, spec = {}): Facts {
  return facts({
    resource: resource({ status: onboardedStatus(), spec, ...(annotations && { annotations }) }),
    secret: ownedSecret(secretData(STORED)),
    setupStatus: ok({ allowed: false, version: VERSION }),
    tokenCheck: ok(owner()),
    ...more,
  });
}

test('operatorToken: settles the accepted credentials named for the user the token belongs to', () => {
  const settled = operatorToken(situationOf(accepted({ tokenCheck: ok(owner(IDS.userID, 'ops')) })));
  assert.ok(!('kind' in settled));
  assert.is(settled.credentials.username, 'ops');
  assert.is(settled.owner?.userName, 'ops');
  assert.is(settled.rotatedTo, undefined);
});

test("operatorToken: a rotate-token request lists the user's authorizations first; a replaced one is deleted", () => {
  const asked = operatorToken(situationOf(accepted({}, { [ROTATE_TOKEN_ANNOTATION]: 'now' })));
  assert.equal(asked, { kind: 'listAuthorizations', token: STORED.token, userID: IDS.userID });
  const replaced = operatorToken(
    situationOf(accepted({ secret: ownedSecret(secretData(STORED), false, { replacedAuthorization: 'old' }) })),
  );
  assert.equal(replaced, { kind: 'deleteAuthorization', token: STORED.token, id: 'old' });
});

test('passwordRotation: nothing due settles as it is; a referenced password that differs is set; a request is written pending first', () => {
  const none = passwordRotation(situationOf(accepted()));
  assert.ok(!('kind' in none) && none.source === undefined);
  const referenced = passwordRotation(
    situationOf(
      accepted({ references: { password: found(REF_PASSWORD) } }, undefined, {
        passwordSecretRef: { name: 'admin', key: 'password' },
      }),
    ),
  );
  assert.equal(referenced, { kind: 'setPassword', token: STORED.token, userID: IDS.userID, password: REF_PASSWORD });
  const requested = passwordRotation(situationOf(accepted({}, { [ROTATE_PASSWORD_ANNOTATION]: 'now' })));
  assert.ok('kind' in requested && requested.kind === 'writeSecret' && requested.secret.pendingPassword !== undefined);
  const refused = passwordRotation(
    situationOf(
      accepted({ passwordSet: { password: 'x', outcome: rejected(403, 'forbidden', 'no') } }, undefined, {
        passwordSecretRef: { name: 'admin', key: 'password' },
      }),
    ),
  );
  assert.ok('kind' in refused && refused.kind === 'finish' && refused.reason === Reason.PasswordNotSet);
  assert.equal(refused.requeue, WAIT);
});

test('secretHolds: a Secret that holds the settled credentials goes on; one that does not is written', () => {
  assert.is(secretHolds(situationOf(accepted())), undefined);
  const renamed = secretHolds(situationOf(accepted({ tokenCheck: ok(owner(IDS.userID, 'ops')) })));
  assert.ok(renamed?.kind === 'writeSecret' && renamed.secret.data.username === 'ops');
});

test('orgAndBucket: looked up with the token; a missing org created; a refusal is EnsureFailed at the next drift check', () => {
  assert.equal(orgAndBucket(situationOf(accepted())), {
    kind: 'lookupIDs',
    token: STORED.token,
    org: 'acme',
    bucket: 'telemetry',
  });
  const missing = orgAndBucket(situationOf(accepted({ ids: ok({}) })));
  assert.ok('kind' in missing && missing.kind === 'createOrg' && missing.org === 'acme');
  const refused = orgAndBucket(situationOf(accepted({ ids: rejected(403, 'forbidden', 'read:orgs is unauthorized') })));
  assert.ok('kind' in refused && refused.kind === 'finish' && refused.reason === Reason.EnsureFailed);
  assert.equal(refused.requeue, WAIT);
  const found = orgAndBucket(
    situationOf(accepted({ ids: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }) })),
  );
  assert.equal(found, { orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 });
});

test('passwordProven: a sign-in when due; one that fails is PasswordInvalid at the next drift check', () => {
  const due = accepted(
    { ids: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }) },
    undefined,
    {},
  );
  due.resource = resource({ status: onboardedStatus({ passwordCheckedAt: undefined }) });
  assert.equal(passwordProven(situationOf(due)), {
    kind: 'checkPassword',
    username: 'admin',
    password: STORED.password,
  });
  assert.equal(passwordProven(situationOf({ ...due, passwordCheck: ok(true) })), { checkedAt: NOW });
  const invalid = passwordProven(situationOf({ ...due, passwordCheck: unauthorized() }));
  assert.ok('kind' in invalid && invalid.kind === 'finish' && invalid.reason === Reason.PasswordInvalid);
  assert.equal(invalid.requeue, WAIT);
});

test("versionKnown and ready: the version from the answers' header, else /health; Ready shows what every phase settled", () => {
  const all = accepted({ ids: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID, bucketRetentionSeconds: 0 }) });
  assert.equal(versionKnown(situationOf(all)), { version: VERSION });
  const unstamped = { ...all, setupStatus: ok({ allowed: false }) };
  assert.equal(versionKnown(situationOf(unstamped)), { kind: 'checkHealth' });
  assert.equal(versionKnown(situationOf({ ...unstamped, health: ok(health('v2.9.1')) })), { version: 'v2.9.1' });
  const finish = ready(situationOf(all));
  assert.is(finish.reason, Reason.Onboarded);
  assert.equal(finish.requeue, WAIT);
  assert.equal(
    [finish.status.orgID, finish.status.bucketID, finish.status.userID, finish.status.influxdbVersion],
    [IDS.orgID, IDS.bucketID, IDS.userID, VERSION],
  );
  assert.is(finish.event, undefined, 'Ready before, nothing repaired: no event');
});

test.run();
