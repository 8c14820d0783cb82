import { createGateway, loadGatewayConfig, type Gateway } from '@ctos/gateway';
import { createLogger } from '@ctos/runtime';
import { transportFactory, waitFor, type Build } from '@ctos/testkit';
import type { HeartbeatOptions, Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker, type TerminalWorkerConfig } from '../src';
import { TEST_SHELL_ENV } from './harness';

export { BUILDS, type Build } from '@ctos/testkit';

/**
 * The product's heartbeat: a flood keeps the event loop busy, and quicker beats could
 * have the worker declared dead under it (its sessions would end `worker_lost`).
 */
const HEARTBEAT: HeartbeatOptions = { intervalMs: 1000, missedBeats: 3 };

/** A gateway and a terminal-worker of one build in this process. */
export interface TerminalCluster {
  /** `http://127.0.0.1:port` of gateway 0 (the name embedded mode's handle uses). */
  url: string;
  /** Every gateway's URL. */
  urls: string[];
  terminalWorker: TerminalWorker;
  /** The settings the worker runs with (the watermarks the tests hold it to). */
  config: TerminalWorkerConfig;
  /** The worker's own prom-client registry. */
  metrics: Registry;
  /** Every Redis key and channel of this cluster starts with it (the Redis build). */
  prefix: string;
  /** Each gateway's id (its Redis connections are named `ctos:<id>:<role>`). */
  gatewayIds: string[];
  /** The value of one of the worker's metrics (without labels). */
  metric(name: string): Promise<number>;
  /** A transport of the cluster's build for another service (an ai-worker's, say), closed by {@link stop}. */
  openTransport(id: string): Transport;
  stop(): Promise<void>;
}

/** Options of {@link startTerminalCluster}. */
export interface TerminalClusterOptions {
  /** Terminal-worker settings beyond {@link TEST_SHELL_ENV}. */
  env?: Record<string, string>;
  /** Gateway settings beyond the test's own. */
  gatewayEnv?: Record<string, string>;
  gateways?: number;
  /** Wraps the terminal-worker's transport (a test that holds what it emits). */
  workerTransport?: (transport: Transport) => Transport;
}

/**
 * Starts `gateways` gateways (default 1) and one terminal-worker on `build` — the
 * in-memory transport embedded mode composes, or the shared Redis under a prefix of the
 * test's own — each gateway at 127.0.0.1 on a port of its own; waits until every gateway
 * sees the worker. Shells run as this process's user (`TERMINAL_ISOLATION=none`).
 */
export async function startTerminalCluster(
  build: Build,
  options: TerminalClusterOptions = {},
): Promise<TerminalCluster> {
  const factory = transportFactory(build, HEARTBEAT, 'term');
  const config = loadTerminalWorkerConfig({ ...TEST_SHELL_ENV, TERMINAL_ISOLATION: 'none', ...options.env });
  const metrics = new Registry();
  const terminalWorker = createTerminalWorker({
    id: `terminal-${build}`,
    transport: ((open) => options.workerTransport?.(open) ?? open)(factory.open(`terminal-${build}`)),
    config,
    logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
    metrics,
  });
  terminalWorker.start();
  const gatewayConfig = loadGatewayConfig({
    AUTH_JWT_SECRET: TEST_SHELL_ENV.AUTH_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // A drained gateway's clients move at once: spreading them is gentle-drain's subject.
    GATEWAY_DRAIN_WINDOW_MS: '0',
    ...options.gatewayEnv,
  });
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  const gatewayIds: string[] = [];
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    // Unique across concurrent runs on the shared Redis (connection names carry it).
    const gatewayId = `gateway-${i}-${factory.prefix}`;
    gatewayIds.push(gatewayId);
    const transport = factory.open(gatewayId);
    const gateway = createGateway({
      id: gatewayId,
      config: gatewayConfig,
      jwtSecret: TEST_SHELL_ENV.AUTH_JWT_SECRET,
      transport,
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      metrics: new Registry(),
    });
    gateways.push(gateway);
    urls.push(`http://127.0.0.1:${await gateway.listen(0, '127.0.0.1')}`);
    await waitFor(async () => (await transport.registry.live('terminal')).length === 1, {
      message: `gateway ${i} to see the terminal worker`,
    });
  }
  return {
    url: urls[0]!,
    urls,
    terminalWorker,
    config,
    metrics,
    prefix: factory.prefix,
    gatewayIds,
    metric: (name) => metricValue(metrics, name),
    openTransport: (id) => factory.open(`${id}-${factory.prefix}`),
    async stop() {
      for (const gateway of gateways) await gateway.drain();
      await terminalWorker.drain();
      await factory.cleanup();
    },
  };
}

/** The value of the unlabelled metric `name` in `registry`; throws when it is not there. */
async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const value = values.find((entry) => Object.keys(entry.labels).length === 0)?.value;
  if (value === undefined) throw new Error(`metric ${name} has no unlabelled value`);
  return value;
}
