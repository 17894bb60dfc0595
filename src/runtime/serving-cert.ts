// @peculiar/x509 resolves its classes through tsyringe, which needs the Reflect metadata API;
// the polyfill must be loaded before the library, which ES module evaluation order guarantees.
import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';

/** A PEM certificate (chain) and its PEM private key. */
export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

/** Where a TLS server gets its certificate, and whether it should look again later. */
export interface CertificateSource {
  load(): Promise<ServingCertificate>;
  /** Reload this often (a file that cert-manager rotates); undefined: the certificate never changes. */
  refreshMs?: number;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/**
 * A certificate signed by its own fresh key, made at start and kept in memory only: nothing to
 * leak from the chart or a volume. No client can verify it (there is no CA), so it protects the
 * scrape against eavesdropping, not against an active man in the middle; mount a certificate
 * from a CA (certificateDirectory) where that matters. Valid for a year from a minute ago
 * (clock skew), as controller-runtime's self-signed certificates are.
 */
async function selfSignedCertificate(
  commonName: string,
  hosts: readonly string[],
  now: Date,
): Promise<ServingCertificate> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${commonName}`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 365 * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
        new SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host }))),
      ],
    },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: certificate.toString('pem'), keyPem: PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** A self-signed certificate made once, at the first load. */
export function selfSigned(commonName: string, hosts: readonly string[]): CertificateSource {
  let made: Promise<ServingCertificate> | undefined;
  return { load: () => (made ??= selfSignedCertificate(commonName, hosts, new Date())) };
}

/**
 * `tls.crt` and `tls.key` in a directory, as a mounted Secret of type kubernetes.io/tls (from
 * cert-manager, say) lays them out. Read again every minute: the kubelet updates a mounted Secret
 * in place when cert-manager renews it, and a server holding the old one would serve it expired.
 */
export function certificateDirectory(directory: string): CertificateSource {
  return {
    load: async () => {
      const [certPem, keyPem] = await Promise.all(
        ['tls.crt', 'tls.key'].map((file) => readFile(join(directory, file), 'utf8')),
      );
      return { certPem: certPem ?? '', keyPem: keyPem ?? '' };
    },
    refreshMs: 60_000,
  };
}
