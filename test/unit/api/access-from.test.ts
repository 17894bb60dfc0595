/**
 * spec.accessFrom (checked through checkSpec) and grantFor: every problem names its field and what
 * is allowed, who may reference an onboarding, and what the terms of a grant allow.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  grantFor,
  mayClaimBucketName,
  mayClaimDatabase,
  notGrantedMessage,
  retentionBeyondLimits,
  selectsByLabel,
} from '../../../src/api/access-from.js';
import { checkSpec } from '../../../src/api/spec.js';
import { BASE_SPEC, resource } from '../../support/facts.js';

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
