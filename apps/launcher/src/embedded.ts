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
    attempt(() => loadGatewayConfig(env)),
    // Embedded mode has no Redis, so its isolation defaults to `none` (one local user);
    // `TERMINAL_ISOLATION=user` still works when it runs as root.
    attempt(() => {
      const config = loadTerminalWorkerConfig({ ...env, REDIS_URL: undefined, REDIS_URL_FILE: undefined });
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

/**
 * Embedded mode: the gateway and every worker in this process on the in-memory bus and
 * adapter — no Redis, no nginx, no Docker. The same service functions as the
 * distributed build, composed differently.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const { env, logger } = options;
  const [embedded, gatewayConfig, terminalConfig, messageConfig, aiConfig] = loadAll(env);
  // A secret of our own unless the operator gave one; tokens die with the process.
  const jwtSecret = gatewayConfig.AUTH_JWT_SECRET ?? randomBytes(32).toString('hex');
  const cluster = new MemoryCluster({
    intervalMs: gatewayConfig.HEARTBEAT_INTERVAL_MS,
    missedBeats: gatewayConfig.HEARTBEAT_MISSED_BEATS,
  });
  const transports: Transport[] = [];
  const transport = (id: string): Transport => {
    const t = createMemoryTransport(cluster, {
      id,
      observer: { onHandlerError: (error) => logger(id).error({ err: error }, 'bus handler failed') },
    });
    transports.push(t);
    return t;
  };

  const terminalWorker = createTerminalWorker({
    id: 'terminal-embedded',
    transport: transport('terminal-embedded'),
    config: terminalConfig,
    logger: logger('terminal-worker'),
    metrics: createMetricsRegistry('terminal-worker'),
  });
  terminalWorker.start();

  const messageToken = messageConfig.MESSAGE_API_TOKENS[0] ?? randomBytes(32).toString('hex');
  const messageWorker = createMessageWorker({
    id: 'message-embedded',
    transport: transport('message-embedded'),
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
    transport: transport('ai-embedded'),
    config: aiConfig,
    logger: logger('ai-worker'),
    metrics: createMetricsRegistry('ai-worker'),
  });
  aiWorker.start();

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
    transport: transport('gateway-embedded'),
    logger: logger('gateway'),
    metrics: createMetricsRegistry('gateway'),
    extraRoutes: routeModules,
    mount: (app) => {
      login.mount(app);
      mountStaticWeb(app, embedded.WEB_DIST_DIR ?? DEFAULT_WEB_DIST);
    },
  });
  let port: number;
  try {
    port = await gateway.listen(gatewayConfig.PORT, gatewayConfig.HOST);
  } catch (error) {
    // The port is taken (or not ours): release everything started so far, then report.
    await aiWorker.drain();
    await terminalWorker.drain();
    await messageWorker.drain();
    for (const t of transports) await t.dispose();
    throw error;
  }
  const url = `http://${gatewayConfig.HOST.includes(':') ? `[${gatewayConfig.HOST}]` : gatewayConfig.HOST}:${port}`;

  return {
    url,
    port,
    jwtSecret,
    loginUrl: () => `${url}/?login=${login.issue()}`,
    gateway,
    terminalWorker,
    messageWorker,
    aiWorker,
    messageApi: { url: `http://${gatewayConfig.HOST}:${messageApiPort}`, token: messageToken },
    async stop() {
      await gateway.drain();
      await aiWorker.drain();
      await terminalWorker.drain();
      await messageWorker.drain();
      for (const t of transports) await t.dispose();
    },
  };
}
