import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '@ctos/runtime';
import { runService } from '@ctos/transport';
import { loadGatewayConfig } from './config';
import { createGateway } from './gateway';
import { routeModules } from './routes';

/** The gateway process in distributed mode: `REDIS_URL` and `AUTH_JWT_SECRET` are required. */
void runService({
  service: 'gateway',
  kind: 'gateway',
  load: loadGatewayConfig,
  required: (config) =>
    config.AUTH_JWT_SECRET ? [] : ['AUTH_JWT_SECRET: required (the secret that signs user tokens)'],
  // Its Socket.IO server answers /healthz, /readyz and /metrics too.
  port: (config) => config.PORT,
  // Its sockets leave over GATEWAY_DRAIN_WINDOW_MS; the rest of the drain has the usual cap.
  drainCapMs: (config) => DEFAULT_SHUTDOWN_TIMEOUT_MS + config.GATEWAY_DRAIN_WINDOW_MS,
  start: async (deps) => {
    const gateway = createGateway({
      ...deps,
      jwtSecret: deps.config.AUTH_JWT_SECRET!,
      extraRoutes: routeModules,
    });
    return { serve: (port, host) => gateway.listen(port, host), drain: () => gateway.drain() };
  },
});
