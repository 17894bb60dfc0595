/**
 * checkBucketSpec, checkTokenSpec, checkSpec's accessFrom and grantFor: defaults, every problem
 * names its field and what is allowed, and who may reference an onboarding.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkBucketSpec, checkTokenSpec, grantFor, selectsByLabel } from '../../../src/api/access-spec.js';
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

test('InfluxBucket defaults: name <namespace>-<name>, infinite retention, Retain, no adoption; onboardingRef namespace defaults to its own', () => {
  assert.equal(checkBucketSpec({ metadata, spec: { onboardingRef: { name: 'influxdb' } } }), {
    ok: true,
    spec: {
      onboarding: { namespace: 'app-a', name: 'influxdb' },
      bucketName: 'app-a-metrics',
      retentionPeriodSeconds: 0,
      description: '',
      deletionPolicy: 'Retain',
      adopt: false,
    },
  });
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
  const { metadata: own } = resource();
  const check = (accessFrom: unknown) => checkSpec({ metadata: own, spec: { ...BASE_SPEC, accessFrom } as never });
  const accepted = check({
    namespaces: ['app-a', 'app-b'],
    namespaceSelector: { matchLabels: { 'influxdb.example.com/access': 'granted' } },
  });
  assert.ok(accepted.ok && accepted.spec.accessFrom?.namespaces?.length === 2);
  assert.ok(!('accessFrom' in (check(undefined) as { spec: object }).spec), 'absent: own namespace only');
  for (const [accessFrom, expected] of [
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
  ] as const) {
    const checked = check(accessFrom);
    assert.ok(
      !checked.ok && checked.problems.some((problem) => problem.startsWith(expected)),
      `${JSON.stringify(accessFrom)}: ${checked.ok ? 'accepted' : checked.problems.join('; ')}`,
    );
  }
});

test('grantFor: own namespace always; others only when named or selected by all labels', () => {
  const onboarding = (accessFrom?: object) => ({
    metadata: { namespace: 'monitoring', name: 'influxdb', uid: 'u' },
    spec: accessFrom === undefined ? {} : { accessFrom },
  });
  assert.equal(grantFor(onboarding(), 'monitoring'), { granted: true });
  const refused = grantFor(onboarding(), 'app-a');
  assert.ok(
    !refused.granted && refused.message.includes('InfluxOnboarding monitoring/influxdb does not grant namespace app-a'),
  );
  assert.equal(grantFor(onboarding({ namespaces: ['app-a'] }), 'app-a'), { granted: true });
  assert.equal(grantFor(onboarding({ namespaces: ['app-a'] }), 'app-b').granted, false);
  const selector = onboarding({ namespaceSelector: { matchLabels: { team: 'a', tier: 'prod' } } });
  assert.ok(selectsByLabel(selector));
  assert.not.ok(selectsByLabel(onboarding({ namespaces: ['app-a'] })));
  assert.equal(grantFor(selector, 'app-b', { team: 'a', tier: 'prod', extra: 'x' }), { granted: true });
  assert.equal(grantFor(selector, 'app-b', { team: 'a' }).granted, false, 'every label must match');
  assert.equal(grantFor(selector, 'app-b').granted, false, 'labels unknown: no grant');
});

test.run();
