import {
  createLogger,
  createMetricsRegistry,
  exitOnSignal,
  guardProcess,
  loadConfigOrExit,
  redisOutageLog,
  requireRedisUrl,
} from '@ctos/runtime';
import { createServiceTransport } from '@ctos/transport';
import { loadGatewayConfig } from './config';
import { createGateway } from './gateway';
import { routeModules } from './routes';

/** The gateway process in distributed mode: `REDIS_URL` and `AUTH_JWT_SECRET` are required. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(loadGatewayConfig, (c) => [
    ...requireRedisUrl(c, 'gateway'),
    ...(c.AUTH_JWT_SECRET ? [] : ['AUTH_JWT_SECRET: required (the secret that signs user tokens)']),
  ]);
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('gateway');
  guardProcess(logger);
  const transport = createServiceTransport('gateway', config, redisOutageLog(logger, metrics));
  const id = transport.bus.id;
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
