// Plain HTTP to an InfluxDB (real or stand-in) as a test drives it: the conformance table, the
// end-to-end checks that use credentials the way an application would, and the steps that play
// "someone else" (setting an instance up, revoking a token). Knows nothing of the operator.
import { request as httpRequest } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface RawRequest {
  method?: string;
  /** Path with query. */
  path: string;
  /** `Token <token>` is sent for this. */
  token?: string;
  /** Sent as the Authorization header exactly (e.g. `Bearer x`, `Basic ...`). */
  authorization?: string;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request on its own connection (no sockets linger after a test). */
export function influxRequest(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const url = new URL(request.path, baseUrl);
  const payload =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
  const headers: Record<string, string> = { ...request.headers };
  if (request.token !== undefined) headers.Authorization = `Token ${request.token}`;
  if (request.authorization !== undefined) headers.Authorization = request.authorization;
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: request.method ?? 'GET', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers))
          if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: res.statusCode ?? 0, headers: flat, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(request.timeoutMs ?? 15_000, () =>
      req.destroy(new Error(`timeout: ${request.method ?? 'GET'} ${url.href}`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function expectStatus(answer: RawAnswer, status: number, what: string): void {
  if (answer.status !== status)
    throw new Error(`${what}: expected ${status}, got ${answer.status} ${answer.text.slice(0, 300)}`);
}

const objectOf = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');
const idIn = (value: unknown, key: string): string => textOf(objectOf(objectOf(value)[key]).id);

export interface SetUpInstance {
  token: string;
  userID: string;
  orgID: string;
  bucketID: string;
  authorizationID: string;
}

export interface BucketView {
  id: string;
  name: string;
  orgID: string;
  description: string;
  everySeconds: number;
  shardGroupDurationSeconds: number;
}

/**
 * What a person or another tool does to an InfluxDB behind the operator's back, through its
 * public API only, so the same step works on a real server and on the stand-in.
 */
export class InfluxAdmin {
  constructor(readonly url: string) {}

  request(request: RawRequest): Promise<RawAnswer> {
    return influxRequest(this.url, request);
  }

  async setupAllowed(): Promise<boolean> {
    const answer = await this.request({ path: '/api/v2/setup' });
    expectStatus(answer, 200, 'GET /api/v2/setup');
    return objectOf(answer.json).allowed === true;
  }

  /** `influx setup` as someone else runs it. */
  async setUp(body: {
    username: string;
    password?: string;
    org: string;
    bucket: string;
    retentionPeriodSeconds?: number;
    token?: string;
  }): Promise<SetUpInstance> {
    const answer = await this.request({ method: 'POST', path: '/api/v2/setup', body });
    expectStatus(answer, 201, 'POST /api/v2/setup');
    const auth = objectOf(objectOf(answer.json).auth);
    return {
      token: textOf(auth.token),
      userID: idIn(answer.json, 'user'),
      orgID: idIn(answer.json, 'org'),
      bucketID: idIn(answer.json, 'bucket'),
      authorizationID: textOf(auth.id),
    };
  }

  async deleteAuthorization(adminToken: string, id: string): Promise<void> {
    expectStatus(
      await this.request({ method: 'DELETE', path: `/api/v2/authorizations/${id}`, token: adminToken }),
      204,
      'DELETE authorization',
    );
  }

  async setAuthorizationStatus(adminToken: string, id: string, status: 'active' | 'inactive'): Promise<void> {
    const answer = await this.request({
      method: 'PATCH',
      path: `/api/v2/authorizations/${id}`,
      token: adminToken,
      body: { status },
    });
    expectStatus(answer, 200, 'PATCH authorization');
  }

  /** The status of GET /api/v2/me with this token: 200 when it works. */
  async meStatus(token: string): Promise<number> {
    return (await this.request({ path: '/api/v2/me', token })).status;
  }

  /** POST /api/v2/signin with basic auth, then sign out again: 204 when the password is right. */
  async signInStatus(username: string, password: string): Promise<number> {
    const basic = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    const answer = await this.request({ method: 'POST', path: '/api/v2/signin', authorization: basic });
    const cookie = answer.headers['set-cookie']?.split(';')[0];
    if (answer.status === 204 && cookie !== undefined) {
      // Each sign-in opens a session; close it so checks leave nothing behind.
      await this.request({ method: 'POST', path: '/api/v2/signout', headers: { Cookie: cookie } });
    }
    return answer.status;
  }

  /** A bucket made by hand (no operator marker unless the description carries one); its ID. */
  async createBucket(
    token: string,
    orgID: string,
    name: string,
    options: { retentionSeconds?: number; description?: string } = {},
  ): Promise<string> {
    const retention = options.retentionSeconds ?? 0;
    const answer = await this.request({
      method: 'POST',
      path: '/api/v2/buckets',
      token,
      body: {
        orgID,
        name,
        retentionRules: [
          { type: 'expire', everySeconds: retention, shardGroupDurationSeconds: retention === 0 ? 604800 : 3600 },
        ],
        ...(options.description !== undefined && { description: options.description }),
      },
    });
    expectStatus(answer, 201, `POST /api/v2/buckets ${name}`);
    return String(objectOf(answer.json).id);
  }

  /** A token made by hand with these permissions on buckets of the org ("read" or "write" by bucket ID); its ID and token. */
  async createBucketToken(
    adminToken: string,
    orgID: string,
    permissions: Array<{ action: 'read' | 'write'; bucketID: string }>,
    userID?: string,
  ): Promise<{ id: string; token: string }> {
    const answer = await this.request({
      method: 'POST',
      path: '/api/v2/authorizations',
      token: adminToken,
      body: {
        orgID,
        ...(userID !== undefined && { userID }),
        description: 'made by hand',
        permissions: permissions.map(({ action, bucketID }) => ({
          action,
          resource: { type: 'buckets', id: bucketID, orgID },
        })),
      },
    });
    expectStatus(answer, 201, 'POST /api/v2/authorizations');
    return { id: String(objectOf(answer.json).id), token: String(objectOf(answer.json).token) };
  }

  /** PATCH /api/v2/buckets/{id} with whatever token (an application's own may): its status. */
  async patchBucket(token: string, id: string, body: Record<string, unknown>): Promise<number> {
    return (await this.request({ method: 'PATCH', path: `/api/v2/buckets/${id}`, token, body })).status;
  }

  /** The bucket-permission IDs of an authorization, as `action:bucketID`, sorted. */
  async authorizationPermissions(token: string, id: string): Promise<string[]> {
    const answer = await this.request({ path: `/api/v2/authorizations/${id}`, token });
    expectStatus(answer, 200, `GET /api/v2/authorizations/${id}`);
    const permissions = objectOf(answer.json).permissions;
    return (Array.isArray(permissions) ? permissions : [])
      .map(
        (permission) => `${String(objectOf(permission).action)}:${String(objectOf(objectOf(permission).resource).id)}`,
      )
      .sort();
  }

  async deleteBucket(token: string, id: string): Promise<void> {
    expectStatus(await this.request({ method: 'DELETE', path: `/api/v2/buckets/${id}`, token }), 204, 'DELETE bucket');
  }

  /** Deletes the org, and InfluxDB deletes its buckets with it. */
  async deleteOrg(token: string, id: string): Promise<void> {
    expectStatus(await this.request({ method: 'DELETE', path: `/api/v2/orgs/${id}`, token }), 204, 'DELETE org');
  }

  /** The descriptions of the org's authorizations (what the operator marks its own with). */
  async authorizationDescriptions(token: string, orgID: string): Promise<string[]> {
    const answer = await this.request({ path: `/api/v2/authorizations?orgID=${orgID}`, token });
    expectStatus(answer, 200, 'GET /api/v2/authorizations');
    const list = objectOf(answer.json).authorizations;
    return (Array.isArray(list) ? list : []).map((entry) => textOf(objectOf(entry).description));
  }

  /** The names of the org's buckets. */
  async bucketNames(token: string, orgID: string): Promise<string[]> {
    const answer = await this.request({ path: `/api/v2/buckets?orgID=${orgID}&limit=100`, token });
    expectStatus(answer, 200, 'GET /api/v2/buckets');
    const list = objectOf(answer.json).buckets;
    return (Array.isArray(list) ? list : []).map((entry) => textOf(objectOf(entry).name));
  }

  async bucket(token: string, id: string): Promise<BucketView> {
    const answer = await this.request({ path: `/api/v2/buckets/${id}`, token });
    expectStatus(answer, 200, `GET /api/v2/buckets/${id}`);
    const bucket = objectOf(answer.json);
    const rules = Array.isArray(bucket.retentionRules) ? bucket.retentionRules.map(objectOf) : [];
    const expire = rules.find((rule) => rule.type === 'expire') ?? {};
    return {
      id: String(bucket.id),
      name: String(bucket.name),
      orgID: String(bucket.orgID),
      description: typeof bucket.description === 'string' ? bucket.description : '',
      everySeconds: Number(expire.everySeconds ?? 0),
      shardGroupDurationSeconds: Number(expire.shardGroupDurationSeconds ?? 0),
    };
  }
}
