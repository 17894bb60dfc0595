// A test file's state on real influxd: the shared server of one version, fresh for each test,
// behind recording proxies, and the Secrets it read (kept for the secrecy check).
import * as assert from 'uvu/assert';
import type { Credentials } from './influx-app.js';
import { startInfluxProxy, type InfluxProxy } from './influx-proxy.js';
import { freshInfluxd, type InfluxServer, type RealVersion } from './influxdb.js';
import { OnboardingFile, createNamespace, getSecret, type SecretView } from './onboarding.js';

/** The onboarding these files declare, and the setup request it leads to. */
export const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics', retentionPeriodSeconds: 7200 };
export const SETUP = { path: '/api/v2/setup', method: 'POST' };

/** One file's state for one server version: the shared influxd and the proxies in front of it. */
export class RealInfluxFile extends OnboardingFile {
  proxies: InfluxProxy[] = [];

  constructor(readonly version: RealVersion) {
    super();
  }

  /**
   * A fresh instance of the shared influxd of this version, behind a new recording proxy. The
   * earlier tests' proxies close first: their resources, still reconciled, would otherwise set
   * the wiped instance up again (they are Reonboard resources), and only this test's may.
   */
  async fresh(): Promise<{ server: InfluxServer; proxy: InfluxProxy }> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
    const server = await freshInfluxd(this.version);
    const proxy = await startInfluxProxy(server.url);
    this.proxies.push(proxy);
    return { server, proxy };
  }

  /**
   * A namespace that the file's operator does not watch, for tests that run operators of their
   * own (and kill them).
   */
  async unwatchedNamespace(): Promise<string> {
    this.unwatched ??= await createNamespace(`${this.namespace}-own`);
    return this.unwatched;
  }

  private unwatched: string | undefined;

  async secret(name: string, namespace = this.namespace): Promise<SecretView> {
    const secret = await getSecret(namespace, name);
    assert.ok(secret, `Secret ${name} exists`);
    this.ledger.addSecret(secret);
    return secret;
  }

  override async tearDown(): Promise<void> {
    for (const proxy of this.proxies) this.ledger.addRequests(proxy.requests);
    await super.tearDown();
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}

/** The Secret's credentials, pointed at the server itself (the Secret's url is the proxy's). */
export function credentialsOf(secret: SecretView, server: InfluxServer): Credentials {
  const { org = '', bucket = '', username, password, token = '' } = secret.data;
  return {
    url: server.url,
    org,
    bucket,
    token,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}
