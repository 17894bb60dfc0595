export { createInfluxClient } from './client.js';
export { parseAllowedTargets, type AddressPolicy, type AllowedTarget, type RefusalReason } from './address-policy.js';
export type {
  AuthorizationInfo,
  BucketInfo,
  BucketPermission,
  Deletion,
  Health,
  IssuedAuthorization,
  InfluxClient,
  InfluxClientOptions,
  InfluxFailure,
  Outcome,
  RequestSample,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  TokenOwner,
  UnreachableReason,
} from './types.js';
