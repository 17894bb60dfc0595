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
  assert.is(finish?.reason, Reason.TargetChanged);
  assert.match(finish?.message ?? '', `${RETARGET_ANNOTATION}=${NEW_URL}`);
  assert.equal(finish?.requeue, { kind: 'none' });
  assert.is(finish?.status.observedURL, INFLUX_URL);
  const remembered = targetBound(
    situationOf(facts({ resource: resource({ spec: { url: NEW_URL } }), remembered: rememberedAt(STORED) })),
  );
  assert.match(remembered?.message ?? '', 'is gone', 'only memory holds them: no approval can come from a Secret');
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
