// Uses the credentials in a Secret exactly as an application would: the official client library
// writes a point to the Secret's org and bucket with the Secret's token and reads it back with
// Flux; the Secret's username and password sign in. This is what Ready=True has to mean.
import { randomBytes } from 'node:crypto';
import { HttpError, InfluxDB, Point } from '@influxdata/influxdb-client';
import { InfluxAdmin } from './influx-http.js';

export interface Credentials {
  url: string;
  org: string;
  bucket: string;
  username?: string;
  password?: string;
  token: string;
}

/** Writes one point with a unique tag and returns how many rows a Flux query finds for it. */
async function writeAndQuery(credentials: Credentials): Promise<number> {
  const client = new InfluxDB({ url: credentials.url, token: credentials.token, timeout: 15_000 });
  const probe = randomBytes(6).toString('hex');
  const writer = client.getWriteApi(credentials.org, credentials.bucket, 'ms', { maxRetries: 0 });
  writer.writePoint(new Point('onboarding_probe').tag('probe', probe).floatField('value', 1).timestamp(new Date()));
  await writer.close();
  const rows = await client
    .getQueryApi(credentials.org)
    .collectRows(
      `from(bucket: ${JSON.stringify(credentials.bucket)}) |> range(start: -1h) |> filter(fn: (r) => r._measurement == "onboarding_probe" and r.probe == ${JSON.stringify(probe)})`,
    );
  return rows.length;
}

export interface ProvenUse {
  /** GET /api/v2/me with the token. */
  me: number;
  /** Rows found after one write (1 when the token can write and read its bucket). */
  rows: number;
  /** POST /api/v2/signin with username and password (absent when the Secret has no password). */
  signIn?: number;
}

/** Everything an application does with the credentials, as numbers a test can compare. */
export async function useCredentials(credentials: Credentials): Promise<ProvenUse> {
  const admin = new InfluxAdmin(credentials.url);
  const me = await admin.meStatus(credentials.token);
  const rows = await writeAndQuery(credentials);
  if (!credentials.password || credentials.username === undefined) return { me, rows };
  return { me, rows, signIn: await admin.signInStatus(credentials.username, credentials.password) };
}

/** The HTTP status the official client met: 204 for a write, 200 for a query that worked, else the server's error status. */
async function statusOf(run: () => Promise<unknown>, success: number): Promise<number> {
  try {
    await run();
    return success;
  } catch (error) {
    if (error instanceof HttpError) return error.statusCode;
    throw error;
  }
}

/** One point written to the bucket with the official client: 204, or the status InfluxDB refused it with. */
export function writeStatus(credentials: Omit<Credentials, 'username' | 'password'>): Promise<number> {
  const client = new InfluxDB({ url: credentials.url, token: credentials.token, timeout: 15_000 });
  const writer = client.getWriteApi(credentials.org, credentials.bucket, 'ms', { maxRetries: 0 });
  writer.writePoint(new Point('access_probe').floatField('value', 1).timestamp(new Date()));
  return statusOf(() => writer.close(), 204);
}

/** A Flux query of the bucket with the official client: 200 (and the rows), or the status InfluxDB refused it with. */
export async function readStatus(
  credentials: Omit<Credentials, 'username' | 'password'>,
): Promise<{ status: number; rows: number }> {
  const client = new InfluxDB({ url: credentials.url, token: credentials.token, timeout: 15_000 });
  let rows = 0;
  const status = await statusOf(async () => {
    rows = (
      await client
        .getQueryApi(credentials.org)
        .collectRows(`from(bucket: ${JSON.stringify(credentials.bucket)}) |> range(start: -1h)`)
    ).length;
  }, 200);
  return { status, rows };
}
