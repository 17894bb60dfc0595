// secretTemplate: checked like a spec field (every problem names its field and what is allowed),
// rendered by plain substitution of the listed values only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TEMPLATE_MAX_BYTES,
  TEMPLATE_MAX_KEYS,
  checkSecretTemplate,
  renderSecretTemplate,
  templateValuesUsed,
} from '../../../src/api/secret-template.js';
import { TEMPLATE_VALUE_NAMES, type SecretTemplate, type TemplateValues } from '../../../src/api/template-types.js';

const FIELD = 'spec.secretTemplate';
const RESERVED = ['url', 'org', 'bucket', 'token', 'v1-username', 'v1-password'];

// Values with the characters an escaping template engine would change.
const VALUES: Required<TemplateValues> = {
  url: 'https://influx.example:8086/prefix?x=1&y=<2>',
  org: 'acme "corp"',
  orgID: '0123456789abcdef',
  bucket: "team-a's/metrics",
  bucketID: 'fedcba9876543210',
  token: 'abc+/def==',
  v1Username: 'team-a.reader',
  v1Password: 'p&ss<word>"\'\\',
  database: 'team-a.metrics',
  retentionPolicy: 'autogen',
};

function check(
  value: unknown,
  reserved: readonly string[] = RESERVED,
): { template?: SecretTemplate; problems: string[] } {
  const problems: string[] = [];
  const template = checkSecretTemplate(value, FIELD, reserved, problems);
  return { ...(template && { template }), problems };
}

function render(data: Record<string, string>, values: TemplateValues = VALUES): Record<string, string> {
  const { template, problems } = check({ data });
  assert.equal(problems, []);
  const rendered = renderSecretTemplate(template as SecretTemplate, values, FIELD);
  if (!rendered.ok) assert.unreachable(rendered.problems.join('; '));
  return rendered.ok ? rendered.data : {};
}

/** The problems of a template that does not check, each asserted to name the field of `key`. */
function problemsOf(data: Record<string, unknown>, key: string): string[] {
  const { template, problems } = check({ data });
  assert.is(template, undefined);
  assert.ok(problems.length > 0);
  for (const problem of problems) assert.ok(problem.startsWith(`${FIELD}.data[${JSON.stringify(key)}]: `), problem);
  return problems;
}

// -------------------------------------------------------------------------------------------
const substitution = suite('rendering: plain substitution');

substitution('every listed value renders exactly as given: no HTML or URL escaping', () => {
  const data = Object.fromEntries(TEMPLATE_VALUE_NAMES.map((name) => [`K_${name}`, `{{ .${name} }}`]));
  const rendered = render(data);
  for (const name of TEMPLATE_VALUE_NAMES) assert.is(rendered[`K_${name}`], VALUES[name], name);
});

substitution('spacing inside the braces does not matter; text around the actions is kept byte for byte', () => {
  const rendered = render({
    a: '{{.token}}',
    b: '{{ .token }}',
    c: '{{    .token\t}}',
    d: 'Token {{ .token }}\n',
    e: '[[outputs.influxdb_v2]]\n  urls = ["{{ .url }}"]\n  token = "{{ .token }}"\n',
  });
  assert.equal(rendered, {
    a: VALUES.token,
    b: VALUES.token,
    c: VALUES.token,
    d: `Token ${VALUES.token}\n`,
    e: `[[outputs.influxdb_v2]]\n  urls = ["${VALUES.url}"]\n  token = "${VALUES.token}"\n`,
  });
});

substitution('a value that looks like a template stays text: values are never expanded again', () => {
  const rendered = render(
    { a: '{{ .bucket }}-{{ .org }}' },
    { ...VALUES, bucket: '{{ .token }}', org: '{{ .v1Password }}' },
  );
  assert.is(rendered.a, '{{ .token }}-{{ .v1Password }}');
});

substitution('trim markers remove the whitespace beside them, as in Go templates', () => {
  const rendered = render({
    left: 'a \n\t {{- .org }} b',
    right: 'a {{ .org -}} \n b',
    both: 'x  {{- .orgID -}}  y',
    text: 'line\n{{- "" }}\nnext',
  });
  assert.equal(rendered, {
    left: `a${VALUES.org} b`,
    right: `a ${VALUES.org}b`,
    both: `x${VALUES.orgID}y`,
    text: 'line\nnext',
  });
});

substitution('quoted strings write literal text, including braces; comments write nothing', () => {
  const rendered = render({
    braces: '{{ "{{" }} .token {{ "}}" }}',
    raw: '{{ `{{ .token }}` }}',
    escapes: '{{ "a\\tb\\n" }}',
    comment: 'a{{/* the "org" }} */}}b',
    trimmedComment: 'a {{- /* gone */ -}} b',
    loose: 'a }} b',
  });
  assert.equal(rendered, {
    braces: '{{ .token }}',
    raw: '{{ .token }}',
    escapes: 'a\tb\n',
    comment: 'ab',
    trimmedComment: 'ab',
    loose: 'a }} b',
  });
});

substitution('an empty template and plain text render as they are', () => {
  assert.equal(render({ empty: '', plain: 'no actions here' }), { empty: '', plain: 'no actions here' });
});

// -------------------------------------------------------------------------------------------
const errors = suite('checking: what a template may not do');

errors('an unknown value is named with its key and the list of allowed values', () => {
  const [problem] = problemsOf({ INFLUX_TOKEN: 'Token {{ .tokne }}' }, 'INFLUX_TOKEN');
  assert.match(problem ?? '', 'unknown value "tokne" in {{ .tokne }}');
  for (const name of TEMPLATE_VALUE_NAMES) assert.match(problem ?? '', name);
});

errors('nothing but the listed values can be read: no context, no prototype, no environment', () => {
  for (const name of ['Values', 'secret', 'password', 'constructor', '__proto__', 'toString', 'Env', 'TOKEN']) {
    const [problem] = problemsOf({ k: `{{ .${name} }}` }, 'k');
    assert.match(problem ?? '', `unknown value "${name}"`);
  }
});

errors('functions, pipelines, conditions, variables and field chains are refused by name', () => {
  const actions = [
    '{{ .token | b64enc }}',
    '{{ b64enc .token }}',
    '{{ if .token }}',
    '{{ end }}',
    '{{ range .token }}',
    '{{ . }}',
    '{{ $x := .token }}',
    '{{ $ }}',
    '{{ .token.inner }}',
    '{{ printf "%s" .token }}',
    '{{ template "x" }}',
    '{{}}',
    '{{-.token}}',
    '{{ "unterminated }}',
  ];
  for (const action of actions) {
    const problems = problemsOf({ k: `a ${action} b` }, 'k');
    assert.ok(
      problems.some((problem) => problem.includes('unsupported action') || problem.includes('never closed')),
      `${action}: ${problems.join('; ')}`,
    );
  }
});

errors('every bad action of a template is reported, not only the first', () => {
  const problems = problemsOf({ k: '{{ .a }} {{ .token | x }} {{ .b }}' }, 'k');
  assert.is(problems.length, 3);
});

errors('an action that is never closed', () => {
  const [problem] = problemsOf({ k: 'x {{ .token ' }, 'k');
  assert.match(problem ?? '', 'never closed');
});

errors("the canonical keys stay the operator's; data keys must be Secret keys", () => {
  assert.match(problemsOf({ token: '{{ .token }}' }, 'token')[0] ?? '', 'the operator writes this key itself');
  assert.match(problemsOf({ 'a b': 'x' }, 'a b')[0] ?? '', 'not a Secret data key');
  assert.match(problemsOf({ ['k'.repeat(254)]: 'x' }, 'k'.repeat(254))[0] ?? '', 'not a Secret data key');
  assert.match(problemsOf({ k: 42 }, 'k')[0] ?? '', 'must be a string');
  assert.equal(check({ data: { 'telegraf.conf': 'x', INFLUX_TOKEN: 'y', '-._': 'z' } }).problems, []);
});

errors('size limits: keys and total template bytes', () => {
  const many = Object.fromEntries([...Array(TEMPLATE_MAX_KEYS + 1).keys()].map((index) => [`k${index}`, 'x']));
  assert.match(check({ data: many }).problems.join(), `at most ${TEMPLATE_MAX_KEYS} keys`);
  const big = { a: 'x'.repeat(TEMPLATE_MAX_BYTES), b: 'y' };
  assert.match(check({ data: big }).problems.join(), `at most ${TEMPLATE_MAX_BYTES} bytes`);
  assert.equal(check({ data: { a: 'x'.repeat(TEMPLATE_MAX_BYTES) } }).problems, []);
});

errors("metadata cannot carry the operator's own labels and annotations", () => {
  const reserved = [
    'influxdb.onboarding.dev/owner-name',
    'influxdb.onboarding.dev/authorization-id',
    'sub.influxdb.onboarding.dev/x',
    'app.kubernetes.io/managed-by',
  ];
  for (const key of reserved) {
    for (const kind of ['labels', 'annotations'] as const) {
      const { template, problems } = check({ metadata: { [kind]: { [key]: 'x' } } });
      assert.is(template, undefined, key);
      assert.equal(problems.length, 1, key);
      assert.match(problems[0] ?? '', `${FIELD}.metadata.${kind}[${JSON.stringify(key)}]: the operator's own`);
    }
  }
  const allowed = { 'app.kubernetes.io/name': 'telegraf', 'example.com/team': 'a', plain: '' };
  const { template, problems } = check({ metadata: { labels: allowed, annotations: { 'note/x': 'any text at all' } } });
  assert.equal(problems, []);
  assert.equal(template?.labels, allowed);
  assert.equal(template?.annotations, { 'note/x': 'any text at all' });
});

errors('metadata keys and label values must be what Kubernetes accepts', () => {
  const cases: Array<[unknown, string]> = [
    [{ labels: { 'Bad_Prefix.example/x': 'v' } }, 'prefix must be a lowercase DNS subdomain'],
    [{ labels: { '-x': 'v' } }, 'its name must be'],
    [{ labels: { x: 'has space' } }, 'not a valid label value'],
    [{ labels: { x: 'v'.repeat(64) } }, 'not a valid label value'],
    [{ labels: { x: 1 } }, 'must be a string'],
    [{ annotations: { x: ['a'] } }, 'must be a string'],
    [{ labels: 'x' }, 'must be a map'],
    [{ finalizers: ['x'] }, 'unknown field'],
    ['x', 'must be an object'],
  ];
  for (const [metadata, expected] of cases) {
    const { template, problems } = check({ metadata });
    assert.is(template, undefined, JSON.stringify(metadata));
    assert.match(problems.join('; '), expected, JSON.stringify(metadata));
    assert.ok(
      problems.every((problem) => problem.startsWith(`${FIELD}.metadata`)),
      problems.join('; '),
    );
  }
  // Annotation values are free text.
  assert.equal(check({ metadata: { annotations: { x: 'has space, "quotes" and {{ .token }}' } } }).problems, []);
});

errors('type: Opaque by default; built-in types that Kubernetes acts on are refused; required keys are checked', () => {
  assert.is(check({}).template?.type, 'Opaque');
  assert.is(check({ type: 'example.com/influx' }).template?.type, 'example.com/influx');
  for (const type of ['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token'])
    assert.match(check({ type }).problems.join(), 'acted on by Kubernetes itself');
  assert.match(check({ type: 'not a type' }).problems.join(), 'must be a Secret type');
  assert.match(check({ type: 7 }).problems.join(), 'must be a Secret type');
  // basic-auth needs username or password: the onboarding Secret has both canonically, a token Secret may template one.
  assert.match(check({ type: 'kubernetes.io/basic-auth' }).problems.join(), 'needs the key username or password');
  assert.equal(check({ type: 'kubernetes.io/basic-auth' }, [...RESERVED, 'username', 'password']).problems, []);
  assert.equal(check({ type: 'kubernetes.io/basic-auth', data: { password: '{{ .v1Password }}' } }).problems, []);
  assert.match(check({ type: 'kubernetes.io/tls', data: { 'tls.crt': 'x' } }).problems.join(), 'tls.key');
});

errors('the template itself must be an object of type, metadata and data', () => {
  assert.equal(check(undefined), { problems: [] });
  assert.match(check('x').problems.join(), `${FIELD}: must be an object`);
  assert.match(check({ datas: {} }).problems.join(), `${FIELD}.datas: unknown field`);
  assert.match(check({ data: [] }).problems.join(), `${FIELD}.data: must be a map`);
});

// -------------------------------------------------------------------------------------------
const rendering = suite('rendering: values the resource does not have');

rendering('a value the template reads but the resource lacks fails the render, naming key and value', () => {
  const { template } = check({
    data: { INFLUX_TOKEN: '{{ .token }}', V1: '{{ .v1Username }}:{{ .v1Password }}:{{ .v1Username }}' },
  });
  const { v1Username: _u, v1Password: _p, ...withoutV1 } = VALUES;
  const rendered = renderSecretTemplate(template as SecretTemplate, withoutV1, FIELD);
  assert.equal(rendered, {
    ok: false,
    problems: [`${FIELD}.data["V1"]: {{ .v1Username }}, {{ .v1Password }} not available for this resource`],
  });
});

rendering('templateValuesUsed: the values read, each once', () => {
  const { template } = check({ data: { a: '{{ .token }}{{ .url }}', b: '{{ .token }} {{ "{{ .org }}" }}' } });
  assert.equal([...templateValuesUsed(template as SecretTemplate)].sort(), ['token', 'url']);
});

rendering('checking and rendering never write to the console, and problems never carry a value', () => {
  const calls: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((method) => console[method]);
  for (const method of methods) console[method] = (...args: unknown[]) => void calls.push(args.join(' '));
  try {
    const { template } = check({ data: { a: '{{ .token }}', b: '{{ .v1Password }}{{ .database }}' } });
    const ok = renderSecretTemplate(template as SecretTemplate, VALUES, FIELD);
    assert.ok(ok.ok);
    const failed = renderSecretTemplate(
      template as SecretTemplate,
      { token: VALUES.token, v1Password: VALUES.v1Password },
      FIELD,
    );
    assert.not.ok(failed.ok);
    for (const value of Object.values(VALUES)) assert.not.ok(JSON.stringify(failed).includes(value), value);
  } finally {
    methods.forEach((method, index) => (console[method] = saved[index]));
  }
  assert.equal(calls, []);
});

substitution.run();
errors.run();
rendering.run();
