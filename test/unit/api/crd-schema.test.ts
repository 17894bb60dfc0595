/**
 * The CRD's structural schema and checkSpec must agree. What can be evaluated without an API
 * server is evaluated here by a small interpreter of the OpenAPI subset the CRD uses (type,
 * required, enum, default, minimum/maximum, minLength/maxLength, pattern); the CEL rules
 * (x-kubernetes-validations) are only checked for presence, real API-server validation is
 * tested elsewhere. Also: printer columns, status subresource, conditions as a map keyed by type,
 * and statuses decide() writes validate against the status schema.
 */
import { test } from 'uvu';
import { TEMPLATE_MAX_KEYS } from '../../../src/api/secret-template.js';
import * as assert from 'uvu/assert';
import { checkSpec } from '../../../src/api/spec.js';
import {
  DEFAULT_REQUEST_TIMEOUT_SECONDS,
  LEGACY_MAX_REQUEST_TIMEOUT_SECONDS,
  MAX_REQUEST_TIMEOUT_SECONDS,
  GROUP,
  KIND,
  PLURAL,
  READY,
  Reason,
  VERSION as API_VERSION_NAME,
} from '../../../src/api/types.js';
import { loadCrd, type Schema } from '../../support/crd.js';
import {
  BASE_SPEC,
  IDS,
  drive,
  facts,
  freshWorld,
  onboardedStatus,
  ownedSecret,
  resource,
  secretData,
  setUpWorld,
  credentials,
  STORED_TOKEN,
} from '../../support/facts.js';

const crd = loadCrd(PLURAL);

const version = crd.spec.versions.find((v) => v.name === API_VERSION_NAME);
if (!version) throw new Error(`CRD has no version ${API_VERSION_NAME}`);
const top = version.schema.openAPIV3Schema;
const specSchema = top.properties?.spec as Schema;
const statusSchema = top.properties?.status as Schema;

function at(schema: Schema, path: string): Schema {
  let current = schema;
  for (const part of path.split('.')) {
    const next = current.properties?.[part];
    if (!next) throw new Error(`schema has no property ${path}`);
    current = next;
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// A small structural-schema interpreter

function typeOk(type: string | undefined, value: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      throw new Error(`interpreter does not know type ${type}`);
  }
}

/** Structural errors as "path: what"; unknown fields are pruned by the API server, so ignored. */
function validate(schema: Schema, value: unknown, path: string): string[] {
  if (!typeOk(schema.type, value)) return [`${path}: must be of type ${schema.type}`];
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: must be one of ${schema.enum.join(', ')}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: must be >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: must be <= ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && length > schema.maxLength)
      errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (schema.type === 'object' && typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (record[key] === undefined) errors.push(`${path}.${key}: required`);
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (record[key] !== undefined) errors.push(...validate(child, record[key], `${path}.${key}`));
    }
  }
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    value.forEach((item, index) => errors.push(...validate(schema.items as Schema, item, `${path}[${index}]`)));
  }
  return errors;
}

/** The API server's defaulting: a property's default applies where its parent object exists. */
function applyDefaults(schema: Schema, value: unknown): unknown {
  if (schema.type !== 'object' || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const result: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (result[key] === undefined && child.default !== undefined) result[key] = structuredClone(child.default);
    if (result[key] !== undefined) result[key] = applyDefaults(child, result[key]);
  }
  return result;
}

function celMessages(schema: Schema): string[] {
  return (schema['x-kubernetes-validations'] ?? []).map((rule) => rule.message ?? '');
}

function checkSpecOf(spec: unknown) {
  return checkSpec({ metadata: resource().metadata, spec: spec as never });
}

/** The field a checkSpec problem names ("spec.x.y: ..." -> "spec.x.y"). */
const fieldOf = (problem: string): string => problem.slice(0, problem.indexOf(':'));

// ---------------------------------------------------------------------------------------------
// The shared table: [name, spec, cel] where cel names the CEL rule (by property path and message
// fragment) that rejects the input when the structural schema cannot.

type Row = [string, Record<string, unknown>, { path: string; message: string }?];
const ref = { name: 'influx-creds', key: 'password' };
const row = (name: string, patch: Record<string, unknown>, cel?: { path: string; message: string }): Row =>
  [
    name,
    Object.fromEntries(Object.entries({ ...BASE_SPEC, ...patch }).filter(([, v]) => v !== undefined)),
    ...(cel ? [cel] : []),
  ] as Row;

const rows: Row[] = [
  row('minimal', {}),
  row('url missing', { url: undefined }),
  row('url empty', { url: '' }),
  row('url number', { url: 8086 }),
  row('url ftp', { url: 'ftp://influxdb' }, { path: 'url', message: 'http:// or https://' }),
  row('url query', { url: 'http://influxdb/?a=1' }, { path: 'url', message: 'query or fragment' }),
  row('url fragment', { url: 'http://influxdb/#a' }, { path: 'url', message: 'query or fragment' }),
  row('url userinfo', { url: 'http://a:b@influxdb' }, { path: 'url', message: 'user information' }),
  row('username missing', { username: undefined }),
  row('username empty', { username: '' }),
  row('org missing', { org: undefined }),
  row('org empty', { org: '' }),
  row('bucket missing', { bucket: undefined }),
  row('bucket empty', { bucket: '' }),
  row('bucket _x', { bucket: '_x' }, { path: 'bucket', message: 'must not start with "_"' }),
  row('bucket "', { bucket: 'a"b' }, { path: 'bucket', message: 'double quote' }),
  row('retention 0', { retentionPeriodSeconds: 0 }),
  row('retention 3600', { retentionPeriodSeconds: 3600 }),
  row('retention 3599', { retentionPeriodSeconds: 3599 }, { path: 'retentionPeriodSeconds', message: 'at least 3600' }),
  row('retention 1', { retentionPeriodSeconds: 1 }, { path: 'retentionPeriodSeconds', message: 'at least 3600' }),
  row('retention -1', { retentionPeriodSeconds: -1 }),
  row('retention 1.5', { retentionPeriodSeconds: 1.5 }),
  row('retention string', { retentionPeriodSeconds: '3600' }),
  row('timeout 0', { requestTimeoutSeconds: 0 }),
  row('timeout 1', { requestTimeoutSeconds: 1 }),
  row('timeout 60', { requestTimeoutSeconds: 60 }),
  row('timeout 301', { requestTimeoutSeconds: 301 }),
  row('timeout 2.5', { requestTimeoutSeconds: 2.5 }),
  row('mode Setup', { mode: 'Setup' }),
  row('mode setup', { mode: 'setup' }),
  row(
    'mode SetupUser without authTokenSecretRef',
    { mode: 'SetupUser' },
    { path: '', message: 'authTokenSecretRef is required' },
  ),
  row('mode SetupUser with authTokenSecretRef', { mode: 'SetupUser', authTokenSecretRef: ref }),
  row('resetPolicy Report', { resetPolicy: 'Report' }),
  row('resetPolicy Never', { resetPolicy: 'Never' }),
  row('deletionPolicy Delete', { credentialsSecret: { deletionPolicy: 'Delete' } }),
  row('deletionPolicy delete', { credentialsSecret: { deletionPolicy: 'delete' } }),
  row('credentialsSecret string', { credentialsSecret: 'x' }),
  row('credentialsSecret name ok', { credentialsSecret: { name: 'creds.v1' } }),
  row('credentialsSecret name upper', { credentialsSecret: { name: 'Creds' } }),
  row('credentialsSecret name empty', { credentialsSecret: { name: '' } }),
  row('credentialsSecret name 253', { credentialsSecret: { name: 'c'.repeat(253) } }),
  row('credentialsSecret name 254', { credentialsSecret: { name: 'c'.repeat(254) } }),
  row('tls insecureSkipVerify true', { tls: { insecureSkipVerify: true } }),
  row('tls insecureSkipVerify string', { tls: { insecureSkipVerify: 'yes' } }),
  row('tls caSecretRef ok', { tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } }),
  row('tls caSecretRef no key', { tls: { caSecretRef: { name: 'ca' } } }),
];
for (const field of ['passwordSecretRef', 'tokenSecretRef', 'authTokenSecretRef']) {
  rows.push(
    row(`${field} ok`, { [field]: ref }),
    row(`${field} string`, { [field]: 'influx-creds' }),
    row(`${field} no name`, { [field]: { key: 'password' } }),
    row(`${field} no key`, { [field]: { name: 'influx-creds' } }),
    row(`${field} name upper`, { [field]: { name: 'Influx', key: 'password' } }),
    row(`${field} name trailing dash`, { [field]: { name: 'influx-', key: 'password' } }),
    row(`${field} name 254`, { [field]: { name: 'n'.repeat(254), key: 'password' } }),
    row(`${field} key slash`, { [field]: { name: 'influx', key: 'a/b' } }),
    row(`${field} key empty`, { [field]: { name: 'influx', key: '' } }),
    row(`${field} key 253`, { [field]: { name: 'influx', key: 'k'.repeat(253) } }),
    row(`${field} key 254`, { [field]: { name: 'influx', key: 'k'.repeat(254) } }),
  );
}

for (const [name, spec, cel] of rows) {
  test(`schema and checkSpec agree: ${name}`, () => {
    const structural = validate(specSchema, applyDefaults(specSchema, spec), 'spec');
    const checked = checkSpecOf(spec);
    if (cel) {
      // Structurally fine, rejected by a CEL rule the API server evaluates, and by checkSpec.
      assert.equal(structural, [], `${name}: structural schema alone accepts it`);
      assert.not.ok(checked.ok, `${name}: checkSpec must reject it`);
      const schema = cel.path === '' ? specSchema : at(specSchema, cel.path);
      assert.ok(
        celMessages(schema).some((m) => m.includes(cel.message)),
        `${name}: a CEL rule "${cel.message}" on spec.${cel.path}`,
      );
      if (!checked.ok) {
        const field = cel.path === '' ? 'spec.authTokenSecretRef' : `spec.${cel.path}`;
        assert.ok(
          checked.problems.some((p) => fieldOf(p) === field),
          `${name}: checkSpec names ${field}: ${checked.problems.join('; ')}`,
        );
      }
      return;
    }
    assert.is(
      checked.ok,
      structural.length === 0,
      `${name}: schema says ${JSON.stringify(structural)}, checkSpec says ${checked.ok ? 'ok' : checked.problems.join('; ')}`,
    );
    if (!checked.ok) {
      // Both point at the same field.
      const paths = structural.map(fieldOf);
      assert.ok(
        checked.problems.some((p) => paths.some((path) => path === fieldOf(p) || path.startsWith(`${fieldOf(p)}.`))),
        `${name}: schema ${JSON.stringify(paths)} vs checkSpec ${JSON.stringify(checked.problems.map(fieldOf))}`,
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Defaults, enums, bounds, patterns, required: read from the CRD, checked against checkSpec

test('defaults in the CRD are the defaults checkSpec applies', () => {
  assert.is(at(specSchema, 'retentionPeriodSeconds').default, 0);
  assert.is(at(specSchema, 'mode').default, 'Setup');
  assert.is(at(specSchema, 'resetPolicy').default, 'Reonboard');
  assert.is(at(specSchema, 'requestTimeoutSeconds').default, DEFAULT_REQUEST_TIMEOUT_SECONDS);
  assert.is(at(specSchema, 'credentialsSecret.deletionPolicy').default, 'Retain');
  assert.is(at(specSchema, 'tls.insecureSkipVerify').default, false);
  // Defaulted by the API server or not, the effective spec is the same.
  for (const spec of [{ ...BASE_SPEC }, { ...BASE_SPEC, credentialsSecret: {}, tls: {} }]) {
    const plain = checkSpecOf(spec);
    const defaulted = checkSpecOf(applyDefaults(specSchema, spec));
    assert.ok(plain.ok && defaulted.ok);
    assert.equal(defaulted, plain);
  }
  assert.match(at(specSchema, 'credentialsSecret.name').description ?? '', '<metadata.name>-influxdb');
  const effective = checkSpecOf(BASE_SPEC);
  assert.ok(effective.ok && effective.spec.credentialsSecretName === `${resource().metadata.name}-influxdb`);
});

test('enums: checkSpec accepts exactly the CRD enum values', () => {
  const enums: Array<[string, (value: unknown) => Record<string, unknown>]> = [
    ['mode', (v) => ({ mode: v, authTokenSecretRef: ref })],
    ['resetPolicy', (v) => ({ resetPolicy: v })],
    ['credentialsSecret.deletionPolicy', (v) => ({ credentialsSecret: { deletionPolicy: v } })],
  ];
  for (const [path, patch] of enums) {
    const values = at(specSchema, path).enum ?? [];
    assert.ok(values.length >= 2, path);
    for (const value of values)
      assert.ok(checkSpecOf({ ...BASE_SPEC, ...patch(value) }).ok, `${path}=${String(value)}`);
    for (const value of [...values.map((v) => String(v).toLowerCase()), 'Other', '', 1]) {
      const result = checkSpecOf({ ...BASE_SPEC, ...patch(value) });
      assert.not.ok(result.ok, `${path}=${String(value)}`);
      assert.ok(!result.ok && result.problems.some((p) => fieldOf(p) === `spec.${path}`));
    }
  }
});

test('minimum / maximum: checkSpec agrees at and around every bound of the CRD', () => {
  const timeout = at(specSchema, 'requestTimeoutSeconds');
  assert.equal([timeout.type, timeout.minimum, timeout.maximum], ['integer', 1, MAX_REQUEST_TIMEOUT_SECONDS]);
  for (const [value, valid] of [
    [timeout.minimum as number, true],
    [(timeout.minimum as number) - 1, false],
    [timeout.maximum as number, true],
    [LEGACY_MAX_REQUEST_TIMEOUT_SECONDS + 1, false],
  ] as const) {
    assert.is(checkSpecOf({ ...BASE_SPEC, requestTimeoutSeconds: value }).ok, valid, `timeout ${value}`);
  }
  // Above the maximum, up to what an older CRD allowed, may be stored still: used as the maximum.
  for (const stored of [(timeout.maximum as number) + 1, LEGACY_MAX_REQUEST_TIMEOUT_SECONDS]) {
    const checked = checkSpecOf({ ...BASE_SPEC, requestTimeoutSeconds: stored });
    assert.ok(checked.ok && checked.spec.requestTimeoutSeconds === timeout.maximum, `timeout ${stored} clamped`);
    assert.ok(checked.ok && checked.adjustments?.length === 1, `timeout ${stored}: the adjustment is said`);
  }
  const retention = at(specSchema, 'retentionPeriodSeconds');
  assert.equal([retention.type, retention.minimum], ['integer', 0]);
  assert.not.ok(checkSpecOf({ ...BASE_SPEC, retentionPeriodSeconds: (retention.minimum as number) - 1 }).ok);
  assert.ok(checkSpecOf({ ...BASE_SPEC, retentionPeriodSeconds: retention.minimum }).ok);
  assert.ok(celMessages(retention).some((m) => m.includes('3600')));
});

test('patterns: Secret names and keys, the same verdict from the CRD pattern and checkSpec', () => {
  const namePattern = new RegExp(at(specSchema, 'passwordSecretRef.name').pattern ?? '', 'u');
  const keyPattern = new RegExp(at(specSchema, 'passwordSecretRef.key').pattern ?? '', 'u');
  // Every selector and the credentials Secret name use the same rules.
  for (const path of ['tokenSecretRef', 'authTokenSecretRef', 'tls.caSecretRef']) {
    assert.equal(at(specSchema, path).properties, at(specSchema, 'passwordSecretRef').properties, path);
    assert.is(at(specSchema, `${path}.name`).pattern, namePattern.source);
    assert.is(at(specSchema, `${path}.key`).pattern, keyPattern.source);
    assert.equal(at(specSchema, path).required, ['name', 'key']);
  }
  assert.is(at(specSchema, 'credentialsSecret.name').pattern, namePattern.source);

  const names = [
    'a',
    'influx-creds',
    'a.b-c.d',
    '0abc',
    'a'.repeat(253),
    'A',
    'a_b',
    '-a',
    'a-',
    'a..b',
    '.a',
    'a.',
    '',
    'ä',
  ];
  for (const name of names) {
    const schemaOk =
      namePattern.test(name) &&
      name.length <= (at(specSchema, 'passwordSecretRef.name').maxLength ?? Infinity) &&
      name.length >= 1;
    assert.is(
      checkSpecOf({ ...BASE_SPEC, passwordSecretRef: { name, key: 'k' } }).ok,
      schemaOk,
      `name ${JSON.stringify(name)}`,
    );
    assert.is(
      checkSpecOf({ ...BASE_SPEC, credentialsSecret: { name } }).ok,
      schemaOk,
      `credentialsSecret.name ${JSON.stringify(name)}`,
    );
  }
  const keys = [
    'password',
    'tls.crt',
    '.dockerconfigjson',
    'A-b_c.9',
    'a/b',
    'a b',
    '',
    'ä',
    'k'.repeat(253),
    'k'.repeat(254),
  ];
  for (const key of keys) {
    const schema = at(specSchema, 'passwordSecretRef.key');
    const schemaOk =
      keyPattern.test(key) && key.length >= (schema.minLength ?? 0) && key.length <= (schema.maxLength ?? Infinity);
    assert.is(
      checkSpecOf({ ...BASE_SPEC, tokenSecretRef: { name: 'n', key } }).ok,
      schemaOk,
      `key ${JSON.stringify(key)}`,
    );
  }
});

test('required: the CRD and checkSpec require the same spec fields', () => {
  assert.equal(top.required, ['spec']);
  assert.equal([...(specSchema.required ?? [])].sort(), ['bucket', 'org', 'url', 'username']);
  for (const field of specSchema.required ?? []) {
    const spec: Record<string, unknown> = { ...BASE_SPEC };
    delete spec[field];
    const result = checkSpecOf(spec);
    assert.ok(!result.ok && result.problems.some((p) => fieldOf(p) === `spec.${field}`), field);
  }
  // And nothing else is required: the required fields alone make a valid spec.
  const onlyRequired = Object.fromEntries(
    (specSchema.required ?? []).map((field) => [field, (BASE_SPEC as unknown as Record<string, unknown>)[field]]),
  );
  assert.ok(checkSpecOf(onlyRequired).ok);
  assert.equal(validate(specSchema, applyDefaults(specSchema, onlyRequired), 'spec'), []);
  assert.is(checkSpecOf(undefined).ok, false);
});

test('every spec property of the CRD is one checkSpec knows, and vice versa', () => {
  assert.equal(Object.keys(specSchema.properties ?? {}).sort(), [
    'accessFrom',
    'authTokenSecretRef',
    'bucket',
    'credentialsSecret',
    'mode',
    'org',
    'passwordSecretRef',
    'requestTimeoutSeconds',
    'resetPolicy',
    'retentionPeriodSeconds',
    'secretTemplate',
    'tls',
    'tokenSecretRef',
    'url',
    'username',
  ]);
  const template = at(specSchema, 'secretTemplate');
  assert.equal(Object.keys(template.properties ?? {}).sort(), ['data', 'metadata', 'type']);
  assert.equal(at(template, 'type').enum, ['Opaque'], 'the credentials Secret stays Opaque');
  assert.equal(at(template, 'data').maxProperties, TEMPLATE_MAX_KEYS);
  assert.equal(Object.keys(at(specSchema, 'credentialsSecret').properties ?? {}).sort(), ['deletionPolicy', 'name']);
  assert.equal(Object.keys(at(specSchema, 'tls').properties ?? {}).sort(), ['caSecretRef', 'insecureSkipVerify']);
  const accessFrom = at(specSchema, 'accessFrom');
  assert.equal(Object.keys(accessFrom.properties ?? {}).sort(), [
    'grants',
    'limits',
    'namespaceSelector',
    'namespaces',
  ]);
  const limits = ['maxBuckets', 'maxRetentionSeconds', 'maxTokens', 'minRetentionSeconds'];
  assert.equal(Object.keys(at(accessFrom, 'limits').properties ?? {}).sort(), limits);
  const grant = at(accessFrom, 'grants').items;
  assert.equal(Object.keys(grant?.properties ?? {}).sort(), [
    'adoptBuckets',
    'bucketNames',
    'databases',
    'limits',
    'namespace',
  ]);
  assert.equal(Object.keys(grant?.properties?.limits?.properties ?? {}).sort(), limits);
  const { description: _entry, ...entryLimits } = grant?.properties?.limits ?? {};
  const { description: _shared, ...sharedLimits } = at(accessFrom, 'limits');
  assert.equal(entryLimits, sharedLimits, 'a grants entry takes the same limits, with the same rules');
});

test('CEL rules: the ones checkSpec mirrors are present, and username/org/bucket are immutable', () => {
  const expected: Array<[string, string]> = [
    ['', 'authTokenSecretRef is required when spec.mode is SetupUser'],
    ['url', 'must be an absolute http:// or https:// URL'],
    ['url', 'must not have a query or fragment'],
    ['url', 'must not carry user information'],
    ['url', 'must name a host'],
    ['bucket', 'must not start with "_"'],
    ['bucket', 'must not contain a double quote'],
    ['retentionPeriodSeconds', 'must be 0 (infinite) or at least 3600'],
  ];
  for (const [path, message] of expected) {
    const schema = path === '' ? specSchema : at(specSchema, path);
    assert.ok(
      celMessages(schema).some((m) => m.includes(message)),
      `spec.${path}: ${message}`,
    );
  }
  for (const field of ['username', 'org', 'bucket']) {
    assert.ok(
      (at(specSchema, field)['x-kubernetes-validations'] ?? []).some((rule) => rule.rule === 'self == oldSelf'),
      `${field} immutable`,
    );
  }
  const setupUserRule = (specSchema['x-kubernetes-validations'] ?? [])[0];
  assert.is(setupUserRule?.fieldPath, '.authTokenSecretRef');
});

// ---------------------------------------------------------------------------------------------
// Names, columns, subresources, status

test('names, scope and version match src/api/types', () => {
  assert.is(crd.metadata.name, `${PLURAL}.${GROUP}`);
  assert.is(crd.spec.group, GROUP);
  assert.is(crd.spec.names.kind, KIND);
  assert.is(crd.spec.names.plural, PLURAL);
  assert.is(crd.spec.scope, 'Namespaced');
  assert.ok(version.served && version.storage);
  assert.is(crd.spec.versions.filter((v) => v.storage).length, 1);
});

test('printer columns: Ready, Reason, Org, Bucket, Secret, Age (priority 0); URL, Version (priority 1)', () => {
  const columns = (version.additionalPrinterColumns ?? []).map((c) => ({
    name: c.name,
    type: c.type,
    jsonPath: c.jsonPath,
    priority: c.priority ?? 0,
  }));
  assert.equal(columns, [
    { name: 'Ready', type: 'string', jsonPath: `.status.conditions[?(@.type=="${READY}")].status`, priority: 0 },
    { name: 'Reason', type: 'string', jsonPath: `.status.conditions[?(@.type=="${READY}")].reason`, priority: 0 },
    { name: 'Org', type: 'string', jsonPath: '.spec.org', priority: 0 },
    { name: 'Bucket', type: 'string', jsonPath: '.spec.bucket', priority: 0 },
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', priority: 0 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', priority: 0 },
    { name: 'URL', type: 'string', jsonPath: '.spec.url', priority: 1 },
    { name: 'Version', type: 'string', jsonPath: '.status.influxdbVersion', priority: 1 },
  ]);
});

test('status subresource present; conditions a list-type map keyed by type', () => {
  assert.equal(version.subresources?.status, {});
  const conditions = at(statusSchema, 'conditions');
  assert.is(conditions.type, 'array');
  assert.is(conditions['x-kubernetes-list-type'], 'map');
  assert.equal(conditions['x-kubernetes-list-map-keys'], ['type']);
  assert.ok(conditions.items?.required?.includes('type'), 'a map key must be required');
  assert.equal(conditions.items?.properties?.status?.enum, ['True', 'False', 'Unknown']);
  // The schema names every Ready reason, so that `kubectl explain` lists the new ones too.
  const described = conditions.items?.properties?.reason?.description ?? '';
  const listed = /one of: ([^(]*)\(/
    .exec(described)?.[1]
    ?.split(',')
    .map((reason) => reason.trim())
    .filter((reason) => reason !== '');
  assert.equal(listed, Object.values(Reason));
});

test('statuses decide() writes are valid against the status schema', () => {
  const statuses = [
    drive(facts(), freshWorld()).finish.status,
    drive(facts(), { setupStatus: { ok: true, value: { allowed: false } } }).finish.status,
    drive(facts({ secret: ownedSecret(secretData(credentials())) }), setUpWorld(STORED_TOKEN)).finish.status,
    drive(facts({ resource: resource({ spec: { mode: 'SetupUser', authTokenSecretRef: ref } }) }), freshWorld()).finish
      .status,
    drive(facts({ resource: resource({ spec: { url: 'ftp://x' }, status: onboardedStatus() }) }), {}).finish.status,
  ];
  const properties = Object.keys(statusSchema.properties ?? {});
  for (const status of statuses) {
    assert.equal(validate(statusSchema, status, 'status'), [], JSON.stringify(status));
    // Nothing the API server would prune.
    for (const key of Object.keys(status)) assert.ok(properties.includes(key), `status.${key} is in the schema`);
    for (const condition of status.conditions ?? []) {
      assert.ok(!Number.isNaN(Date.parse(condition.lastTransitionTime)), 'lastTransitionTime is a date-time');
    }
  }
  assert.is(statuses[0]?.orgID, IDS.orgID);
});

test('the interpreter itself: rejects what it should (so agreement above means something)', () => {
  assert.equal(validate({ type: 'integer', minimum: 1 }, 0, 'x'), ['x: must be >= 1']);
  assert.equal(validate({ type: 'integer' }, 1.5, 'x'), ['x: must be of type integer']);
  assert.equal(validate({ type: 'string', enum: ['A'] }, 'a', 'x'), ['x: must be one of A']);
  assert.equal(validate({ type: 'string', pattern: '^a$' }, 'b', 'x'), ['x: does not match ^a$']);
  assert.equal(validate({ type: 'object', required: ['k'] }, {}, 'x'), ['x.k: required']);
  assert.equal(
    applyDefaults({ type: 'object', properties: { a: { type: 'object', properties: { b: { default: 1 } } } } }, {}),
    {},
  );
  assert.equal(
    applyDefaults(
      { type: 'object', properties: { a: { type: 'object', properties: { b: { default: 1 } } } } },
      { a: {} },
    ),
    { a: { b: 1 } },
  );
});

test.run();
