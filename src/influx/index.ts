export { createInfluxClient } from './client.js';
export type {
  Health,
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
