import type { Logger } from 'pino';

/**
 * Signals that stop a process in order: a supervisor's (TERM), Ctrl-C (INT), and the
 * terminal closing under it (HUP), which would otherwise kill it before it drained.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** How long a drain may take before the process exits anyway (ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Runs `drain` once on SIGTERM, SIGINT or SIGHUP, then exits 0; exits 1 if the drain throws or
 * outlasts `timeoutMs` (Outline's ShutdownHelper pattern). Returns a function that
 * removes the signal handlers.
 */
export function exitOnSignal(
  drain: () => Promise<void>,
  logger: Logger,
  timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS,
): () => void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (started) return;
    started = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    drain().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}

/**
 * Logs unhandled rejections and uncaught exceptions and counts them, instead of letting
 * one bad promise take down every session on the process. An uncaught exception still
 * exits (the process state is unknown), after logging.
 */
export function guardProcess(logger: Logger, onFault?: (kind: string) => void): void {
  process.on('unhandledRejection', (reason) => {
    onFault?.('unhandledRejection');
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (error) => {
    onFault?.('uncaughtException');
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
}
