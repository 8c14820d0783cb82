import type { Logger } from 'pino';

/**
 * Signals that stop a process in order: a supervisor's (TERM), Ctrl-C (INT), and the
 * terminal closing under it (HUP), which would otherwise kill it before it drained.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * A stop signal this soon after the first is the same request delivered twice, not a
 * second one (ms): npm forwards the terminal's Ctrl-C to the program it runs, which the
 * terminal has signalled already.
 */
const SAME_REQUEST_MS = 1000;

/** How long a drain may take before the process exits anyway (ms). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Runs `drain` once on SIGTERM, SIGINT or SIGHUP, then exits 0; exits 1 if the drain throws or
 * outlasts `timeoutMs` (Outline's ShutdownHelper pattern), or at once on a second signal
 * (whoever sends it has stopped waiting; one within {@link SAME_REQUEST_MS} of the first is
 * the same request). Logging cannot hold the exit up: see
 * `stdoutDestination`. Returns a function that removes the signal handlers.
 */
export function exitOnSignal(
  drain: () => Promise<void>,
  logger: Logger,
  timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS,
): () => void {
  let startedAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (startedAt !== undefined) {
      if (performance.now() - startedAt < SAME_REQUEST_MS) return;
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    startedAt = performance.now();
    logger.info({ signal }, 'shutting down');
    // Kept referenced: a drain stuck on a promise that nothing keeps alive must still end
    // in this timer's exit 1, not in a silent exit 0.
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
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
