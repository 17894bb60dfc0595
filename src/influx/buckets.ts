// InfluxDB's bucket requests: read a bucket (with the version InfluxDB runs), find one by name or
// ID, create, change (name, retention, description) and delete.
import { foundByID, orNull, versioned, type Requests } from './requests.js';
import type { BucketInfo, BucketState, Created, Deletion, Outcome } from './types.js';
import { findBucket as bucketNamed, parseBucket, parseBucketInfo, parseCreated, retentionRules } from './wire.js';

/** A bucket's path. */
function bucketPath(bucketID: string): string {
  return `/api/v2/buckets/${encodeURIComponent(bucketID)}`;
}

export function bucket(requests: Requests, token: string, bucketID: string): Promise<Outcome<BucketState>> {
  return requests.call(
    { method: 'GET', path: bucketPath(bucketID), endpoint: 'GET /api/v2/buckets/{id}', authToken: token },
    versioned({ parse: parseBucket, secrets: [token] }),
  );
}

export function createBucket(
  requests: Requests,
  token: string,
  orgID: string,
  name: string,
  retentionSeconds: number,
  description?: string,
): Promise<Outcome<Created>> {
  const body = {
    orgID,
    name,
    retentionRules: retentionRules(retentionSeconds),
    ...(description !== undefined && { description }),
  };
  return requests.call(
    { method: 'POST', path: '/api/v2/buckets', endpoint: 'POST /api/v2/buckets', body, authToken: token },
    { parse: parseCreated, secrets: [token] },
  );
}

export function setRetention(
  requests: Requests,
  token: string,
  bucketID: string,
  retentionSeconds: number,
): Promise<Outcome<Created>> {
  return patchBucket(requests, token, bucketID, { retentionRules: retentionRules(retentionSeconds) });
}

export function findBucket(
  requests: Requests,
  token: string,
  orgID: string,
  name: string,
): Promise<Outcome<BucketInfo | null>> {
  return orNull(
    requests.call(
      {
        method: 'GET',
        path: '/api/v2/buckets',
        endpoint: 'GET /api/v2/buckets',
        query: { orgID, name },
        authToken: token,
      },
      { parse: (json) => bucketNamed(json, name), secrets: [token] },
    ),
  );
}

export function findBucketByID(
  requests: Requests,
  token: string,
  bucketID: string,
): Promise<Outcome<BucketInfo | null>> {
  return foundByID(
    requests.call(
      { method: 'GET', path: bucketPath(bucketID), endpoint: 'GET /api/v2/buckets/{id}', authToken: token },
      { parse: parseBucketInfo, secrets: [token] },
    ),
  );
}

export function describeBucket(
  requests: Requests,
  token: string,
  bucketID: string,
  description: string,
): Promise<Outcome<Created>> {
  return patchBucket(requests, token, bucketID, { description });
}

export function renameBucket(
  requests: Requests,
  token: string,
  bucketID: string,
  name: string,
): Promise<Outcome<Created>> {
  return patchBucket(requests, token, bucketID, { name });
}

function patchBucket(
  requests: Requests,
  token: string,
  bucketID: string,
  body: Record<string, unknown>,
): Promise<Outcome<Created>> {
  return requests.call(
    { method: 'PATCH', path: bucketPath(bucketID), endpoint: 'PATCH /api/v2/buckets/{id}', body, authToken: token },
    { parse: parseCreated, secrets: [token] },
  );
}

export function deleteBucket(requests: Requests, token: string, bucketID: string): Promise<Outcome<Deletion>> {
  return requests.remove(token, bucketPath(bucketID), 'DELETE /api/v2/buckets/{id}');
}
