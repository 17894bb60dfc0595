import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed API-server call, or undefined for anything else (network, bugs). */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException || error instanceof KubeApiError ? error.code : undefined;
}

/** A failed API-server call, told in one line: client-node's own message carries the whole body and headers. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

function statusOf(body: unknown): { reason?: string; message?: string } {
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof parsed === 'object' && parsed !== null) {
      const { reason, message } = parsed as Record<string, unknown>;
      return { ...(typeof reason === 'string' && { reason }), ...(typeof message === 'string' && { message }) };
    }
  } catch {
    // Not a Status object (a proxy's page, an empty body): the HTTP code alone must do.
  }
  return {};
}

/** Runs one API call; an ApiException becomes a KubeApiError naming what was being done. */
export async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = statusOf(error.body);
    const reason = status.reason ?? 'Unknown';
    throw new KubeApiError(
      error.code,
      reason,
      `${what}: ${error.code} ${reason}${status.message ? `: ${status.message}` : ''}`,
    );
  }
}
