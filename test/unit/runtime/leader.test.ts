import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import { ManualClock } from '../../support/manual-clock.js';
import { AlwaysLeader, LeaderElector } from '../../../src/runtime/leader.js';
import type { LeaseRecord, LeaseStore, StoredLease } from '../../../src/runtime/leader.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

class ConflictError extends Error {
  readonly code = 409;
}

type Fault = 'none' | 'reject' | 'hang';

/** One Lease in memory, with resourceVersion checks like the API server's. */
class LeaseServer {
  lease: StoredLease | undefined;
  private version = 0;
  /** Per identity: what that candidate's requests do (a network partition, a wedged connection). */
  readonly faults = new Map<string, Fault>();
  /** Per identity: how many of its next updates get a 409 as if someone else wrote first. */
  readonly conflicts = new Map<string, number>();

  storeFor(identity: string): LeaseStore {
    const gate = <T>(work: () => T): Promise<T> => {
      const fault = this.faults.get(identity) ?? 'none';
      if (fault === 'hang') return new Promise(() => undefined);
      if (fault === 'reject') return Promise.reject(new Error('connection refused'));
      return Promise.resolve().then(work);
    };
    return {
      get: () => gate(() => (this.lease ? structuredClone(this.lease) : undefined)),
      create: (record) =>
        gate(() => {
          if (this.lease) throw new ConflictError('already exists');
          return this.write(record);
        }),
      update: (record, resourceVersion) =>
        gate(() => {
          const pending = this.conflicts.get(identity) ?? 0;
          if (pending > 0) {
            this.conflicts.set(identity, pending - 1);
            throw new ConflictError('conflict');
          }
          if (this.lease?.resourceVersion !== resourceVersion) throw new ConflictError('conflict');
          return this.write(record);
        }),
    };
  }

  get holder(): string | undefined {
    return this.lease?.record.holderIdentity;
  }

  private write(record: LeaseRecord): StoredLease {
    this.lease = { record: structuredClone(record), resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  elector: LeaderElector;
  started: number[];
  stopped: number[];
  statuses: boolean[];
}

function candidate(server: LeaseServer, clock: ManualClock, identity: string, random = 0): Candidate {
  const started: number[] = [];
  const stopped: number[] = [];
  const statuses: boolean[] = [];
  const elector = new LeaderElector({
    store: server.storeFor(identity),
    identity,
    logger,
    clock,
    random: () => random,
    onStartedLeading: () => started.push(clock.now()),
    onStoppedLeading: () => stopped.push(clock.now()),
    metrics: { leading: (isLeader) => statuses.push(isLeader) },
  });
  return { elector, started, stopped, statuses };
}

/** Candidate a leading (it started first), b started after it as the standby. */
async function leaderAndStandby(): Promise<{ clock: ManualClock; server: LeaseServer; a: Candidate; b: Candidate }> {
  const clock = new ManualClock();
  const server = new LeaseServer();
  const a = candidate(server, clock, 'a');
  const b = candidate(server, clock, 'b', 0.5);
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  return { clock, server, a, b };
}

test('acquires a free lease at once and renews it every retry period', async () => {
  const clock = new ManualClock();
  const server = new LeaseServer();
  const a = candidate(server, clock, 'a');
  a.elector.start();
  await clock.advance(0);
  assert.ok(a.elector.isLeader());
  assert.equal(a.started, [clock.now()]);
  assert.equal(a.statuses, [true]);
  assert.is(server.holder, 'a');
  assert.is(server.lease?.record.leaseDurationSeconds, 15);
  assert.is(server.lease?.record.leaseTransitions, 0);
  const acquiredAt = server.lease?.record.acquireTime?.getTime();

  await clock.advance(2000);
  assert.is(server.lease?.record.renewTime?.getTime(), clock.now(), 'renewed after one retry period');
  await clock.advance(60_000);
  assert.ok(a.elector.isLeader());
  assert.is(server.lease?.record.renewTime?.getTime(), clock.now());
  assert.is(server.lease?.record.acquireTime?.getTime(), acquiredAt, 'renewals keep the acquire time');
  assert.is(a.started.length, 1);
  await a.elector.release();
});

test('a second candidate stays standby while the leader renews', async () => {
  const { clock, a, b } = await leaderAndStandby();
  await clock.advance(120_000);
  assert.ok(a.elector.isLeader());
  assert.not.ok(b.elector.isLeader());
  assert.equal(b.started, []);
  await a.elector.release();
  await b.elector.release();
});

test('when the leader is cut off it stops leading before its lease expires, then another takes over', async () => {
  const { clock, server, a, b } = await leaderAndStandby();
  await clock.advance(10_000);
  server.faults.set('a', 'reject');
  const lastRenew = server.lease?.record.renewTime?.getTime() ?? 0;

  await clock.advance(30_000);
  assert.not.ok(a.elector.isLeader());
  assert.is(a.stopped.length, 1);
  const aStoppedAt = a.stopped[0] ?? Infinity;
  const bStartedAt = b.started[0] ?? -Infinity;
  assert.ok(aStoppedAt <= lastRenew + 10_000, 'a gives up within the renew deadline of its last renew');
  assert.ok(bStartedAt >= lastRenew + 15_000, 'b waits a full lease duration after it last saw a change');
  assert.ok(aStoppedAt < bStartedAt, 'never two leaders at once');
  assert.ok(b.elector.isLeader());
  assert.is(server.holder, 'b');
  assert.is(server.lease?.record.leaseTransitions, 1);
  server.faults.delete('a');
  await a.elector.release();
  await b.elector.release();
});

test('a renewal that hangs is abandoned at the renew deadline', async () => {
  const clock = new ManualClock();
  const server = new LeaseServer();
  const a = candidate(server, clock, 'a');
  a.elector.start();
  await clock.advance(0);
  const lastRenew = server.lease?.record.renewTime?.getTime() ?? 0;
  server.faults.set('a', 'hang');
  await clock.advance(9_999);
  assert.ok(a.elector.isLeader(), 'still within the deadline');
  await clock.advance(1);
  assert.not.ok(a.elector.isLeader());
  assert.equal(a.stopped, [lastRenew + 10_000]);
  assert.equal(a.statuses, [true, false]);
  await a.elector.release();
});

test('a 409 on renewal is retried within the deadline and leadership is kept', async () => {
  const clock = new ManualClock();
  const server = new LeaseServer();
  const a = candidate(server, clock, 'a');
  a.elector.start();
  await clock.advance(0);
  server.conflicts.set('a', 2);
  await clock.advance(8000);
  assert.ok(a.elector.isLeader());
  assert.is(server.conflicts.get('a'), 0, 'both conflicts were hit');
  assert.is(server.lease?.record.renewTime?.getTime(), clock.now(), 'and the renewal after them succeeded');
  assert.is(a.stopped.length, 0);
  await a.elector.release();
});

test('release frees the lease so a standby takes over at its next retry, not after expiry', async () => {
  const { clock, server, a, b } = await leaderAndStandby();
  await clock.advance(5000);
  const releasedAt = clock.now();
  await a.elector.release();
  assert.not.ok(a.elector.isLeader());
  assert.equal(a.stopped, [releasedAt]);
  assert.is(server.holder, '');
  await clock.advance(2000 * (1 + 1.2 * 0.5));
  assert.ok(b.elector.isLeader());
  assert.ok((b.started[0] ?? Infinity) - releasedAt < 15_000);
  await b.elector.release();
});

test('a leader whose lease was taken by someone else stops leading at its next renewal', async () => {
  const clock = new ManualClock();
  const server = new LeaseServer();
  const a = candidate(server, clock, 'a');
  a.elector.start();
  await clock.advance(0);
  const intruder = server.storeFor('intruder');
  const current = await intruder.get(new AbortController().signal);
  await intruder.update(
    { holderIdentity: 'intruder', leaseDurationSeconds: 15, renewTime: new Date(clock.now()), leaseTransitions: 1 },
    current?.resourceVersion ?? '',
    new AbortController().signal,
  );
  await clock.advance(2000);
  assert.not.ok(a.elector.isLeader());
  assert.is(server.holder, 'intruder');
  await a.elector.release();
  assert.is(server.holder, 'intruder', 'release does not touch a lease held by someone else');
});

test('timings that would let a lease expire before the leader notices are rejected', () => {
  const server = new LeaseServer();
  assert.throws(
    () =>
      new LeaderElector({
        store: server.storeFor('a'),
        identity: 'a',
        logger,
        leaseDurationMs: 10_000,
        renewDeadlineMs: 10_000,
      }),
    /leaseDuration > renewDeadline/,
  );
});

test('AlwaysLeader leads from start until release', async () => {
  const events: string[] = [];
  const leader = new AlwaysLeader(
    {
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: () => events.push('stopped'),
      metrics: { leading: (isLeader) => events.push(`status ${isLeader}`) },
    },
    logger,
  );
  assert.not.ok(leader.isLeader());
  leader.start();
  assert.ok(leader.isLeader());
  await leader.release();
  assert.not.ok(leader.isLeader());
  assert.equal(events, ['status true', 'started', 'status false', 'stopped']);
});

test('a leader paused past its renew deadline stops leading when asked, before any timer of its runs', async () => {
  const server = new LeaseServer();
  const clock = new ManualClock();
  const a = candidate(server, clock, 'a');
  a.elector.start();
  await clock.advance(0);
  assert.ok(a.elector.isLeader());
  // SIGSTOP for longer than the renew deadline (10 s), then SIGCONT: nothing has fired yet.
  clock.jump(10_001);
  assert.is(a.elector.isLeader(), false, 'no longer leading by the clock');
  assert.is(a.stopped.length, 1, 'onStoppedLeading ran at once');
  // Its timers catch up: it becomes a candidate again and, the Lease being its own and free, leads again.
  await clock.advance(5000);
  assert.ok(a.elector.isLeader());
  await a.elector.release();
});

test.run();
