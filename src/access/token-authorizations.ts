// What an InfluxToken's authorizations look like in InfluxDB: the marker that ties one to its
// resource for good, the permissions it is created with, and whether the one InfluxDB shows still
// serves the Secret.
import type { EffectiveTokenSpec } from '../api/access-spec.js';
import type { InfluxToken } from '../api/access-types.js';
import type { Authorization, Permission } from '../influx/index.js';

/** What the token controller reads of a listed authorization (v2.9+ lists no token); v1: a v1 (legacy) authorization. */
export type ListedAuthorization = Pick<Authorization, 'id' | 'description'> & { v1?: true };

/** One permission of an application token: read or write one bucket of the org. */
export interface BucketPermission {
  action: 'read' | 'write';
  bucketID: string;
}

/**
 * The marker in an authorization's description that ties it to one InfluxToken for good: its UID,
 * which a re-created resource of the same name does not share. Only the operator writes
 * authorizations (no tenant token may), so the marker is proof.
 */
export function tokenMarker(resource: Pick<InfluxToken, 'metadata'>): string {
  const { namespace, name, uid } = resource.metadata;
  return `[InfluxToken ${namespace}/${name} uid=${uid}]`;
}

export function tokenDescription(spec: EffectiveTokenSpec, resource: Pick<InfluxToken, 'metadata'>): string {
  const marker = tokenMarker(resource);
  return spec.description === '' ? marker : `${spec.description} ${marker}`;
}

// A v1 (legacy) authorization's marker ends in ` v1]` (see v1Description): the sweep reads both.
const TOKEN_MARKER = /\[InfluxToken ([^/\]\s]+)\/([^\]\s]+) uid=([^\]\s]+)(?: v1)?\]$/;

/** The InfluxToken an authorization's marker names; undefined: none. */
export function tokenOf(description: string): { namespace: string; name: string; uid: string } | undefined {
  const match = TOKEN_MARKER.exec(description);
  if (!match) return undefined;
  const [, namespace = '', name = '', uid = ''] = match;
  return { namespace, name, uid };
}

/** Whether an authorization carries this resource's marker (its UID). */
export function isOwn(
  authorization: Pick<Authorization, 'description'>,
  resource: Pick<InfluxToken, 'metadata'>,
): boolean {
  return authorization.description.endsWith(` uid=${resource.metadata.uid}]`);
}

/** This resource's authorizations: found by the UID in their description, also on servers that never show a token again. */
export function ownAuthorizations(
  all: readonly ListedAuthorization[],
  resource: Pick<InfluxToken, 'metadata'>,
): ListedAuthorization[] {
  return all.filter((entry) => isOwn(entry, resource));
}

/** An application token's permissions as InfluxDB takes them: each on one bucket of the org (what serves() reads back). */
export function bucketPermissions(orgID: string, permissions: readonly BucketPermission[]): Permission[] {
  return permissions.map(({ action, bucketID }) => ({ action, resource: { type: 'buckets', id: bucketID, orgID } }));
}

/** `read:<id>,write:<id>`: what the authorization in the Secret was created with, compared as a whole. */
export function permissionsKey(permissions: ReadonlyArray<{ action: string; bucketID: string }>): string {
  return permissions
    .map(({ action, bucketID }) => `${action}:${bucketID}`)
    .sort()
    .join(',');
}

/**
 * The authorization InfluxDB shows serves the Secret as it is: this resource's (its marker), under
 * the namespace's user, active, in the org, with exactly the wanted permissions (each on one
 * bucket of the org), and the Secret's token where InfluxDB still shows tokens (before v2.9; the
 * Secret's own digest vouches for its token everywhere).
 */
export function serves(
  found: Authorization | null,
  owner: { resource: Pick<InfluxToken, 'metadata'>; userID: string | undefined },
  orgID: string,
  wanted: string,
  token: string,
): boolean {
  if (found === null || !found.active || found.orgID !== orgID) return false;
  if (!isOwn(found, owner.resource) || found.userID !== owner.userID) return false;
  if (found.token !== undefined && found.token !== token) return false;
  const onBuckets = found.permissions.flatMap(({ action, resource }) =>
    resource.type === 'buckets' && resource.id !== undefined && resource.orgID === orgID
      ? [{ action, bucketID: resource.id }]
      : [],
  );
  return onBuckets.length === found.permissions.length && permissionsKey(onBuckets) === wanted;
}
