/**
 * The InfluxBucket and InfluxToken CRDs agree with src/api: names and scope, printer columns,
 * the status subresource, the spec fields the checks know, their defaults and enums, and the
 * status fields the decisions write.
 */
import { test } from 'uvu';
import { DEFAULT_SECRET_TYPE, TEMPLATE_MAX_KEYS } from '../../../src/api/secret-template.js';
import * as assert from 'uvu/assert';
import { checkBucketSpec, checkTokenSpec } from '../../../src/api/access-spec.js';
import {
  AccessReason,
  BUCKET_KIND,
  BUCKET_PLURAL,
  DEFAULT_ROTATION_GRACE_SECONDS,
  MAX_ROTATION_GRACE_SECONDS,
  TOKEN_KIND,
  TOKEN_PLURAL,
} from '../../../src/api/access-types.js';
import { GROUP, VERSION } from '../../../src/api/types.js';
import { crdText, loadCrd as load } from '../../support/crd.js';

for (const [kind, plural, third] of [
  [BUCKET_KIND, BUCKET_PLURAL, 'Bucket'],
  [TOKEN_KIND, TOKEN_PLURAL, 'Permissions'],
] as const) {
  test(`${kind}: namespaced, ${VERSION} with status subresource, conditions keyed by type, printer columns Ready/Reason/${third}/Age; the chart ships the same file`, () => {
    const crd = load(plural);
    assert.equal(
      [crd.spec.group, crd.spec.scope, crd.spec.names.kind, crd.spec.names.plural],
      [GROUP, 'Namespaced', kind, plural],
    );
    const [version] = crd.spec.versions;
    assert.ok(version && version.name === VERSION && version.subresources?.status);
    assert.equal(
      (version.additionalPrinterColumns ?? []).filter((column) => !column.priority).map((column) => column.name),
      ['Ready', 'Reason', third, 'Age'],
    );
    const conditions = version.schema.openAPIV3Schema.properties?.status?.properties?.conditions;
    assert.equal(
      [conditions?.['x-kubernetes-list-type'], conditions?.['x-kubernetes-list-map-keys']],
      ['map', ['type']],
    );
    const reasons = conditions?.items?.properties?.reason?.description ?? '';
    for (const reason of Object.values(AccessReason)) {
      if (kind === TOKEN_KIND && ['BucketReady', 'BucketExists', 'DatabaseTaken', 'DefaultConflict'].includes(reason))
        continue;
      assert.ok(reasons.includes(reason), `the reason list names ${reason}`);
    }
    assert.is(crdText(plural, 'chart'), crdText(plural), 'the chart copy is byte for byte the same');
  });
}

test('InfluxBucket: the CRD spec fields, defaults and enums are those checkBucketSpec knows', () => {
  const schema = load(BUCKET_PLURAL).spec.versions[0]?.schema.openAPIV3Schema.properties?.spec ?? {};
  assert.equal(Object.keys(schema.properties ?? {}).sort(), [
    'adopt',
    'deletionPolicy',
    'description',
    'influxql',
    'name',
    'onboardingRef',
    'retentionPeriodSeconds',
  ]);
  assert.equal(schema.required, ['onboardingRef']);
  const checked = checkBucketSpec({
    metadata: { name: 'm', namespace: 'n', uid: 'u' },
    spec: { onboardingRef: { name: 'o' } },
  });
  assert.ok(checked.ok);
  const props = schema.properties ?? {};
  assert.equal(
    [props.retentionPeriodSeconds?.default, props.deletionPolicy?.default, props.adopt?.default],
    [checked.spec.retentionPeriodSeconds, checked.spec.deletionPolicy, checked.spec.adopt],
  );
  assert.equal(props.deletionPolicy?.enum, ['Retain', 'Delete']);
  // spec.influxql: the same fields, defaults and name rule as checkBucketSpec's.
  const influxql = props.influxql ?? {};
  assert.equal(Object.keys(influxql.properties ?? {}).sort(), ['database', 'default', 'retentionPolicy']);
  assert.equal(influxql.required, ['database']);
  const mapped = checkBucketSpec({
    metadata: { name: 'm', namespace: 'n', uid: 'u' },
    spec: { onboardingRef: { name: 'o' }, influxql: { database: 'n.m' } },
  });
  assert.ok(mapped.ok);
  assert.equal(
    [influxql.properties?.retentionPolicy?.default, influxql.properties?.default?.default],
    [mapped.spec.influxql?.retentionPolicy, mapped.spec.influxql?.default],
  );
  for (const field of ['database', 'retentionPolicy'] as const)
    assert.equal(
      [influxql.properties?.[field]?.pattern, influxql.properties?.[field]?.maxLength],
      ['^[A-Za-z0-9._-]+$', 255],
    );
});

test('InfluxToken: the CRD spec fields, defaults, enums and bounds are those checkTokenSpec knows', () => {
  const schema = load(TOKEN_PLURAL).spec.versions[0]?.schema.openAPIV3Schema.properties?.spec ?? {};
  assert.equal(Object.keys(schema.properties ?? {}).sort(), [
    'description',
    'onboardingRef',
    'permissions',
    'rotationGracePeriodSeconds',
    'secretName',
    'secretTemplate',
    'v1',
  ]);
  assert.equal(schema.required, ['onboardingRef', 'permissions']);
  const props = schema.properties ?? {};
  assert.equal(props.permissions?.minItems, 1);
  assert.equal(props.permissions?.items?.properties?.action?.enum, ['read', 'write']);
  assert.equal(
    [
      props.rotationGracePeriodSeconds?.default,
      props.rotationGracePeriodSeconds?.minimum,
      props.rotationGracePeriodSeconds?.maximum,
    ],
    [DEFAULT_ROTATION_GRACE_SECONDS, 0, MAX_ROTATION_GRACE_SECONDS],
  );
  const checked = checkTokenSpec({
    metadata: { name: 'm', namespace: 'n', uid: 'u' },
    spec: { onboardingRef: { name: 'o' }, permissions: [{ action: 'read', bucket: 'b' }] },
  });
  assert.ok(checked.ok && checked.spec.rotationGracePeriodSeconds === props.rotationGracePeriodSeconds?.default);
  // The template's limits: the schema's and the renderer's agree.
  const template = props.secretTemplate?.properties ?? {};
  assert.equal([template.data?.maxProperties, template.type?.default], [TEMPLATE_MAX_KEYS, DEFAULT_SECRET_TYPE]);
});

test('status fields the decisions write are declared in the CRDs', () => {
  const bucketStatus = Object.keys(
    load(BUCKET_PLURAL).spec.versions[0]?.schema.openAPIV3Schema.properties?.status?.properties ?? {},
  ).sort();
  assert.equal(bucketStatus, [
    'adopted',
    'bucketID',
    'bucketName',
    'conditions',
    'influxql',
    'observedGeneration',
    'onboarding',
  ]);
  const mappingStatus =
    load(BUCKET_PLURAL).spec.versions[0]?.schema.openAPIV3Schema.properties?.status?.properties?.influxql?.properties;
  assert.equal(Object.keys(mappingStatus ?? {}).sort(), ['database', 'default', 'mappingID', 'retentionPolicy']);
  const tokenStatus = Object.keys(
    load(TOKEN_PLURAL).spec.versions[0]?.schema.openAPIV3Schema.properties?.status?.properties ?? {},
  ).sort();
  assert.equal(tokenStatus, [
    'authorizationID',
    'conditions',
    'observedGeneration',
    'permissions',
    'retiring',
    'secretName',
    'v1AuthorizationID',
    'v1Username',
  ]);
});

test.run();
