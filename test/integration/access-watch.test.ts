// End to end on a real control plane, InfluxDB played by the stand-in: an InfluxBucket or
// InfluxToken waiting for what it references is served as soon as that is Ready, woken by its
// event, not by its next periodic check. The operator runs with a 60 s drift interval and backoff,
// so a wake that does not happen shows as a wait of about a minute.
import { suite } from 'uvu';
import { accessHarness, createAccess, waitForAccess } from '../support/access.js';
import { OnboardingFile, createOnboarding, waitForReason } from '../support/onboarding.js';

const tests = suite<OnboardingFile>('application access wakes on what it references', new OnboardingFile());

const SLOW_CHECKS = ['--backoff-base=60s', '--backoff-max=60s', '--drift-check-interval=60s'];
// Well under the 60 s of the periodic check and the backoff, with room for a loaded machine.
const WAKE_MS = 20_000;

tests.before(async (file) => {
  await accessHarness();
  await file.setUp('acc-watch', { withOperator: false });
  await file.startOperator(SLOW_CHECKS);
});
tests.after((file) => file.tearDown());

const SPEC = { username: 'admin', org: 'acme', bucket: 'platform' };

tests(
  'a bucket whose onboarding is created after it is Ready once the onboarding is (the onboarding event wakes it)',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    await createAccess('InfluxBucket', namespace, 'early', { onboardingRef: { name: 'later' } });
    await waitForAccess('InfluxBucket', namespace, 'early', 'OnboardingNotFound');
    await createOnboarding(namespace, 'later', { url: influx.url, ...SPEC });
    await waitForReason(namespace, 'later', 'Onboarded');
    await waitForAccess('InfluxBucket', namespace, 'early', 'BucketReady', WAKE_MS);
    context.remember(influx);
  },
);

tests(
  'a token whose bucket is created after it is Ready once the bucket is (the bucket event wakes it)',
  async (context) => {
    const { namespace } = context;
    const influx = await context.standin();
    await createOnboarding(namespace, 'influxdb', { url: influx.url, ...SPEC });
    await waitForReason(namespace, 'influxdb', 'Onboarded');
    await createAccess('InfluxToken', namespace, 'writer', {
      onboardingRef: { name: 'influxdb' },
      permissions: [{ action: 'write', bucket: 'metrics' }],
    });
    await waitForAccess('InfluxToken', namespace, 'writer', 'BucketNotFound');
    await createAccess('InfluxBucket', namespace, 'metrics', { onboardingRef: { name: 'influxdb' } });
    await waitForAccess('InfluxBucket', namespace, 'metrics', 'BucketReady', WAKE_MS);
    await waitForAccess('InfluxToken', namespace, 'writer', 'TokenReady', WAKE_MS);
    context.remember(influx);
  },
);

tests('secrecy: no password or token of this file in the operator output, any Event or any status', (file) =>
  file.assertNoSecretLeaked(5),
);

tests.run();
