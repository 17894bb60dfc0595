// The onboarding decision: what to do next for one InfluxOnboarding, as a chain of phases that
// each own one concern (phases/), run in the order declared here, in the spirit of
// cert-manager's policies.Chain. Pure: the same facts always give the same step, so every
// behaviour of the operator is a row in a table test.
import { withReady } from '../api/reconcile.js';
import { checkSpec } from '../api/spec.js';
import { READY, Reason, type InfluxOnboardingStatus } from '../api/types.js';
import type { Facts } from './facts.js';
import { driftCheck } from './phases/drift.js';
import { setupOrAdoption, setupStatusKnown } from './phases/instance.js';
import { orgAndBucket } from './phases/org-bucket.js';
import { passwordProven, passwordRotation } from './phases/password.js';
import {
  escrowApproved,
  instanceOwned,
  invalidSpec,
  referencedValuesValid,
  referencesConsent,
  referencesFound,
  secretOurs,
  soleTarget,
} from './phases/preconditions.js';
import { ready, versionKnown } from './phases/ready.js';
import { secretHolds } from './phases/secret.js';
import { isStep, run, situation, type Phase } from './phases/situation.js';
import { retargetVerified, targetBound } from './phases/target.js';
import { operatorToken } from './phases/token.js';
import type { Step } from './step.js';

/**
 * The phases in the order they run. Each either ends the decision here (a step to take, or a
 * Finish) or lets it go on; the later ones read what the earlier ones settled.
 */
const PHASES: ReadonlyArray<Phase<unknown>> = [
  // Preconditions: nothing is sent anywhere until they hold.
  instanceOwned,
  soleTarget,
  referencesFound,
  referencesConsent,
  referencedValuesValid,
  secretOurs,
  escrowApproved,
  // Target binding: credentials go only to the instance they belong to.
  targetBound,
  // The one-request check of a Ready resource that changed nothing.
  driftCheck,
  // The instance: reachable, set up or not; a move to it verified; then set up or adopted.
  setupStatusKnown,
  retargetVerified,
  setupOrAdoption,
  // Day two, with credentials InfluxDB accepted.
  operatorToken,
  passwordRotation,
  secretHolds,
  orgAndBucket,
  passwordProven,
  versionKnown,
];

/** What to do next for one InfluxOnboarding, from what is known so far. */
export function decide(facts: Facts): Step {
  const checked = checkSpec(facts.resource);
  if (!checked.ok) return invalidSpec(facts, checked.problems);
  const s = situation(facts, checked.spec);
  for (const phase of PHASES) {
    const next = run(s, phase);
    if (isStep(next)) return next;
  }
  return ready(s);
}

/**
 * The status a resource shows on its first visit, before anything slow happens (a request to an
 * unreachable InfluxDB can take the whole timeout): Ready Unknown, reason Progressing. Undefined
 * once a Ready condition exists.
 */
export function firstVisitStatus(facts: Pick<Facts, 'resource' | 'now'>): InfluxOnboardingStatus | undefined {
  const { resource, now } = facts;
  if (resource.status?.conditions?.some((condition) => condition.type === READY)) return undefined;
  const generation = resource.metadata.generation;
  return {
    ...resource.status,
    ...(generation !== undefined && { observedGeneration: generation }),
    conditions: withReady(
      resource.status?.conditions,
      {
        status: 'Unknown',
        reason: Reason.Progressing,
        message: `Checking InfluxDB at ${resource.spec.url}`,
        ...(generation !== undefined && { observedGeneration: generation }),
      },
      now,
    ),
  };
}
