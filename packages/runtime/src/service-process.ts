import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { createOpsApp, type ReadinessCheck } from './ops-server';
import { exitOnSignal, guardProcess } from './shutdown';

/** Options of {@link runServiceProcess}. */
export interface ServiceProcessOptions {
  logger: Logger;
  metrics: Registry;
  /** Where the process listens: its own server (`serve`), or the ops server. */
  host: string;
  port: number;
  /** Readiness checks of the ops server (unused with `serve`). */
  checks: Record<string, ReadinessCheck>;
  /**
   * A service with an HTTP server of its own (the gateway), which serves /healthz,
   * /readyz and /metrics itself: started here instead of the ops server; resolves with
   * the port it bound, and stops listening in its drain.
   */
  serve?: (port: number, host: string) => Promise<number>;
  /** Ordered shutdown: stop taking work, hand off or close what is owned, release connections. */
  drain: () => Promise<void>;
  /** How long the drain may take before the process exits 1 anyway (ms; default `DEFAULT_SHUTDOWN_TIMEOUT_MS`, 10 s). */
  drainCapMs?: number;
}

/**
 * The common frame of a service process: guards against stray rejections (counted in
 * `ctos_process_faults_total`), serves the operational endpoints (or the service's own
 * server), and drains on SIGTERM/SIGINT. Logs one `listening` line with
 * the port, which launchers and tests read.
 */
export async function runServiceProcess(options: ServiceProcessOptions): Promise<void> {
  const faults = new Counter({
    name: 'ctos_process_faults_total',
    help: 'Unhandled rejections and uncaught exceptions.',
    labelNames: ['kind'],
    registers: [options.metrics],
  });
  guardProcess(options.logger, (kind) => faults.inc({ kind }));
  // The ops server (unless the service serves its own), made now and listening below.
  const server = options.serve ? undefined : createServer(createOpsApp(options.metrics, options.checks));
  // Before the `listening` line: whoever reads it may stop the process at once, and a
  // signal with no handler yet would kill it undrained.
  exitOnSignal(
    async () => {
      await options.drain();
      server?.close();
    },
    options.logger,
    options.drainCapMs,
  );
  if (!server) {
    // The service logs its own `listening` line.
    await options.serve!(options.port, options.host);
    return;
  }
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  options.logger.info({ port, host: options.host }, 'listening');
}
