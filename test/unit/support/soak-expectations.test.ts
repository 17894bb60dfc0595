/**
 * What the soak expects of a resource at a quiet point. Found by the 30-minute run (seed 42, round
 * 15): InfluxBucket b-i4-1 deleted in round 0 (deletionPolicy Retain: the bucket stays in InfluxDB
 * with the old UID's marker) and created again in round 15 on the adopted instance (never wiped)
 * settled on BucketExists, as the operator must (a bucket is a resource's only when the operator
 * recorded it for that UID), and the model wanted BucketReady.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bucketExpectation, tokenExpectation } from '../../support/soak/expectations.js';
import { initialModel, planRound } from '../../support/soak/plan.js';

const OPTIONS = { chaosSeconds: 30, pauseSeconds: 10, maxOverlap: 3 };

test('a bucket created again after its deletion may settle on BucketExists (the leftover) and its token on BucketNotReady; one never deleted may not', () => {
  const model = initialModel();
  const bucket = model.buckets['soak-b/b-i4-1'];
  const token = model.tokens['soak-b/t-i4-1'];
  if (bucket === undefined || token === undefined) throw new Error('the soak cast changed');
  assert.equal(bucketExpectation(model, bucket), { ready: true, reasons: ['BucketReady'] });
  assert.equal(tokenExpectation(model, token), { ready: true, reasons: ['TokenReady'] });
  bucket.recreated = true;
  assert.equal(bucketExpectation(model, bucket), {
    ready: true,
    reasons: ['BucketReady'],
    orWaiting: ['BucketExists'],
  });
  assert.equal(tokenExpectation(model, token), { ready: true, reasons: ['TokenReady'], orWaiting: ['BucketNotReady'] });
});

test('seed 42: the plan marks b-i4-1 created again in round 15 (deleted in round 0), and the schedule is unchanged by the mark', () => {
  let model = initialModel();
  const kinds: string[] = [];
  for (let index = 0; index <= 15; index++) {
    const round = planRound(42, index, model, OPTIONS);
    for (const { operation } of round.operations)
      if ('bucket' in operation && operation.bucket === 'b-i4-1') kinds.push(`${index} ${operation.kind}`);
    model = round.model;
  }
  assert.equal(kinds, ['0 delete-bucket', '15 create-bucket']);
  assert.is(model.buckets['soak-b/b-i4-1']?.recreated, true);
});

test.run();
