// Which InfluxDB instance credentials belong to, as the resource's author wrote it: a URL compared
// by the server it names, and the TLS settings the credentials are bound to.
import type { EffectiveSpec } from './types.js';

/**
 * A URL as compared with another the same resource's author wrote (an approval, a consent): two
 * URLs that differ only in letter case of scheme and host, a default port or a trailing slash
 * name the same server. (Which instance a URL reaches, whatever its spelling, and whose it is:
 * onboarding/instance.ts.)
 */
export function instanceKey(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/**
 * Whether two URLs name the same instance (see instanceKey). False when either is not a URL: a
 * hand-written annotation or Secret value that cannot be read never approves anything.
 */
export function sameInstance(a: string, b: string): boolean {
  try {
    return instanceKey(a) === instanceKey(b);
  } catch {
    return false;
  }
}

/** The TLS settings credentials are bound to, as one readable value, e.g. `caSecretRef=influx-ca/ca.crt,insecureSkipVerify=false`. */
export function tlsSettings(spec: Pick<EffectiveSpec, 'caSecretRef' | 'insecureSkipVerify'>): string {
  const ca = spec.caSecretRef === undefined ? 'none' : `${spec.caSecretRef.name}/${spec.caSecretRef.key}`;
  return `caSecretRef=${ca},insecureSkipVerify=${spec.insecureSkipVerify}`;
}
