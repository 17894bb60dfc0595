/**
 * decideToken and resolveAccess, row by row. What a token may touch comes from the operator's
 * record of each InfluxBucket's UID (never a status); tokens are issued under the namespace's own
 * InfluxDB user and listed per user; one retiring authorization at most; IDs a Secret names are
 * hints proven against InfluxDB; a namespace without a grant learns nothing and costs no request.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveAccess, type OnboardingAccess } from '../../../src/access/access.js';
import { ownAuthorizations, tokenMarker, tokenOf } from '../../../src/access/token-authorizations.js';
import { decideToken } from '../../../src/access/token-decide.js';
import type { BucketResolution, TokenFacts } from '../../../src/access/token-facts.js';
import { EMPTY_RECORD, type AccessRecord } from '../../../src/api/access-records.js';
import { checkTokenSpec } from '../../../src/api/access-spec.js';
import { TOKEN_FINALIZER, type InfluxToken, type TokenSecret } from '../../../src/api/access-types.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import type { Authorization } from '../../../src/influx/types.js';
import {
  DRIFT,
  GRANTED,
  NOW,
  TOKEN_BUCKETS,
  TOKEN_USER,
  WAITING,
  connection,
  createdAuthorization,
  granted,
  refOf,
  tokenRecord,
} from '../../support/access-facts.js';

const READY = granted();
const USER = TOKEN_USER;

function token(spec: Record<string, unknown> = {}, meta: Partial<InfluxToken['metadata']> = {}): InfluxToken {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxToken',
    metadata: {
      name: 'writer',
      namespace: 'app-a',
      uid: 'tok-uid',
      generation: 1,
      finalizers: [TOKEN_FINALIZER],
      ...meta,
    },
    spec: {
      onboardingRef: refOf,
      permissions: [{ action: 'write', bucket: 'metrics' }],
      rotationGracePeriodSeconds: 60,
      ...spec,
    },
  };
}

const BUCKETS = TOKEN_BUCKETS;
const RECORD = tokenRecord('writer');
const MARKER = tokenMarker(token());
const listed = (...ids: string[]) => ({
  ok: true as const,
  value: ids.map((id) => ({ id, description: `app writer ${MARKER}` })),
});
const ownedSecret = (extra: Partial<Extract<TokenSecret, { state: 'owned' }>> = {}): TokenSecret => ({
  state: 'owned',
  data: { url: connection.target.url, org: 'acme', token: 'app-token-1', bucket: 'app-a.metrics' },
  authorizationID: 'a1',
  permissions: 'write:b1',
  retiring: [],
  resourceVersion: '7',
  tokenIntact: true,
  ...extra,
});

const authorization = (id: string, extra: Partial<Authorization> = {}): Authorization => ({
  id,
  description: `app writer ${MARKER}`,
  orgID: 'org1',
  userID: USER,
  active: true,
  permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
  ...extra,
});
/** Authorizations as GET /api/v2/authorizations/{id} shows them (v2.9+: without their token); null: none of that ID. */
const probed = (...entries: Array<[string, Authorization | null]>): Pick<TokenFacts, 'probed'> => ({
  probed: Object.fromEntries(entries.map(([id, value]) => [id, { ok: true as const, value }])),
});
const shown = (id: string, extra: Partial<Authorization> = {}) => probed([id, authorization(id, extra)]);

function facts(resource: InfluxToken, extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    resource,
    checked: checkTokenSpec(resource),
    access: READY,
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    buckets: BUCKETS,
    secret: { state: 'absent' },
    record: RECORD,
    orphanFree: false,
    secretConfirmed: true,
    // Looked up before every create: found, as the record has it.
    user: { ok: true, value: USER },
    ...extra,
  };
}

/** The facts before the namespace's user was looked up in this reconcile. */
function notLookedUp(all: TokenFacts): TokenFacts {
  const { user: _notYet, ...rest } = all;
  return rest;
}

function outcome(step: ReturnType<typeof decideToken>): string {
  return step.kind === 'finish' ? `${step.reason}: ${step.message}` : step.kind;
}

test('markers: an authorization names its InfluxToken by namespace, name and UID', () => {
  assert.equal(tokenOf(`app ${MARKER}`), { namespace: 'app-a', name: 'writer', uid: 'tok-uid' });
  assert.is(tokenOf("admin's Token"), undefined);
  const all = [...listed('a1').value, { id: 'x9', description: 'x [InfluxToken app-a/writer uid=other-uid]' }];
  assert.equal(
    ownAuthorizations(all, token()).map((entry) => entry.id),
    ['a1'],
  );
});

test('invalid spec, finalizer, a foreign Secret, missing or unrecorded buckets and a bucket of another onboarding end before any InfluxDB request', () => {
  assert.match(outcome(decideToken(facts(token({ permissions: [] })))), /^InvalidSpec/);
  assert.is(decideToken(facts(token({}, { finalizers: [] }))).kind, 'addFinalizer');
  assert.match(outcome(decideToken(facts(token(), { secret: { state: 'foreign' } }))), /^SecretConflict/);
  assert.match(outcome(decideToken(facts(token(), { buckets: {} }))), /^BucketNotFound/);
  assert.match(
    outcome(
      decideToken(facts(token(), { buckets: { metrics: { ...BUCKETS.metrics, deleting: true } as BucketResolution } })),
    ),
    /^BucketNotReady: .*being deleted/,
  );
  assert.match(
    outcome(
      decideToken(facts(token(), { record: { ...RECORD, buckets: { 'uid-metrics': { name: 'app-a.metrics' } } } })),
    ),
    /^BucketNotReady: waiting for InfluxBucket metrics to be Ready \(BucketReady\)/,
    'a create under way is not a bucket yet, whatever its status says',
  );
  assert.match(
    outcome(
      decideToken(facts(token(), { buckets: { metrics: { kind: 'elsewhere', onboarding: 'elsewhere/influxdb' } } })),
    ),
    /^NotPermitted: InfluxBucket metrics lives under InfluxOnboarding elsewhere\/influxdb/,
  );
});

test('status is a report: the bucket IDs come from the record of each InfluxBucket UID, never from a status', () => {
  // The resolution of an InfluxBucket carries no status fields at all: a forged status.bucketID cannot reach the decision.
  const create = decideToken(facts(token({ description: 'app writer' }), { authorizations: listed() }));
  assert.equal(create, {
    kind: 'createAuthorization',
    connection,
    userID: USER,
    description: `app writer ${MARKER}`,
    permissions: [{ action: 'write', bucketID: 'b1' }],
  });
  // A recorded bucket whose name the grant no longer lets the namespace claim.
  const renamedGrant = { ...RECORD, buckets: { 'uid-metrics': { name: 'shared', id: 'b1' } } };
  assert.match(
    outcome(decideToken(facts(token(), { record: renamedGrant }))),
    /^NotPermitted: InfluxBucket metrics is bucket shared/,
  );
  assert.is(
    decideToken(
      facts(token(), {
        record: renamedGrant,
        access: granted({ bucketNames: ['shared'] }),
        authorizations: listed(),
      }),
    ).kind,
    'createAuthorization',
  );
  const legacyName = { ...RECORD, buckets: { 'uid-metrics': { name: 'app-a-metrics', id: 'b1' } } };
  assert.is(
    decideToken(facts(token(), { record: legacyName, authorizations: listed() })).kind,
    'createAuthorization',
    'its own old default name',
  );
});

test("the first token of a namespace: its InfluxDB user found or created and recorded, the token's place recorded (its limit), a list of that user's, then the create", () => {
  const fresh = { ...RECORD, userID: undefined, tokens: {} } as AccessRecord;
  const limits = { maxTokens: 3 };
  const access = granted({ limits });
  assert.equal(decideToken(notLookedUp(facts(token(), { record: fresh, access }))), {
    kind: 'findUser',
    connection,
    name: 'influx-onboarding-operator:app-a',
  });
  assert.equal(decideToken(facts(token(), { record: fresh, access, user: { ok: true, value: null } })), {
    kind: 'createUser',
    connection,
    name: 'influx-onboarding-operator:app-a',
  });
  assert.equal(decideToken(facts(token(), { record: fresh, access, user: { ok: true, value: USER } })), {
    kind: 'record',
    change: { kind: 'user', userID: USER },
  });
  const withUser = { ...fresh, userID: USER };
  assert.equal(decideToken(facts(token(), { record: withUser, access })), {
    kind: 'listAuthorizations',
    connection,
    userID: USER,
  });
  assert.equal(decideToken(facts(token(), { record: withUser, access, authorizations: listed() })), {
    kind: 'record',
    change: { kind: 'token', uid: 'tok-uid', name: 'writer', limits },
  });
  const full = decideToken(
    facts(token(), { record: withUser, access, refused: { limit: 'maxTokens', count: 3, max: 3 } }),
  );
  assert.match(
    outcome(full),
    /^QuotaExceeded: namespace app-a already has 3 InfluxTokens .*limits.maxTokens: 3\)\. Nothing was created/,
  );
});

test('issued: written to the Secret before anything else; two buckets: no bucket key', () => {
  const write = decideToken(
    facts(token(), { authorizations: listed('a1'), issued: createdAuthorization('a1', 'app-token-1') }),
  );
  assert.equal(write, {
    kind: 'writeSecret',
    secret: {
      name: 'writer-influx-token',
      data: { url: connection.target.url, org: 'acme', token: 'app-token-1', bucket: 'app-a.metrics' },
      authorizationID: 'a1',
      permissions: 'write:b1',
      retiring: [],
    },
  });
  const two = decideToken(
    facts(
      token({
        permissions: [
          { action: 'write', bucket: 'metrics' },
          { action: 'read', bucket: 'other' },
        ],
      }),
      {
        authorizations: listed('a1'),
        issued: createdAuthorization('a1', 't'),
      },
    ),
  );
  assert.ok(
    two.kind === 'writeSecret' && !('bucket' in two.secret.data) && two.secret.permissions === 'read:b2,write:b1',
  );
});

test("Ready: the Secret's authorization read by ID serves it: this resource's marker, the namespace's user, active, exact permissions", () => {
  assert.equal(decideToken(facts(token(), { orphanFree: true, secret: ownedSecret() })), {
    kind: 'readAuthorization',
    connection,
    authorizationID: 'a1',
  });
  const ready = decideToken(facts(token(), { orphanFree: true, secret: ownedSecret(), ...shown('a1') }));
  assert.ok(
    ready.kind === 'finish' && ready.reason === 'TokenReady' && ready.status.authorizationID === 'a1',
    outcome(ready),
  );
  const unfit: Array<[string, Partial<Authorization>]> = [
    ['inactive', { active: false }],
    ['another bucket', { permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b2', orgID: 'org1' } }] }],
    ['all buckets', { permissions: [{ action: 'write', resource: { type: 'buckets', orgID: 'org1' } }] }],
    ['another org', { orgID: 'org2' }],
    ['another token (v2.7 shows them)', { token: 'someone-elses' }],
    [
      "another resource's (a Secret annotation pointed at it)",
      { description: 'x [InfluxToken app-b/reader uid=victim]' },
    ],
    ['the operator user (issued before per-namespace users)', { userID: 'u-admin' }],
  ];
  for (const [why, extra] of unfit) {
    const step = decideToken(facts(token(), { orphanFree: true, secret: ownedSecret(), ...shown('a1', extra) }));
    assert.equal(step, { kind: 'listAuthorizations', connection, userID: USER }, why);
  }
});

test("nothing is deleted or created on the cache's word: confirmSecret first, then the API server's Secret decides", () => {
  const all = listed('a1', 'a2');
  const cachedOnly = { authorizations: all, secret: ownedSecret(), secretConfirmed: false };
  assert.is(decideToken(facts(token(), cachedOnly)).kind, 'confirmSecret', 'an orphan by the cache');
  const naming = ownedSecret({ authorizationID: 'a2', retiring: [{ id: 'a1', deleteAfter: '2026-01-01T01:00:00Z' }] });
  const confirmed = decideToken(
    facts(token(), { authorizations: all, secret: naming, ...probed(['a2', authorization('a2')]) }),
  );
  assert.match(outcome(confirmed), /^TokenReady/, 'the Secret as the API server has it names both: no orphan');
  assert.is(
    decideToken(facts(token(), { authorizations: listed(), secret: { state: 'absent' }, secretConfirmed: false })).kind,
    'confirmSecret',
    'a create too',
  );
  assert.is(
    decideToken(facts(token(), { secret: ownedSecret(), orphanFree: true, secretConfirmed: false, ...shown('a1') }))
      .kind,
    'finish',
    'a check that changes nothing reads no Secret from the server',
  );
});

test('one retiring authorization per token: a newer replacement drops the older retiring one, which is deleted at once', () => {
  const secret = ownedSecret({
    permissions: 'write:b-old',
    retiring: [{ id: 'a0', deleteAfter: '2026-01-01T00:05:00.000Z' }],
  });
  const all = listed('a0', 'a1', 'a2');
  const write = decideToken(
    facts(token(), { secret, authorizations: all, ...shown('a1'), issued: createdAuthorization('a2', 't2') }),
  );
  assert.ok(write.kind === 'writeSecret');
  assert.equal(
    write.secret.retiring,
    [{ id: 'a1', deleteAfter: '2026-01-01T00:01:00.000Z' }],
    'only the one just replaced',
  );
  const after = ownedSecret({
    authorizationID: 'a2',
    data: write.secret.data,
    retiring: write.secret.retiring,
    resourceVersion: '8',
  });
  const orphan = decideToken(facts(token(), { secret: after, authorizations: all, ...shown('a1') }));
  assert.ok(orphan.kind === 'deleteAuthorization' && orphan.authorizationID === 'a0', outcome(orphan));
  // A Secret from before the rule, with two retiring: the older goes at once.
  const two = ownedSecret({
    retiring: [
      { id: 'a0', deleteAfter: '2026-01-01T00:04:00.000Z' },
      { id: 'a9', deleteAfter: '2026-01-01T00:05:00.000Z' },
    ],
  });
  const surplus = decideToken(facts(token(), { secret: two, authorizations: listed('a0', 'a1', 'a9') }));
  assert.ok(surplus.kind === 'deleteAuthorization' && surplus.authorizationID === 'a0', outcome(surplus));
  const due = decideToken(
    facts(token(), {
      now: '2026-01-01T00:05:00.000Z',
      secret: two,
      authorizations: listed('a0', 'a1', 'a9'),
      deleted: ['a0'],
    }),
  );
  assert.ok(due.kind === 'deleteAuthorization' && due.authorizationID === 'a9', outcome(due));
});

test('IDs the Secret names are hints: one no listing shows is read by ID, deleted only when it carries this resource marker', () => {
  const secret = ownedSecret({ retiring: [{ id: 'victim', deleteAfter: NOW }] });
  assert.equal(decideToken(facts(token(), { secret, authorizations: listed('a1') })), {
    kind: 'readAuthorization',
    connection,
    authorizationID: 'victim',
  });
  const victim: [string, Authorization] = [
    'victim',
    authorization('victim', { description: 'x [InfluxToken app-b/reader uid=v]', userID: 'u-b' }),
  ];
  const step = decideToken(facts(token(), { secret, authorizations: listed('a1'), ...probed(victim) }));
  assert.equal(step, { kind: 'readAuthorization', connection, authorizationID: 'a1' }, 'dropped, never deleted');
  const ready = decideToken(
    facts(token(), { secret, authorizations: listed('a1'), ...probed(victim, ['a1', authorization('a1')]) }),
  );
  assert.ok(ready.kind === 'writeSecret' && ready.secret.retiring.length === 0, 'the Secret forgets it');
  // One issued under the operator's user before per-namespace users: proven by its marker, retired like any.
  const legacy = probed(['old', authorization('old', { userID: 'u-admin' })]);
  const legacySecret = ownedSecret({ retiring: [{ id: 'old', deleteAfter: NOW }] });
  const deleteOld = decideToken(facts(token(), { secret: legacySecret, authorizations: listed('a1'), ...legacy }));
  assert.ok(deleteOld.kind === 'deleteAuthorization' && deleteOld.authorizationID === 'old');
});

test('an instance wiped and set up again: the recorded user is gone, so it is created again and recorded before any create (found by the soak)', () => {
  // The record still names the user from before the wipe; a create under it is refused for good (400).
  const before = facts(token(), { authorizations: listed() });
  assert.equal(decideToken(notLookedUp(before)), {
    kind: 'findUser',
    connection,
    name: 'influx-onboarding-operator:app-a',
  });
  assert.equal(decideToken({ ...before, user: { ok: true, value: null } }), {
    kind: 'createUser',
    connection,
    name: 'influx-onboarding-operator:app-a',
  });
  assert.equal(decideToken({ ...before, user: { ok: true, value: 'u-new' } }), {
    kind: 'record',
    change: { kind: 'user', userID: 'u-new' },
  });
  const create = decideToken({
    ...before,
    record: { ...RECORD, userID: 'u-new' },
    user: { ok: true, value: 'u-new' },
  });
  assert.ok(create.kind === 'createAuthorization' && create.userID === 'u-new', outcome(create));
});

test('upgrade: an authorization under the operator user is replaced by one under the namespace user, and retires for the grace period', () => {
  const legacy = shown('a1', { userID: 'u-admin' });
  const create = decideToken(facts(token(), { secret: ownedSecret(), authorizations: listed(), ...legacy }));
  assert.ok(create.kind === 'createAuthorization' && create.userID === USER);
  const write = decideToken(
    facts(token(), {
      secret: ownedSecret(),
      authorizations: listed('a2'),
      ...legacy,
      issued: createdAuthorization('a2', 't2'),
    }),
  );
  assert.ok(write.kind === 'writeSecret' && write.secret.retiring[0]?.id === 'a1', outcome(write));
  // A working token from before the record kept tokens is recorded, outside any limit.
  const unrecorded = { ...RECORD, tokens: {} };
  const record = decideToken(
    facts(token(), { record: unrecorded, orphanFree: true, secret: ownedSecret(), ...shown('a1') }),
  );
  assert.equal(record, { kind: 'record', change: { kind: 'token', uid: 'tok-uid', name: 'writer' } });
});

test('a withdrawn grant: every authorization of the token deleted, the Secret emptied, the record entry forgotten; then nothing is asked of InfluxDB', () => {
  const refused: OnboardingAccess = { kind: 'not-permitted', message: 'no grant', connection };
  assert.equal(
    decideToken(facts(token(), { access: refused })),
    { kind: 'listAuthorizations', connection, userID: USER },
    'also without a Secret',
  );
  const revoke = decideToken(facts(token(), { access: refused, authorizations: listed('a1') }));
  assert.ok(revoke.kind === 'deleteAuthorization' && revoke.authorizationID === 'a1');
  const empty = decideToken(
    facts(token(), { access: refused, secret: ownedSecret(), authorizations: listed('a1'), deleted: ['a1'] }),
  );
  assert.ok(
    empty.kind === 'writeSecret' && empty.secret.data.token === undefined && empty.secret.authorizationID === '',
  );
  assert.equal(decideToken(facts(token(), { access: refused, authorizations: listed('a1'), deleted: ['a1'] })), {
    kind: 'record',
    change: { kind: 'forgetToken', uid: 'tok-uid' },
  });
  const done = decideToken(facts(token(), { access: refused, record: { ...RECORD, tokens: {} } }));
  assert.match(outcome(done), /^NotPermitted/);
  // Never granted: a Secret the tenant wrote itself (our labels, made-up IDs) causes no request.
  const made = ownedSecret({ authorizationID: 'victim', retiring: [{ id: 'other', deleteAfter: NOW }] });
  const never = decideToken(
    facts(token(), { access: { kind: 'not-permitted', message: 'no grant' }, record: EMPTY_RECORD, secret: made }),
  );
  assert.ok(never.kind === 'writeSecret' && never.secret.authorizationID === '', 'only the Secret is emptied');
});

test('deletion: every authorization of the token deleted (listed, or named by the Secret and proven), then the finalizer goes with the record entry', () => {
  const deleting = (extra: Partial<TokenFacts> = {}) => facts(token({}, { deletionTimestamp: NOW }), extra);
  assert.equal(decideToken(deleting()), { kind: 'listAuthorizations', connection, userID: USER });
  assert.is(decideToken(deleting({ authorizations: listed('a1') })).kind, 'deleteAuthorization');
  const legacySecret = ownedSecret({ authorizationID: 'old' });
  assert.equal(decideToken(deleting({ authorizations: listed(), secret: legacySecret })), {
    kind: 'readAuthorization',
    connection,
    authorizationID: 'old',
  });
  const done = decideToken(deleting({ authorizations: listed('a1'), deleted: ['a1'] }));
  assert.equal(done, {
    kind: 'removeFinalizer',
    event: { type: 'Normal', reason: 'TokenRevoked', message: 'authorization deleted from InfluxDB' },
    forget: { kind: 'forgetToken', uid: 'tok-uid' },
  });
  const gone = decideToken(
    deleting({ access: { kind: 'waiting', reason: 'OnboardingNotFound', message: 'gone', gone: true } }),
  );
  assert.ok(gone.kind === 'removeFinalizer' && gone.event?.reason === 'OnboardingGone');
  // Waiting for the onboarding (not Ready yet, not gone) is no failure: the drift interval, not the rate limiter.
  const waits = decideToken(deleting({ access: WAITING }));
  assert.ok(waits.kind === 'finish', waits.kind);
  assert.is(waits.reason, 'OnboardingNotReady');
  assert.match(waits.message, 'deletion waits');
  assert.equal(waits.requeue, { kind: 'after', ms: DRIFT });
  const failing = decideToken(
    deleting({
      authorizations: { ok: false, failure: { kind: 'unreachable', reason: 'timeout', message: 'timed out' } },
    }),
  );
  assert.ok(failing.kind === 'finish' && failing.reason === 'Unreachable' && failing.requeue.kind === 'backoff');
});

test('access: a namespace without a grant hears the same whether the onboarding exists or not, and nothing of its state', () => {
  const onboarding = (ready: boolean, accessFrom?: object, spec: object = {}): InfluxOnboarding => ({
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: { name: 'influxdb', namespace: 'monitoring', uid: 'o' },
    spec: {
      url: 'http://influxdb:8086',
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
      ...(accessFrom && { accessFrom }),
      ...spec,
    },
    status: {
      orgID: 'org1',
      bucketID: 'b-platform',
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'Onboarded' : 'Unreachable',
          message: '',
          lastTransitionTime: NOW,
        },
      ],
    },
  });
  const credentials = {
    state: 'owned' as const,
    data: { url: 'http://influxdb:8086', org: 'acme', bucket: 'platform', token: 'operator-token-value' },
    garbageCollected: false,
  };
  const told = (access: OnboardingAccess) => (access.kind === 'not-permitted' ? access.message : `${access.kind}`);
  const expected =
    'InfluxOnboarding monitoring/influxdb does not exist or does not grant namespace app-c access; its owners grant it in spec.accessFrom';
  for (const [what, access] of [
    ['no such onboarding', resolveAccess({ namespace: 'app-c', ref: refOf })],
    ['not Ready', resolveAccess({ namespace: 'app-c', ref: refOf, onboarding: onboarding(false), credentials })],
    ['Ready', resolveAccess({ namespace: 'app-c', ref: refOf, onboarding: onboarding(true), credentials })],
    [
      'invalid',
      resolveAccess({ namespace: 'app-c', ref: refOf, onboarding: onboarding(true, undefined, { url: 'ftp://x' }) }),
    ],
  ] as const) {
    assert.is(told(access), expected, what);
  }
  const home = resolveAccess({ namespace: 'monitoring', ref: refOf });
  assert.ok(home.kind === 'waiting' && home.reason === 'OnboardingNotFound', 'its own namespace is told');
  const grantedNotReady = resolveAccess({
    namespace: 'app-a',
    ref: refOf,
    onboarding: onboarding(false, { namespaces: ['app-a'] }),
    credentials,
  });
  assert.ok(
    grantedNotReady.kind === 'waiting' && grantedNotReady.message.includes('(Unreachable)'),
    'a granted one hears why it waits',
  );
  assert.equal(
    resolveAccess({
      namespace: 'app-a',
      ref: refOf,
      onboarding: onboarding(true, { namespaces: ['app-a'] }),
      credentials: { state: 'absent' },
    }).kind,
    'waiting',
  );
  const ready = resolveAccess({
    namespace: 'app-a',
    ref: refOf,
    onboarding: onboarding(true, { namespaces: ['app-a'] }),
    credentials,
  });
  assert.ok(ready.kind === 'ready');
  assert.equal(ready.connection, connection);
  assert.equal(ready.terms, GRANTED);
  const withdrawn = resolveAccess({ namespace: 'app-c', ref: refOf, onboarding: onboarding(true), credentials });
  assert.ok(
    withdrawn.kind === 'not-permitted' && withdrawn.connection !== undefined,
    'usable, so what was issued can be revoked',
  );
});

test.run();
