/**
 * Test certificates made with the openssl CLI (Node cannot issue X.509 certificates itself):
 * a throwaway CA and a server certificate it signed. EC P-256 keys keep generation fast.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** `altNames` are subjectAltName entries, e.g. 'IP:127.0.0.1', 'DNS:localhost'. */
export async function createTestCertificates(
  altNames: string[] = ['IP:127.0.0.1', 'DNS:localhost'],
): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'influx-test-tls-'));
  const file = (name: string) => join(dir, name);
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=influx-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      '-new',
      ...EC_KEY,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=influx-test-server',
    ]);
    await writeFile(
      file('server.ext'),
      `subjectAltName=${altNames.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      '1',
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.pem'),
    ]);
    const [caPem, certPem, keyPem] = await Promise.all(
      ['ca.pem', 'server.pem', 'server.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caPem, certPem, keyPem };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
