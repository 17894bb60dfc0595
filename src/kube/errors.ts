import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed API-server call, or undefined for anything else (network, bugs). */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}
