/**
 * decideBucket and decideToken, row by row: each row is the facts one reconcile has gathered and
 * the one step (or finish) that must come next. No row may reach InfluxDB before the grant, the
 * spec and the Secret allow it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { OnboardingAccess, Connection } from '../../../src/access/access.js';
import { bucketMarker, decideBucket, managerOf, type BucketFacts } from '../../../src/access/bucket-decide.js';
import { ownAuthorizations, tokenMarker } from '../../../src/access/token-authorizations.js';
import { decideToken, type BucketResolution, type TokenFacts } from '../../../src/access/token-decide.js';
import { checkBucketSpec, checkTokenSpec } from '../../../src/api/access-spec.js';
import {
  BUCKET_FINALIZER,
  TOKEN_FINALIZER,
  type InfluxBucket,
  type InfluxToken,
  type TokenSecret,
} from '../../../src/api/access-types.js';
import { resolveAccess } from '../../../src/access/access.js';
import type { InfluxOnboarding } from '../../../src/api/types.js';
import type { Authorization } from '../../../src/influx/types.js';

const NOW = '2026-01-01T00:00:00.000Z';
const DRIFT = 60_000;
const connection: Connection = {
  onboarding: 'monitoring/influxdb',
  target: { url: 'http://influxdb:8086', timeoutMs: 10_000, insecureSkipVerify: false, tenant: 'monitoring' },
  token: 'operator-token-value',
  org: 'acme',
  orgID: 'org1',
  onboardingBucket: 'platform',
  onboardingBucketID: 'b-platform',
};
const READY: OnboardingAccess = { kind: 'ready', connection };
const refOf = { name: 'influxdb', namespace: 'monitoring' };

function bucket(
  spec: Record<string, unknown> = {},
  meta: Partial<InfluxBucket['metadata']> = {},
  status?: InfluxBucket['status'],
): InfluxBucket {
  return {
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxBucket',
    metadata: {
      name: 'metrics',
      namespace: 'app-a',
      uid: 'bucket-uid',
      generation: 1,
      finalizers: [BUCKET_FINALIZER],
      ...meta,
    },
    spec: { onboardingRef: refOf, retentionPeriodSeconds: 3600, ...spec },
    ...(status && { status }),
  };
}

function bucketFacts(resource: InfluxBucket, extra: Partial<BucketFacts> = {}): BucketFacts {
  return {
    resource,
    checked: checkBucketSpec(resource),
    access: READY,
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    ...extra,
  };
}

const OURS = { id: 'b1', name: 'app-a-metrics', retentionSeconds: 3600, description: bucketMarker('app-a', 'metrics') };
const found = (value: typeof OURS | null) => ({ bucket: { ok: true as const, value } });

test('bucket: invalid spec, missing finalizer, no grant and a missing onboarding all end before any InfluxDB request', () => {
  const invalid = decideBucket(bucketFacts(bucket({ retentionPeriodSeconds: 5 })));
  assert.equal([invalid.kind, invalid.kind === 'finish' && invalid.reason], ['finish', 'InvalidSpec']);
  assert.equal(decideBucket(bucketFacts(bucket({}, { finalizers: [] }))).kind, 'addFinalizer');
  const refused = decideBucket(
    bucketFacts(bucket(), { access: { kind: 'not-permitted', message: 'no grant', connection } }),
  );
  assert.ok(
    refused.kind === 'finish' &&
      refused.reason === 'NotPermitted' &&
      refused.status.conditions?.[0]?.status === 'False',
  );
  assert.equal(refused.kind === 'finish' && refused.event?.type, 'Warning');
  const waiting = decideBucket(
    bucketFacts(bucket(), {
      access: { kind: 'waiting', reason: 'OnboardingNotReady', message: 'not Ready', gone: false },
    }),
  );
  assert.ok(waiting.kind === 'finish' && waiting.reason === 'OnboardingNotReady' && waiting.requeue.kind === 'after');
});

test('bucket: looked up, created with its marker and retention when absent', () => {
  assert.equal(decideBucket(bucketFacts(bucket())), { kind: 'findBucket', connection, name: 'app-a-metrics' });
  const create = decideBucket(bucketFacts(bucket({ description: 'app data' }), found(null)));
  assert.equal(create, {
    kind: 'createBucket',
    connection,
    name: 'app-a-metrics',
    retentionSeconds: 3600,
    description: 'app data [managed by InfluxBucket app-a/metrics]',
    change: 'created bucket app-a-metrics',
  });
  assert.is(managerOf('app data [managed by InfluxBucket app-a/metrics]'), 'app-a/metrics');
  assert.is(
    managerOf('someone wrote [managed by InfluxBucket x/y] in the middle'),
    undefined,
    'only a trailing marker counts',
  );
});

test('bucket: an existing bucket is BucketExists unless adopted; adopt never takes the onboarding bucket nor one another resource manages', () => {
  const unmarked = { ...OURS, description: '' };
  const exists = (facts: BucketFacts, why: string) => {
    const step = decideBucket(facts);
    assert.ok(
      step.kind === 'finish' && step.reason === 'BucketExists' && step.message.includes(why),
      JSON.stringify(step),
    );
  };
  exists(bucketFacts(bucket(), found(unmarked)), 'set spec.adopt: true to adopt it');
  exists(
    bucketFacts(bucket({ adopt: true }), found({ ...OURS, description: bucketMarker('app-b', 'metrics') })),
    'is managed by InfluxBucket app-b/metrics',
  );
  exists(
    bucketFacts(bucket({ adopt: true, name: 'platform' }), found({ ...unmarked, name: 'platform', id: 'b-platform' })),
    "the onboarding's own bucket",
  );
  const adopt = decideBucket(bucketFacts(bucket({ adopt: true }), found(unmarked)));
  assert.equal(adopt, {
    kind: 'describeBucket',
    connection,
    bucketID: 'b1',
    description: OURS.description,
    change: 'adopted bucket app-a-metrics',
  });
  const adopted = decideBucket(
    bucketFacts(bucket({ adopt: true }), { ...found(OURS), changes: ['adopted bucket app-a-metrics'] }),
  );
  assert.ok(adopted.kind === 'finish' && adopted.status.adopted === true);
  const retaken = decideBucket(bucketFacts(bucket({}, {}, { bucketID: 'b1' }), found(unmarked)));
  assert.equal(
    retaken.kind === 'describeBucket' && retaken.change,
    'marked the bucket as managed again',
    'its own bucket (status) whose marker was removed',
  );
});

test('bucket: retention kept in sync, then BucketReady with the ID and a Normal event on the transition', () => {
  const sync = decideBucket(bucketFacts(bucket({ retentionPeriodSeconds: 86_400 }), found(OURS)));
  assert.equal(sync, {
    kind: 'setRetention',
    connection,
    bucketID: 'b1',
    retentionSeconds: 86_400,
    change: 'set retention 86400s (was retention 3600s)',
  });
  const ready = decideBucket(bucketFacts(bucket(), found(OURS)));
  assert.ok(ready.kind === 'finish');
  assert.equal(
    [ready.reason, ready.status.bucketID, ready.status.bucketName, ready.status.onboarding, ready.status.adopted],
    ['BucketReady', 'b1', 'app-a-metrics', 'monitoring/influxdb', false],
  );
  assert.equal(
    [ready.status.conditions?.[0]?.status, ready.event?.type, ready.requeue],
    ['True', 'Normal', { kind: 'after', ms: DRIFT }],
  );
  const failed = decideBucket(
    bucketFacts(bucket(), {
      bucket: { ok: false, failure: { kind: 'unreachable', reason: 'network', message: 'connection refused' } },
    }),
  );
  assert.ok(failed.kind === 'finish' && failed.reason === 'Unreachable' && failed.requeue.kind === 'backoff');
  const refused = decideBucket(
    bucketFacts(bucket(), {
      failure: { doing: 'creating', failure: { kind: 'rejected', status: 422, code: 'conflict', message: 'exists' } },
    }),
  );
  assert.ok(refused.kind === 'finish' && refused.reason === 'InfluxError');
});

test('bucket deletion: Retain lets go; Delete deletes only its own bucket; a gone onboarding lets go with a Warning', () => {
  const deleting = (policy: string, extra: Partial<BucketFacts> = {}) =>
    bucketFacts(bucket({ deletionPolicy: policy }, { deletionTimestamp: NOW }), extra);
  assert.equal(decideBucket(deleting('Retain')), { kind: 'removeFinalizer' });
  assert.equal(decideBucket(deleting('Delete')), { kind: 'findBucket', connection, name: 'app-a-metrics' });
  assert.equal(decideBucket(deleting('Delete', found(OURS))), { kind: 'deleteBucket', connection, bucketID: 'b1' });
  const done = decideBucket(deleting('Delete', { ...found(OURS), deleted: true }));
  assert.ok(done.kind === 'removeFinalizer' && done.event?.reason === 'BucketDeleted');
  assert.equal(decideBucket(deleting('Delete', found({ ...OURS, description: 'someone else' }))), {
    kind: 'removeFinalizer',
  });
  const gone = decideBucket(
    deleting('Delete', {
      access: {
        kind: 'waiting',
        reason: 'OnboardingNotFound',
        message: 'InfluxOnboarding monitoring/influxdb not found',
        gone: true,
      },
    }),
  );
  assert.ok(
    gone.kind === 'removeFinalizer' && gone.event?.type === 'Warning' && gone.event.reason === 'OnboardingGone',
  );
  assert.equal(decideBucket(bucketFacts(bucket({}, { deletionTimestamp: NOW, finalizers: [] }))).kind, 'finish');
});

// --- tokens ---

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

const BUCKETS: Record<string, BucketResolution> = {
  metrics: { kind: 'ready', bucketName: 'app-a-metrics', bucketID: 'b1', onboarding: 'monitoring/influxdb' },
  other: { kind: 'ready', bucketName: 'app-a-other', bucketID: 'b2', onboarding: 'monitoring/influxdb' },
};
const MARKER = tokenMarker(token());
const listed = (...ids: string[]) => ({
  ok: true as const,
  value: ids.map((id) => ({ id, description: `app writer ${MARKER}` })),
});
const ownedSecret = (extra: Partial<Extract<TokenSecret, { state: 'owned' }>> = {}): TokenSecret => ({
  state: 'owned',
  data: { url: connection.target.url, org: 'acme', token: 'app-token-1', bucket: 'app-a-metrics' },
  authorizationID: 'a1',
  permissions: 'write:b1',
  retiring: [],
  resourceVersion: '7',
  tokenIntact: true,
  ...extra,
});

/** The Secret's authorization as GET /api/v2/authorizations/{id} shows it (v2.9+: without its token). */
const shown = (id: string, extra: Partial<Authorization> = {}): Pick<TokenFacts, 'current'> => ({
  current: {
    id,
    found: {
      ok: true,
      value: {
        id,
        description: `app writer ${MARKER}`,
        orgID: 'org1',
        userID: 'u1',
        active: true,
        permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } }],
        ...extra,
      },
    },
  },
});
const absent = (id: string): Pick<TokenFacts, 'current'> => ({ current: { id, found: { ok: true, value: null } } });

function tokenFacts(resource: InfluxToken, extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    resource,
    checked: checkTokenSpec(resource),
    access: READY,
    now: NOW,
    driftCheckIntervalMs: DRIFT,
    buckets: BUCKETS,
    secret: { state: 'absent' },
    orphanFree: false,
    secretConfirmed: true,
    ...extra,
  };
}

function reasonOf(step: ReturnType<typeof decideToken>): string {
  return step.kind === 'finish' ? step.reason : step.kind;
}

test('token: invalid spec, finalizer, a foreign Secret, no grant, missing or not-ready buckets and a bucket of another onboarding end before any InfluxDB request', () => {
  assert.is(reasonOf(decideToken(tokenFacts(token({ permissions: [] })))), 'InvalidSpec');
  assert.is(reasonOf(decideToken(tokenFacts(token({}, { finalizers: [] })))), 'addFinalizer');
  assert.is(reasonOf(decideToken(tokenFacts(token(), { secret: { state: 'foreign' } }))), 'SecretConflict');
  assert.is(
    reasonOf(decideToken(tokenFacts(token(), { access: { kind: 'not-permitted', message: 'no grant', connection } }))),
    'NotPermitted',
  );
  assert.is(reasonOf(decideToken(tokenFacts(token(), { buckets: {} }))), 'BucketNotFound');
  assert.is(
    reasonOf(decideToken(tokenFacts(token(), { buckets: { metrics: { kind: 'not-ready', message: 'waiting' } } }))),
    'BucketNotReady',
  );
  const foreign = decideToken(
    tokenFacts(token(), {
      buckets: { metrics: { ...BUCKETS.metrics, onboarding: 'elsewhere/influxdb' } as BucketResolution },
    }),
  );
  assert.ok(
    foreign.kind === 'finish' &&
      foreign.reason === 'NotPermitted' &&
      foreign.message.includes('lives under InfluxOnboarding elsewhere/influxdb'),
  );
});

test('token: created with exactly the declared permissions and the UID marker, then written to the Secret before anything else', () => {
  assert.equal(decideToken(tokenFacts(token())), { kind: 'listAuthorizations', connection });
  const create = decideToken(tokenFacts(token({ description: 'app writer' }), { authorizations: listed() }));
  assert.equal(create, {
    kind: 'createAuthorization',
    connection,
    description: `app writer ${MARKER}`,
    permissions: [{ action: 'write', bucketID: 'b1' }],
  });
  const write = decideToken(
    tokenFacts(token(), { authorizations: listed('a1'), issued: { id: 'a1', token: 'app-token-1' } }),
  );
  assert.equal(write, {
    kind: 'writeSecret',
    secret: {
      name: 'writer-influx-token',
      data: { url: connection.target.url, org: 'acme', token: 'app-token-1', bucket: 'app-a-metrics' },
      authorizationID: 'a1',
      permissions: 'write:b1',
      retiring: [],
    },
  });
  assert.equal(decideToken(tokenFacts(token(), { authorizations: listed('a1'), secret: ownedSecret() })), {
    kind: 'readAuthorization',
    connection,
    authorizationID: 'a1',
  });
  const ready = decideToken(
    tokenFacts(token(), { authorizations: listed('a1'), secret: ownedSecret(), ...shown('a1') }),
  );
  assert.ok(ready.kind === 'finish');
  assert.equal(
    [ready.reason, ready.status.authorizationID, ready.status.permissions, ready.status.secretName],
    ['TokenReady', 'a1', 'write:metrics', 'writer-influx-token'],
  );
  const two = decideToken(
    tokenFacts(
      token({
        permissions: [
          { action: 'write', bucket: 'metrics' },
          { action: 'read', bucket: 'other' },
        ],
      }),
      { authorizations: listed('a1'), issued: { id: 'a1', token: 't' } },
    ),
  );
  assert.ok(
    two.kind === 'writeSecret' && !('bucket' in two.secret.data) && two.secret.permissions === 'read:b2,write:b1',
    'two buckets: no bucket key',
  );
});

test('token: an authorization of this resource that no Secret names is an orphan and deleted; others are never touched', () => {
  const all = {
    ok: true as const,
    value: [
      ...listed('a1', 'a2').value,
      { id: 'x9', description: 'someone else [InfluxToken app-a/writer uid=other-uid]' },
    ],
  };
  assert.equal(
    ownAuthorizations(all.value, token()).map((entry) => entry.id),
    ['a1', 'a2'],
  );
  const step = decideToken(tokenFacts(token(), { authorizations: all, secret: ownedSecret() }));
  assert.ok(step.kind === 'deleteAuthorization' && step.authorizationID === 'a2', JSON.stringify(step));
  const afterwards = decideToken(
    tokenFacts(token(), { authorizations: all, secret: ownedSecret(), deleted: ['a2'], ...shown('a1') }),
  );
  assert.is(reasonOf(afterwards), 'TokenReady');
});

test("token: nothing is deleted or created on the cache's word: confirmSecret first, then the API server's Secret decides", () => {
  const all = listed('a1', 'a2');
  const cachedOnly = { authorizations: all, secret: ownedSecret(), secretConfirmed: false };
  assert.is(decideToken(tokenFacts(token(), cachedOnly)).kind, 'confirmSecret', 'an orphan by the cache');
  const naming = ownedSecret({ authorizationID: 'a2', retiring: [{ id: 'a1', deleteAfter: '2026-01-01T01:00:00Z' }] });
  const confirmed = decideToken(tokenFacts(token(), { authorizations: all, secret: naming, ...shown('a2') }));
  assert.is(reasonOf(confirmed), 'TokenReady', 'the Secret as the API server has it names both: no orphan');
  assert.is(
    decideToken(tokenFacts(token(), { authorizations: listed(), secret: { state: 'absent' }, secretConfirmed: false }))
      .kind,
    'confirmSecret',
    'a create too',
  );
  assert.is(
    decideToken(
      tokenFacts(token(), { secret: ownedSecret(), orphanFree: true, secretConfirmed: false, ...shown('a1') }),
    ).kind,
    'finish',
    'a check that changes nothing reads no Secret from the server',
  );
});

test('token: a permission change (or a bucket under a new ID) issues a new authorization; the old one retires after the grace period', () => {
  const changed = decideToken(
    tokenFacts(token(), { authorizations: listed('a1'), secret: ownedSecret({ permissions: 'write:b-old' }) }),
  );
  assert.is(changed.kind, 'createAuthorization');
  const write = decideToken(
    tokenFacts(token(), {
      authorizations: listed('a1', 'a2'),
      secret: ownedSecret({ permissions: 'write:b-old' }),
      issued: { id: 'a2', token: 'app-token-2' },
    }),
  );
  assert.ok(write.kind === 'writeSecret');
  assert.equal(
    [write.secret.authorizationID, write.secret.data.token, write.secret.retiring],
    ['a2', 'app-token-2', [{ id: 'a1', deleteAfter: '2026-01-01T00:01:00.000Z' }]],
  );
  const retiringSecret = ownedSecret({
    authorizationID: 'a2',
    data: { ...write.secret.data },
    retiring: write.secret.retiring,
  });
  const waiting = decideToken(
    tokenFacts(token(), { authorizations: listed('a1', 'a2'), secret: retiringSecret, ...shown('a2') }),
  );
  assert.ok(
    waiting.kind === 'finish' &&
      waiting.reason === 'TokenReady' &&
      waiting.requeue.kind === 'after' &&
      waiting.requeue.ms === 60_000,
  );
  const due = decideToken(
    tokenFacts(token(), {
      now: '2026-01-01T00:01:00.000Z',
      authorizations: listed('a1', 'a2'),
      secret: retiringSecret,
    }),
  );
  assert.ok(due.kind === 'deleteAuthorization' && due.authorizationID === 'a1');
  const pruned = decideToken(
    tokenFacts(token(), {
      now: '2026-01-01T00:01:00.000Z',
      authorizations: listed('a1', 'a2'),
      secret: retiringSecret,
      deleted: ['a1'],
      ...shown('a2'),
    }),
  );
  assert.ok(
    pruned.kind === 'writeSecret' && pruned.secret.retiring.length === 0 && pruned.secret.data.token === 'app-token-2',
  );
});

test('token: a token edited in the Secret is not trusted: a new authorization replaces it', () => {
  assert.is(
    decideToken(tokenFacts(token(), { authorizations: listed('a1'), secret: ownedSecret({ tokenIntact: false }) }))
      .kind,
    'createAuthorization',
  );
});

test('token: an authorization deleted behind the operator is issued again, without a grace period for the dead one', () => {
  const step = decideToken(tokenFacts(token(), { authorizations: listed(), secret: ownedSecret(), ...absent('a1') }));
  assert.is(step.kind, 'createAuthorization');
  const write = decideToken(
    tokenFacts(token(), {
      authorizations: listed('a3'),
      secret: ownedSecret(),
      issued: { id: 'a3', token: 'app-token-3' },
    }),
  );
  assert.ok(write.kind === 'writeSecret' && write.secret.retiring.length === 0);
});

test("token: orphan-free and Ready, the periodic check is the Secret's own authorization by ID, never the list of the org", () => {
  const steady = (extra: Partial<TokenFacts> = {}) =>
    decideToken(tokenFacts(token(), { orphanFree: true, secret: ownedSecret(), ...extra }));
  assert.equal(steady(), { kind: 'readAuthorization', connection, authorizationID: 'a1' });
  const ready = steady(shown('a1'));
  assert.ok(
    ready.kind === 'finish' && ready.reason === 'TokenReady' && ready.status.authorizationID === 'a1',
    JSON.stringify(ready),
  );
  assert.is(
    reasonOf(steady(shown('a1', { token: 'app-token-1' }))),
    'TokenReady',
    "where InfluxDB still shows tokens, the Secret's",
  );
  const failing = steady({
    current: {
      id: 'a1',
      found: { ok: false, failure: { kind: 'unreachable', reason: 'timeout', message: 'timed out' } },
    },
  });
  assert.ok(
    failing.kind === 'finish' &&
      failing.reason === 'Unreachable' &&
      failing.message.startsWith('reading authorization a1'),
  );
  const stale = steady({ ...shown('a0') });
  assert.equal(
    stale,
    { kind: 'readAuthorization', connection, authorizationID: 'a1' },
    'an answer about another ID is no answer',
  );
});

test('token: a Secret authorization that no longer serves it (gone, inactive, other permissions, org or token) is issued again, after a list', () => {
  const unfit: Array<[string, Pick<TokenFacts, 'current'>]> = [
    ['deleted in InfluxDB', absent('a1')],
    ['inactive', shown('a1', { active: false })],
    [
      'an extra permission',
      shown('a1', {
        permissions: [
          { action: 'write', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } },
          { action: 'read', resource: { type: 'buckets', id: 'b1', orgID: 'org1' } },
        ],
      }),
    ],
    [
      'another bucket',
      shown('a1', { permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b2', orgID: 'org1' } }] }),
    ],
    [
      'all buckets of the org',
      shown('a1', { permissions: [{ action: 'write', resource: { type: 'buckets', orgID: 'org1' } }] }),
    ],
    ['another org', shown('a1', { orgID: 'org2' })],
    ['another token', shown('a1', { token: 'someone-elses-token' })],
  ];
  for (const [why, current] of unfit) {
    assert.equal(
      decideToken(tokenFacts(token(), { orphanFree: true, secret: ownedSecret(), ...current })),
      { kind: 'listAuthorizations', connection },
      why,
    );
    const issue = decideToken(
      tokenFacts(token(), { orphanFree: true, secret: ownedSecret(), authorizations: listed('a1'), ...current }),
    );
    assert.is(issue.kind, 'createAuthorization', why);
  }
});

test('token: orphan-free, a due retiring authorization is deleted by ID without a list; not orphan-free, the list comes first', () => {
  const retiring = ownedSecret({ retiring: [{ id: 'a0', deleteAfter: NOW }] });
  const due = decideToken(tokenFacts(token(), { orphanFree: true, secret: retiring }));
  assert.ok(due.kind === 'deleteAuthorization' && due.authorizationID === 'a0', JSON.stringify(due));
  const pruned = decideToken(
    tokenFacts(token(), { orphanFree: true, secret: retiring, deleted: ['a0'], ...shown('a1') }),
  );
  assert.ok(pruned.kind === 'writeSecret' && pruned.secret.retiring.length === 0);
  assert.equal(decideToken(tokenFacts(token(), { secret: ownedSecret(), ...shown('a1') })), {
    kind: 'listAuthorizations',
    connection,
  });
});

test('token: a withdrawn grant deletes every authorization of the resource and empties the Secret of its token', () => {
  const refused: OnboardingAccess = { kind: 'not-permitted', message: 'no grant', connection };
  assert.equal(decideToken(tokenFacts(token(), { access: refused, secret: ownedSecret() })), {
    kind: 'listAuthorizations',
    connection,
  });
  const revoke = decideToken(
    tokenFacts(token(), { access: refused, secret: ownedSecret(), authorizations: listed('a1') }),
  );
  assert.ok(revoke.kind === 'deleteAuthorization' && revoke.authorizationID === 'a1');
  const empty = decideToken(
    tokenFacts(token(), { access: refused, secret: ownedSecret(), authorizations: listed('a1'), deleted: ['a1'] }),
  );
  assert.ok(
    empty.kind === 'writeSecret' && empty.secret.data.token === undefined && empty.secret.authorizationID === '',
  );
  const done = decideToken(
    tokenFacts(token(), {
      access: refused,
      secret: ownedSecret({ authorizationID: undefined, permissions: undefined, data: { url: 'u', org: 'acme' } }),
    }),
  );
  assert.is(reasonOf(done), 'NotPermitted');
});

test('token deletion: every authorization deleted, then the finalizer goes; a gone onboarding lets go with a Warning', () => {
  const deleting = (extra: Partial<TokenFacts> = {}) => tokenFacts(token({}, { deletionTimestamp: NOW }), extra);
  assert.is(decideToken(deleting()).kind, 'listAuthorizations');
  assert.is(decideToken(deleting({ authorizations: listed('a1') })).kind, 'deleteAuthorization');
  const done = decideToken(deleting({ authorizations: listed('a1'), deleted: ['a1'] }));
  assert.ok(done.kind === 'removeFinalizer' && done.event?.reason === 'TokenRevoked');
  const gone = decideToken(
    deleting({ access: { kind: 'waiting', reason: 'OnboardingNotFound', message: 'gone', gone: true } }),
  );
  assert.ok(
    gone.kind === 'removeFinalizer' && gone.event?.type === 'Warning' && gone.event.reason === 'OnboardingGone',
  );
  const failing = decideToken(
    deleting({
      authorizations: { ok: false, failure: { kind: 'unreachable', reason: 'timeout', message: 'timed out' } },
    }),
  );
  assert.ok(failing.kind === 'finish' && failing.reason === 'Unreachable' && failing.requeue.kind === 'backoff');
});

test('deletion waiting for its onboarding (not Ready yet, not gone) is looked at again after the drift interval, not through the rate limiter', () => {
  const waiting: OnboardingAccess = {
    kind: 'waiting',
    reason: 'OnboardingNotReady',
    message: 'InfluxOnboarding monitoring/influxdb is not Ready (Unreachable)',
    gone: false,
  };
  const bucketWaits = decideBucket(
    bucketFacts(bucket({ deletionPolicy: 'Delete' }, { deletionTimestamp: NOW }), { access: waiting }),
  );
  const tokenWaits = decideToken(tokenFacts(token({}, { deletionTimestamp: NOW }), { access: waiting }));
  for (const step of [bucketWaits, tokenWaits]) {
    assert.ok(step.kind === 'finish', step.kind);
    assert.is(step.reason, 'OnboardingNotReady');
    assert.match(step.message, 'deletion waits');
    assert.equal(step.requeue, { kind: 'after', ms: DRIFT });
  }
});

test('access: the onboarding must exist, be Ready and have its Secret; the operator token only comes from that Secret', () => {
  const onboarding = (ready: boolean, accessFrom?: object): InfluxOnboarding => ({
    apiVersion: 'influxdb.onboarding.dev/v1alpha1',
    kind: 'InfluxOnboarding',
    metadata: { name: 'influxdb', namespace: 'monitoring', uid: 'o' },
    spec: {
      url: 'http://influxdb:8086',
      username: 'admin',
      org: 'acme',
      bucket: 'platform',
      ...(accessFrom && { accessFrom }),
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
  assert.equal(resolveAccess({ namespace: 'app-a', ref: refOf }).kind, 'waiting');
  const notReady = resolveAccess({ namespace: 'app-a', ref: refOf, onboarding: onboarding(false), credentials });
  assert.ok(
    notReady.kind === 'waiting' &&
      notReady.reason === 'OnboardingNotReady' &&
      notReady.message.includes('(Unreachable)'),
  );
  assert.equal(
    resolveAccess({ namespace: 'app-a', ref: refOf, onboarding: onboarding(true), credentials: { state: 'absent' } })
      .kind,
    'waiting',
  );
  assert.equal(
    resolveAccess({ namespace: 'app-a', ref: refOf, onboarding: onboarding(true), credentials }).kind,
    'not-permitted',
  );
  const granted = resolveAccess({
    namespace: 'app-a',
    ref: refOf,
    onboarding: onboarding(true, { namespaces: ['app-a'] }),
    credentials,
  });
  assert.ok(granted.kind === 'ready');
  assert.equal(granted.connection, connection);
});

test.run();
