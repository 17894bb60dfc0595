// decide() throughput for the most common decision: a Ready resource whose drift check found
// everything in place (setup done, token valid, IDs unchanged, Secret as desired).
import { decide } from '../src/onboarding/decide.js';
import type { Facts } from '../src/onboarding/facts.js';
import {
  credentials,
  facts,
  health,
  IDS,
  ok,
  onboardedStatus,
  owner,
  ownedSecret,
  resource,
  secretData,
} from '../test/support/facts.js';
import { say, type Figure } from './util.js';

export function decideThroughput(durationMs = 3000): Figure[] {
  say(`\n## decide() throughput for a Ready resource in steady state (${durationMs / 1000} s, one core)`);
  const steady: Facts = facts({
    resource: resource({ status: onboardedStatus() }),
    secret: ownedSecret(secretData(credentials())),
    setupStatus: ok({ allowed: false }),
    tokenCheck: ok(owner()),
    ids: ok({ orgID: IDS.orgID, bucketID: IDS.bucketID }),
    health: ok(health()),
  });
  const step = decide(steady);
  if (step.kind !== 'finish' || step.reason !== 'Onboarded')
    throw new Error(`unexpected decision ${step.kind} ${step.kind === 'finish' ? step.reason : ''}`);
  say(`decision: finish ${step.reason}, requeue ${JSON.stringify(step.requeue)}`);
  for (let warm = 0; warm < 20_000; warm++) decide(steady);
  let decisions = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let batch = 0; batch < 1000; batch++) decide(steady);
    decisions += 1000;
    elapsed = performance.now() - started;
  }
  const perSecond = decisions / (elapsed / 1000);
  say(
    `${decisions.toLocaleString('en')} decisions in ${(elapsed / 1000).toFixed(2)} s = ${Math.round(perSecond).toLocaleString('en')} decisions/s (${((1e6 * elapsed) / 1000 / decisions).toFixed(1)} µs each)`,
  );
  return [
    {
      name: 'decide() steady-state Ready',
      value: `${Math.round(perSecond).toLocaleString('en')} decisions/s`,
      how: `${decisions.toLocaleString('en')} calls in ${(elapsed / 1000).toFixed(1)} s, same facts each time`,
    },
  ];
}
