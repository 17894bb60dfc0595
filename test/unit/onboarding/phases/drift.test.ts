// The drift check alone: a Ready resource that changed nothing is proven with one request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROTATE_TOKEN_ANNOTATION, Reason } from '../../../../src/api/types.js';
import { driftCheck } from '../../../../src/onboarding/phases/drift.js';
import {
  DRIFT_MS,
  IDS,
  VERSION,
  credentials,
  facts,
  ok,
  onboardedStatus,
  ownedSecret,
  resource,
  secretData,
  situationOf,
  unauthorized,
} from '../../../support/facts.js';

const STORED = credentials();
const ready = (more = {}, annotations?: Record<string, string>) =>
  facts({
    resource: resource({ status: onboardedStatus(), ...(annotations && { annotations }) }),
    secret: ownedSecret(secretData(STORED)),
    ...more,
  });
const bucket = { name: 'telemetry', orgID: IDS.orgID, retentionSeconds: 0, version: VERSION };

test('driftCheck: a Ready resource asks for its bucket with the Secret token, then is Ready again, by its previous reason', () => {
  assert.equal(driftCheck(situationOf(ready())), {
    kind: 'checkBucket',
    token: STORED.token,
    bucketID: IDS.bucketID,
  });
  const finish = driftCheck(situationOf(ready({ bucketCheck: ok(bucket) })));
  assert.ok(finish?.kind === 'finish');
  assert.is(finish.reason, Reason.Onboarded);
  assert.equal(finish.requeue, { kind: 'after', ms: DRIFT_MS });
});

test('driftCheck: any difference or failure, day-two work due, or the full check begun: the full check runs', () => {
  assert.is(driftCheck(situationOf(ready({ bucketCheck: ok({ ...bucket, retentionSeconds: 60 }) }))), undefined);
  assert.is(driftCheck(situationOf(ready({ bucketCheck: unauthorized() }))), undefined);
  assert.is(
    driftCheck(situationOf(ready({}, { [ROTATE_TOKEN_ANNOTATION]: 'now' }))),
    undefined,
    'a rotation asked for',
  );
  assert.is(driftCheck(situationOf(ready({ setupStatus: ok({ allowed: false }) }))), undefined);
  assert.is(driftCheck(situationOf(facts({ secret: ownedSecret(secretData(STORED)) }))), undefined, 'never Ready');
});

test.run();
