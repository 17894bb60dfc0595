import type { Credentials, DesiredSecret } from '../api/credentials.js';
import type { InfluxOnboardingStatus, Reason } from '../api/types.js';
import type { AuthorizationRequest, SetupRequest } from '../influx/index.js';
import type { Finish as RuntimeFinish } from '../runtime/index.js';

/** How a decision for an InfluxOnboarding ends: the status to show, the event, when to come back. */
export type Finish = RuntimeFinish<InfluxOnboardingStatus, Reason>;

/** A repair as the messages tell it: what a success did, and what a refusal refused. */
export interface Repair {
  done: string;
  doing: string;
}

/** The next thing one reconcile does; `finish` ends it. */
export type Step =
  | { kind: 'checkBucket'; token: string; bucketID: string }
  | { kind: 'checkSetupStatus' }
  /** GET /api/v2/setup again after a setup answered `conflict`: a race, or a refusal that stays. */
  | { kind: 'recheckSetupStatus' }
  | { kind: 'checkToken'; token: string }
  | { kind: 'lookupIDs'; token: string; org: string; bucket: string; userID?: string }
  /** Repairs of the org and bucket named in the Secret; `done` says what a success did, for the event. */
  | { kind: 'createOrg'; token: string; org: string; repair: Repair }
  | { kind: 'createBucket'; token: string; orgID: string; bucket: string; retentionSeconds: number; repair: Repair }
  | { kind: 'setRetention'; token: string; bucketID: string; retentionSeconds: number; repair: Repair }
  | { kind: 'checkHealth' }
  /** Token rotation: the user's authorizations; a new one with the same permissions; /me with its token; an old or orphaned one deleted. */
  | { kind: 'listAuthorizations'; token: string; userID: string }
  | { kind: 'createAuthorization'; token: string; request: AuthorizationRequest }
  | { kind: 'checkNewToken'; token: string }
  | { kind: 'deleteAuthorization'; token: string; id: string }
  /** Sets the password of the user the operator token belongs to. */
  | { kind: 'setPassword'; token: string; userID: string; password: string }
  /** Signs in with the Secret's username and password, and out again. */
  | { kind: 'checkPassword'; username: string; password: string }
  | { kind: 'writeSecret'; secret: DesiredSecret; credentials: Credentials }
  | { kind: 'postSetup'; request: SetupRequest }
  | { kind: 'postSetupUser'; request: SetupRequest; authToken: string }
  | Finish;

export type RepairStep = Extract<Step, { kind: 'createOrg' | 'createBucket' | 'setRetention' }>;
