import { createHash } from 'node:crypto';
import { ApiException } from '@kubernetes/client-node';
import type { AuthenticationV1Api, AuthorizationV1Api } from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';

/** What a bearer token may do: not a valid token, valid but not allowed, or allowed. */
export type Access = 'unauthenticated' | 'forbidden' | 'allowed';

/** Decides what a bearer token may do on one endpoint. Rejects only when the decision could not be made. */
export type AccessReview = (token: string) => Promise<Access>;

/** A non-resource request as RBAC sees it: `get` on `/metrics`. */
interface NonResourceAccess {
  path: string;
  verb: string;
}

/**
 * A failed review call, told without the response: client-node's ApiException message carries the
 * whole body, and a TokenReview's body echoes the token it was asked about.
 */
function reviewFailed(what: string, error: unknown): Error {
  const code = error instanceof ApiException ? ` (HTTP ${error.code})` : '';
  return new Error(`${what} failed${code}`);
}

/**
 * What kube-rbac-proxy and controller-runtime's authentication filter do: a TokenReview says who
 * the token belongs to, then a SubjectAccessReview says whether that user may `access.verb` the
 * non-resource URL `access.path`. Both run as the operator's own identity, which needs `create`
 * on tokenreviews and subjectaccessreviews.
 */
export function kubernetesAccessReview(
  authentication: Pick<AuthenticationV1Api, 'createTokenReview'>,
  authorization: Pick<AuthorizationV1Api, 'createSubjectAccessReview'>,
  access: NonResourceAccess,
): AccessReview {
  return async (token) => {
    const tokenReview = await authentication
      .createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } })
      .catch((error: unknown) => {
        throw reviewFailed('TokenReview', error);
      });
    const user = tokenReview.status?.user;
    if (tokenReview.status?.authenticated !== true || user === undefined) return 'unauthenticated';
    const accessReview = await authorization
      .createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            ...(user.username !== undefined && { user: user.username }),
            ...(user.uid !== undefined && { uid: user.uid }),
            ...(user.groups !== undefined && { groups: user.groups }),
            ...(user.extra !== undefined && { extra: user.extra }),
            nonResourceAttributes: { path: access.path, verb: access.verb },
          },
        },
      })
      .catch((error: unknown) => {
        throw reviewFailed('SubjectAccessReview', error);
      });
    return accessReview.status?.allowed === true ? 'allowed' : 'forbidden';
  };
}

interface AccessCacheOptions {
  /** How long a decision is reused; default 10 s. */
  ttlMs?: number;
  /** Most tokens remembered at once; default 256. */
  maxEntries?: number;
  clock?: Clock;
}

/**
 * Reuses each token's decision for a short while: every scrape would otherwise cost the API
 * server two reviews, and several scrapers, retries or a client sending bad tokens in a loop
 * would multiply that. 10 s is short enough that a revoked RoleBinding or token stops working
 * about at once, and long enough to absorb bursts; controller-runtime caches longer (minutes),
 * which we do not need at one scrape every 15-30 s. Denials are cached too (a flood of bad tokens
 * must not become a flood of reviews); failed reviews are not (the next scrape asks again).
 * Concurrent requests with one token share one review. Keys are SHA-256 digests, so the cache
 * holds no token, and its size is bounded (the oldest entry goes first).
 */
export function cacheAccess(review: AccessReview, options: AccessCacheOptions = {}): AccessReview {
  const ttlMs = options.ttlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 256;
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, { expiresAt: number; access: Promise<Access> }>();
  return (token) => {
    const key = createHash('sha256').update(token).digest('hex');
    const now = clock.now();
    const cached = entries.get(key);
    if (cached !== undefined && cached.expiresAt > now) return cached.access;
    entries.delete(key);
    for (const [oldest, entry] of entries) {
      if (entries.size < maxEntries && entry.expiresAt > now) break;
      entries.delete(oldest);
    }
    const access = review(token);
    entries.set(key, { expiresAt: now + ttlMs, access });
    access.catch(() => {
      if (entries.get(key)?.access === access) entries.delete(key);
    });
    return access;
  };
}
