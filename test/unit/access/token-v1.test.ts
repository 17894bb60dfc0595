/**
 * InfluxToken.spec.v1, row by row: the v1 authorization is listed before it is created, written to
 * the Secret with a pending password before InfluxDB gets it, promoted once set, proven by a
 * login; rotated in place; made again under the same username on a permission change; deleted
 * with spec.v1 or the resource. The attacks: a username of another namespace, and a Secret whose
 * annotation names someone else's v1 authorization (never set, changed or deleted).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideToken } from '../../../src/access/token-decide.js';
import type { TokenFacts } from '../../../src/access/token-facts.js';
import { v1Description, type V1Facts } from '../../../src/access/token-v1.js';
import { checkTokenSpec } from '../../../src/api/access-spec.js';
import { TOKEN_FINALIZER, type InfluxToken, type TokenSecret, type V1InSecret } from '../../../src/api/access-types.js';
import { TOKEN_BUCKETS, TOKEN_USER, connection, granted, tokenRecord } from '../../support/access-facts.js';
import type { Authorization, V1Authorization } from '../../../src/influx/types.js';

const READY = granted();
const USER = TOKEN_USER;
const BUCKETS = TOKEN_BUCKETS;
const RECORD = tokenRecord('grafana');
const CANDIDATE = 'candidate-password-1';

function token(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): InfluxToken {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxToken',
    metadata: {
      name: 'grafana',
      namespace: 'app-a',
      uid: 'tok-uid',
      generation: 1,
      finalizers: [TOKEN_FINALIZER],
      ...(annotations && { annotations }),
    },
    spec: {
      onboardingRef: { name: 'influxdb', namespace: 'monitoring' },
      permissions: [{ action: 'read', bucket: 'metrics' }],
      v1: {},
      ...spec,
    },
  };
}

const MARKER = '[InfluxToken app-a/grafana uid=tok-uid]';
const V1_MARKER = v1Description(token());
const DATA = { url: connection.target.url, org: 'acme', token: 'app-token-1', bucket: 'app-a.metrics' };
const SETTLED: V1InSecret = {
  username: 'app-a.grafana',
  authorizationID: 'v1a',
  permissions: 'read:b1',
  rotated: '',
  password: 'old-password-1',
};

function secretWith(v1?: V1InSecret): TokenSecret {
  const data: Record<string, string> = { ...DATA };
  if (v1) {
    data['v1-username'] = v1.username;
    if (v1.password !== undefined) data['v1-password'] = v1.password;
    if (v1.pendingPassword !== undefined) data['v1-pending-password'] = v1.pendingPassword;
  }
  return {
    state: 'owned',
    data,
    authorizationID: 'a1',
    permissions: 'read:b1',
    retiring: [],
    resourceVersion: '7',
    tokenIntact: true,
    ...(v1 && { v1 }),
  };
}

/** The v2 token Ready: listed and shown as it serves the Secret. */
function facts(resource: InfluxToken, secret: TokenSecret, v1: V1Facts = {}, extra: Partial<TokenFacts> = {}) {
  const shown: Authorization = {
    id: 'a1',
    description: MARKER,
    orgID: 'org1',
    userID: USER,
    active: true,
    permissions: [{ action: 'read', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
  };
  const all: TokenFacts = {
    resource,
    checked: checkTokenSpec(resource),
    access: READY,
    now: '2026-01-01T00:00:00.000Z',
    driftCheckIntervalMs: 60_000,
    buckets: BUCKETS,
    secret,
    orphanFree: false,
    secretConfirmed: true,
    authorizations: { ok: true, value: [{ id: 'a1', description: MARKER }] },
    probed: { a1: { ok: true, value: shown } },
    record: RECORD,
    v1: { candidatePassword: CANDIDATE, ...v1 },
    ...extra,
  };
  return all;
}

function v1Auth(extra: Partial<V1Authorization> = {}): V1Authorization {
  return {
    id: 'v1a',
    username: 'app-a.grafana',
    description: V1_MARKER,
    orgID: 'org1',
    userID: USER,
    active: true,
    permissions: [{ action: 'read', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
    ...extra,
  };
}
const found = (value: V1Authorization | null, id = 'v1a'): V1Facts => ({
  found: { id, outcome: { ok: true, value } },
});

function problems(resource: InfluxToken): string {
  const checked = checkTokenSpec(resource);
  return checked.ok ? '' : checked.problems.join('; ');
}

test('spec: the username defaults to <namespace>.<name>; a chosen one stays under the namespace prefix', () => {
  const checked = checkTokenSpec(token());
  assert.equal(checked.ok && checked.spec.v1, { username: 'app-a.grafana' });
  const chosen = checkTokenSpec(token({ v1: { username: 'app-a.dashboards' } }));
  assert.equal(chosen.ok && chosen.spec.v1, { username: 'app-a.dashboards' });
  // Attack: another namespace's username (its default, or one that merely shares a prefix).
  assert.match(problems(token({ v1: { username: 'app-b.grafana' } })), 'spec.v1.username: must start with "app-a."');
  assert.match(problems(token({ v1: { username: 'app-ab.grafana' } })), 'spec.v1.username');
  assert.match(problems(token({ v1: { username: 'app-a.' } })), 'spec.v1.username');
  assert.match(problems(token({ v1: { username: 'app-a.x y' } })), 'spec.v1.username');
  assert.match(problems(token({ v1: { password: 'x' } })), 'spec.v1.password: unknown field');
  const none = checkTokenSpec(token({ v1: undefined }));
  assert.ok(none.ok && none.spec.v1 === undefined);
});

test('create: listed first, made with the marker and the token permissions, written pending, set, promoted, proven, Ready', () => {
  const resource = token();
  // Listed and made under the namespace's own user, as its v2 tokens are: the list a reconcile reads is bounded per tenant.
  assert.equal(decideToken(facts(resource, secretWith())), {
    kind: 'listV1',
    connection,
    filter: { userID: TOKEN_USER },
  });
  const create = decideToken(facts(resource, secretWith(), { listed: { ok: true, value: [] } }));
  assert.equal(create, {
    kind: 'createV1',
    connection,
    userID: TOKEN_USER,
    username: 'app-a.grafana',
    description: V1_MARKER,
    permissions: [{ action: 'read', bucketID: 'b1' }],
  });
  const created = { ok: true as const, value: v1Auth() };
  const pending = decideToken(
    facts(resource, secretWith(), { listed: { ok: true, value: [] }, created, found: { id: 'v1a', outcome: created } }),
  );
  const PENDING: V1InSecret = {
    username: 'app-a.grafana',
    authorizationID: 'v1a',
    permissions: 'read:b1',
    rotated: '',
    pendingPassword: CANDIDATE,
  };
  assert.equal(pending, {
    kind: 'writeSecret',
    secret: {
      name: 'grafana-influx-token',
      data: { ...DATA, 'v1-username': 'app-a.grafana', 'v1-pending-password': CANDIDATE },
      authorizationID: 'a1',
      permissions: 'read:b1',
      retiring: [],
      v1: PENDING,
    },
  });
  // Nothing is set in InfluxDB on the cache's word.
  assert.equal(decideToken(facts(resource, secretWith(PENDING), found(v1Auth()), { secretConfirmed: false })), {
    kind: 'confirmSecret',
  });
  assert.equal(decideToken(facts(resource, secretWith(PENDING), found(v1Auth()))), {
    kind: 'setV1Password',
    connection,
    authorizationID: 'v1a',
  });
  const promote = decideToken(facts(resource, secretWith(PENDING), { ...found(v1Auth()), passwordSet: 'v1a' }));
  assert.ok(promote.kind === 'writeSecret');
  assert.equal(promote.secret.data['v1-password'], CANDIDATE);
  assert.not.ok('v1-pending-password' in promote.secret.data);
  const promoted = { ...SETTLED, password: CANDIDATE };
  assert.equal(decideToken(facts(resource, secretWith(promoted), found(v1Auth()))), {
    kind: 'proveV1',
    connection,
  });
  const ready = decideToken(
    facts(resource, secretWith(promoted), { ...found(v1Auth()), proven: { ok: true, value: ['app-a.metrics'] } }),
  );
  assert.ok(ready.kind === 'finish' && ready.reason === 'TokenReady', JSON.stringify(ready));
  assert.equal([ready.status.v1Username, ready.status.v1AuthorizationID], ['app-a.grafana', 'v1a']);
  assert.match(ready.message, 'v1 credentials for app-a.grafana');
  assert.not.match(JSON.stringify(ready), CANDIDATE);
});

test('crash windows: a create whose answer was lost is deleted before the next; a pending password is set again', () => {
  const resource = token();
  const lost = v1Auth({ id: 'v1-lost' });
  const orphan = decideToken(facts(resource, secretWith(), { listed: { ok: true, value: [lost] } }));
  assert.equal(orphan, {
    kind: 'deleteV1',
    connection,
    authorizationID: 'v1-lost',
    why: 'it is in no Secret (an interrupted create or change)',
  });
  const next = decideToken(
    facts(resource, secretWith(), { listed: { ok: true, value: [lost] }, deleted: ['v1-lost'] }),
  );
  assert.is(next.kind, 'createV1');
  // Another resource's v1 authorization in the list is never touched.
  const others = decideToken(
    facts(resource, secretWith(), {
      listed: { ok: true, value: [v1Auth({ id: 'x', description: '[InfluxToken app-b/grafana uid=other v1]' })] },
    }),
  );
  assert.is(others.kind, 'createV1');
  const { password: _password, ...withoutPassword } = SETTLED;
  const pending = { ...withoutPassword, pendingPassword: 'p2' };
  assert.is(decideToken(facts(resource, secretWith(pending), found(v1Auth()))).kind, 'setV1Password');
});

test('username taken by a v1 authorization of someone else: V1UsernameTaken naming it, nothing taken over', () => {
  const step = decideToken(
    facts(token(), secretWith(), {
      listed: { ok: true, value: [] },
      created: {
        ok: false,
        failure: { kind: 'rejected', status: 422, code: 'conflict', message: 'token already exists' },
      },
    }),
  );
  assert.ok(step.kind === 'finish' && step.reason === 'V1UsernameTaken', JSON.stringify(step));
  assert.match(step.message, 'v1 username app-a.grafana is taken');
  assert.is(step.requeue.kind, 'none');
});

test('rotation in place: a new annotation value, or a password that no longer logs in, writes a new pending password for the same authorization', () => {
  const rotate = decideToken(
    facts(
      token({}, { 'influxdb.onboarding.dev/rotate-v1-password': '2026-01-02' }),
      secretWith(SETTLED),
      found(v1Auth()),
    ),
  );
  assert.ok(rotate.kind === 'writeSecret', JSON.stringify(rotate));
  assert.equal(rotate.secret.v1, { ...SETTLED, rotated: '2026-01-02', pendingPassword: CANDIDATE });
  assert.is(
    rotate.secret.data['v1-password'],
    'old-password-1',
    'the old password stays until InfluxDB has the new one',
  );
  const refused = decideToken(
    facts(token(), secretWith(SETTLED), {
      ...found(v1Auth()),
      proven: { ok: false, failure: { kind: 'rejected', status: 401, code: 'unauthorized', message: 'x' } },
    }),
  );
  assert.ok(refused.kind === 'writeSecret' && refused.secret.v1?.pendingPassword === CANDIDATE);
  const down = decideToken(
    facts(token(), secretWith(SETTLED), {
      ...found(v1Auth()),
      proven: { ok: false, failure: { kind: 'unreachable', reason: 'timeout', message: 'timed out' } },
    }),
  );
  assert.ok(down.kind === 'finish' && down.reason === 'Unreachable');
});

test('a permission change deletes the v1 authorization and makes it again under the same username', () => {
  const resource = token({ permissions: [{ action: 'write', bucket: 'metrics' }] });
  const writeShown: Authorization = {
    id: 'a2',
    description: MARKER,
    orgID: 'org1',
    userID: USER,
    active: true,
    permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
  };
  const v2Ready = {
    authorizations: { ok: true as const, value: [{ id: 'a2', description: MARKER }] },
    probed: { a2: { ok: true as const, value: writeShown } },
  };
  const secret = { ...secretWith(SETTLED), authorizationID: 'a2', permissions: 'write:b1' } as TokenSecret;
  const step = decideToken(facts(resource, secret, found(v1Auth()), v2Ready));
  assert.ok(step.kind === 'deleteV1' && step.authorizationID === 'v1a', JSON.stringify(step));
  assert.match(step.why, 'the permissions changed');
  const again = decideToken(
    facts(resource, secret, { ...found(v1Auth()), deleted: ['v1a'], listed: { ok: true, value: [] } }, v2Ready),
  );
  assert.ok(again.kind === 'createV1' && again.username === 'app-a.grafana');
  assert.equal(again.permissions, [{ action: 'write', bucketID: 'b1' }]);
});

test("attack: a Secret annotation naming another's v1 authorization is never set, changed or deleted", () => {
  const foreign = v1Auth({
    id: 'victim',
    username: 'app-b.grafana',
    description: '[InfluxToken app-b/x uid=other v1]',
  });
  const forged = { ...SETTLED, authorizationID: 'victim', username: 'app-b.grafana', pendingPassword: 'evil-pass' };
  const resource = token();
  assert.equal(decideToken(facts(resource, secretWith(forged))), {
    kind: 'readV1',
    connection,
    authorizationID: 'victim',
  });
  const step = decideToken(facts(resource, secretWith(forged), found(foreign, 'victim')));
  assert.equal(
    step,
    { kind: 'listV1', connection, filter: { userID: TOKEN_USER } },
    'treated as absent: its own is made',
  );
  // Removing spec.v1 or deleting the resource leaves it alone too.
  const removed = decideToken(
    facts(token({ v1: undefined }), secretWith(forged), {
      ...found(foreign, 'victim'),
      listed: { ok: true, value: [foreign] },
    }),
  );
  assert.ok(removed.kind === 'writeSecret' && !('v1-username' in removed.secret.data), JSON.stringify(removed));
});

test('spec.v1 removed, or the resource deleted: its v1 authorization is deleted; the Secret keeps no v1 keys', () => {
  const removed = token({ v1: undefined });
  assert.equal(decideToken(facts(removed, secretWith(SETTLED))), {
    kind: 'readV1',
    connection,
    authorizationID: 'v1a',
  });
  const step = decideToken(facts(removed, secretWith(SETTLED), found(v1Auth())));
  assert.equal(step, { kind: 'deleteV1', connection, authorizationID: 'v1a', why: 'spec.v1 was removed' });
  const write = decideToken(facts(removed, secretWith(SETTLED), { ...found(v1Auth()), deleted: ['v1a'] }));
  assert.ok(write.kind === 'writeSecret');
  assert.equal(Object.keys(write.secret.data).sort(), ['bucket', 'org', 'token', 'url']);
  assert.is(write.secret.v1, undefined);

  const deleting = { ...token(), metadata: { ...token().metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
  // The token's own authorization went first.
  const gone = { authorizations: { ok: true as const, value: [] }, deleted: ['a1'] };
  assert.equal(decideToken(facts(deleting, secretWith(SETTLED), found(v1Auth()), gone)), {
    kind: 'deleteV1',
    connection,
    authorizationID: 'v1a',
    why: 'the InfluxToken is being deleted',
  });
  // With the Secret's one gone, the list finds any left by its marker.
  assert.equal(decideToken(facts(deleting, secretWith(SETTLED), { ...found(v1Auth()), deleted: ['v1a'] }, gone)), {
    kind: 'listV1',
    connection,
    filter: { userID: TOKEN_USER },
  });
  // No user recorded for the namespace (nothing issued under it yet): the org's list.
  const { userID: _none, ...userless } = RECORD;
  assert.equal(
    decideToken({
      ...facts(deleting, secretWith(SETTLED), { ...found(v1Auth()), deleted: ['v1a'] }, gone),
      record: userless,
    }),
    { kind: 'listV1', connection, filter: { orgID: 'org1' } },
  );
  const done = decideToken(
    facts(
      deleting,
      secretWith(SETTLED),
      { ...found(v1Auth()), deleted: ['v1a'], listed: { ok: true, value: [] } },
      gone,
    ),
  );
  assert.is(done.kind, 'removeFinalizer');
});

test('templates read v1Username and v1Password: empty while pending, the password once InfluxDB has it', () => {
  const resource = token({
    secretTemplate: { data: { 'datasource.yaml': 'user: {{ .v1Username }}\npassword: "{{ .v1Password }}"\n' } },
  });
  const pending = { ...SETTLED, password: undefined, pendingPassword: CANDIDATE };
  delete pending.password;
  const promote = decideToken(facts(resource, secretWith(pending), { ...found(v1Auth()), passwordSet: 'v1a' }));
  assert.ok(promote.kind === 'writeSecret');
  assert.is(promote.secret.data['datasource.yaml'], `user: app-a.grafana\npassword: "${CANDIDATE}"\n`);
  const withoutV1 = decideToken(
    facts(token({ v1: undefined, secretTemplate: resource.spec.secretTemplate }), secretWith()),
  );
  assert.ok(withoutV1.kind === 'finish' && withoutV1.reason === 'InvalidSpec');
});

test.run();
