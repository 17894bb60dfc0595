// What the InfluxBucket and InfluxToken decision tests share: a clock, a drift interval, the
// connection a granted namespace reaches its onboarding through, and access on given terms.
import type { Connection, OnboardingAccess } from '../../src/access/access.js';
import type { BucketResolution } from '../../src/access/token-facts.js';
import type { AccessRecord } from '../../src/api/access-records.js';
import type { GrantTerms } from '../../src/api/access-from.js';
import type { CreatedAuthorization } from '../../src/influx/types.js';

export const NOW = '2026-01-01T00:00:00.000Z';
export const DRIFT = 60_000;
export const refOf = { name: 'influxdb', namespace: 'monitoring' };

export const connection: Connection = {
  onboarding: 'monitoring/influxdb',
  target: { url: 'http://influxdb:8086', timeoutMs: 10_000, insecureSkipVerify: false, tenant: 'monitoring' },
  token: 'operator-token-value',
  org: 'acme',
  orgID: 'org1',
  onboardingBucket: 'platform',
  onboardingBucketID: 'b-platform',
};

/** A namespace granted by name: no names outside its prefix, nothing to adopt, no limits. */
export const GRANTED: GrantTerms = { home: false, bucketNames: [], adoptBuckets: [], databases: [], limits: {} };

/** Access for a granted namespace, on these terms over GRANTED. */
export function granted(terms: Partial<GrantTerms> = {}): OnboardingAccess {
  return { kind: 'ready', connection, terms: { ...GRANTED, ...terms } };
}

/** The onboarding exists but is not Ready: a deletion waits for it at the drift interval. */
export const WAITING: OnboardingAccess = {
  kind: 'waiting',
  reason: 'OnboardingNotReady',
  message: 'InfluxOnboarding monitoring/influxdb is not Ready (Unreachable)',
  gone: false,
};

/** The InfluxToken tests' namespace user and buckets: metrics (b1) and other (b2), both Ready and recorded. */
export const TOKEN_USER = 'u-app-a';
export const TOKEN_BUCKETS: Record<string, BucketResolution> = {
  metrics: { kind: 'found', uid: 'uid-metrics', name: 'metrics', deleting: false, readyReason: 'BucketReady' },
  other: { kind: 'found', uid: 'uid-other', name: 'other', deleting: false, readyReason: 'BucketReady' },
};

/** The operator's record of namespace app-a with the user, both buckets and the InfluxToken `tokenName` (UID tok-uid). */
export function tokenRecord(tokenName: string): AccessRecord {
  return {
    userID: TOKEN_USER,
    buckets: { 'uid-metrics': { name: 'app-a.metrics', id: 'b1' }, 'uid-other': { name: 'app-a.other', id: 'b2' } },
    tokens: { 'tok-uid': tokenName },
  };
}

/** What InfluxDB answers a create with, where a test needs only its ID and token. */
export function createdAuthorization(id: string, token: string): CreatedAuthorization {
  return { id, token, description: '', orgID: connection.orgID, userID: TOKEN_USER, active: true, permissions: [] };
}
