import {
  createLogger,
  createMetricsRegistry,
  loadConfigOrExit,
  redisOutageLog,
  requireRedisUrl,
  runServiceProcess,
} from '@ctos/runtime';
import { createServiceTransport } from '@ctos/transport';
import { loadTerminalWorkerConfig } from './config';
import { createTerminalWorker } from './terminal-worker';

/** The terminal-worker process in distributed mode: `REDIS_URL` is required. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(loadTerminalWorkerConfig, (c) => requireRedisUrl(c, 'terminal-worker'));
  const logger = createLogger({ service: 'terminal-worker', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('terminal-worker');
  const transport = createServiceTransport('terminal', config, {
    ...redisOutageLog(logger, metrics),
    onHandlerError: (error) => logger.error({ err: error }, 'terminal message handler failed'),
  });
  const worker = createTerminalWorker({ id: transport.bus.id, transport, config, logger, metrics });
  worker.start();
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

void main();
