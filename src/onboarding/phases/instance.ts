// The instance: reachable, and set up or not (GET /api/v2/setup); then set up, or reached with a
// token that works there, as the spec's mode says.
import type { Step } from '../step.js';
import { setupMode } from './setup.js';
import type { Accepted } from './setup-answer.js';
import { setupUserMode } from './setup-user.js';
import { notReached, type Situation } from './situation.js';

/** Whether the instance is set up is known: asked, and answered. */
export function setupStatusKnown(s: Situation): Step | undefined {
  const status = s.facts.setupStatus;
  if (status === undefined) return { kind: 'checkSetupStatus' };
  return status.ok ? undefined : notReached(s, status.failure);
}

/** Setup or adoption: settled once InfluxDB accepted the credentials (a setup's answer, or a token check). */
export function setupOrAdoption(s: Situation): Step | Accepted {
  return s.spec.mode === 'Setup' ? setupMode(s) : setupUserMode(s);
}
