import type { ServerResponse } from 'node:http';
import { serve } from './http-server.js';
import type { BoundServer } from './http-server.js';
import type { Logger } from '../log.js';

/** A named condition; false (or a throw) fails the probe. */
type Check = () => boolean;

function report(checks: Map<string, Check>, response: ServerResponse): void {
  const lines: string[] = [];
  let healthy = true;
  for (const [name, check] of checks) {
    let passed: boolean;
    try {
      passed = check();
    } catch {
      passed = false;
    }
    healthy &&= passed;
    lines.push(passed ? `[+]${name} ok` : `[-]${name} failed`);
  }
  lines.push(healthy ? 'ok' : 'check failed');
  response.writeHead(healthy ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${lines.join('\n')}\n`);
}

/**
 * /healthz (liveness: restart me if this fails) and /readyz (readiness), as controller-runtime
 * serves them. A standby replica is ready once its caches are synced, so a rollout does not
 * wait for leadership.
 */
export class Probes {
  private readonly health = new Map<string, Check>([['ping', () => true]]);
  private readonly readiness = new Map<string, Check>([['ping', () => true]]);

  addHealthCheck(name: string, check: Check): void {
    this.health.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.readiness.set(name, check);
  }

  /** Serves the probes; bindAddress like ":8081" or "127.0.0.1:0". */
  listen(bindAddress: string, logger: Logger): Promise<BoundServer> {
    return serve(
      bindAddress,
      (request, response) => {
        const path = new URL(request.url ?? '/', 'http://probe').pathname;
        if (path === '/healthz') report(this.health, response);
        else if (path === '/readyz') report(this.readiness, response);
        else {
          response.writeHead(404);
          response.end();
        }
      },
      logger.child({ server: 'probes' }),
    );
  }
}
