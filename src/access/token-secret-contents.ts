// What an InfluxToken's Secret holds: the canonical keys, and the keys, type, labels and
// annotations its spec.secretTemplate adds, rendered from what the reconcile knows. Pure; a value
// is never logged.
import {
  PLAIN_SHAPE,
  type DesiredTokenSecret,
  type SecretShape,
  type TokenSecret,
  type V1InSecret,
} from '../api/access-types.js';
import { renderSecretTemplate } from '../api/secret-template.js';
import type { SecretTemplate, TemplateValues } from '../api/template-types.js';

const FIELD = 'spec.secretTemplate';

/** What the reconcile knows besides the token. */
export interface KnownValues {
  url: string;
  org: string;
  orgID: string;
  /** The bucket, when the permissions name exactly one; influxql: its InfluxBucket's spec.influxql. */
  bucket?: { name: string; id: string; influxql?: { database: string; retentionPolicy: string } };
  /** spec.v1 is set: the v1 values exist (empty until the credentials are made). */
  v1: boolean;
}

export type TokenSecretContents =
  /** shape: undefined without a template (PLAIN_SHAPE). */
  | { ok: true; shape?: SecretShape; data: (token: string, v1?: V1InSecret) => Record<string, string> }
  /** The template reads a value this resource does not have: each problem names the key and the value. */
  | { ok: false; problems: string[] };

/**
 * The Secret's data for a token and its shape. Which values exist does not depend on the token, so
 * a template that reads a missing one is refused before any authorization is created.
 */
export function tokenSecretContents(template: SecretTemplate | undefined, known: KnownValues): TokenSecretContents {
  const { url, org, orgID, bucket } = known;
  const canonical = (token: string, v1: V1InSecret | undefined): Record<string, string> => ({
    url,
    org,
    token,
    ...(bucket && { bucket: bucket.name }),
    ...(v1 && { 'v1-username': v1.username }),
    ...(v1?.password !== undefined && { 'v1-password': v1.password }),
    ...(v1?.pendingPassword !== undefined && { 'v1-pending-password': v1.pendingPassword }),
  });
  if (template === undefined) return { ok: true, data: canonical };
  const values = (token: string, v1: V1InSecret | undefined): TemplateValues => ({
    url,
    org,
    orgID,
    token,
    ...(bucket && { bucket: bucket.name, bucketID: bucket.id }),
    ...(bucket?.influxql && { database: bucket.influxql.database, retentionPolicy: bucket.influxql.retentionPolicy }),
    // Until the credentials are made, their values are empty: the resource is not Ready before.
    ...(known.v1 && { v1Username: v1?.username ?? '', v1Password: v1?.password ?? '' }),
  });
  const checked = renderSecretTemplate(template, values('', undefined), FIELD);
  if (!checked.ok) return checked;
  const { type, labels, annotations } = template;
  return {
    ok: true,
    shape: { type, labels, annotations },
    data: (token, v1) => {
      const rendered = renderSecretTemplate(template, values(token, v1), FIELD);
      // Unreachable: the same values were checked above with another token.
      if (!rendered.ok) throw new Error(rendered.problems.join('; '));
      return { ...rendered.data, ...canonical(token, v1) };
    },
  };
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/** The Secret holds the desired data and shape as they are (a changed template value or label is written again, a dropped one removed). */
export function secretHolds(observed: Extract<TokenSecret, { state: 'owned' }>, desired: DesiredTokenSecret): boolean {
  const shape = observed.shape ?? PLAIN_SHAPE;
  const wanted = desired.shape ?? PLAIN_SHAPE;
  const v1 = (entry: V1InSecret | undefined) =>
    entry && `${entry.authorizationID} ${entry.permissions} ${JSON.stringify(entry.rotated)}`;
  return (
    sameMap(observed.data, desired.data) &&
    v1(observed.v1) === v1(desired.v1) &&
    shape.type === wanted.type &&
    sameMap(shape.labels, wanted.labels) &&
    sameMap(shape.annotations, wanted.annotations)
  );
}

/**
 * Why the Secret cannot take the shape: Kubernetes never changes a Secret's type in place, and the
 * operator does not delete a Secret that holds a working token. undefined when it can.
 */
export function typeChangeRefused(
  secretName: string,
  observed: TokenSecret,
  shape: SecretShape = PLAIN_SHAPE,
): string | undefined {
  if (observed.state !== 'owned') return undefined;
  const type = (observed.shape ?? PLAIN_SHAPE).type;
  if (type === shape.type) return undefined;
  return `Secret ${secretName} has type ${type} and the InfluxToken asks for ${shape.type} (spec.secretTemplate.type), which Kubernetes cannot change in place; delete the Secret to have it written again (its token is then replaced)`;
}
