// The resourceVersion preconditions of the operator's writes, proven on the real API server with
// the operator's own adapters (no operator process runs here): a decision made on one version of
// an object, and a concurrent writer who changed it since (another replica, a person). The
// operator's write must lose with 409 and leave the other writer's object exactly as it was:
// the credentials Secret and the token Secret (replace), the status (patch of /status) and the
// finalizers (patch). Each test stands alone, on objects of its own.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { V1Secret } from '@kubernetes/client-node';
import { TOKEN_KIND, TOKEN_OWNER_LABEL, TOKEN_PLURAL, type InfluxToken } from '../../src/api/access-types.js';
import type { CredentialsSecret } from '../../src/api/credentials.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_NAME_LABEL, type InfluxOnboarding } from '../../src/api/types.js';
import { CredentialsSecrets } from '../../src/kube/credentials-secret.js';
import { apiStatus } from '../../src/kube/errors.js';
import type { ManagedSecretView } from '../../src/kube/own-secret.js';
import { patchFinalizers, patchStatus } from '../../src/kube/status.js';
import { TokenSecrets } from '../../src/kube/token-secret.js';
import { accessHarness, createAccess, getAccess } from '../support/access.js';
import {
  createNamespace,
  createOnboarding,
  createSecret,
  getOnboarding,
  getSecret,
  onboardingHarness,
} from '../support/onboarding.js';

const tests = suite<{ namespace: string }>('resourceVersion preconditions on the real API server', { namespace: '' });

tests.before(async (context) => {
  await accessHarness();
  context.namespace = await createNamespace('preconditions');
});

/** A cache of the operator's Secrets that holds none: every read goes to the API server. */
const NOTHING_CACHED: ManagedSecretView = { get: () => undefined, wrote: () => undefined };

/** What a concurrent writer does: replaces the Secret's data, as `kubectl apply` or another replica would. */
async function replaceData(namespace: string, name: string, data: Record<string, string>): Promise<V1Secret> {
  const { core } = await onboardingHarness();
  const current = await core.readNamespacedSecret({ namespace, name });
  return core.replaceNamespacedSecret({ namespace, name, body: { ...current, data: undefined, stringData: data } });
}

/** The error a promise rejected with (fails when it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.unreachable('the write was accepted');
  return undefined;
}

const desired = (name: string, token: string) => ({
  name,
  data: { url: 'http://influx.example:8086', org: 'o', bucket: 'b', username: 'u', password: 'p-operator', token },
  tls: 'insecureSkipVerify=false',
  garbageCollected: false,
});

tests(
  'the credentials Secret: a replace over a version someone changed since loses with 409',
  async ({ namespace }) => {
    const { core } = await onboardingHarness();
    const owner = await createOnboarding(namespace, 'stale-secret', {
      url: 'http://influx.example:8086',
      username: 'u',
      org: 'o',
      bucket: 'b',
    });
    await createSecret(
      namespace,
      'stale-secret-influxdb',
      { token: 'token-as-decided-on' },
      { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_NAME_LABEL]: 'stale-secret' } },
    );
    // The cache answers with the newest version it has heard of, as the operator's informer does.
    let cached: V1Secret | undefined = await core.readNamespacedSecret({ namespace, name: 'stale-secret-influxdb' });
    const secrets = new CredentialsSecrets(core, { get: () => cached, wrote: () => undefined }, () => false);
    const observed: CredentialsSecret = await secrets.read(owner, 'stale-secret-influxdb');
    assert.is(observed.state, 'owned');

    // Another replica wrote the Secret after the decision read it, and the cache caught up.
    cached = await replaceData(namespace, 'stale-secret-influxdb', { token: 'token-of-the-other-writer' });

    const error = await rejection(
      secrets.write(owner, desired('stale-secret-influxdb', 'token-of-a-stale-decision'), observed),
    );
    assert.is(apiStatus(error), 409, String(error));
    assert.equal((await getSecret(namespace, 'stale-secret-influxdb'))?.data, { token: 'token-of-the-other-writer' });
  },
);

tests('the credentials Secret: a create where someone created one since loses with 409', async ({ namespace }) => {
  const { core } = await onboardingHarness();
  const owner = await createOnboarding(namespace, 'raced-create', {
    url: 'http://influx.example:8086',
    username: 'u',
    org: 'o',
    bucket: 'b',
  });
  const secrets = new CredentialsSecrets(core, NOTHING_CACHED, () => false);
  const observed = await secrets.read(owner, 'raced-create-influxdb');
  assert.is(observed.state, 'absent');
  await createSecret(
    namespace,
    'raced-create-influxdb',
    { token: 'token-of-the-other-writer' },
    { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_NAME_LABEL]: 'raced-create' } },
  );
  const error = await rejection(
    secrets.write(owner, desired('raced-create-influxdb', 'token-of-a-stale-decision'), observed),
  );
  assert.is(apiStatus(error), 409, String(error));
  assert.equal((await getSecret(namespace, 'raced-create-influxdb'))?.data, { token: 'token-of-the-other-writer' });
});

tests('the token Secret: a replace over a version someone changed since loses with 409', async ({ namespace }) => {
  const { core } = await onboardingHarness();
  await createAccess('InfluxToken', namespace, 'writer', {
    onboardingRef: { name: 'influxdb' },
    permissions: [{ action: 'write', bucket: 'metrics' }],
  });
  const owner = (await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'writer')) as InfluxToken;
  await createSecret(
    namespace,
    'writer-influx-token',
    { token: 'token-as-decided-on' },
    { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TOKEN_OWNER_LABEL]: 'writer' } },
  );
  const secrets = new TokenSecrets(core, NOTHING_CACHED);
  const observed = await secrets.read(owner, 'writer-influx-token');
  assert.is(observed.state, 'owned');
  await replaceData(namespace, 'writer-influx-token', { token: 'token-of-the-other-writer' });

  const error = await rejection(
    secrets.write(
      owner,
      {
        name: 'writer-influx-token',
        data: { url: 'http://influx.example:8086', org: 'o', token: 'token-of-a-stale-decision' },
        authorizationID: '0000000000000001',
        permissions: 'write:metrics',
        retiring: [],
      },
      observed,
    ),
  );
  assert.is(apiStatus(error), 409, String(error));
  assert.equal((await getSecret(namespace, 'writer-influx-token'))?.data, { token: 'token-of-the-other-writer' });
});

tests('the status: a patch computed from a version someone changed since is refused (stale)', async ({ namespace }) => {
  const { custom } = await onboardingHarness();
  const read = await createOnboarding(namespace, 'stale-status', {
    url: 'http://influx.example:8086',
    username: 'u',
    org: 'o',
    bucket: 'b',
  });
  const theirs = { observedGeneration: 1, orgID: 'written-by-the-other-writer' };
  await patchStatus(custom, (await getOnboarding(namespace, 'stale-status')) as InfluxOnboarding, theirs);
  const outcome = await patchStatus(custom, read, { observedGeneration: 1, orgID: 'from-a-stale-decision' });
  assert.equal(outcome, { kind: 'stale' });
  assert.equal((await getOnboarding(namespace, 'stale-status'))?.status, theirs);
});

tests('the finalizers: a patch over a version someone changed since is refused (stale)', async ({ namespace }) => {
  const { custom } = await onboardingHarness();
  await createAccess('InfluxToken', namespace, 'finalized', {
    onboardingRef: { name: 'influxdb' },
    permissions: [{ action: 'read', bucket: 'metrics' }],
  });
  const read = (await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'finalized')) as InfluxToken;
  const theirs = ['example.com/kept-by-someone-else'];
  await patchFinalizers(custom, read, theirs, TOKEN_PLURAL);
  const outcome = await patchFinalizers(custom, read, ['influxdb.onboarding.dev/token'], TOKEN_PLURAL);
  assert.equal(outcome, { kind: 'stale' });
  assert.equal((await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'finalized'))?.metadata.finalizers, theirs);
  // Let the namespace go when the run ends.
  await patchFinalizers(
    custom,
    (await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'finalized')) as InfluxToken,
    [],
    TOKEN_PLURAL,
  );
});

tests('the status of another kind uses the same precondition (InfluxToken)', async ({ namespace }) => {
  const { custom } = await onboardingHarness();
  await createAccess('InfluxToken', namespace, 'stale-token-status', {
    onboardingRef: { name: 'influxdb' },
    permissions: [{ action: 'read', bucket: 'metrics' }],
  });
  const read = (await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'stale-token-status')) as InfluxToken;
  const theirs = { observedGeneration: 1, authorizationID: 'written-by-the-other-writer' };
  await patchStatus(custom, read, theirs, TOKEN_PLURAL);
  const outcome = await patchStatus(custom, read, { observedGeneration: 1, authorizationID: 'stale' }, TOKEN_PLURAL);
  assert.equal(outcome, { kind: 'stale' });
  assert.equal((await getAccess<InfluxToken>(TOKEN_KIND, namespace, 'stale-token-status'))?.status, theirs);
});

tests.run();
