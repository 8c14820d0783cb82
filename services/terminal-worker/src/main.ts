import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ConfigError, createLogger, createMetricsRegistry, redisOutageLog, runServiceProcess } from '@ctos/runtime';
import { createRedisTransport } from '@ctos/transport';
import { loadTerminalWorkerConfig } from './config';
import { createTerminalWorker } from './terminal-worker';

/** The terminal-worker process in distributed mode: `REDIS_URL` is required. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadTerminalWorkerConfig();
    if (!config.REDIS_URL)
      throw new ConfigError(['REDIS_URL: required (the terminal-worker runs in distributed mode)']);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: 'terminal-worker', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('terminal-worker');
  const id = `terminal-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const transport = createRedisTransport({
    url: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    id,
    heartbeat: { intervalMs: config.HEARTBEAT_INTERVAL_MS, missedBeats: config.HEARTBEAT_MISSED_BEATS },
    observer: {
      ...redisOutageLog(logger, metrics),
      onHandlerError: (error) => logger.error({ err: error }, 'terminal message handler failed'),
    },
  });
  const worker = createTerminalWorker({ id, transport, config, logger, metrics });
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
