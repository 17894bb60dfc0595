// End to end on a real control plane: credentials stay with the instance they were created for.
// A recording proxy plays "the new URL" (in front of the same stand-in, so that an approved move
// can succeed): after spec.url changes, or a resource is re-created under the name of a retained
// Secret with another URL, it receives nothing at all until the credentials Secret approves the
// move. Referenced Secrets must consent to the URL. The operator runs with an allow-list, and a
// URL outside it, like a cloud metadata address, is refused before any connection, once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RETARGET_ANNOTATION, TLS_ANNOTATION } from '../../src/api/types.js';
import { startInfluxProxy, type InfluxProxy } from '../support/influx-proxy.js';
import type { InfluxStandin } from '../support/influx-standin.js';
import {
  OnboardingFile,
  closingChecks,
  annotateSecret,
  consentTo,
  createOnboarding,
  createSecret,
  deleteOnboarding,
  deleteSecret,
  getOnboarding,
  getSecret,
  eventsOnceRecorded,
  patchOnboardingSpec,
  readyOf,
  requestsTo,
  waitForReason,
  type SecretView,
} from '../support/onboarding.js';
import { eventually, sleep } from '../support/wait.js';

const tests = suite<OnboardingFile>('credentials stay with their instance', new OnboardingFile());

const proxies: InfluxProxy[] = [];
// Stand-ins and proxies listen on 127.0.0.1; anything else on the loopback range is outside.
const ALLOWED = '127.0.0.1/32';

tests.before(async (file) => {
  await file.setUp('onb-target', { withOperator: false });
  await file.startOperator([`--allowed-urls=${ALLOWED}`]);
});
tests.after(async (file) => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await file.tearDown();
});

const SPEC = { username: 'admin', org: 'acme', bucket: 'metrics' };
// Long enough for several drift checks (--drift-check-interval=1s) and retries (--backoff-max=2s).
const QUIET_MS = 4000;

async function proxyTo(upstream: string, host?: string): Promise<InfluxProxy> {
  const proxy = await startInfluxProxy(upstream, host === undefined ? {} : { host });
  proxies.push(proxy);
  return proxy;
}

async function secretOf(namespace: string, name: string): Promise<SecretView> {
  const secret = await getSecret(namespace, name);
  if (secret === undefined) throw new Error(`Secret ${namespace}/${name} is missing`);
  return secret;
}

/** Byte for byte: same resourceVersion, same data and annotations. */
function assertUntouched(after: SecretView, before: SecretView): void {
  assert.is(after.raw.metadata?.resourceVersion, before.raw.metadata?.resourceVersion, 'the Secret was not written');
  assert.equal(after.raw.data, before.raw.data);
  assert.equal(after.raw.metadata?.annotations, before.raw.metadata?.annotations);
}

/** Nothing reached the new URL: no connection, so no Authorization header and no setup body either. */
function assertNothingReached(proxy: InfluxProxy): void {
  assert.is(proxy.connections(), 0, `connections to ${proxy.url}`);
  assert.equal(proxy.requests, []);
}

async function warnings(namespace: string, name: string, reason: string): Promise<number> {
  const events = await eventsOnceRecorded(namespace, name, reason);
  return events.filter((event) => event.type === 'Warning' && event.reason === reason).length;
}

/**
 * Annotates the credentials Secret to approve the move to `proxy`, then requires: Ready again, the
 * Secret's url moved (credentials unchanged, approval used up), a Normal Retargeted event, and at
 * the new URL only the unauthenticated setup check and the token check, never a setup POST.
 */
async function assertRetargeted(
  file: OnboardingFile,
  name: string,
  proxy: InfluxProxy,
  before: SecretView,
): Promise<void> {
  const { namespace } = file;
  await annotateSecret(namespace, `${name}-influxdb`, { [RETARGET_ANNOTATION]: proxy.url });
  const moved = await eventually(`${name} to be Ready at ${proxy.url}`, async () => {
    const resource = await getOnboarding(namespace, name);
    return readyOf(resource)?.status === 'True' && resource?.status?.observedURL === proxy.url ? resource : undefined;
  });
  assert.is(readyOf(moved)?.reason, 'Onboarded');
  const after = await secretOf(namespace, `${name}-influxdb`);
  assert.equal(after.data, { ...before.data, url: proxy.url }, 'only the url changed');
  assert.is(after.raw.metadata?.annotations?.[RETARGET_ANNOTATION], undefined, 'the approval is used up');
  assert.is(after.raw.metadata?.annotations?.[TLS_ANNOTATION], 'caSecretRef=none,insecureSkipVerify=false');
  assert.ok(requestsTo(proxy.requests, 'GET', '/api/v2/me') >= 1, 'the token was checked at the new URL');
  assert.ok(proxy.requests.some((request) => request.authorization === `Token ${before.data.token}`));
  assert.is(requestsTo(proxy.requests, 'POST', '/api/v2/setup'), 0, 'never a setup at the new URL');
  const events = await eventsOnceRecorded(namespace, name, 'Retargeted');
  const retargeted = events.filter((event) => event.reason === 'Retargeted');
  assert.is(retargeted.length, 1, JSON.stringify(events));
  assert.is(retargeted[0]?.type, 'Normal');
  assert.match(retargeted[0]?.message ?? '', proxy.url);
  file.ledger.addRequests(proxy.requests);
}

/** A resource onboarded on a fresh stand-in, its Secret as it was then, and a new URL for that same instance. */
async function onboarded(
  file: OnboardingFile,
  name: string,
): Promise<{ influx: InfluxStandin; before: SecretView; newUrl: InfluxProxy }> {
  const influx = await file.standin();
  await createOnboarding(file.namespace, name, { url: influx.url, ...SPEC });
  await waitForReason(file.namespace, name, 'Onboarded');
  const before = await secretOf(file.namespace, `${name}-influxdb`);
  file.ledger.addSecret(before);
  return { influx, before, newUrl: await proxyTo(influx.url) };
}

tests(
  'spec.url changed on an onboarded resource: TargetChanged, nothing reaches the new URL, the Secret stays; the annotated Secret moves it',
  async (context) => {
    const { namespace } = context;
    const { influx, before, newUrl } = await onboarded(context, 'moved');

    await patchOnboardingSpec(namespace, 'moved', { url: newUrl.url });
    const changed = await waitForReason(namespace, 'moved', 'TargetChanged');
    assert.is(readyOf(changed)?.status, 'False');
    assert.match(readyOf(changed)?.message ?? '', `created for ${influx.url}`);
    assert.match(readyOf(changed)?.message ?? '', `${RETARGET_ANNOTATION}=${newUrl.url}`);
    assert.is(changed.status?.observedURL, influx.url);
    await sleep(QUIET_MS);
    assertNothingReached(newUrl);
    assertUntouched(await secretOf(namespace, 'moved-influxdb'), before);
    assert.is(await warnings(namespace, 'moved', 'TargetChanged'), 1);

    await assertRetargeted(context, 'moved', newUrl, before);
    context.remember(influx);
  },
);

tests(
  'the Secret deleted while a move waits for approval: written back for the old URL, nothing reaches the new one, the move approved on it',
  async (context) => {
    const { namespace } = context;
    const { influx, before, newUrl } = await onboarded(context, 'withdrawn');
    await patchOnboardingSpec(namespace, 'withdrawn', { url: newUrl.url });
    const changed = await waitForReason(namespace, 'withdrawn', 'TargetChanged');
    await deleteSecret(namespace, 'withdrawn-influxdb');
    // Only the operator holds the credentials now: it writes them back where they belong.
    const restored = await eventually('the Secret written back', async () => {
      const secret = await getSecret(namespace, 'withdrawn-influxdb');
      return secret?.raw.metadata?.uid !== before.raw.metadata?.uid ? secret : undefined;
    });
    assert.equal(restored.data, before.data, 'the same credentials, for the URL they belong to');
    const waiting = await getOnboarding(namespace, 'withdrawn');
    assert.is(readyOf(waiting)?.reason, 'TargetChanged');
    assert.is(readyOf(waiting)?.message, readyOf(changed)?.message, 'the same way out: approve on the Secret');
    await sleep(QUIET_MS);
    assertNothingReached(newUrl);

    await assertRetargeted(context, 'withdrawn', newUrl, before);
    context.remember(influx);
  },
);

tests(
  'a resource re-created under the name of a retained Secret with another URL: the same guarantees',
  async (context) => {
    const { namespace } = context;
    const { influx, before, newUrl } = await onboarded(context, 'kept');
    await deleteOnboarding(namespace, 'kept');
    await eventually('the resource to be gone', async () => (await getOnboarding(namespace, 'kept')) === undefined);

    await createOnboarding(namespace, 'kept', { url: newUrl.url, ...SPEC });
    const changed = await waitForReason(namespace, 'kept', 'TargetChanged');
    assert.match(readyOf(changed)?.message ?? '', 'Secret kept-influxdb were created for');
    await sleep(QUIET_MS);
    assertNothingReached(newUrl);
    assertUntouched(await secretOf(namespace, 'kept-influxdb'), before);

    await assertRetargeted(context, 'kept', newUrl, before);
    context.remember(influx);
  },
);

tests(
  'allow-list: a URL outside it is URLNotAllowed before any connection, once; inside it onboards',
  async (context) => {
    const { namespace, operator } = context;
    const [behind, inside] = [await context.standin(), await context.standin()];
    const outside = await proxyTo(behind.url, '127.0.0.2');
    await createOnboarding(namespace, 'outside', { url: outside.url, ...SPEC });
    const refused = await waitForReason(namespace, 'outside', 'URLNotAllowed');
    assert.match(readyOf(refused)?.message ?? '', '--allowed-urls');
    assert.match(readyOf(refused)?.message ?? '', 'not among the allowed targets');

    await createOnboarding(namespace, 'inside', { url: inside.url, ...SPEC });
    await waitForReason(namespace, 'inside', 'Onboarded');
    context.ledger.addSecret(await getSecret(namespace, 'inside-influxdb'));
    await sleep(QUIET_MS);
    assertNothingReached(outside);
    assert.equal(behind.requests, []);
    assert.is(await getSecret(namespace, 'outside-influxdb'), undefined, 'no credentials were made up for it');
    assert.is(await warnings(namespace, 'outside', 'URLNotAllowed'), 1);
    const evaluations = operator
      .records()
      .filter((record) => record.message === 'reconciled' && record.resource === `${namespace}/outside`);
    assert.is(evaluations.length, 1, 'no retry loop');
    context.remember(inside);
  },
);

tests(
  'consent: a referenced Secret without the annotation, or naming another URL, is never sent; naming this one, it is',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    const token = 'Consent-Token-6b1f0e9d2c7a4e58';
    const password = 'Consent-Passw0rd-93ad';
    context.ledger.add(token, password);
    await createSecret(namespace, 'consent-admin', { token, password });
    await createOnboarding(namespace, 'consent', {
      url: influx.url,
      ...SPEC,
      tokenSecretRef: { name: 'consent-admin', key: 'token' },
      passwordSecretRef: { name: 'consent-admin', key: 'password' },
    });
    const missing = await waitForReason(namespace, 'consent', 'SecretNotPermitted');
    assert.match(
      readyOf(missing)?.message ?? '',
      'Secret consent-admin allows no URL in its annotation influxdb.onboarding.dev/allowed-urls',
    );

    await annotateSecret(
      namespace,
      'consent-admin',
      consentTo('http://127.0.0.1:1', 'http://influxdb.elsewhere:8086').annotations ?? {},
    );
    const elsewhere = await eventually('the message to name the other URLs', async () => {
      const resource = await getOnboarding(namespace, 'consent');
      return readyOf(resource)?.message.includes('only http://127.0.0.1:1, http://influxdb.elsewhere:8086')
        ? resource
        : undefined;
    });
    assert.is(readyOf(elsewhere)?.reason, 'SecretNotPermitted');
    await sleep(QUIET_MS);
    assert.equal(influx.requests, [], 'nothing at all was sent while the Secret did not consent');
    assert.is(await warnings(namespace, 'consent', 'SecretNotPermitted'), 1);

    // Listed among others, with a trailing slash: the same instance.
    await annotateSecret(
      namespace,
      'consent-admin',
      consentTo('http://127.0.0.1:1', `${influx.url}/`).annotations ?? {},
    );
    await waitForReason(namespace, 'consent', 'Onboarded');
    assert.equal([influx.onboarded()?.token, influx.onboarded()?.password], [token, password]);
    const secret = await getSecret(namespace, 'consent-influxdb');
    assert.equal([secret?.data.token, secret?.data.password], [token, password]);
    context.remember(influx);
  },
);

tests('a cloud metadata URL: AddressRefused, one Warning, one evaluation per spec change', async (context) => {
  const { namespace, operator } = context;
  const url = 'http://169.254.169.254:8086';
  const evaluations = () =>
    operator
      .records()
      .filter((record) => record.message === 'reconciled' && record.resource === `${namespace}/metadata`);
  await createOnboarding(namespace, 'metadata', { url, ...SPEC });
  const refused = await waitForReason(namespace, 'metadata', 'AddressRefused');
  assert.is(readyOf(refused)?.status, 'False');
  assert.match(readyOf(refused)?.message ?? '', 'is link-local');
  assert.match(readyOf(refused)?.message ?? '', '--allow-link-local');
  await sleep(12_000);
  assert.is(evaluations().length, 1, `one evaluation, not a retry loop: ${evaluations().length}`);

  await patchOnboardingSpec(namespace, 'metadata', { requestTimeoutSeconds: 5 });
  await waitForReason(namespace, 'metadata', 'AddressRefused');
  await sleep(QUIET_MS);
  assert.equal(
    evaluations().map((record) => record.generation),
    [1, 2],
    'one more evaluation for the new spec',
  );
  assert.is(await warnings(namespace, 'metadata', 'AddressRefused'), 1, 'the Warning is not repeated');
  assert.is(await getSecret(namespace, 'metadata-influxdb'), undefined);
});

closingChecks(tests, 8);

tests.run();
