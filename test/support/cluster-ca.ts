// The certificate authority of the full control plane (startControlPlane({ full })), as kubeadm
// makes one: it signs the API server's serving certificate (valid for 127.0.0.1, the node's
// address, the `kubernetes` Service's address and names, so the same certificate serves the
// harness on the host, the node's components and Pods' in-cluster clients) and the client
// certificate the API server shows the kubelet for logs and exec. ECDSA P-256, made in-process.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
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

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface ClusterCa {
  readonly certPem: string;
  /** A server certificate for `hosts` (IP addresses and DNS names). */
  server(commonName: string, hosts: readonly string[]): Promise<IssuedCertificate>;
  /** A client certificate: `commonName` is the user name, `organizations` its groups. */
  client(commonName: string, organizations: readonly string[]): Promise<IssuedCertificate>;
}

const newKeys = () => webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
const keyPem = async (key: webcrypto.CryptoKey) =>
  PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

export async function clusterCa(commonName: string): Promise<ClusterCa> {
  const now = Date.now();
  // From a minute ago (clock skew between the components is nil here, but costs nothing) for two days.
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 2 * DAY_MS) };
  const caKeys = await newKeys();
  const ca = await X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${commonName}`,
      ...validity,
      keys: caKeys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(
          KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature,
          true,
        ),
      ],
    },
    webcrypto,
  );
  let serial = 1;
  const issue = async (subject: string, usage: ExtendedKeyUsage, hosts: readonly string[]) => {
    const keys = await newKeys();
    const certificate = await X509CertificateGenerator.create(
      {
        serialNumber: (++serial).toString(16).padStart(2, '0'),
        subject,
        issuer: ca.subject,
        ...validity,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
          new ExtendedKeyUsageExtension([usage]),
          ...(hosts.length > 0
            ? [
                new SubjectAlternativeNameExtension(
                  hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host })),
                ),
              ]
            : []),
        ],
      },
      webcrypto,
    );
    return { certPem: certificate.toString('pem'), keyPem: await keyPem(keys.privateKey) };
  };
  return {
    certPem: ca.toString('pem'),
    server: (name, hosts) => issue(`CN=${name}`, ExtendedKeyUsage.serverAuth, hosts),
    client: (name, organizations) =>
      issue([`CN=${name}`, ...organizations.map((o) => `O=${o}`)].join(', '), ExtendedKeyUsage.clientAuth, []),
  };
}
