import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ConfigError, createLogger, createMetricsRegistry, redisOutageLog, runServiceProcess } from '@ctos/runtime';
import { createRedisTransport } from '@ctos/transport';
import { loadMessageWorkerConfig } from './config';
import { createMessageWorker } from './message-worker';

/** The message-worker process in distributed mode: `REDIS_URL` and `MESSAGE_API_TOKENS` are required. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadMessageWorkerConfig();
    const missing = [
      ...(config.REDIS_URL ? [] : ['REDIS_URL: required (the message-worker runs in distributed mode)']),
      ...(config.MESSAGE_API_TOKENS.length > 0
        ? []
        : ['MESSAGE_API_TOKENS: required (the service tokens producers send to POST /messages)']),
    ];
    if (missing.length > 0) throw new ConfigError(missing);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: 'message-worker', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('message-worker');
  const id = `message-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const transport = createRedisTransport({
    url: config.REDIS_URL!,
    prefix: config.REDIS_PREFIX,
    id,
    heartbeat: { intervalMs: config.HEARTBEAT_INTERVAL_MS, missedBeats: config.HEARTBEAT_MISSED_BEATS },
    observer: {
      ...redisOutageLog(logger, metrics),
      onHandlerError: (error) => logger.error({ err: error }, 'message request handler failed'),
    },
  });
  const worker = createMessageWorker({ id, transport, config, logger, metrics });
  worker.start();
  await worker.listen(config.MESSAGE_API_PORT, config.HOST);
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
