import {
  createLogger,
  createMetricsRegistry,
  loadConfigOrExit,
  redisOutageLog,
  requireRedisUrl,
  runServiceProcess,
} from '@ctos/runtime';
import { createServiceTransport } from '@ctos/transport';
import { createAiWorker } from './ai-worker';
import { loadAiWorkerConfig } from './config';

/** The ai-worker process in distributed mode: `REDIS_URL` is required; without `ANTHROPIC_API_KEY` it answers UNAVAILABLE. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(loadAiWorkerConfig, (c) => requireRedisUrl(c, 'ai-worker'));
  const logger = createLogger({ service: 'ai-worker', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('ai-worker');
  const transport = createServiceTransport('ai', config, {
    ...redisOutageLog(logger, metrics),
    onHandlerError: (error) => logger.error({ err: error }, 'assistant message handler failed'),
  });
  const worker = createAiWorker({ id: transport.bus.id, transport, config, logger, metrics });
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
