import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig, type Config } from './config.js';
import { registerBucketController } from './controllers/bucket.js';
import { registerOnboardingController } from './controllers/onboarding.js';
import { controllerDeps } from './controllers/shared.js';
import { registerSweepController } from './controllers/sweep.js';
import { registerTokenController } from './controllers/token.js';
import { createLogger, SecretRegistry, type Logger, errorMessage } from './log.js';
import { exitOnSignals, KubeConnection, Manager } from './runtime/index.js';
import { operatorVersion } from './version.js';

function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  // loadFromDefault prefers KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

function createManager(config: Config, logger: Logger): Manager {
  return new Manager({
    connection: new KubeConnection(loadKubeConfig()),
    logger,
    namespaces: config.namespaces,
    resyncPeriodMs: config.resyncPeriodMs,
    backoff: { baseDelayMs: config.backoffBaseMs, maxDelayMs: config.backoffMaxMs },
    leaderElection: {
      id: config.leaderElectionId,
      ...(config.leaderElect &&
        config.leaderElectionNamespace !== undefined && {
          lease: {
            namespace: config.leaderElectionNamespace,
            identity: config.identity,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }),
    },
    healthProbeBindAddress: config.healthProbeBindAddress,
    metrics: {
      bindAddress: config.metricsBindAddress,
      ...(config.metricsSecure && {
        secure: {
          certificateName: 'influx-onboarding-operator-metrics',
          ...(config.metricsCertDir !== undefined && { certDir: config.metricsCertDir }),
        },
      }),
    },
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
}

async function run(config: Config, logger: Logger, secrets: SecretRegistry, version: string): Promise<void> {
  const manager = createManager(config, logger);
  manager.metrics.setBuildInfo('influx_onboarding_operator_build_info', { version, node_version: process.version });
  const deps = controllerDeps(manager, config, logger, secrets, version);
  registerOnboardingController(manager, deps);
  registerBucketController(manager, deps);
  registerTokenController(manager, deps);
  registerSweepController(manager, deps);
  exitOnSignals({ logger, timeoutMs: config.shutdownTimeoutMs + 5_000, shutdown: () => manager.stop() });
  logger.info('starting', {
    version,
    namespaces: config.namespaces.length > 0 ? config.namespaces : 'all',
    leaderElect: config.leaderElect,
    concurrency: config.concurrency,
    allowedUrls: config.allowedUrls.length > 0 ? config.allowedUrls : 'any',
    requireSecretConsent: config.requireSecretConsent,
  });
  await manager.start();
}

async function main(): Promise<void> {
  const version = operatorVersion();
  const loaded = loadConfig(process.argv.slice(2), process.env);
  if (loaded.kind === 'help') {
    process.stdout.write(`${loaded.text}\n`);
    return;
  }
  if (loaded.kind === 'version') {
    process.stdout.write(`influx-onboarding-operator ${version}\n`);
    return;
  }
  if (loaded.kind === 'invalid') {
    for (const problem of loaded.problems) process.stderr.write(`error: ${problem}\n`);
    process.exitCode = 2;
    return;
  }
  const secrets = new SecretRegistry();
  const logger = createLogger({ level: loaded.config.logLevel, format: loaded.config.logFormat, registry: secrets });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.message : String(reason) });
  });
  try {
    await run(loaded.config, logger, secrets, version);
  } catch (error) {
    logger.error('failed to start', { error: errorMessage(error) });
    process.exitCode = 1;
    // Open sockets and servers would keep a failed start alive forever.
    setTimeout(() => process.exit(1), 100).unref();
  }
}

await main();
