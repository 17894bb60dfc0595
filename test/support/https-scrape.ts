// One GET over HTTPS the way Prometheus scrapes a secure /metrics: an optional bearer token, and
// either a CA to verify the server with or (a self-signed certificate, as kubebuilder's
// ServiceMonitor does with insecureSkipVerify) no verification at all. The certificate the server
// presented comes back, so a test can check what it skipped verifying.
import https from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface Scrape {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  certificate: PeerCertificate;
}

export function scrapeHttps(url: string, options: { token?: string; caPem?: string } = {}): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        agent: false,
        headers: options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` },
        ...(options.caPem === undefined ? { rejectUnauthorized: false } : { ca: options.caPem }),
      },
      (response) => {
        const certificate = (response.socket as TLSSocket).getPeerCertificate();
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, certificate }),
        );
        response.on('error', reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`timeout: GET ${url}`)));
    request.on('error', reject);
    request.end();
  });
}
