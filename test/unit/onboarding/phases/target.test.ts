// Target binding alone: credentials go only to the instance they belong to; a move needs the
// approval of whoever may edit their Secret, and an instance there that accepts their token.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RETARGET_ANNOTATION, Reason } from '../../../../src/api/types.js';
import { retargetVerified, targetBound } from '../../../../src/onboarding/phases/target.js';
import {
  DRIFT_MS,
  INFLUX_URL,
  NO_TLS,
  credentials,
  facts,
  ok,
  owner,
  ownedSecret,
  rememberedAt,
  resource,
  SECRET_NAME,
  secretData,
  situationOf,
  unauthorized,
} from '../../../support/facts.js';

const NEW_URL = 'http://influxdb-2.data.svc:8086';
const STORED = credentials();
/** The Secret holds credentials for INFLUX_URL; the spec now names NEW_URL. */
const moved = (annotations: Record<string, string> = {}) =>
  facts({
    resource: resource({ spec: { url: NEW_URL } }),
    secret: ownedSecret(secretData(STORED), false, { tls: NO_TLS, ...annotations }),
  });
const approved = { retargetTo: NEW_URL };

test('targetBound: credentials for the instance the spec names go on, and so does an approved move', () => {
  assert.is(targetBound(situationOf(facts({ secret: ownedSecret(secretData(STORED)) }))), undefined);
  assert.is(targetBound(situationOf(moved(approved))), undefined);
});

test('targetBound: an unapproved move is TargetChanged, nothing sent, until a person acts; status shows where they belong', () => {
  const finish = targetBound(situationOf(moved()));
  assert.ok(finish?.kind === 'finish');
  assert.is(finish.reason, Reason.TargetChanged);
  assert.match(finish.message, `annotate Secret ${SECRET_NAME} with ${RETARGET_ANNOTATION}=${NEW_URL}`);
  assert.equal(finish.requeue, { kind: 'none' });
  assert.is(finish.status.observedURL, INFLUX_URL);
});

test('targetBound: a Secret deleted during a move took its approval along: the credentials are written back where they belong, unapproved', () => {
  // Only memory (or the escrow) holds the credentials, bound to INFLUX_URL; the spec names NEW_URL.
  const gone = facts({ resource: resource({ spec: { url: NEW_URL } }), remembered: rememberedAt(STORED) });
  const restore = targetBound(situationOf(gone));
  assert.ok(restore?.kind === 'writeSecret', 'the Secret is written back first');
  assert.is(restore.secret.data.url, INFLUX_URL, 'bound to the instance they were created for, not the spec');
  assert.is(restore.secret.tls, NO_TLS);
  assert.equal(restore.credentials, STORED);
  assert.equal(
    [restore.secret.data.token, restore.secret.data.password],
    [STORED.token, STORED.password],
    'the same credentials, nothing new made',
  );
  // Written back, it is a Secret like any other: the move waits for an approval on it.
  const written = facts({
    resource: resource({ spec: { url: NEW_URL } }),
    secret: ownedSecret(restore.secret.data, false, { tls: restore.secret.tls }),
    remembered: rememberedAt(STORED),
  });
  const waiting = targetBound(situationOf(written));
  assert.ok(waiting?.kind === 'finish' && waiting.reason === Reason.TargetChanged);
  assert.match(waiting.message, `${RETARGET_ANNOTATION}=${NEW_URL}`);
  assert.is(
    targetBound(
      situationOf({ ...written, secret: ownedSecret(restore.secret.data, false, { tls: NO_TLS, ...approved }) }),
    ),
    undefined,
  );
});

test('retargetVerified: an approved move goes ahead only to a set-up instance that accepts the token', () => {
  const setUp = (more = {}) => situationOf({ ...moved(approved), setupStatus: ok({ allowed: false }), ...more });
  assert.is(retargetVerified(setUp()), undefined, 'the token is checked next');
  assert.is(retargetVerified(setUp({ tokenCheck: ok(owner()) })), undefined);
  const rejected = retargetVerified(setUp({ tokenCheck: unauthorized() }));
  assert.is(rejected?.reason, Reason.TargetChanged);
  assert.equal(rejected?.requeue, { kind: 'none' });
  const fresh = retargetVerified(situationOf({ ...moved(approved), setupStatus: ok({ allowed: true }) }));
  assert.is(fresh?.reason, Reason.TargetChanged);
  assert.equal(fresh?.requeue, { kind: 'after', ms: DRIFT_MS }, 'waiting for the instance to be restored there');
  assert.is(retargetVerified(situationOf({ ...facts(), setupStatus: ok({ allowed: true }) })), undefined, 'no move');
});

test.run();
