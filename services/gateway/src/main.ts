import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ConfigError,
  createLogger,
  createMetricsRegistry,
  exitOnSignal,
  guardProcess,
  redisOutageLog,
} from '@ctos/runtime';
import { createRedisTransport } from '@ctos/transport';
import { loadGatewayConfig } from './config';
import { createGateway } from './gateway';
import { routeModules } from './routes';

/** The gateway process in distributed mode: `REDIS_URL` and `AUTH_JWT_SECRET` are required. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadGatewayConfig();
    const missing = [
      ...(config.REDIS_URL ? [] : ['REDIS_URL: required (the gateway runs in distributed mode)']),
      ...(config.AUTH_JWT_SECRET ? [] : ['AUTH_JWT_SECRET: required (the secret that signs user tokens)']),
    ];
    if (missing.length > 0) throw new ConfigError(missing);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('gateway');
  guardProcess(logger);
  const id = `gateway-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const transport = createRedisTransport({
    url: config.REDIS_URL!,
    prefix: config.REDIS_PREFIX,
    id,
    heartbeat: { intervalMs: config.HEARTBEAT_INTERVAL_MS, missedBeats: config.HEARTBEAT_MISSED_BEATS },
    observer: {
      ...redisOutageLog(logger, metrics),
    },
  });
  const gateway = createGateway({
    id,
    config,
    jwtSecret: config.AUTH_JWT_SECRET!,
    transport,
    logger,
    metrics,
    extraRoutes: routeModules,
  });
  await gateway.listen(config.PORT, config.HOST);
  exitOnSignal(async () => {
    await gateway.drain();
    await transport.dispose();
  }, logger);
}

void main();
