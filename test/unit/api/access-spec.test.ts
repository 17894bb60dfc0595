/**
 * checkBucketSpec and checkTokenSpec: defaults, and every problem names its field and what is
 * allowed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkBucketSpec,
  checkTokenSpec,
  defaultBucketName,
  legacyDefaultBucketName,
} from '../../../src/api/access-spec.js';

const metadata = { name: 'metrics', namespace: 'app-a', uid: 'uid-1' };
const ref = { name: 'influxdb', namespace: 'monitoring' };

function bucketProblems(spec: Record<string, unknown>): string[] {
  const checked = checkBucketSpec({ metadata, spec: spec as never });
  return checked.ok ? [] : checked.problems;
}

function tokenProblems(spec: Record<string, unknown>): string[] {
  const checked = checkTokenSpec({ metadata, spec: spec as never });
  return checked.ok ? [] : checked.problems;
}

test('InfluxBucket defaults: name <namespace>.<name> (no other namespace can share it), infinite retention, Retain, no adoption; onboardingRef namespace defaults to its own', () => {
  assert.equal(checkBucketSpec({ metadata, spec: { onboardingRef: { name: 'influxdb' } } }), {
    ok: true,
    spec: {
      onboarding: { namespace: 'app-a', name: 'influxdb' },
      bucketName: 'app-a.metrics',
      chosenName: false,
      retentionPeriodSeconds: 0,
      description: '',
      deletionPolicy: 'Retain',
      adopt: false,
    },
  });
});

test('InfluxBucket spec.influxql: retention policy autogen and no claim on the default unless set', () => {
  const checked = (influxql: unknown) => checkBucketSpec({ metadata, spec: { onboardingRef: ref, influxql } as never });
  const spec = (influxql: unknown) => {
    const result = checked(influxql);
    return result.ok ? result.spec.influxql : result.problems;
  };
  assert.equal(spec({ database: 'app-a.metrics' }), {
    database: 'app-a.metrics',
    retentionPolicy: 'autogen',
    default: false,
  });
  assert.equal(spec({ database: 'db_1-x', retentionPolicy: 'one.week', default: true }), {
    database: 'db_1-x',
    retentionPolicy: 'one.week',
    default: true,
  });
  assert.is(spec(undefined), undefined);
});

test('InfluxBucket: every bad field is named with what is allowed', () => {
  for (const [spec, expected] of [
    [{}, 'spec.onboardingRef: required'],
    [{ onboardingRef: { name: 'Bad_Name' } }, 'spec.onboardingRef.name: required, the name of an InfluxOnboarding'],
    [{ onboardingRef: { name: 'x', namespace: 'UPPER' } }, 'spec.onboardingRef.namespace: must be a namespace name'],
    [{ onboardingRef: ref, name: '_system' }, 'spec.name: must not start with "_"'],
    [{ onboardingRef: ref, name: 'a"b' }, 'spec.name: must not contain a double quote'],
    [{ onboardingRef: ref, name: '' }, 'spec.name: required, a non-empty string'],
    [
      { onboardingRef: ref, retentionPeriodSeconds: 60 },
      'spec.retentionPeriodSeconds: must be 0 (infinite) or an integer from 3600',
    ],
    [{ onboardingRef: ref, deletionPolicy: 'Orphan' }, 'spec.deletionPolicy: must be one of Retain, Delete'],
    [{ onboardingRef: ref, adopt: 'yes' }, 'spec.adopt: must be true or false'],
    [{ onboardingRef: ref, influxql: 'db' }, 'spec.influxql: must be an object {database, retentionPolicy, default}'],
    [{ onboardingRef: ref, influxql: {} }, `spec.influxql.database: 1 to 255 letters, digits, '.', '_' or '-'`],
    [{ onboardingRef: ref, influxql: { database: 'a b' } }, 'spec.influxql.database: 1 to 255'],
    [{ onboardingRef: ref, influxql: { database: '..' } }, 'spec.influxql.database: 1 to 255'],
    [{ onboardingRef: ref, influxql: { database: 'x'.repeat(256) } }, 'spec.influxql.database: 1 to 255'],
    [{ onboardingRef: ref, influxql: { database: 'a/b' } }, 'spec.influxql.database: 1 to 255'],
    [
      { onboardingRef: ref, influxql: { database: 'db', retentionPolicy: '' } },
      'spec.influxql.retentionPolicy: 1 to 255',
    ],
    [
      { onboardingRef: ref, influxql: { database: 'db', default: 'yes' } },
      'spec.influxql.default: must be true or false',
    ],
    [
      { onboardingRef: ref, influxql: { database: 'db', bucket: 'x' } },
      'spec.influxql.bucket: unknown field; allowed: database, retentionPolicy, default',
    ],
    [
      { onboardingRef: ref, description: 'x'.repeat(513) },
      'spec.description: must be a string of at most 512 characters',
    ],
  ] as const) {
    const problems = bucketProblems(spec);
    assert.ok(
      problems.some((problem) => problem.startsWith(expected)),
      `${JSON.stringify(spec)}: ${problems.join('; ')}`,
    );
  }
});

test('InfluxToken defaults: Secret <name>-influx-token, grace 300 s; permissions sorted without duplicates', () => {
  const checked = checkTokenSpec({
    metadata,
    spec: {
      onboardingRef: ref,
      permissions: [
        { action: 'write', bucket: 'metrics' },
        { action: 'read', bucket: 'metrics' },
        { action: 'write', bucket: 'metrics' },
      ],
    },
  });
  assert.equal(checked, {
    ok: true,
    spec: {
      onboarding: ref,
      description: '',
      permissions: [
        { action: 'read', bucket: 'metrics' },
        { action: 'write', bucket: 'metrics' },
      ],
      secretName: 'metrics-influx-token',
      rotationGracePeriodSeconds: 300,
    },
  });
});

test('InfluxToken: every bad field is named with what is allowed', () => {
  const permissions = [{ action: 'read', bucket: 'metrics' }];
  for (const [spec, expected] of [
    [{ onboardingRef: ref }, 'spec.permissions: required, a list of 1 to 32'],
    [{ onboardingRef: ref, permissions: [] }, 'spec.permissions: required, a list of 1 to 32'],
    [
      { onboardingRef: ref, permissions: [{ action: 'delete', bucket: 'metrics' }] },
      'spec.permissions[0].action: must be one of read, write',
    ],
    [
      { onboardingRef: ref, permissions: [{ bucket: 'metrics' }] },
      'spec.permissions[0].action: required, one of read, write',
    ],
    [
      { onboardingRef: ref, permissions: [{ action: 'read', bucket: 'other-ns/metrics' }] },
      'spec.permissions[0].bucket: must be the metadata.name of an InfluxBucket in this namespace',
    ],
    [{ onboardingRef: ref, permissions: ['read'] }, 'spec.permissions[0]: must be {action, bucket}'],
    [{ onboardingRef: ref, permissions, secretName: 'Not A Name' }, 'spec.secretName: must be a Secret name'],
    [
      { onboardingRef: ref, permissions, rotationGracePeriodSeconds: -1 },
      'spec.rotationGracePeriodSeconds: must be an integer from 0 to 86400',
    ],
    [{ permissions }, 'spec.onboardingRef: required'],
  ] as const) {
    const problems = tokenProblems(spec);
    assert.ok(
      problems.some((problem) => problem.startsWith(expected)),
      `${JSON.stringify(spec)}: ${problems.join('; ')}`,
    );
  }
  assert.equal(
    tokenProblems({ onboardingRef: ref, permissions, rotationGracePeriodSeconds: 0 }),
    [],
    'a grace period of 0 is allowed',
  );
});

test('default bucket names: <namespace>.<name> keeps a/b-c and a-b/c apart, which the old <namespace>-<name> did not', () => {
  assert.is(defaultBucketName('a', 'b-c') === defaultBucketName('a-b', 'c'), false, 'a/b-c and a-b/c differ');
  assert.is(legacyDefaultBucketName('a', 'b-c'), legacyDefaultBucketName('a-b', 'c'), 'which the old default did not');
});

test.run();
