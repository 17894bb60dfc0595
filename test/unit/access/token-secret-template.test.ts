/**
 * spec.secretTemplate on InfluxToken: checked with the spec, rendered into the same Secret write as
 * the token, refused (InvalidSpec, naming the key) before any authorization is created when it
 * reads a value the resource does not have, and the Secret's template keys, labels and
 * annotations kept as declared. The attacks: a template that sets the operator's own labels or
 * canonical keys, or reads a value it was not given.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { decideToken } from '../../../src/access/token-decide.js';
import type { TokenFacts } from '../../../src/access/token-facts.js';
import { secretHolds, tokenSecretContents, typeChangeRefused } from '../../../src/access/token-secret-contents.js';
import { checkTokenSpec } from '../../../src/api/access-spec.js';
import {
  PLAIN_SHAPE,
  TEMPLATE_METADATA_ANNOTATION,
  TOKEN_FINALIZER,
  type DesiredTokenSecret,
  type InfluxToken,
  type TokenSecret,
} from '../../../src/api/access-types.js';
import {
  TOKEN_BUCKETS,
  TOKEN_USER,
  connection,
  createdAuthorization,
  granted,
  tokenRecord,
} from '../../support/access-facts.js';
import type { Authorization } from '../../../src/influx/types.js';
import { TokenSecrets } from '../../../src/kube/token-secret.js';

const READY = granted();
const USER = TOKEN_USER;
const BUCKETS = TOKEN_BUCKETS;
const RECORD = tokenRecord('telegraf');
const TELEGRAF_ENV = {
  data: {
    INFLUX_URL: '{{ .url }}',
    INFLUX_TOKEN: '{{ .token }}',
    INFLUX_ORG: '{{ .org }}',
    INFLUX_BUCKET: '{{ .bucket }}',
    INFLUX_IDS: '{{ .orgID }}/{{ .bucketID }}',
  },
};
// A token as InfluxDB hands them out: base64 with `==`, which HTML escaping would mangle.
const TOKEN = 'tok+en/with==';

function token(spec: Record<string, unknown> = {}): InfluxToken {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxToken',
    metadata: { name: 'telegraf', namespace: 'app-a', uid: 'tok-uid', generation: 1, finalizers: [TOKEN_FINALIZER] },
    spec: {
      onboardingRef: { name: 'influxdb', namespace: 'monitoring' },
      permissions: [{ action: 'write', bucket: 'metrics' }],
      secretTemplate: TELEGRAF_ENV,
      ...spec,
    },
  };
}

function facts(resource: InfluxToken, extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    resource,
    checked: checkTokenSpec(resource),
    access: READY,
    now: '2026-01-01T00:00:00.000Z',
    driftCheckIntervalMs: 60_000,
    buckets: BUCKETS,
    secret: { state: 'absent' },
    orphanFree: false,
    secretConfirmed: true,
    record: RECORD,
    ...extra,
  };
}

const listed = (...ids: string[]) => ({
  ok: true as const,
  value: ids.map((id) => ({ id, description: `[InfluxToken app-a/telegraf uid=tok-uid]` })),
});
const shown = (id: string): Pick<TokenFacts, 'probed'> => {
  const value: Authorization = {
    id,
    description: '[InfluxToken app-a/telegraf uid=tok-uid]',
    orgID: 'org1',
    userID: USER,
    active: true,
    permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
  };
  return { probed: { [id]: { ok: true, value } } };
};

const RENDERED = {
  INFLUX_URL: connection.target.url,
  INFLUX_TOKEN: TOKEN,
  INFLUX_ORG: 'acme',
  INFLUX_BUCKET: 'app-a.metrics',
  INFLUX_IDS: 'org1/b1',
  url: connection.target.url,
  org: 'acme',
  token: TOKEN,
  bucket: 'app-a.metrics',
};

function owned(extra: Partial<Extract<TokenSecret, { state: 'owned' }>> = {}): TokenSecret {
  return {
    state: 'owned',
    data: RENDERED,
    authorizationID: 'a1',
    permissions: 'write:b1',
    retiring: [],
    resourceVersion: '7',
    tokenIntact: true,
    shape: PLAIN_SHAPE,
    ...extra,
  };
}

function problemsOf(resource: InfluxToken): string[] {
  const checked = checkTokenSpec(resource);
  return checked.ok ? [] : checked.problems;
}

test('spec check: the template is checked with the spec; canonical keys, operator labels and unknown values are refused, naming the field', () => {
  assert.ok(checkTokenSpec(token()).ok);
  const reserved = problemsOf(token({ secretTemplate: { data: { token: 'mine', INFLUX_TOKEN: '{{ .token }}' } } }));
  assert.equal(reserved.length, 1);
  assert.match(reserved[0] ?? '', 'spec.secretTemplate.data["token"]: the operator writes this key itself');
  const unknown = problemsOf(token({ secretTemplate: { data: { INFLUX_TOKEN: '{{ .tokne }}' } } }));
  assert.match(unknown.join(), 'spec.secretTemplate.data["INFLUX_TOKEN"]: unknown value "tokne"');
  // Attack: a template that would read something else than the listed values (Go's env, a function).
  const other = problemsOf(token({ secretTemplate: { data: { X: '{{ env "HOME" }}', Y: '{{ .token | b64dec }}' } } }));
  assert.equal(other.length, 2, other.join('\n'));
  // Attack: a template that would make the Secret another InfluxToken's, or not the operator's.
  const labels = problemsOf(
    token({
      secretTemplate: {
        metadata: {
          labels: { 'influxdb.onboarding.dev/token-name': 'other', 'app.kubernetes.io/managed-by': 'me' },
          annotations: { 'influxdb.onboarding.dev/authorization-id': 'a9' },
        },
      },
    }),
  );
  assert.equal(labels.length, 3, labels.join('\n'));
  assert.ok(labels.every((problem) => problem.includes('cannot be set by a template')));
  assert.match(
    problemsOf(token({ secretTemplate: { type: 'kubernetes.io/service-account-token' } })).join(),
    'spec.secretTemplate.type',
  );
});

test('contents: without a template the canonical keys only; with one, the rendered keys beside them, values as they are', () => {
  const plain = tokenSecretContents(undefined, { url: 'u', org: 'o', orgID: 'oid', v1: false });
  assert.ok(plain.ok);
  assert.equal(plain.data('t'), { url: 'u', org: 'o', token: 't' });
  assert.is(plain.shape, undefined, 'no template: a plain Secret');
  const checked = checkTokenSpec(token());
  if (!checked.ok) throw new Error(checked.problems.join());
  const contents = tokenSecretContents(checked.spec.secretTemplate, {
    url: connection.target.url,
    org: 'acme',
    orgID: 'org1',
    bucket: { name: 'app-a.metrics', id: 'b1' },
    v1: false,
  });
  assert.ok(contents.ok);
  assert.equal(contents.data(TOKEN), RENDERED);
  // A value is put in once, never read as a template again.
  const tricky = tokenSecretContents(checked.spec.secretTemplate, {
    url: '{{ .token }}',
    org: 'acme',
    orgID: 'org1',
    bucket: { name: 'b', id: 'b1' },
    v1: false,
  });
  assert.is(tricky.ok && tricky.data(TOKEN).INFLUX_URL, '{{ .token }}');
});

test('decision: a template reading a value the resource lacks is InvalidSpec naming the key, before any request to InfluxDB', () => {
  // Two buckets: no bucket value.
  const two = token({
    permissions: [
      { action: 'write', bucket: 'metrics' },
      { action: 'write', bucket: 'other' },
    ],
  });
  const step = decideToken(facts(two));
  assert.ok(step.kind === 'finish' && step.reason === 'InvalidSpec', JSON.stringify(step));
  assert.match(step.message, 'spec.secretTemplate.data["INFLUX_BUCKET"]: {{ .bucket }} not available');
  assert.match(step.message, 'spec.secretTemplate.data["INFLUX_IDS"]: {{ .bucketID }} not available');
  const v1 = decideToken(facts(token({ secretTemplate: { data: { P: '{{ .v1Password }}' } } })));
  assert.ok(v1.kind === 'finish' && v1.reason === 'InvalidSpec' && v1.message.includes('{{ .v1Password }}'));
  // The value itself never appears in a message: only its name.
  assert.not.match(JSON.stringify([step, v1]), 'operator-token-value');
  // A bucket without spec.influxql: no database.
  const database = decideToken(facts(token({ secretTemplate: { data: { DB: '{{ .database }}' } } })));
  assert.ok(database.kind === 'finish' && database.reason === 'InvalidSpec');
  assert.match(database.kind === 'finish' ? database.message : '', '{{ .database }} not available');
});

test("decision: database and retentionPolicy come from the one bucket's spec.influxql", () => {
  const mapped = {
    ...BUCKETS,
    metrics: { ...BUCKETS.metrics, influxql: { database: 'app-a.db', retentionPolicy: 'weekly' } },
  } as TokenFacts['buckets'];
  const resource = token({ secretTemplate: { data: { DBRP: '{{ .database }}/{{ .retentionPolicy }}' } } });
  const write = decideToken(
    facts(resource, { buckets: mapped, authorizations: listed('a1'), issued: createdAuthorization('a1', TOKEN) }),
  );
  assert.ok(write.kind === 'writeSecret', JSON.stringify(write));
  assert.is(write.kind === 'writeSecret' && write.secret.data.DBRP, 'app-a.db/weekly');
});

test('decision: the issued token is written with the template keys and shape in one write', () => {
  const resource = token({ secretTemplate: { ...TELEGRAF_ENV, metadata: { labels: { team: 'a' } } } });
  const write = decideToken(
    facts(resource, { authorizations: listed('a1'), issued: createdAuthorization('a1', TOKEN) }),
  );
  assert.equal(write, {
    kind: 'writeSecret',
    secret: {
      name: 'telegraf-influx-token',
      data: RENDERED,
      shape: { type: 'Opaque', labels: { team: 'a' }, annotations: {} },
      authorizationID: 'a1',
      permissions: 'write:b1',
      retiring: [],
    },
  });
});

test('decision: a Secret that holds what the template says is Ready; a changed template value, label or annotation is written again with the same token', () => {
  const ready = decideToken(facts(token(), { authorizations: listed('a1'), secret: owned(), ...shown('a1') }));
  assert.is(ready.kind === 'finish' && ready.reason, 'TokenReady');
  const edited = decideToken(
    facts(token(), {
      authorizations: listed('a1'),
      secret: owned({ data: { ...RENDERED, INFLUX_ORG: 'other' } }),
      ...shown('a1'),
    }),
  );
  assert.ok(
    edited.kind === 'writeSecret' && edited.secret.data.INFLUX_ORG === 'acme' && edited.secret.data.token === TOKEN,
  );
  const labelled = token({ secretTemplate: { ...TELEGRAF_ENV, metadata: { annotations: { note: 'x' } } } });
  const relabel = decideToken(facts(labelled, { authorizations: listed('a1'), secret: owned(), ...shown('a1') }));
  assert.ok(relabel.kind === 'writeSecret' && relabel.secret.shape?.annotations.note === 'x');
  const dropped = decideToken(
    facts(token(), {
      authorizations: listed('a1'),
      secret: owned({ data: { ...RENDERED, OLD_KEY: 'x' } }),
      ...shown('a1'),
    }),
  );
  assert.ok(dropped.kind === 'writeSecret' && !('OLD_KEY' in dropped.secret.data), 'a key dropped from the template');
  // No template any more: the canonical keys only.
  const removed = decideToken(
    facts(token({ secretTemplate: undefined }), { authorizations: listed('a1'), secret: owned(), ...shown('a1') }),
  );
  assert.ok(removed.kind === 'writeSecret');
  assert.equal(Object.keys(removed.secret.data).sort(), ['bucket', 'org', 'token', 'url']);
});

test('decision: a changed type is SecretConflict (Kubernetes cannot change it in place), before any create', () => {
  const basic = token({
    secretTemplate: { type: 'kubernetes.io/basic-auth', data: { username: 'x', password: '{{ .token }}' } },
  });
  const step = decideToken(facts(basic, { secret: owned({ tokenIntact: false }) }));
  assert.ok(step.kind === 'finish' && step.reason === 'SecretConflict', JSON.stringify(step));
  assert.match(step.message, 'has type Opaque and the InfluxToken asks for kubernetes.io/basic-auth');
  assert.is(typeChangeRefused('s', { state: 'absent' }, { ...PLAIN_SHAPE, type: 'x' }), undefined);
});

test('secretHolds: data, type, labels and annotations compared as a whole; a desired shape left out is a plain Secret', () => {
  const observed = owned() as Extract<TokenSecret, { state: 'owned' }>;
  const desired: DesiredTokenSecret = {
    name: 's',
    data: RENDERED,
    shape: PLAIN_SHAPE,
    authorizationID: 'a1',
    permissions: 'write:b1',
    retiring: [],
  };
  assert.ok(secretHolds(observed, desired));
  assert.ok(secretHolds({ ...observed, shape: undefined }, desired), 'a Secret from before templates is plain');
  const { shape: _shape, ...keep } = desired;
  assert.ok(secretHolds(observed, keep));
  assert.not.ok(secretHolds({ ...observed, shape: { ...PLAIN_SHAPE, labels: { a: 'b' } } }, keep));
  assert.not.ok(secretHolds(observed, { ...desired, shape: { ...PLAIN_SHAPE, labels: { a: 'b' } } }));
  assert.not.ok(secretHolds(observed, { ...desired, data: { ...RENDERED, extra: '' } }));
  assert.not.ok(secretHolds({ ...observed, shape: { ...PLAIN_SHAPE, annotations: { a: 'b' } } }, desired));
});

/** A CoreV1Api that keeps one Secret, as the API server would (type fixed at create). */
function fakeCore(): { core: CoreV1Api; stored: () => V1Secret | undefined } {
  let secret: V1Secret | undefined;
  let version = 0;
  const stamp = (body: V1Secret): V1Secret => ({
    ...body,
    metadata: { ...body.metadata, resourceVersion: String(++version) },
  });
  const core = {
    createNamespacedSecret: async ({ body }: { body: V1Secret }) => (secret = stamp(body)),
    replaceNamespacedSecret: async ({ body }: { body: V1Secret }) => {
      if (body.type !== secret?.type) throw new Error('422 type is immutable');
      return (secret = stamp(body));
    },
    readNamespacedSecret: async () => secret,
  } as unknown as CoreV1Api;
  return { core, stored: () => secret };
}

test('token Secret: the template shape is written under the operator labels; a label dropped from the template goes, one set by someone else stays', async () => {
  const { core, stored } = fakeCore();
  const view = { get: () => undefined, wrote: () => undefined };
  const secrets = new TokenSecrets(core, view);
  const owner = token();
  const desired: DesiredTokenSecret = {
    name: 'telegraf-influx-token',
    data: RENDERED,
    shape: { type: 'Opaque', labels: { grafana_datasource: '1', team: 'a' }, annotations: { note: 'x' } },
    authorizationID: 'a1',
    permissions: 'write:b1',
    retiring: [],
  };
  const first = await secrets.write(owner, desired, { state: 'absent' });
  assert.equal(first.state === 'owned' && first.shape, desired.shape);
  assert.equal(stored()?.metadata?.labels, {
    grafana_datasource: '1',
    team: 'a',
    'app.kubernetes.io/managed-by': 'influx-onboarding-operator',
    'influxdb.onboarding.dev/token-name': 'telegraf',
  });
  assert.is(
    stored()?.metadata?.annotations?.[TEMPLATE_METADATA_ANNOTATION],
    '{"labels":["grafana_datasource","team"],"annotations":["note"]}',
  );
  // Someone else labels the Secret; the template drops `team`.
  const current = stored() as V1Secret;
  current.metadata = { ...current.metadata, labels: { ...current.metadata?.labels, backup: 'yes' } };
  const second = await secrets.write(
    owner,
    { ...desired, shape: { type: 'Opaque', labels: { grafana_datasource: '1' }, annotations: {} } },
    first,
  );
  assert.equal(second.state === 'owned' && second.shape, {
    type: 'Opaque',
    labels: { grafana_datasource: '1' },
    annotations: {},
  });
  const labels = stored()?.metadata?.labels ?? {};
  assert.equal([labels.team, labels.backup, labels.grafana_datasource], [undefined, 'yes', '1']);
  assert.is(stored()?.metadata?.annotations?.note, undefined);
  // Without a template any more: the template's labels go, the others stay, the type is kept (Kubernetes cannot change it).
  const third = await secrets.write(owner, { ...desired, data: { url: 'u', org: 'o' }, shape: undefined }, second);
  assert.equal(third.state === 'owned' && third.shape, PLAIN_SHAPE);
  assert.equal(stored()?.metadata?.labels?.backup, 'yes');
});

test.run();
