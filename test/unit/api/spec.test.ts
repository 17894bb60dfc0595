/**
 * checkSpec: defaults, and every validation problem names its field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acceptedUrl, checkSpec } from '../../../src/api/spec.js';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, type EffectiveSpec } from '../../../src/api/types.js';
import { BASE_SPEC, resource } from '../../support/facts.js';

function check(spec: Record<string, unknown>) {
  const { metadata } = resource();
  return checkSpec({ metadata, spec: spec as never });
}

function problemsOf(patch: Record<string, unknown>, base: Record<string, unknown> = { ...BASE_SPEC }): string[] {
  const spec = { ...base, ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete spec[key];
  const result = check(spec);
  return result.ok ? [] : result.problems;
}

function accepted(patch: Record<string, unknown>): EffectiveSpec {
  const result = check({ ...BASE_SPEC, ...patch });
  if (!result.ok) throw new Error(`expected ${JSON.stringify(patch)} to be accepted: ${result.problems.join('; ')}`);
  return result.spec;
}

test('defaults: a minimal spec gets every default and no optional keys', () => {
  assert.equal(accepted({}), {
    url: BASE_SPEC.url,
    username: 'admin',
    org: 'acme',
    bucket: 'telemetry',
    retentionPeriodSeconds: 0,
    credentialsSecretName: 'metrics-influxdb',
    deletionPolicy: 'Retain',
    insecureSkipVerify: false,
    mode: 'Setup',
    resetPolicy: 'Reonboard',
    requestTimeoutSeconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
  });
  assert.is(DEFAULT_REQUEST_TIMEOUT_SECONDS, 10);
  // Empty nested objects default the same way.
  assert.equal(accepted({ credentialsSecret: {}, tls: {} }), accepted({}));
  // The Secret name follows metadata.name.
  const other = checkSpec({ metadata: resource({ name: 'prod' }).metadata, spec: BASE_SPEC });
  assert.ok(other.ok && other.spec.credentialsSecretName === 'prod-influxdb');
});

test('a full spec passes through unchanged', () => {
  const ref = (name: string, key: string) => ({ name, key });
  assert.equal(
    accepted({
      url: 'https://influxdb.example.com:8443/prefix',
      retentionPeriodSeconds: 604_800,
      passwordSecretRef: ref('admin-pw', 'password'),
      tokenSecretRef: ref('admin-token', 'token'),
      authTokenSecretRef: ref('super', 'token'),
      credentialsSecret: { name: 'creds.v2', deletionPolicy: 'Delete' },
      tls: { caSecretRef: ref('ca', 'ca.crt'), insecureSkipVerify: true },
      mode: 'SetupUser',
      resetPolicy: 'Report',
      requestTimeoutSeconds: 60,
    }),
    {
      url: 'https://influxdb.example.com:8443/prefix',
      username: 'admin',
      org: 'acme',
      bucket: 'telemetry',
      retentionPeriodSeconds: 604_800,
      passwordSecretRef: ref('admin-pw', 'password'),
      tokenSecretRef: ref('admin-token', 'token'),
      authTokenSecretRef: ref('super', 'token'),
      credentialsSecretName: 'creds.v2',
      deletionPolicy: 'Delete',
      caSecretRef: ref('ca', 'ca.crt'),
      insecureSkipVerify: true,
      mode: 'SetupUser',
      resetPolicy: 'Report',
      requestTimeoutSeconds: 60,
    },
  );
});

/** [patch, field the problem must start with]; the field null means the patch is valid. */
const table: Array<[string, Record<string, unknown>, string | null]> = [
  // url
  ['url missing', { url: undefined }, 'spec.url'],
  ['url empty', { url: '' }, 'spec.url'],
  ['url not a string', { url: 8086 }, 'spec.url'],
  ['url unparsable', { url: 'not a url' }, 'spec.url'],
  ['url relative', { url: '/api/v2' }, 'spec.url'],
  ['url without scheme', { url: 'influxdb:8086' }, 'spec.url'],
  ['url ftp', { url: 'ftp://influxdb:8086' }, 'spec.url'],
  ['url file', { url: 'file:///var/run/influx.sock' }, 'spec.url'],
  ['url ws', { url: 'ws://influxdb:8086' }, 'spec.url'],
  ['url query', { url: 'http://influxdb:8086/?org=acme' }, 'spec.url'],
  ['url empty query', { url: 'http://influxdb:8086/?' }, 'spec.url'],
  ['url fragment', { url: 'http://influxdb:8086/#top' }, 'spec.url'],
  ['url empty fragment', { url: 'http://influxdb:8086#' }, 'spec.url'],
  ['url userinfo', { url: 'http://admin:hunter2@influxdb:8086' }, 'spec.url'],
  ['url user only', { url: 'http://admin@influxdb:8086' }, 'spec.url'],
  ['url password only', { url: 'https://:hunter2@influxdb:8086' }, 'spec.url'],
  ['url http', { url: 'http://influxdb:8086' }, null],
  ['url https with prefix', { url: 'https://influx.example.com/influx/' }, null],
  ['url upper-case scheme', { url: 'HTTPS://influx.example.com' }, null],
  ['url IPv4', { url: 'http://10.0.0.7:8086' }, null],
  ['url IPv6', { url: 'http://[fd00::7]:8086' }, null],
  // username, org
  ['username missing', { username: undefined }, 'spec.username'],
  ['username empty', { username: '' }, 'spec.username'],
  ['username number', { username: 7 }, 'spec.username'],
  ['org missing', { org: undefined }, 'spec.org'],
  ['org empty', { org: '' }, 'spec.org'],
  // bucket
  ['bucket missing', { bucket: undefined }, 'spec.bucket'],
  ['bucket empty', { bucket: '' }, 'spec.bucket'],
  ['bucket _x', { bucket: '_x' }, 'spec.bucket'],
  ['bucket _monitoring', { bucket: '_monitoring' }, 'spec.bucket'],
  ['bucket with "', { bucket: 'my"bucket' }, 'spec.bucket'],
  ['bucket x_', { bucket: 'x_' }, null],
  ['bucket with spaces and slashes', { bucket: 'my bucket/raw' }, null],
  // retention
  ['retention 0', { retentionPeriodSeconds: 0 }, null],
  ['retention 3600', { retentionPeriodSeconds: 3600 }, null],
  ['retention 30d', { retentionPeriodSeconds: 2_592_000 }, null],
  ['retention 3599', { retentionPeriodSeconds: 3599 }, 'spec.retentionPeriodSeconds'],
  ['retention 1', { retentionPeriodSeconds: 1 }, 'spec.retentionPeriodSeconds'],
  ['retention -1', { retentionPeriodSeconds: -1 }, 'spec.retentionPeriodSeconds'],
  ['retention -3600', { retentionPeriodSeconds: -3600 }, 'spec.retentionPeriodSeconds'],
  ['retention 1.5', { retentionPeriodSeconds: 1.5 }, 'spec.retentionPeriodSeconds'],
  ['retention 3600.5', { retentionPeriodSeconds: 3600.5 }, 'spec.retentionPeriodSeconds'],
  ['retention string', { retentionPeriodSeconds: '3600' }, 'spec.retentionPeriodSeconds'],
  ['retention NaN', { retentionPeriodSeconds: Number.NaN }, 'spec.retentionPeriodSeconds'],
  ['retention Infinity', { retentionPeriodSeconds: Number.POSITIVE_INFINITY }, 'spec.retentionPeriodSeconds'],
  // credentialsSecret
  ['credentialsSecret not an object', { credentialsSecret: 'creds' }, 'spec.credentialsSecret'],
  ['credentialsSecret name upper case', { credentialsSecret: { name: 'Creds' } }, 'spec.credentialsSecret.name'],
  ['credentialsSecret name underscore', { credentialsSecret: { name: 'my_creds' } }, 'spec.credentialsSecret.name'],
  ['credentialsSecret name empty', { credentialsSecret: { name: '' } }, 'spec.credentialsSecret.name'],
  ['credentialsSecret name 254', { credentialsSecret: { name: 'a'.repeat(254) } }, 'spec.credentialsSecret.name'],
  ['credentialsSecret name 253', { credentialsSecret: { name: 'a'.repeat(253) } }, null],
  ['credentialsSecret name dotted', { credentialsSecret: { name: 'creds.influx-v2' } }, null],
  [
    'deletionPolicy lower case',
    { credentialsSecret: { deletionPolicy: 'delete' } },
    'spec.credentialsSecret.deletionPolicy',
  ],
  [
    'deletionPolicy Orphan',
    { credentialsSecret: { deletionPolicy: 'Orphan' } },
    'spec.credentialsSecret.deletionPolicy',
  ],
  ['deletionPolicy Delete', { credentialsSecret: { deletionPolicy: 'Delete' } }, null],
  ['deletionPolicy Retain', { credentialsSecret: { deletionPolicy: 'Retain' } }, null],
  // tls
  ['tls not an object', { tls: true }, 'spec.tls'],
  ['insecureSkipVerify string', { tls: { insecureSkipVerify: 'true' } }, 'spec.tls.insecureSkipVerify'],
  ['caSecretRef bad key', { tls: { caSecretRef: { name: 'ca', key: 'ca crt' } } }, 'spec.tls.caSecretRef.key'],
  // mode, resetPolicy
  ['mode lower case', { mode: 'setup' }, 'spec.mode'],
  ['mode unknown', { mode: 'Adopt' }, 'spec.mode'],
  ['mode Setup', { mode: 'Setup' }, null],
  ['mode SetupUser without authTokenSecretRef', { mode: 'SetupUser' }, 'spec.authTokenSecretRef'],
  [
    'mode SetupUser with authTokenSecretRef',
    { mode: 'SetupUser', authTokenSecretRef: { name: 'super', key: 'token' } },
    null,
  ],
  ['authTokenSecretRef without SetupUser', { authTokenSecretRef: { name: 'super', key: 'token' } }, null],
  ['resetPolicy unknown', { resetPolicy: 'Ignore' }, 'spec.resetPolicy'],
  ['resetPolicy lower case', { resetPolicy: 'report' }, 'spec.resetPolicy'],
  ['resetPolicy Report', { resetPolicy: 'Report' }, null],
  // requestTimeoutSeconds
  ['timeout 0', { requestTimeoutSeconds: 0 }, 'spec.requestTimeoutSeconds'],
  ['timeout 1', { requestTimeoutSeconds: 1 }, null],
  ['timeout 60', { requestTimeoutSeconds: 60 }, null],
  ['timeout 61 (clamped)', { requestTimeoutSeconds: 61 }, null],
  ['timeout 300 (clamped)', { requestTimeoutSeconds: 300 }, null],
  ['timeout 301', { requestTimeoutSeconds: 301 }, 'spec.requestTimeoutSeconds'],
  ['timeout -5', { requestTimeoutSeconds: -5 }, 'spec.requestTimeoutSeconds'],
  ['timeout 1.5', { requestTimeoutSeconds: 1.5 }, 'spec.requestTimeoutSeconds'],
  ['timeout string', { requestTimeoutSeconds: '10' }, 'spec.requestTimeoutSeconds'],
];

// Every Secret reference has the same rules.
for (const field of ['passwordSecretRef', 'tokenSecretRef', 'authTokenSecretRef']) {
  const f = `spec.${field}`;
  table.push(
    [`${field} valid`, { [field]: { name: 'influx-creds', key: 'admin.password' } }, null],
    [`${field} key with dash and underscore`, { [field]: { name: 'a', key: '-_.X9' } }, null],
    [`${field} string`, { [field]: 'influx-creds' }, f],
    [`${field} array`, { [field]: [] }, f],
    [`${field} null`, { [field]: null }, f],
    [`${field} no name`, { [field]: { key: 'password' } }, `${f}.name`],
    [`${field} bad name`, { [field]: { name: 'Influx_Creds', key: 'password' } }, `${f}.name`],
    [`${field} name with leading dash`, { [field]: { name: '-creds', key: 'password' } }, `${f}.name`],
    [`${field} no key`, { [field]: { name: 'influx-creds' } }, `${f}.key`],
    [`${field} empty key`, { [field]: { name: 'influx-creds', key: '' } }, `${f}.key`],
    [`${field} key with slash`, { [field]: { name: 'influx-creds', key: 'a/b' } }, `${f}.key`],
    [`${field} key 254 long`, { [field]: { name: 'influx-creds', key: 'k'.repeat(254) } }, `${f}.key`],
  );
}

for (const [name, patch, field] of table) {
  test(`checkSpec: ${name} -> ${field ?? 'accepted'}`, () => {
    const problems = problemsOf(patch);
    if (field === null) {
      assert.equal(problems, [], name);
      return;
    }
    assert.ok(problems.length > 0, `${name}: expected a problem for ${field}`);
    assert.ok(
      problems.some((problem) => problem.startsWith(`${field}: `)),
      `${name}: a problem must start with "${field}: ", got ${JSON.stringify(problems)}`,
    );
    // Never echo credentials from the URL.
    for (const problem of problems) assert.not.match(problem, 'hunter2');
  });
}

test('checkSpec: every problem is reported at once, not just the first', () => {
  const problems = problemsOf({
    url: 'ftp://x',
    bucket: '_x',
    retentionPeriodSeconds: 10,
    mode: 'Other',
    requestTimeoutSeconds: 0,
  });
  for (const field of [
    'spec.url',
    'spec.bucket',
    'spec.retentionPeriodSeconds',
    'spec.mode',
    'spec.requestTimeoutSeconds',
  ]) {
    assert.ok(
      problems.some((p) => p.startsWith(`${field}: `)),
      field,
    );
  }
  // A bucket that both starts with _ and holds a quote gets both problems.
  assert.is(problemsOf({ bucket: '_"' }).length, 2);
});

test('checkSpec: a missing or non-object spec', () => {
  const { metadata } = resource();
  for (const spec of [undefined, null, 'x', []]) {
    const result = checkSpec({ metadata, spec: spec as never });
    assert.equal(result, { ok: false, problems: ['spec: required'] }, JSON.stringify(spec));
  }
  const empty = checkSpec({ metadata, spec: {} as never });
  assert.ok(!empty.ok);
  if (!empty.ok) {
    for (const field of ['spec.url', 'spec.username', 'spec.org', 'spec.bucket'])
      assert.ok(
        empty.problems.some((p) => p.startsWith(`${field}: `)),
        field,
      );
  }
});

test('checkSpec: a requestTimeoutSeconds above 60 that an older CRD stored (up to 300) is used as 60, and the adjustment named', () => {
  for (const stored of [61, 180, 300]) {
    const checked = checkSpec({
      metadata: resource({ name: 'x' }).metadata,
      spec: { ...BASE_SPEC, requestTimeoutSeconds: stored },
    });
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    assert.is(checked.spec.requestTimeoutSeconds, 60);
    assert.equal(checked.adjustments, [
      `spec.requestTimeoutSeconds is ${stored}, above the maximum of 60 (older versions allowed up to 300): 60 is used; set it to at most 60`,
    ]);
  }
  const within = checkSpec({
    metadata: resource({ name: 'x' }).metadata,
    spec: { ...BASE_SPEC, requestTimeoutSeconds: 60 },
  });
  assert.ok(within.ok && within.adjustments === undefined, 'nothing adjusted within the bound');
});

test('checkSpec: problems quote the offending enum/number value to help the user', () => {
  assert.match(problemsOf({ mode: 'Adopt' })[0] ?? '', '"Adopt"');
  assert.match(problemsOf({ mode: 'Adopt' })[0] ?? '', 'Setup, SetupUser');
  assert.match(problemsOf({ retentionPeriodSeconds: 3599 })[0] ?? '', '3599');
  assert.match(problemsOf({ requestTimeoutSeconds: 301 })[0] ?? '', 'from 1 to 60; got 301');
  assert.match(problemsOf({ url: 'ftp://x' })[0] ?? '', 'got ftp');
});

test('checkSpec: what Kubernetes rejects is rejected here too (lengths, authority, retention overflow)', () => {
  assert.match(problemsOf({ username: 'u'.repeat(257) })[0] ?? '', 'spec.username');
  assert.equal(problemsOf({ username: 'u'.repeat(256) }), []);
  assert.match(problemsOf({ url: `http://influxdb/${'p'.repeat(2048)}` })[0] ?? '', 'spec.url');
  for (const url of ['http:influxdb:8086', 'http:/influxdb', 'http://@influxdb:8086']) {
    assert.match(problemsOf({ url })[0] ?? '', 'spec.url', url);
  }
  assert.match(problemsOf({ retentionPeriodSeconds: 9_223_372_037 })[0] ?? '', 'spec.retentionPeriodSeconds');
  assert.equal(problemsOf({ retentionPeriodSeconds: 9_223_372_036 }), []);
});

test("spec.secretTemplate: InfluxToken's rules over url, org, bucket and token; the credentials Secret stays Opaque", () => {
  const template = accepted({
    secretTemplate: { data: { 'influx-configs': 'url = "{{ .url }}" token = "{{ .token }}"' } },
  }).secretTemplate;
  assert.equal(
    template?.data.map(({ key }) => key),
    ['influx-configs'],
  );
  assert.is(template?.type, 'Opaque');
  for (const [secretTemplate, expected] of [
    [
      { data: { password: '{{ .token }}' } },
      'spec.secretTemplate.data["password"]: the operator writes this key itself',
    ],
    [
      { data: { 'pending-password': 'x' } },
      'spec.secretTemplate.data["pending-password"]: the operator writes this key',
    ],
    [{ data: { ID: '{{ .orgID }}' } }, 'spec.secretTemplate.data["ID"]: {{ .orgID }} not available for this resource'],
    [{ data: { U: '{{ .v1Username }}' } }, 'spec.secretTemplate.data["U"]: {{ .v1Username }} not available'],
    [{ data: { X: '{{ .tokne }}' } }, 'spec.secretTemplate.data["X"]'],
    [{ type: 'kubernetes.io/basic-auth', data: {} }, 'spec.secretTemplate.type: the credentials Secret stays Opaque'],
    // The attack: a template that would relabel the Secret as another resource's.
    [
      { metadata: { labels: { 'influxdb.onboarding.dev/owner-name': 'other' } } },
      'spec.secretTemplate.metadata.labels["influxdb.onboarding.dev/owner-name"]',
    ],
  ] as const) {
    const problems = problemsOf({ secretTemplate });
    assert.ok(
      problems.some((problem) => problem.startsWith(expected)),
      `${JSON.stringify(secretTemplate)}: ${problems.join('; ')}`,
    );
  }
});

test('acceptedUrl: a URL is accepted exactly when checkSpec finds no problem with spec.url, whatever the rest holds', () => {
  const urls: unknown[] = [
    ...table.filter(([, patch]) => 'url' in patch).map(([, patch]) => patch.url),
    `http://influxdb/${'p'.repeat(2048)}`,
    'http:influxdb:8086',
    'http:/influxdb',
    'http://@influxdb:8086',
  ];
  for (const url of urls) {
    const urlProblems = problemsOf({ url }).filter((problem) => problem.startsWith('spec.url'));
    // The rest of the spec invalid too: the URL alone decides.
    const spec = { ...BASE_SPEC, url, bucket: '_x', username: '' };
    assert.is(acceptedUrl(spec), urlProblems.length === 0 ? url : undefined, String(url));
  }
  assert.is(acceptedUrl(undefined), undefined, 'no spec');
  assert.is(acceptedUrl('http://influxdb:8086'), undefined, 'a spec that is not an object');
});

test.run();
