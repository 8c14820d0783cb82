import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createGateway, loadGatewayConfig, routeModules, type Gateway } from '@ctos/gateway';
import { createAiWorker, loadAiWorkerConfig, type AiWorker } from '@ctos/ai-worker';
import { createMessageWorker, loadMessageWorkerConfig, type MessageWorker } from '@ctos/message-worker';
import { ConfigError, createMetricsRegistry, type Logger } from '@ctos/runtime';
import {
  createTerminalWorker,
  isolationProblems,
  loadTerminalWorkerConfig,
  type TerminalWorker,
} from '@ctos/terminal-worker';
import { createMemoryTransport, MemoryCluster, type Transport } from '@ctos/transport';
import { loadEmbeddedConfig } from './embedded-config';
import { createLoginCodes } from './login';
import { mountStaticWeb } from './static-web';

/** The repository's built web page. */
const DEFAULT_WEB_DIST = path.resolve(__dirname, '../../../web/dist');

/**
 * Every service's settings from one environment, with every bad value of every service
 * reported together (one ConfigError), as each service does on its own.
 */
function loadAll(env: Record<string, string | undefined>) {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // The same variable can be read by several services: report it once.
      for (const problem of error.problems) if (!problems.includes(problem)) problems.push(problem);
      return undefined;
    }
  };
  const loaded = [
    attempt(() => loadEmbeddedConfig(env)),
    // One gateway: its clients have nowhere else to go, so its sockets close at once.
    attempt(() => ({ ...loadGatewayConfig(env), GATEWAY_DRAIN_WINDOW_MS: 0 })),
    // Embedded mode has no Redis, so its isolation defaults to `none` (one local user);
    // `TERMINAL_ISOLATION=user` still works when it runs as root.
    attempt(() => {
      const config = loadTerminalWorkerConfig({
        ...env,
        REDIS_URL: undefined,
        REDIS_URL_FILE: undefined,
        REDIS_SENTINELS: undefined,
        REDIS_SENTINELS_FILE: undefined,
      });
      const missing = isolationProblems(config);
      if (missing.length > 0) throw new ConfigError(missing);
      return config;
    }),
    attempt(() => loadMessageWorkerConfig(env)),
    attempt(() => loadAiWorkerConfig(env)),
  ] as const;
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded as {
    [K in keyof typeof loaded]: NonNullable<(typeof loaded)[K]>;
  };
}

/** Options of {@link startEmbedded}. */
export interface EmbeddedOptions {
  /** Environment to read settings from (the services' and embedded mode's). */
  env: Record<string, string | undefined>;
  /** A logger per service name (`gateway`, `terminal-worker`…). */
  logger: (service: string) => Logger;
}

/** A running embedded system. */
export interface Embedded {
  /** `http://host:port`. */
  url: string;
  port: number;
  /** The secret tokens are signed with (generated unless AUTH_JWT_SECRET is set). */
  jwtSecret: string;
  /** A fresh one-time login URL. */
  loginUrl(): string;
  gateway: Gateway;
  terminalWorker: TerminalWorker;
  messageWorker: MessageWorker;
  aiWorker: AiWorker;
  /** The message producer API (`POST /messages`) and a token it accepts. */
  messageApi: { url: string; token: string };
  /** Drains every service in order and releases everything. */
  stop(): Promise<void>;
}

/** One in-memory bus for every service of this process; each service gets a transport of its own. */
interface MemoryTransports {
  /** A transport on the shared bus for the service `id`, kept until {@link MemoryTransports.disposeAll}. */
  create(id: string): Transport;
  /** Disposes every transport made, one after another in the order they were made. */
  disposeAll(): Promise<void>;
}

/** The shared in-memory bus, with the gateway's heartbeat settings (ms, beats). */
function memoryTransports(
  gatewayConfig: ReturnType<typeof loadGatewayConfig>,
  logger: EmbeddedOptions['logger'],
): MemoryTransports {
  const cluster = new MemoryCluster({
    intervalMs: gatewayConfig.HEARTBEAT_INTERVAL_MS,
    missedBeats: gatewayConfig.HEARTBEAT_MISSED_BEATS,
  });
  const transports: Transport[] = [];
  return {
    create(id) {
      const t = createMemoryTransport(cluster, {
        id,
        observer: { onHandlerError: (error) => logger(id).error({ err: error }, 'bus handler failed') },
      });
      transports.push(t);
      return t;
    },
    async disposeAll() {
      for (const t of transports) await t.dispose();
    },
  };
}

/** The three workers of embedded mode, started, and the producer API's port and token. */
interface EmbeddedWorkers {
  terminalWorker: TerminalWorker;
  messageWorker: MessageWorker;
  aiWorker: AiWorker;
  messageApiPort: number;
  messageToken: string;
}

/** Starts the terminal-, message- and AI worker, in that order, and the message producer API. */
async function startWorkers(
  configs: ReturnType<typeof loadAll>,
  options: EmbeddedOptions,
  transports: MemoryTransports,
): Promise<EmbeddedWorkers> {
  const { env, logger } = options;
  const [, gatewayConfig, terminalConfig, messageConfig, aiConfig] = configs;
  const terminalWorker = createTerminalWorker({
    id: 'terminal-embedded',
    transport: transports.create('terminal-embedded'),
    config: terminalConfig,
    logger: logger('terminal-worker'),
    metrics: createMetricsRegistry('terminal-worker'),
  });
  terminalWorker.start();

  const messageToken = messageConfig.MESSAGE_API_TOKENS[0] ?? randomBytes(32).toString('hex');
  const messageWorker = createMessageWorker({
    id: 'message-embedded',
    transport: transports.create('message-embedded'),
    config: messageConfig,
    logger: logger('message-worker'),
    metrics: createMetricsRegistry('message-worker'),
    apiTokens: messageConfig.MESSAGE_API_TOKENS.length > 0 ? messageConfig.MESSAGE_API_TOKENS : [messageToken],
  });
  messageWorker.start();
  // Any free port unless the operator chose one, so embedded instances never collide.
  const messageApiPort = await messageWorker.listen(
    env.MESSAGE_API_PORT ? messageConfig.MESSAGE_API_PORT : 0,
    gatewayConfig.HOST,
  );

  // With no ANTHROPIC_API_KEY it warns once and answers each message with UNAVAILABLE.
  const aiWorker = createAiWorker({
    id: 'ai-embedded',
    transport: transports.create('ai-embedded'),
    config: aiConfig,
    logger: logger('ai-worker'),
    metrics: createMetricsRegistry('ai-worker'),
  });
  aiWorker.start();
  return { terminalWorker, messageWorker, aiWorker, messageApiPort, messageToken };
}

/** Drains the workers (AI, terminal, message, in that order), then disposes every transport. */
async function stopWorkers(workers: EmbeddedWorkers, transports: MemoryTransports): Promise<void> {
  await workers.aiWorker.drain();
  await workers.terminalWorker.drain();
  await workers.messageWorker.drain();
  await transports.disposeAll();
}

/** The gateway of embedded mode, serving the one-time login and the web page besides Socket.IO. */
function createEmbeddedGateway(
  configs: ReturnType<typeof loadAll>,
  options: EmbeddedOptions,
  transports: MemoryTransports,
  jwtSecret: string,
): { gateway: Gateway; login: ReturnType<typeof createLoginCodes> } {
  const [embedded, gatewayConfig] = configs;
  const login = createLoginCodes({
    secret: jwtSecret,
    user: embedded.EMBEDDED_USER,
    tokenTtlSeconds: embedded.EMBEDDED_TOKEN_TTL_S,
    ...(gatewayConfig.AUTH_JWT_ISSUER ? { issuer: gatewayConfig.AUTH_JWT_ISSUER } : {}),
    ...(gatewayConfig.AUTH_JWT_AUDIENCE ? { audience: gatewayConfig.AUTH_JWT_AUDIENCE } : {}),
  });
  const gateway = createGateway({
    id: 'gateway-embedded',
    config: gatewayConfig,
    jwtSecret,
    transport: transports.create('gateway-embedded'),
    logger: options.logger('gateway'),
    metrics: createMetricsRegistry('gateway'),
    extraRoutes: routeModules,
    mount: (app) => {
      login.mount(app);
      mountStaticWeb(app, embedded.WEB_DIST_DIR ?? DEFAULT_WEB_DIST);
    },
  });
  return { gateway, login };
}

/**
 * Embedded mode: the gateway and every worker in this process on the in-memory bus and
 * adapter — no Redis, no nginx, no Docker. The same service functions as the
 * distributed build, composed differently.
 * @throws ConfigError listing every bad setting of every service; the gateway's listen
 * error (e.g. EADDRINUSE) after releasing everything started so far.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const configs = loadAll(options.env);
  const gatewayConfig = configs[1];
  // A secret of our own unless the operator gave one; tokens die with the process.
  const jwtSecret = gatewayConfig.AUTH_JWT_SECRET ?? randomBytes(32).toString('hex');
  const transports = memoryTransports(gatewayConfig, options.logger);
  const workers = await startWorkers(configs, options, transports);
  const { gateway, login } = createEmbeddedGateway(configs, options, transports, jwtSecret);
  let port: number;
  try {
    port = await gateway.listen(gatewayConfig.PORT, gatewayConfig.HOST);
  } catch (error) {
    // The port is taken (or not ours): release everything started so far, then report.
    await stopWorkers(workers, transports);
    throw error;
  }
  const url = `http://${gatewayConfig.HOST.includes(':') ? `[${gatewayConfig.HOST}]` : gatewayConfig.HOST}:${port}`;
  const { terminalWorker, messageWorker, aiWorker } = workers;

  return {
    url,
    port,
    jwtSecret,
    loginUrl: () => `${url}/?login=${login.issue()}`,
    gateway,
    terminalWorker,
    messageWorker,
    aiWorker,
    messageApi: { url: `http://${gatewayConfig.HOST}:${workers.messageApiPort}`, token: workers.messageToken },
    async stop() {
      await gateway.drain();
      await stopWorkers(workers, transports);
    },
  };
}
