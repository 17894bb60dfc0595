export { bucketPermissions, createInfluxClient } from './client.js';
export { parseAllowedTargets, type AddressPolicy, type AllowedTarget, type RefusalReason } from './address-policy.js';
export type {
  Authorization,
  AuthorizationFilter,
  AuthorizationRequest,
  BucketInfo,
  BucketPermission,
  CreatedAuthorization,
  Deletion,
  Health,
  InfluxClient,
  InfluxClientOptions,
  InfluxFailure,
  Outcome,
  Permission,
  RequestSample,
  ResourceIDs,
  SetupRequest,
  SetupResult,
  TokenOwner,
  UnreachableReason,
} from './types.js';
