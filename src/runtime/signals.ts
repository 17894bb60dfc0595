import { type Logger, errorMessage } from '../log.js';

/** The part of `process` the shutdown handler uses; tests pass a stand-in. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

interface ShutdownOptions {
  logger: Logger;
  /** Stops everything gracefully: stop the controllers, release the lease, close servers. */
  shutdown: () => Promise<void>;
  /** Exit anyway after this long; default 30 s, Kubernetes' default grace period. */
  timeoutMs?: number;
  signals?: readonly NodeJS.Signals[];
  target?: SignalTarget;
}

/** 128 + SIGINT: what a shell reports for an interrupted program. */
export const FORCED_EXIT_CODE = 130;

/**
 * On the first SIGTERM/SIGINT runs the graceful shutdown and exits 0 (1 if it failed or ran
 * past the bound). A second signal exits at once: an operator pressing Ctrl-C twice, or a
 * kubelet that has run out of patience, always wins. Returns a function that uninstalls it.
 */
export function exitOnSignals(options: ShutdownOptions): () => void {
  const target = options.target ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const timeoutMs = options.timeoutMs ?? 30_000;
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      options.logger.warn('second signal; exiting immediately', { signal });
      target.exit(FORCED_EXIT_CODE);
      return;
    }
    shuttingDown = true;
    options.logger.info('shutting down', { signal, timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        options.logger.error('graceful shutdown ran past its bound; exiting', { timeoutMs });
        resolve(1);
      }, timeoutMs);
    });
    const graceful = Promise.resolve()
      .then(options.shutdown)
      .then(
        () => 0,
        (error: unknown) => {
          options.logger.error('graceful shutdown failed', {
            error: errorMessage(error),
          });
          return 1;
        },
      );
    void Promise.race([graceful, deadline]).then((code) => {
      clearTimeout(timer);
      target.exit(code);
    });
  };

  for (const signal of signals) target.on(signal, onSignal);
  return () => {
    for (const signal of signals) target.off(signal, onSignal);
  };
}
