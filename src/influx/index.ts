// The InfluxDB client's public face: what the rest of the operator may use of src/influx.
export { parseAllowedTargets, type AllowedTarget } from './address-policy.js';
export { InfluxClientPool } from './pool.js';
export type {
  Authorization,
  AuthorizationRequest,
  BucketInfo,
  BucketState,
  Created,
  CreatedAuthorization,
  Deletion,
  Health,
  InfluxClient,
  InfluxFailure,
  InfluxTarget,
  Outcome,
  Permission,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  SetupStatus,
  TokenOwner,
} from './types.js';
