import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ControllerMetrics, ResultLabel } from './controller.js';
import type { IncomingMessage } from 'node:http';
import type { Access, AccessReview } from './access-review.js';
import { serve } from './http-server.js';
import type { BoundServer } from './http-server.js';
import type { InformerMetrics } from './reflector.js';
import type { LeaderMetrics } from './leader.js';
import { type Logger, errorMessage } from '../log.js';
import type { QueueGauges, QueueMetrics } from './queue.js';
import type { CertificateSource } from './serving-cert.js';

/**
 * /metrics as kubebuilder serves it by default: HTTPS, and only for a bearer token whose user may
 * `get` the non-resource URL /metrics (the review decides).
 */
export interface SecureServing {
  certificates: CertificateSource;
  review: AccessReview;
}

/** The bearer token of an `Authorization: Bearer <token>` header, if there is one. */
function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

const RESULT_LABELS: readonly ResultLabel[] = ['success', 'error', 'requeue', 'requeue_after'];

// controller-runtime's buckets, so existing dashboards read our histograms the same way.
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2,
  2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// prometheus.ExponentialBuckets(10e-9, 10, 12): 10 ns .. 1000 s.
const WORKQUEUE_DURATION_BUCKETS = Array.from({ length: 12 }, (_, index) => 1e-8 * 10 ** index);

/**
 * The operator's Prometheus registry (its own, not prom-client's global one), with process
 * metrics and the metric names controller-runtime and client-go publish. The application adds
 * its own metrics to `registry`. Each `*Metrics(name)` method returns the sink one runtime
 * component reports into.
 */
export class RuntimeMetrics {
  readonly registry = new Registry();
  private readonly queueGaugeReaders = new Map<string, () => QueueGauges>();

  private readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  private readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'] as const,
    buckets: RECONCILE_TIME_BUCKETS,
    registers: [this.registry],
  });
  private readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly longRunningReconciles = new Gauge({
    name: 'controller_long_running_reconciles',
    help: 'Reconciles running longer than 2 s that handed their worker on (not in controller_runtime_active_workers)',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  private readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly queueLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'] as const,
    buckets: WORKQUEUE_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name'] as const,
    buckets: WORKQUEUE_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly leaderStatus = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of whether the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  private readonly watchRestarts = new Counter({
    name: 'watch_restarts_total',
    help: 'Times a list/watch cycle started over, by resource and reason',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.queueGauge('workqueue_depth', 'Current depth of workqueue', (gauges) => gauges.depth);
    this.queueGauge(
      'workqueue_longest_running_processor_seconds',
      'How many seconds has the longest running processor for workqueue been running',
      (gauges) => gauges.longestRunningProcessorSeconds,
    );
    this.queueGauge(
      'workqueue_unfinished_work_seconds',
      'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      (gauges) => gauges.unfinishedWorkSeconds,
    );
  }

  queueMetrics(name: string): QueueMetrics {
    const labels = { name };
    this.queueAdds.inc(labels, 0);
    this.queueRetries.inc(labels, 0);
    return {
      added: () => this.queueAdds.inc(labels),
      retried: () => this.queueRetries.inc(labels),
      queueLatency: (seconds) => this.queueLatency.observe(labels, seconds),
      workDuration: (seconds) => this.workDuration.observe(labels, seconds),
      readGaugesFrom: (read) => this.queueGaugeReaders.set(name, read),
    };
  }

  controllerMetrics(controller: string): ControllerMetrics {
    for (const result of RESULT_LABELS) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    return {
      maxConcurrentReconciles: (count) => this.maxConcurrentReconciles.set({ controller }, count),
      activeWorkers: (count) => this.activeWorkers.set({ controller }, count),
      longRunning: (count) => this.longRunningReconciles.set({ controller }, count),
      reconciled: (label, seconds) => {
        this.reconcileTotal.inc({ controller, result: label });
        if (label === 'error') this.reconcileErrors.inc({ controller });
        this.reconcileTime.observe({ controller }, seconds);
      },
    };
  }

  informerMetrics(resource: string): InformerMetrics {
    return { watchRestarted: (reason) => this.watchRestarts.inc({ resource, reason }) };
  }

  leaderMetrics(name: string): LeaderMetrics {
    this.leaderStatus.set({ name }, 0);
    return { leading: (isLeader) => this.leaderStatus.set({ name }, isLeader ? 1 : 0) };
  }

  /** A gauge fixed at 1 whose labels describe the build (version, revision, ...). */
  setBuildInfo(metricName: string, labels: Record<string, string>): void {
    this.registry.removeSingleMetric(metricName);
    new Gauge({
      name: metricName,
      help: 'A metric with a constant 1 value labeled by the build it describes',
      labelNames: Object.keys(labels),
      registers: [this.registry],
    }).set(labels, 1);
  }

  /**
   * Serves /metrics; bindAddress like ":8443" or "127.0.0.1:0". Without `secure`, plain HTTP that
   * anyone who reaches the port can read. With it: no token -> 401, a token whose user may not
   * get /metrics -> 403, a review that could not be made -> 503 (Prometheus retries).
   */
  listen(bindAddress: string, logger: Logger, secure?: SecureServing): Promise<BoundServer> {
    const metricsLogger = logger.child({ server: 'metrics' });
    return serve(
      bindAddress,
      async (request, response) => {
        if (new URL(request.url ?? '/', 'http://metrics').pathname !== '/metrics') {
          response.writeHead(404);
          response.end();
          return;
        }
        if (secure !== undefined) {
          const refused = await this.refusal(request, secure.review, metricsLogger);
          if (refused !== undefined) {
            response.writeHead(refused.status, { 'Content-Type': 'text/plain; charset=utf-8', ...refused.headers });
            response.end(`${refused.text}\n`);
            return;
          }
        }
        const body = await this.registry.metrics();
        response.writeHead(200, { 'Content-Type': this.registry.contentType });
        response.end(body);
      },
      metricsLogger,
      secure?.certificates,
    );
  }

  private async refusal(
    request: IncomingMessage,
    review: AccessReview,
    logger: Logger,
  ): Promise<{ status: number; text: string; headers?: Record<string, string> } | undefined> {
    const token = bearerToken(request);
    const unauthorized = { status: 401, text: 'Unauthorized', headers: { 'WWW-Authenticate': 'Bearer' } };
    if (token === undefined) return unauthorized;
    let access: Access;
    try {
      access = await review(token);
    } catch (error) {
      logger.warn('metrics access review failed', { error: errorMessage(error) });
      return { status: 503, text: 'Service Unavailable: the access review failed' };
    }
    if (access === 'unauthenticated') return unauthorized;
    if (access === 'forbidden') return { status: 403, text: 'Forbidden: get on /metrics is not allowed' };
    return undefined;
  }

  /** A gauge per queue name whose value is read from the queue when scraped. */
  private queueGauge(name: string, help: string, pick: (gauges: QueueGauges) => number): void {
    const readers = this.queueGaugeReaders;
    new Gauge({
      name,
      help,
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect() {
        for (const [queueName, read] of readers) this.set({ name: queueName }, pick(read()));
      },
    });
  }
}
