// Leadership lost while the process lives, on the real API server: the leader is paused (SIGSTOP)
// with a write in flight (its Secret create, held by its API tap), for longer than its Lease; the
// standby takes over and does the work; then the old leader resumes (SIGCONT) and its write goes
// on to the API server. Wherever its event loop was, it must send nothing new (no API write but
// its Lease, no request to InfluxDB), and the write it had in flight must fail its precondition
// (409) instead of overwriting what the new leader wrote; nor may it report that failure in a
// status (a new write). Each replica reaches the API server
// through a tap of its own, and InfluxDB through one recording proxy that tells the replicas
// apart by the process that owns each connection. The file's one test needs the whole sequence.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiTap } from '../support/api-tap.js';
import { startInfluxProxy, type InfluxProxy } from '../support/influx-proxy.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import type { RunningOperator } from '../support/operator.js';
import {
  assertNoStandinCredentialLeaked,
  leaderElectionArgs,
  startRuntimeOperator,
  startStandins,
  startTap,
} from '../support/runtime-env.js';
import {
  createNamespace,
  createOnboarding,
  getSecret,
  onboardingHarness,
  waitForReason,
} from '../support/onboarding.js';
import { socketOwner } from '../support/socket-owner.js';
import { eventually, sleep } from '../support/wait.js';

const LEASE_MS = 6000;
const RENEW_DEADLINE_MS = 4000;
const RETRY_MS = 1000;
const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };

interface Context {
  namespace: string;
  leaseName: string;
  standins: InfluxStandin[];
  proxies: InfluxProxy[];
  taps: Map<string, ApiTap>;
  operators: RunningOperator[];
  pids: Map<string, number>;
}

const tests = suite<Context>('runtime: a leader paused past its Lease sends nothing new when it resumes');

tests.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('rt-stale');
  context.leaseName = `stale-leader-${randomBytes(3).toString('hex')}`;
  context.standins = await startStandins(3);
  context.pids = new Map();
  context.proxies = [];
  for (const standin of context.standins) {
    let port = 0;
    const proxy = await startInfluxProxy(standin.url, {
      attribute: socketOwner(
        () => port,
        () => context.pids,
      ),
    });
    port = Number(new URL(proxy.url).port);
    context.proxies.push(proxy);
  }
  context.taps = new Map();
  context.operators = [];
});

tests.after(async (context) => {
  for (const operator of context.operators ?? []) {
    try {
      process.kill(operator.pid, 'SIGCONT');
    } catch {
      // Gone already.
    }
    await operator.kill();
  }
  for (const tap of context.taps?.values() ?? []) await tap.close();
  await Promise.all((context.proxies ?? []).map((proxy) => proxy.close()));
  await Promise.all((context.standins ?? []).map((standin) => standin.close()));
});

async function startReplica(context: Context, name: string): Promise<RunningOperator> {
  const tap = await startTap();
  context.taps.set(name, tap);
  const operator = await startRuntimeOperator(context.namespace, {
    name,
    kubeconfigPath: tap.kubeconfigPath,
    args: leaderElectionArgs(context.namespace, context.leaseName, {
      leaseMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryMs: RETRY_MS,
    }),
  });
  context.operators.push(operator);
  context.pids.set(name, operator.pid);
  return operator;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

tests(
  'paused with a Secret create in flight: on resume the create fails with 409 and nothing new goes out',
  async (context) => {
    const { namespace, proxies } = context;
    const [forEarly, forPaused, forDuring] = proxies;
    assert.ok(forEarly && forPaused && forDuring);
    const old = await startReplica(context, 'replica-old');
    await old.waitForLog('started leading', (record) => record.message === 'started leading');
    const successor = await startReplica(context, 'replica-new');
    await createOnboarding(namespace, 'early', { url: forEarly.url, ...SPEC });
    await waitForReason(namespace, 'early', 'Onboarded');
    assert.ok(
      forEarly.requests.some((request) => request.from === 'replica-old'),
      'the proxy tells the leader by its connections',
    );

    // The leader's next Secret create is held at its tap: in flight when the process stops.
    const oldTap = context.taps.get('replica-old') as ApiTap;
    oldTap.holdNext({ method: 'POST', resource: 'secrets' });
    await createOnboarding(namespace, 'paused', { url: forPaused.url, ...SPEC });
    await eventually('the leader to send its Secret create', () => oldTap.heldNext.length === 1);
    process.kill(old.pid, 'SIGSTOP');
    const pausedAt = Date.now();

    await successor.waitForLog(
      'started leading',
      (record) => record.message === 'started leading',
      LEASE_MS * 3 + 15_000,
    );
    await waitForReason(namespace, 'paused', 'Onboarded', 60_000);
    // Created while the old leader is stopped: its informer learns of it only on resume, with work to do.
    await createOnboarding(namespace, 'during-pause', { url: forDuring.url, ...SPEC });
    await waitForReason(namespace, 'during-pause', 'Onboarded', 60_000);
    const written = await getSecret(namespace, 'paused-influxdb');
    assert.ok(written, 'the new leader wrote the Secret');

    // Its write goes on only now, as a write stuck in a network would; the answer waits for the
    // process, which finds it the moment it resumes.
    oldTap.releaseHeld();
    await eventually('the released create to be answered', () => (oldTap.heldNext[0]?.status ?? 0) !== 0);
    const resumedAt = Date.now();
    process.kill(old.pid, 'SIGCONT');
    // Time for the resumed process to do whatever it would do.
    await sleep(RETRY_MS * 5);

    const [held] = oldTap.heldNext;
    assert.is(held?.status, 409, 'the Secret create in flight failed: the Secret exists');
    assert.equal((await getSecret(namespace, 'paused-influxdb'))?.data, written.data, 'nothing was overwritten');
    const newWrites = oldTap.requests
      .filter((request) => request.at >= resumedAt && request !== held)
      .filter((request) => WRITES.has(request.method) && request.resource !== 'leases')
      .map((request) => `${request.method} ${request.path} -> ${request.status}`);
    assert.equal(newWrites, [], 'the old leader wrote nothing to the API server but its Lease');
    const toInflux = proxies
      .flatMap((proxy) => proxy.requests)
      .filter((request) => request.from === 'replica-old' && request.at >= pausedAt)
      .map((request) => `${request.method} ${request.path}`);
    assert.equal(toInflux, [], 'the old leader sent nothing to InfluxDB');
    assert.ok(
      old.records().some((record) => record.message === 'stopped leading'),
      'the old leader knows it lost the Lease',
    );
  },
);

tests(
  'secrecy: no password or token of its stand-ins or Secrets in either replica output, any Event or any status',
  (context) => assertNoStandinCredentialLeaked(context.operators, context.namespace, context.standins, 6),
);

tests.run();
