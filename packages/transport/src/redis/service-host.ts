import {
  createLogger,
  createMetricsRegistry,
  loadConfigOrExit,
  redisOutageLog,
  requireRedis,
  runServiceProcess,
  type CommonConfig,
  type Logger,
} from '@ctos/runtime';
import type { Registry } from 'prom-client';
import type { Transport } from '../transport';
import type { WorkerKind } from '../types';
import { createServiceTransport } from './service-transport';

/** What a service's factory gets in distributed mode. */
export interface ServiceHostDeps<C> {
  /** This process's id: its bus endpoint, registry entry and logs. */
  id: string;
  transport: Transport;
  config: C;
  logger: Logger;
  metrics: Registry;
}

/** A started service, as the host drives it. */
export interface HostedService {
  /** Ordered shutdown on SIGTERM/SIGINT; the transport is closed after it. */
  drain(): Promise<void>;
  /**
   * Listens on a server of its own that answers /healthz, /readyz and /metrics too (the
   * gateway); resolves with the port bound. Without it the host serves those alone.
   */
  serve?(port: number, host: string): Promise<number>;
}

/** Options of {@link runService}. */
export interface ServiceHostOptions<C extends CommonConfig> {
  /** The service name in logs and metrics (`gateway`, `terminal-worker`…). */
  service: string;
  kind: WorkerKind;
  /** Parses the service's settings (reads the process environment). */
  load: () => C;
  /** Problems beyond the Redis settings that stop the process (exit status 2). */
  required?: (config: C) => string[];
  /** The port it listens on: the service's own (`PORT`) or the ops server's (`OPS_PORT`). */
  port: (config: C) => number;
  /**
   * How long its drain may take before the process exits 1 anyway (ms); default
   * `DEFAULT_SHUTDOWN_TIMEOUT_MS` (10 s). The gateway adds its drain window.
   */
  drainCapMs?: (config: C) => number;
  /** Builds and starts the service. */
  start: (deps: ServiceHostDeps<C>) => Promise<HostedService>;
}

/**
 * Every service process in distributed mode, the gateway's too: settings (exit 2 on a
 * bad one), JSON logs, metrics, the Redis transport with its outage log, the faults
 * counter, the operational endpoints, and an orderly drain on SIGTERM. Each `main.ts` is
 * this plus its factory.
 */
export async function runService<C extends CommonConfig>(options: ServiceHostOptions<C>): Promise<void> {
  const config = loadConfigOrExit(options.load, (c) => [
    ...requireRedis(c, options.service),
    ...(options.required?.(c) ?? []),
  ]);
  const logger = createLogger({ service: options.service, level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry(options.service);
  const transport = createServiceTransport(options.kind, config, {
    ...redisOutageLog(logger, metrics),
    onHandlerError: (error) => logger.error({ err: error }, 'bus message handler failed'),
  });
  const service = await options.start({ id: transport.bus.id, transport, config, logger, metrics });
  await runServiceProcess({
    logger,
    metrics,
    host: config.HOST,
    port: options.port(config),
    ...(options.drainCapMs ? { drainCapMs: options.drainCapMs(config) } : {}),
    checks: { redis: () => transport.healthy() },
    ...(service.serve ? { serve: service.serve.bind(service) } : {}),
    drain: async () => {
      // The connections close even when the service's drain fails (the process exits 1).
      try {
        await service.drain();
      } finally {
        await transport.dispose();
      }
    },
  });
}
