// The floor: per resource only what any operator must do, at the operator's concurrency, in the
// benchmark's process, through the same API tap, with keep-alive clients (the benchmark's HTTPS
// agent; fetch's pool for InfluxDB).
import { randomBytes } from 'node:crypto';
import { collection, onboardingManifest } from './harness.js';
import type { Kube } from './kube.js';

/** What POST /api/v2/setup answered: the IDs a token of the instance needs. */
export interface FloorInstance {
  url: string;
  token: string;
  orgID: string;
  bucketID: string;
}

const secretOf = (namespace: string, name: string, data: Record<string, string>): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
});

async function readyStatus(kube: Kube, path: string, reason: string): Promise<void> {
  const now = new Date().toISOString();
  await kube.call(
    'PATCH',
    `${path}/status`,
    {
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Ready', status: 'True', reason, message: 'floor', lastTransitionTime: now, observedGeneration: 1 },
        ],
      },
    },
    'application/merge-patch+json',
  );
}

/** How long each of the floor's steps took, ms. */
export interface FloorSteps {
  createMs: number;
  setupCheckMs: number;
  secretMs: number;
  setupMs: number;
  statusMs: number;
}

/** A stopwatch of consecutive steps: each call returns the ms since the previous one. */
function lap(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round((now - last) * 10) / 10;
    last = now;
    return ms;
  };
}

/**
 * An InfluxOnboarding: create the resource, GET /api/v2/setup, create the Secret, POST
 * /api/v2/setup, patch the status. `onCreated` is called once the create is answered (where an
 * observer of the operator's resources starts looking too).
 */
export async function floorOnboard(
  kube: Kube,
  namespace: string,
  name: string,
  url: string,
  onCreated?: () => void,
): Promise<{ instance: FloorInstance; steps: FloorSteps }> {
  const resources = collection(namespace, 'influxonboardings');
  const step = lap();
  await kube.call('POST', resources, onboardingManifest(namespace, name, url));
  const createMs = step();
  onCreated?.();
  const setup = (await (await fetch(`${url}/api/v2/setup`)).json()) as { allowed: boolean };
  if (!setup.allowed) throw new Error(`floor: ${url} is set up already`);
  const setupCheckMs = step();
  const token = randomBytes(24).toString('base64url');
  const password = randomBytes(18).toString('base64url');
  const data = { url, org: 'acme', bucket: 'metrics', username: 'admin', password, token };
  await kube.call('POST', `/api/v1/namespaces/${namespace}/secrets`, secretOf(namespace, `${name}-influxdb`, data));
  const secretMs = step();
  const answer = await fetch(`${url}/api/v2/setup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      username: 'admin',
      password,
      org: 'acme',
      bucket: 'metrics',
      retentionPeriodSeconds: 0,
      token,
    }),
  });
  if (answer.status !== 201) throw new Error(`floor: POST ${url}/api/v2/setup: ${answer.status}`);
  const created = (await answer.json()) as { org: { id: string }; bucket: { id: string } };
  const setupMs = step();
  await readyStatus(kube, `${resources}/${name}`, 'Onboarded');
  return {
    instance: { url, token, orgID: created.org.id, bucketID: created.bucket.id },
    steps: { createMs, setupCheckMs, secretMs, setupMs, statusMs: step() },
  };
}

export const tokenManifest = (namespace: string, name: string, onboarding: string): Record<string, unknown> => ({
  apiVersion: 'influxdb.onboarding.dev/v1alpha1',
  kind: 'InfluxToken',
  metadata: { name, namespace },
  spec: { onboardingRef: { name: onboarding }, permissions: [{ action: 'write', bucket: 'metrics' }] },
});

/**
 * An InfluxToken: create the resource, add the finalizer that will delete its authorization,
 * POST /api/v2/authorizations, create the Secret, patch the status.
 */
export async function floorToken(
  kube: Kube,
  namespace: string,
  name: string,
  onboarding: string,
  instance: FloorInstance,
): Promise<void> {
  const resources = collection(namespace, 'influxtokens');
  await kube.call('POST', resources, tokenManifest(namespace, name, onboarding));
  await kube.call(
    'PATCH',
    `${resources}/${name}`,
    { metadata: { finalizers: ['influxdb.onboarding.dev/token'] } },
    'application/merge-patch+json',
  );
  const answer = await fetch(`${instance.url}/api/v2/authorizations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Token ${instance.token}` },
    body: JSON.stringify({
      orgID: instance.orgID,
      description: `floor ${namespace}/${name}`,
      permissions: [{ action: 'write', resource: { type: 'buckets', id: instance.bucketID, orgID: instance.orgID } }],
    }),
  });
  if (answer.status !== 201) throw new Error(`floor: POST ${instance.url}/api/v2/authorizations: ${answer.status}`);
  const { token } = (await answer.json()) as { token: string };
  await kube.call(
    'POST',
    `/api/v1/namespaces/${namespace}/secrets`,
    secretOf(namespace, `${name}-influx-token`, { url: instance.url, org: 'acme', bucket: 'metrics', token }),
  );
  await readyStatus(kube, `${resources}/${name}`, 'TokenReady');
}
