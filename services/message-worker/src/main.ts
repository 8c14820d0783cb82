import {
  createLogger,
  createMetricsRegistry,
  loadConfigOrExit,
  redisOutageLog,
  requireRedisUrl,
  runServiceProcess,
} from '@ctos/runtime';
import { createServiceTransport } from '@ctos/transport';
import { loadMessageWorkerConfig } from './config';
import { createMessageWorker } from './message-worker';

/** The message-worker process in distributed mode: `REDIS_URL` and `MESSAGE_API_TOKENS` are required. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(loadMessageWorkerConfig, (c) => [
    ...requireRedisUrl(c, 'message-worker'),
    ...(c.MESSAGE_API_TOKENS.length > 0
      ? []
      : ['MESSAGE_API_TOKENS: required (the service tokens producers send to POST /messages)']),
  ]);
  const logger = createLogger({ service: 'message-worker', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('message-worker');
  const transport = createServiceTransport('message', config, {
    ...redisOutageLog(logger, metrics),
    onHandlerError: (error) => logger.error({ err: error }, 'message request handler failed'),
  });
  const worker = createMessageWorker({ id: transport.bus.id, transport, config, logger, metrics });
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
