/**
 * checkBucketSpec, checkTokenSpec, checkSpec's accessFrom and grantFor: defaults, every problem
 * names its field and what is allowed, and who may reference an onboarding.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkBucketSpec,
  checkTokenSpec,
  defaultBucketName,
  grantFor,
  legacyDefaultBucketName,
  mayClaimBucketName,
  mayClaimDatabase,
  notGrantedMessage,
  retentionBeyondLimits,
  selectsByLabel,
} from '../../../src/api/access-spec.js';
import { checkSpec } from '../../../src/api/spec.js';
import { BASE_SPEC, resource } from '../../support/facts.js';

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

/** An onboarding in monitoring with this spec.accessFrom, checked. */
function checkAccessFrom(accessFrom: unknown) {
  return checkSpec({ metadata: resource().metadata, spec: { ...BASE_SPEC, accessFrom } as never });
}

/** Each accessFrom is refused with a problem that starts with its expected text. */
function assertAccessFromRefused(cases: readonly (readonly [unknown, string])[]): void {
  for (const [accessFrom, expected] of cases) {
    const checked = checkAccessFrom(accessFrom);
    assert.ok(
      !checked.ok && checked.problems.some((problem) => problem.startsWith(expected)),
      `${JSON.stringify(accessFrom)}: ${checked.ok ? 'accepted' : checked.problems.join('; ')}`,
    );
  }
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

test('InfluxOnboarding.spec.accessFrom: namespaces and a label selector, checked field by field', () => {
  const accepted = checkAccessFrom({
    namespaces: ['app-a', 'app-b'],
    namespaceSelector: { matchLabels: { 'influxdb.example.com/access': 'granted' } },
  });
  assert.ok(accepted.ok && accepted.spec.accessFrom?.namespaces?.length === 2);
  assert.ok(!('accessFrom' in (checkAccessFrom(undefined) as { spec: object }).spec), 'absent: own namespace only');
  assertAccessFromRefused([
    ['app-a', 'spec.accessFrom: must be an object'],
    [{ namespaces: 'app-a' }, 'spec.accessFrom.namespaces: must be a list'],
    [{ namespaces: ['App_A'] }, 'spec.accessFrom.namespaces[0]: must be a namespace name'],
    [{ namespaceSelector: { matchLabels: {} } }, 'spec.accessFrom.namespaceSelector: must be {matchLabels'],
    [{ namespaceSelector: { matchExpressions: [] } }, 'spec.accessFrom.namespaceSelector: must be {matchLabels'],
    [
      { namespaceSelector: { matchLabels: { 'bad key!': 'x' } } },
      'spec.accessFrom.namespaceSelector.matchLabels: "bad key!" is not a label key',
    ],
    [
      { namespaceSelector: { matchLabels: { team: 'a b' } } },
      'spec.accessFrom.namespaceSelector.matchLabels.team: must be a label value',
    ],
  ]);
});

test('grantFor: own namespace always (home terms); others only when named, listed in grants or selected by all labels', () => {
  const onboarding = (accessFrom?: object) => ({
    metadata: { namespace: 'monitoring', name: 'influxdb', uid: 'u' },
    spec: accessFrom === undefined ? {} : { accessFrom },
  });
  const general = { home: false, bucketNames: [], adoptBuckets: [], databases: [], limits: {} };
  assert.equal(grantFor(onboarding(), 'monitoring'), {
    granted: true,
    terms: { home: true, bucketNames: [], adoptBuckets: [], databases: [], limits: {} },
  });
  assert.equal(grantFor(onboarding(), 'app-a'), { granted: false });
  assert.equal(grantFor(onboarding({ namespaces: ['app-a'] }), 'app-a'), { granted: true, terms: general });
  assert.equal(grantFor(onboarding({ namespaces: ['app-a'] }), 'app-b').granted, false);
  const selector = onboarding({ namespaceSelector: { matchLabels: { team: 'a', tier: 'prod' } } });
  assert.ok(selectsByLabel(selector));
  assert.not.ok(selectsByLabel(onboarding({ namespaces: ['app-a'] })));
  assert.equal(grantFor(selector, 'app-b', { team: 'a', tier: 'prod', extra: 'x' }), { granted: true, terms: general });
  assert.equal(grantFor(selector, 'app-b', { team: 'a' }).granted, false, 'every label must match');
  assert.equal(grantFor(selector, 'app-b').granted, false, 'labels unknown: no grant');
});

test('grantFor: a grants entry grants its namespace with its own names, adoptable buckets and limits over accessFrom.limits', () => {
  const onboarding = {
    metadata: { namespace: 'monitoring', name: 'influxdb' },
    spec: {
      accessFrom: {
        namespaces: ['app-b'],
        limits: { maxBuckets: 5, maxTokens: 10 },
        grants: [
          {
            namespace: 'app-a',
            bucketNames: ['shared'],
            adoptBuckets: ['legacy'],
            databases: ['telegraf'],
            limits: { maxBuckets: 50 },
          },
        ],
      },
    },
  };
  assert.equal(grantFor(onboarding, 'app-a'), {
    granted: true,
    terms: {
      home: false,
      bucketNames: ['shared'],
      adoptBuckets: ['legacy'],
      databases: ['telegraf'],
      limits: { maxBuckets: 50, maxTokens: 10 },
    },
  });
  assert.equal(grantFor(onboarding, 'app-b'), {
    granted: true,
    terms: { home: false, bucketNames: [], adoptBuckets: [], databases: [], limits: { maxBuckets: 5, maxTokens: 10 } },
  });
});

test('names and retention under a grant: own prefix, listed names, anything at home; limits name the field', () => {
  const terms = { home: false, bucketNames: ['shared'], adoptBuckets: ['legacy'], databases: ['telegraf'], limits: {} };
  assert.ok(mayClaimDatabase('app-a.metrics', 'app-a', terms));
  assert.ok(mayClaimDatabase('telegraf', 'app-a', terms), 'a database the grant lists');
  assert.not.ok(mayClaimDatabase('shared', 'app-a', terms), 'a listed bucket name is not a listed database');
  assert.not.ok(mayClaimDatabase('app-b.metrics', 'app-a', terms), "another namespace's prefix");
  assert.not.ok(mayClaimDatabase('app-a', 'app-a', terms), 'the namespace name alone is not under its prefix');
  assert.ok(mayClaimDatabase('anything', 'monitoring', { ...terms, home: true }));
  assert.ok(mayClaimBucketName('app-a.metrics', 'app-a', terms));
  assert.not.ok(mayClaimBucketName('app-a-metrics', 'app-a', terms), 'the old default is not a prefix');
  assert.not.ok(mayClaimBucketName('app-a', 'app-a', terms));
  assert.ok(mayClaimBucketName('shared', 'app-a', terms));
  assert.ok(mayClaimBucketName('legacy', 'app-a', terms), 'an adoptable bucket may be claimed');
  assert.not.ok(mayClaimBucketName('app-b.metrics', 'app-a', terms));
  assert.ok(mayClaimBucketName('anything', 'monitoring', { ...terms, home: true }));
  assert.is(defaultBucketName('a', 'b-c') === defaultBucketName('a-b', 'c'), false, 'a/b-c and a-b/c differ');
  assert.is(legacyDefaultBucketName('a', 'b-c'), legacyDefaultBucketName('a-b', 'c'), 'which the old default did not');
  assert.is(
    retentionBeyondLimits(3600, { minRetentionSeconds: 86400 }),
    'shorter than the minimum of 86400 s (minRetentionSeconds)',
  );
  assert.is(retentionBeyondLimits(0, { minRetentionSeconds: 86400 }), undefined, 'infinite is longer than any minimum');
  assert.match(retentionBeyondLimits(0, { maxRetentionSeconds: 86400 }) ?? '', 'maxRetentionSeconds');
  assert.is(retentionBeyondLimits(86400, { minRetentionSeconds: 3600, maxRetentionSeconds: 86400 }), undefined);
  assert.is(
    notGrantedMessage({ namespace: 'monitoring', name: 'influxdb' }, 'app-c'),
    'InfluxOnboarding monitoring/influxdb does not exist or does not grant namespace app-c access; its owners grant it in spec.accessFrom',
  );
});

test('InfluxOnboarding.spec.accessFrom limits and grants: checked field by field', () => {
  const accepted = checkAccessFrom({
    limits: { maxBuckets: 10, maxTokens: 20, minRetentionSeconds: 3600, maxRetentionSeconds: 86400 },
    grants: [{ namespace: 'app-a', bucketNames: ['shared'], adoptBuckets: ['legacy'], limits: { maxBuckets: 0 } }],
  });
  assert.ok(accepted.ok, accepted.ok ? '' : accepted.problems.join('; '));
  assert.equal(accepted.ok && accepted.spec.accessFrom?.grants?.[0]?.limits, { maxBuckets: 0 });
  assertAccessFromRefused([
    [{ limits: 5 }, 'spec.accessFrom.limits: must be an object'],
    [{ limits: { maxBuckets: -1 } }, 'spec.accessFrom.limits.maxBuckets: must be an integer from 0 to 5000'],
    [{ limits: { maxTokens: 1.5 } }, 'spec.accessFrom.limits.maxTokens: must be an integer from 0 to 5000'],
    [
      { limits: { maxRetentionSeconds: 60 } },
      'spec.accessFrom.limits.maxRetentionSeconds: must be an integer from 3600',
    ],
    [
      { limits: { minRetentionSeconds: 86400, maxRetentionSeconds: 3600 } },
      'spec.accessFrom.limits.minRetentionSeconds: must not exceed maxRetentionSeconds',
    ],
    [{ grants: {} }, 'spec.accessFrom.grants: must be a list'],
    [{ grants: ['app-a'] }, 'spec.accessFrom.grants[0]: must be an object'],
    [{ grants: [{ namespace: 'App' }] }, 'spec.accessFrom.grants[0].namespace: must be a namespace name'],
    [{ grants: [{ namespace: 'a' }, { namespace: 'a' }] }, 'spec.accessFrom.grants[1].namespace: a is listed twice'],
    [
      { grants: [{ namespace: 'a', bucketNames: ['_x'] }] },
      'spec.accessFrom.grants[0].bucketNames[0]: must not start with "_"',
    ],
    [{ grants: [{ namespace: 'a', adoptBuckets: 'x' }] }, 'spec.accessFrom.grants[0].adoptBuckets: must be a list'],
    [{ grants: [{ namespace: 'a', databases: 'x' }] }, 'spec.accessFrom.grants[0].databases: must be a list'],
    [
      { grants: [{ namespace: 'a', databases: ['ok', 'no space'] }] },
      `spec.accessFrom.grants[0].databases[1]: 1 to 255 letters, digits, '.', '_' or '-'`,
    ],
    [
      { grants: [{ namespace: 'a', limits: { maxBuckets: 6000 } }] },
      'spec.accessFrom.grants[0].limits.maxBuckets: must be an integer from 0 to 5000',
    ],
  ]);
});

test.run();
