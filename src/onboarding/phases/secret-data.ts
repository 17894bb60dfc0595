// What the credentials Secret holds and what it must hold: the credentials with the instance they
// belong to (URL and TLS settings), and the desired Secret a phase asks to write.
import type {
  Credentials,
  CredentialsSecret,
  CredentialsTarget,
  DesiredSecret,
  TemplatedSecret,
} from '../../api/credentials.js';
import { renderSecretTemplate } from '../../api/secret-template.js';
import type { SecretTemplate } from '../../api/template-types.js';
import { sameInstance, tlsSettings } from '../../api/instance-identity.js';
import type { EffectiveSpec } from '../../api/types.js';
import type { BoundCredentials } from '../facts.js';

/**
 * The credentials the Secret holds and the instance they belong to, or undefined without a
 * username and token. The password may be empty: an adopted instance's password is not known
 * unless spec.passwordSecretRef gives it.
 */
export function credentialsIn(secret: CredentialsSecret): BoundCredentials | undefined {
  if (secret.state !== 'owned') return undefined;
  const { url, username, password, token } = secret.data;
  if (!username || !token) return undefined;
  return {
    credentials: { username, password: password ?? '', token },
    target: { ...(url && { url }), ...(secret.tls !== undefined && { tls: secret.tls }) },
  };
}

/** The instance a spec aims at: credentials may be used only with the target they belong to. */
export function targetOf(spec: EffectiveSpec): Required<CredentialsTarget> {
  return { url: spec.url, tls: tlsSettings(spec) };
}

/** Whether credentials bound to `bound` belong to `wanted`; what is not known about `bound` does not count against it. */
export function sameTarget(bound: CredentialsTarget, wanted: Required<CredentialsTarget>): boolean {
  return (
    (bound.url === undefined || sameInstance(bound.url, wanted.url)) &&
    (bound.tls === undefined || bound.tls === wanted.tls)
  );
}

export function describeTarget(target: CredentialsTarget): string {
  return `${target.url ?? 'an unrecorded URL'} (TLS ${target.tls ?? 'settings unrecorded'})`;
}

/** What the Secret records of password and token rotation besides the password and token themselves. */
export type RotationRecord = Pick<
  DesiredSecret,
  'pendingPassword' | 'passwordRotation' | 'tokenRotation' | 'authorizationID' | 'replacedAuthorization'
>;

/**
 * The Secret for these credentials, bound to the instance the spec names, or to `target` where it
 * tells another (credentials written back where they belong while a move waits for approval).
 */
export function desiredSecret(
  spec: EffectiveSpec,
  credentials: Credentials,
  record: RotationRecord = {},
  target: CredentialsTarget = {},
): DesiredSecret {
  const data = {
    url: target.url ?? spec.url,
    org: spec.org,
    bucket: spec.bucket,
    username: credentials.username,
    password: credentials.password,
    token: credentials.token,
  };
  const templated = spec.secretTemplate && templatedSecret(spec.secretTemplate, data);
  return {
    name: spec.credentialsSecretName,
    tls: target.tls ?? tlsSettings(spec),
    garbageCollected: spec.deletionPolicy === 'Delete',
    ...record,
    data,
    ...(templated && { templated }),
  };
}

/** The template rendered over the Secret's own values (url, org, bucket, token), as spec.ts checked it. */
function templatedSecret(template: SecretTemplate, data: DesiredSecret['data']): TemplatedSecret {
  const { url, org, bucket, token } = data;
  const rendered = renderSecretTemplate(template, { url, org, bucket, token }, 'spec.secretTemplate');
  // Unreachable: checkSpec rendered it with these values' names.
  if (!rendered.ok) throw new Error(rendered.problems.join('; '));
  return { data: rendered.data, labels: template.labels, annotations: template.annotations };
}

function sameMap(a: Readonly<Record<string, string>> = {}, b: Readonly<Record<string, string>> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

function sameTemplated(a: TemplatedSecret | undefined, b: TemplatedSecret | undefined): boolean {
  return sameMap(a?.data, b?.data) && sameMap(a?.labels, b?.labels) && sameMap(a?.annotations, b?.annotations);
}

/** Whether the Secret holds what `desired` says; a record field `desired` leaves out (undefined) is not compared. */
export function secretMatches(secret: CredentialsSecret, desired: DesiredSecret): boolean {
  if (secret.state !== 'owned' || secret.garbageCollected !== desired.garbageCollected || secret.tls !== desired.tls)
    return false;
  if (!sameTemplated(secret.templated, desired.templated)) return false;
  const recorded: Array<[string | null | undefined, string | undefined]> = [
    [desired.pendingPassword, secret.pendingPassword],
    [desired.passwordRotation, secret.passwordRotation],
    [desired.tokenRotation, secret.tokenRotation],
    [desired.authorizationID, secret.authorizationID],
    [desired.replacedAuthorization, secret.replacedAuthorization],
  ];
  // null asks for the field's removal: it matches a Secret without it.
  if (recorded.some(([wanted, held]) => wanted !== undefined && held !== (wanted ?? undefined))) return false;
  return (Object.keys(desired.data) as Array<keyof DesiredSecret['data']>).every(
    (key) => secret.data[key] === desired.data[key],
  );
}
