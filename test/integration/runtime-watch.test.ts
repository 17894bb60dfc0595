// The list/watch loop against the real API server, seen through an HTTPS tap (test/support/api-tap.ts)
// that counts every request and TCP connection the operator makes: a watch cut by an API server
// restart is resumed with backoff and nothing changed meanwhile is missed; a real 410 (etcd
// compacted, API server restarted) costs one relist; a server that answers every watch with 410
// gets lists at the backoff's pace, not a storm.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiTap } from '../support/api-tap.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import type { RunningOperator } from '../support/operator.js';
import {
  createResource,
  metricSum,
  patchLabels,
  scrape,
  startRuntimeOperator,
  startStandins,
  startTap,
  waitForReconciled,
  assertNoStandinCredentialLeaked,
} from '../support/runtime-env.js';
import { createNamespace, deleteOnboarding, onboardingHarness, waitForReason } from '../support/onboarding.js';
import { eventually, sleep } from '../support/wait.js';

const RESOURCE = 'influxonboardings';
// The reflector's defaults, which the operator runs with: first delay 1 s, doubling, jitter up to +50%.
const BACKOFF_INITIAL_MS = 1000;

/**
 * The most attempts one list/watch loop can make in `windowMs` when every attempt fails at once:
 * one right away, then one after each backoff delay (1 s, 2 s, 4 s, ... — jitter only lengthens them).
 */
function maxAttempts(windowMs: number): number {
  let attempts = 1;
  let elapsed = 0;
  for (let delay = BACKOFF_INITIAL_MS; elapsed + delay <= windowMs; delay *= 2) {
    elapsed += delay;
    attempts++;
  }
  return attempts;
}

interface Context {
  namespace: string;
  tap: ApiTap;
  operator: RunningOperator;
  standins: InfluxStandin[];
}

const watch = suite<Context>('runtime: watch interruptions against the real API server');

watch.before(async (context) => {
  await onboardingHarness();
  context.namespace = await createNamespace('rt-watch');
  context.standins = await startStandins(5);
  context.tap = await startTap();
  context.operator = await startRuntimeOperator(context.namespace, {
    kubeconfigPath: context.tap.kubeconfigPath,
    name: 'watch-operator',
  });
});

watch.after(async (context) => {
  context.tap.refuse(false);
  context.tap.answerWatchesWith410(false);
  await context.operator?.terminate();
  await context.tap?.close();
  await Promise.all((context.standins ?? []).map((standin) => standin.close()));
});

watch(
  'a watch cut by an API server restart is resumed with backoff, and changes made meanwhile are reconciled',
  async (context) => {
    const { namespace, tap, operator, standins } = context;
    const { controlPlane } = await onboardingHarness();
    const [forA, forB, forC] = standins;
    assert.ok(forA && forB && forC);
    await createResource(namespace, 'a', forA);
    await createResource(namespace, 'c', forC);
    await waitForReason(namespace, 'a', 'Onboarded');
    await waitForReason(namespace, 'c', 'Onboarded');
    await eventually(
      'both resources counted by influx_onboarding_resources',
      async () => metricSum(await scrape(operator), 'influx_onboarding_resources') === 2,
    );

    // The operator loses the API server: the tap resets every new connection, then the API server
    // itself restarts, which ends the operator's watches from the server side.
    const restartsBefore = metricSum(await scrape(operator), 'watch_restarts_total');
    const outageStart = Date.now();
    const refusedBefore = tap.connections.refused;
    tap.refuse(true);
    await controlPlane.restartApiServer();
    tap.cutAll(); // idle keep-alive sockets too: the operator must not reach the new API server yet
    // Changed while the operator cannot see it: one resource created, one relabelled, one deleted.
    await createResource(namespace, 'b', forB);
    await patchLabels(namespace, 'a', { touched: 'during-outage' });
    await deleteOnboarding(namespace, 'c');
    await sleep(3000);
    const outageMs = Date.now() - outageStart;
    const refused = tap.connections.refused - refusedBefore;
    const restarts = metricSum(await scrape(operator), 'watch_restarts_total') - restartsBefore;
    const back = Date.now();
    tap.refuse(false);

    // Five list/watch loops (InfluxOnboardings, InfluxBuckets, InfluxTokens, managed Secrets, Secret
    // metadata), nothing else talks to the API server while no reconcile runs; each may try at most
    // maxAttempts(outage) times.
    const loops = 5;
    const bound = loops * maxAttempts(outageMs);
    process.stdout.write(
      `    outage ${outageMs} ms: watch_restarts_total +${restarts}, ${refused} new connections refused by the tap (backoff allows ${bound} attempts)\n`,
    );
    // Each loop: the watch the server ended (and at most one re-watch that reached the API server
    // while it was shutting down), then one restart per failed attempt. Attempts may go out on pooled
    // keep-alive sockets (then the tap sees the request fail upstream) or on new connections (then
    // the tap refuses them), so the tap's refusals are a lower count of the attempts.
    const restartBound = bound + loops * 2;
    assert.ok(restarts >= 2 * loops, `every loop kept trying to reconnect (watch_restarts_total +${restarts})`);
    assert.ok(
      restarts <= restartBound,
      `watch_restarts_total rose by ${restarts} in ${outageMs} ms: more than backoff allows (${restartBound})`,
    );
    assert.ok(
      refused <= bound,
      `${refused} connection attempts in ${outageMs} ms: more than backoff allows (${bound})`,
    );

    await waitForReason(namespace, 'b', 'Onboarded');
    const relabelled = await waitForReconciled(operator, `${namespace}/a`, back);
    assert.is(relabelled.reason, 'Onboarded');
    await eventually('the deleted resource to leave influx_onboarding_resources', async () => {
      const samples = await scrape(operator);
      return metricSum(samples, 'influx_onboarding_resources') === 2;
    });
    const samples = await scrape(operator);
    assert.ok(
      metricSum(samples, 'watch_restarts_total', { resource: RESOURCE }) >= 1,
      'watch_restarts_total counted the cut',
    );
  },
);

watch('a 410 after etcd compaction and an API server restart costs one relist', async (context) => {
  const { namespace, tap, operator, standins } = context;
  const { controlPlane } = await onboardingHarness();
  const forD = standins[3];
  assert.ok(forD);
  await createResource(namespace, 'd', forD);
  await waitForReason(namespace, 'd', 'Onboarded');
  // Move etcd past everything the operator has seen, so the revision it resumes from is compacted away.
  await patchLabels(namespace, 'd', { step: 'before-compaction' });
  await waitForReconciled(operator, `${namespace}/d`, Date.now() - 200);
  await patchLabels(namespace, 'a', { step: 'moves-the-revision' });
  await sleep(500);
  const expiredBefore = metricSum(await scrape(operator), 'watch_restarts_total', {
    resource: RESOURCE,
    reason: 'expired',
  });
  await controlPlane.compactEtcd();
  const restartAt = Date.now();
  await controlPlane.restartApiServer();

  await eventually(
    'the operator to see 410 Expired',
    async () =>
      metricSum(await scrape(operator), 'watch_restarts_total', { resource: RESOURCE, reason: 'expired' }) >
      expiredBefore,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  // The relist waits out the loop's current backoff (the failed attempts during the restart grew it).
  await eventually('the relist', () => tap.count('list', RESOURCE, restartAt) >= 1, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  // Long enough for a storm to show: a loop relisting without pause would make hundreds of lists.
  await sleep(5000);
  const expired =
    metricSum(await scrape(operator), 'watch_restarts_total', { resource: RESOURCE, reason: 'expired' }) -
    expiredBefore;
  const lists = tap.count('list', RESOURCE, restartAt);
  const watches = tap.count('watch', RESOURCE, restartAt);
  process.stdout.write(
    `    after compaction + restart: ${expired} 410(s), then ${lists} LIST and ${watches} WATCH requests for ${RESOURCE}\n`,
  );
  assert.is(expired, 1, 'one 410: the relisted resourceVersion is current');
  assert.is(lists, 1, `${lists} LISTs after one 410: exactly one relist expected`);

  // The relisted cache is live: a new change is reconciled.
  const since = Date.now();
  await patchLabels(namespace, 'd', { step: 'after-relist' });
  await waitForReconciled(operator, `${namespace}/d`, since);
});

watch('a server answering every watch with 410 gets lists at the pace of the backoff, not a storm', async (context) => {
  const { namespace, tap, standins } = context;
  const forE = standins[4];
  assert.ok(forE);
  const start = Date.now();
  tap.answerWatchesWith410(true, RESOURCE);
  tap.cutAll(); // the running watch ends; every watch from now on is answered 410
  await sleep(10_000);
  tap.answerWatchesWith410(false);
  const windowMs = Date.now() - start;
  const lists = tap.count('list', RESOURCE, start);
  const expired = tap.requests.filter((request) => request.at >= start && request.handling === 'injected-410').length;
  const bound = maxAttempts(windowMs);
  process.stdout.write(
    `    ${windowMs} ms of 410s: ${expired} watches answered 410, ${lists} LISTs (backoff bound ${bound})\n`,
  );
  assert.ok(expired >= 2, 'watches were answered 410 more than once');
  assert.ok(lists >= 2, 'each 410 led to a relist');
  assert.ok(lists <= bound, `${lists} LISTs in ${windowMs} ms: more than the backoff allows (${bound})`);

  // And it recovers once watches work again.
  await createResource(namespace, 'e', forE);
  await waitForReason(namespace, 'e', 'Onboarded', 60_000);
});

watch(
  'secrecy: no password or token of its stand-ins or Secrets in the operator output, any Event or any status',
  (context) => assertNoStandinCredentialLeaked([context.operator], context.namespace, context.standins, 4),
);

watch.run();
