import {
  createLogger,
  createMetricsRegistry,
  loadConfigOrExit,
  redisOutageLog,
  requireRedisUrl,
  runServiceProcess,
  type CommonConfig,
  type Logger,
} from '@ctos/runtime';
import type { Registry } from 'prom-client';
import type { Transport } from '../transport';
import type { WorkerKind } from '../types';
import { createServiceTransport } from './service-transport';

/** What a worker's factory gets in distributed mode. */
export interface WorkerProcessDeps<C> {
  id: string;
  transport: Transport;
  config: C;
  logger: Logger;
  metrics: Registry;
}

/** Options of {@link runWorkerProcess}. */
export interface WorkerProcessOptions<C extends CommonConfig & { OPS_PORT: number }> {
  /** The service name in logs and metrics (`terminal-worker`…). */
  service: string;
  kind: WorkerKind;
  /** Parses the worker's settings (reads the process environment). */
  load: () => C;
  /** Problems beyond `REDIS_URL` that stop the process (exit status 2). */
  required?: (config: C) => string[];
  /** Builds, starts and returns the worker; its `drain` runs on SIGTERM. */
  start: (deps: WorkerProcessDeps<C>) => Promise<{ drain(): Promise<void> }>;
}

/**
 * A worker process in distributed mode: settings (exit 2 on a bad one), JSON logs,
 * metrics, the Redis transport, the operational endpoints on `OPS_PORT`, and an orderly
 * drain on SIGTERM. Each worker's `main.ts` is this plus its factory.
 */
export async function runWorkerProcess<C extends CommonConfig & { OPS_PORT: number }>(
  options: WorkerProcessOptions<C>,
): Promise<void> {
  const config = loadConfigOrExit(options.load, (c) => [
    ...requireRedisUrl(c, options.service),
    ...(options.required?.(c) ?? []),
  ]);
  const logger = createLogger({ service: options.service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry(options.service);
  const transport = createServiceTransport(options.kind, config, {
    ...redisOutageLog(logger, metrics),
    onHandlerError: (error) => logger.error({ err: error }, 'bus message handler failed'),
  });
  const worker = await options.start({ id: transport.bus.id, transport, config, logger, metrics });
  await runServiceProcess({
    logger,
    metrics,
    host: config.HOST,
    port: config.OPS_PORT,
    checks: { redis: () => transport.healthy() },
    drain: async () => {
      await worker.drain();
      await transport.dispose();
    },
  });
}
