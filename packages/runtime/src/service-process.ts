import { once } from 'node:events';
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
  /** Where /healthz, /readyz and /metrics listen. */
  host: string;
  port: number;
  checks: Record<string, ReadinessCheck>;
  /** Ordered shutdown: stop taking work, hand off or close what is owned, release connections. */
  drain: () => Promise<void>;
}

/**
 * The common frame of a worker process: guards against stray rejections, serves the
 * operational endpoints, and drains on SIGTERM/SIGINT. Logs one `listening` line with
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
  const server = createOpsApp(options.metrics, options.checks).listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  options.logger.info({ port, host: options.host }, 'listening');
  exitOnSignal(async () => {
    await options.drain();
    server.close();
  }, options.logger);
}
