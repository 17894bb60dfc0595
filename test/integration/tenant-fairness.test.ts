// End to end on a real control plane, as a hostile tenant would try it (issue 17 point 7): servers
// that accept connections and never answer, named by InfluxOnboardings with the longest timeout
// there is, must not starve another namespace's onboarding. Eight silent instances in one
// namespace, then one in each of eight namespaces; the operator runs with the chart's defaults
// (four workers, the 2m reconcile deadline). The victim is a stand-in; the silent servers are
// plain TCP listeners. The 15 s bound is the attack's success criterion (a correctness bound, not
// a speed target): the figure measured is printed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GROUP, PLURAL } from '../../src/api/types.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import {
  createNamespace,
  eventsOnceRecorded,
  getOnboarding,
  onboardingHarness,
  onboardingManifest,
  readyOf,
  startFileOperator,
} from '../support/onboarding.js';
import type { RunningOperator } from '../support/operator.js';
import type { SilentServer } from '../support/silent-server.js';
import { attackHolds, silentInstances, victimReadyMs, waiting } from '../support/tenant-attacks.js';
import { eventually } from '../support/wait.js';

interface Context {
  operator: RunningOperator;
  victimNamespace: string;
  attackNamespaces: string[];
  standins: InfluxStandin[];
  silent: SilentServer[];
}

const tests = suite<Context>('tenant fairness: no tenant starves the others', {} as Context);

const ATTACKERS = 8;
// The chart's --concurrency.
const WORKERS = 4;
const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };
const VICTIM_BOUND_MS = 15_000;
const CRD_FILE = fileURLToPath(new URL('../../crds/influxdb.onboarding.dev_influxonboardings.yaml', import.meta.url));

tests.before(async (context) => {
  await onboardingHarness();
  context.victimNamespace = await createNamespace('fair-victim');
  context.attackNamespaces = [];
  for (let index = 0; index <= ATTACKERS; index++) context.attackNamespaces.push(await createNamespace('fair-evil'));
  context.standins = [];
  context.silent = [];
  // The chart's defaults where they matter here: --concurrency=4, --reconcile-timeout=2m.
  context.operator = await startFileOperator(
    [context.victimNamespace, ...context.attackNamespaces],
    [],
    'fair-operator',
  );
});

tests.after(async (context) => {
  await context.operator.terminate();
  await Promise.all([...context.standins, ...context.silent].map((server) => server.close()));
});

/** The CRD as an older version shipped it, with spec.requestTimeoutSeconds up to 300. */
function olderCrd(): string {
  const current = readFileSync(CRD_FILE, 'utf8');
  const older = current.replace(
    /(requestTimeoutSeconds:\n(?:\s+[a-z]\w*:.*\n)*?\s+maximum: )60\n/,
    (_match, head: string) => `${head}300\n`,
  );
  assert.is.not(older, current, 'the older CRD differs in the maximum only');
  return older;
}

async function applyCrd(text: string): Promise<void> {
  const { kubectl } = await onboardingHarness();
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], text);
  await kubectl(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
}

tests('the API server refuses requestTimeoutSeconds above 60 (the CRD maximum)', async ({ victimNamespace }) => {
  const { kubectlResult } = await onboardingHarness();
  const manifest = onboardingManifest(victimNamespace, 'too-patient', {
    url: 'http://influxdb:8086',
    ...SPEC,
    requestTimeoutSeconds: 61,
  });
  const refused = await kubectlResult(['create', '-f', '-'], JSON.stringify(manifest));
  assert.is.not(refused.code, 0, 'created with a timeout of 61 s');
  assert.match(refused.stderr, 'spec.requestTimeoutSeconds');
  assert.match(refused.stderr, '60');
});

tests(
  'eight silent instances in one namespace, their timeouts stored as 300 by an older CRD: another namespace is Ready within 15 s',
  async (context) => {
    const namespace = context.attackNamespaces[ATTACKERS] ?? '';
    // As the issue found them: requestTimeoutSeconds 300, in etcd from before the maximum of 60.
    await applyCrd(olderCrd());
    const servers = await silentInstances(Array<string>(ATTACKERS).fill(namespace), 300).finally(() =>
      applyCrd(readFileSync(CRD_FILE, 'utf8')),
    );
    context.silent.push(...servers);
    await attackHolds(servers, WORKERS);
    const readyMs = await victimReadyMs(context.victimNamespace, 'victim-one-namespace', context.standins);
    const stillWaiting = waiting(servers);
    process.stdout.write(
      `\n  figure: 8 silent instances in one namespace: the victim was Ready ${(readyMs / 1000).toFixed(1)} s after apply; ${stillWaiting} requests to silent servers were open then\n`,
    );
    assert.ok(
      stillWaiting >= WORKERS,
      `the attack was still on when the victim became Ready (${stillWaiting} waiting)`,
    );
    assert.ok(readyMs <= VICTIM_BOUND_MS, `the victim was Ready ${Math.round(readyMs)} ms after apply`);
    assert.ok(
      stillWaiting <= WORKERS,
      `one namespace has no more reconciles in flight than there are workers (${stillWaiting} waiting)`,
    );

    // The stored 300 is used as 60: each attacker gives up after 60 s, with one Warning saying so.
    const attacker = await eventually(
      'silent-0 to be Unreachable after its 60 s timeout',
      async () => {
        const current = await getOnboarding(namespace, 'silent-0');
        return readyOf(current)?.reason === 'Unreachable' ? current : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    assert.match(readyOf(attacker)?.message ?? '', 'did not answer within 60000 ms');
    assert.is(attacker.spec.requestTimeoutSeconds, 300, 'the stored value is left as it is');
    const warnings = (await eventsOnceRecorded(namespace, 'silent-0', 'SpecAdjusted')).filter(
      (event) => event.reason === 'SpecAdjusted',
    );
    assert.is(warnings.length, 1, JSON.stringify(warnings));
    assert.is(warnings[0]?.type, 'Warning');
    assert.match(warnings[0]?.message ?? '', 'spec.requestTimeoutSeconds is 300');
  },
);

tests('one silent instance in each of eight namespaces: another namespace is Ready within 15 s', async (context) => {
  const servers = await silentInstances(context.attackNamespaces.slice(0, ATTACKERS), 60);
  context.silent.push(...servers);
  await attackHolds(servers, WORKERS);
  const readyMs = await victimReadyMs(context.victimNamespace, 'victim-eight-namespaces', context.standins);
  const stillWaiting = waiting(servers);
  process.stdout.write(
    `\n  figure: one silent instance in each of 8 namespaces: the victim was Ready ${(readyMs / 1000).toFixed(1)} s after apply; ${stillWaiting} requests to silent servers were open then\n`,
  );
  assert.ok(stillWaiting >= WORKERS, `the attack was still on when the victim became Ready (${stillWaiting} waiting)`);
  assert.ok(readyMs <= VICTIM_BOUND_MS, `the victim was Ready ${Math.round(readyMs)} ms after apply`);
});

tests.run();
