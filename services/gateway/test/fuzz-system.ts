import { createAiWorker, loadAiWorkerConfig } from '@ctos/ai-worker';
import { echoScript, startStandin, type Standin } from '@ctos/anthropic-standin';
import { createGateway, loadGatewayConfig, routeModules } from '@ctos/gateway';
import { startEmbedded } from '@ctos/launcher';
import { createMessageWorker, loadMessageWorkerConfig } from '@ctos/message-worker';
import { createLogger } from '@ctos/runtime';
import { createTerminalWorker, loadTerminalWorkerConfig } from '@ctos/terminal-worker';
import { TEST_JWT_SECRET, transportFactory, waitFor, type Build } from '@ctos/testkit';
import { Registry } from 'prom-client';

/** The largest Socket.IO message the fuzz's gateway takes: room for a payload past every schema bound. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/** TERMINAL_MAX_INPUT_BYTES, the product default: input past it must be refused. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** A producer token for the message API. */
const MESSAGE_TOKEN = 'fuzz-producer-token-0123456789abcdef';
/** A rate no fuzz batch reaches: the fuzz is about validation, not the per-socket limits (limits.test.ts). */
const UNLIMITED = String(1e12);

/** Settings of every service of the system under fuzz. */
const ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  WEB_DIST_DIR: '/nonexistent',
  LOG_LEVEL: 'silent',
  TERMINAL_SHELL: '/bin/bash',
  TERMINAL_SHELL_ARGS: '--norc --noprofile',
  TERMINAL_ISOLATION: 'none',
  TERMINAL_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES),
  SOCKET_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
  GATEWAY_EVENTS_PER_SECOND: UNLIMITED,
  GATEWAY_EVENTS_BURST: UNLIMITED,
  TERMINAL_INPUT_BYTES_PER_SECOND: UNLIMITED,
  TERMINAL_INPUT_BURST_BYTES: UNLIMITED,
  MESSAGE_API_TOKENS: MESSAGE_TOKEN,
  ANTHROPIC_API_KEY: 'sk-ant-fuzz',
  AI_MAX_RETRIES: '0',
  AI_DRAIN_GRACE_MS: '0',
  AI_MESSAGES_PER_MINUTE: '100000',
};

/** A running system: a gateway and the three workers, with an Anthropic stand-in. */
export interface FuzzSystem {
  url: string;
  /** Publishes a message to `user` through the producer API; resolves with its id. */
  publish(user: string, title: string): Promise<number>;
  stop(): Promise<void>;
}

const quiet = (service: string) => createLogger({ service, level: 'silent' });

/** Starts embedded mode (`memory`) or the services over the shared Redis (`redis`), each with its own stand-in. */
export async function startFuzzSystem(build: Build): Promise<FuzzSystem> {
  const standin = await startStandin({ script: echoScript({ firstDeltaDelayMs: 0, deltaIntervalMs: 0 }) });
  const env = { ...ENV, ANTHROPIC_BASE_URL: standin.url };
  try {
    return build === 'memory' ? await embedded(env, standin) : await overRedis(env, standin);
  } catch (error) {
    await standin.close();
    throw error;
  }
}

async function embedded(env: Record<string, string>, standin: Standin): Promise<FuzzSystem> {
  const system = await startEmbedded({ env, logger: quiet });
  return {
    url: system.url,
    publish: (user, title) => publish(system.messageApi.url, user, title),
    async stop() {
      await system.stop();
      await standin.close();
    },
  };
}

/** The distributed build's composition, in this process: every service on a transport of its own over Redis. */
async function overRedis(env: Record<string, string>, standin: Standin): Promise<FuzzSystem> {
  // The product's beats (1 s × 3): the fuzz shares one event loop with every service here,
  // and a shorter deadline would declare a busy process dead (a resync) rather than test it.
  const transports = transportFactory('redis', { intervalMs: 1000, missedBeats: 3 }, 'fuzz');
  const workerDeps = (id: string) => ({
    id,
    transport: transports.open(id),
    logger: quiet(id),
    metrics: new Registry(),
  });
  const terminal = createTerminalWorker({ ...workerDeps('terminal-fuzz'), config: loadTerminalWorkerConfig(env) });
  const message = createMessageWorker({ ...workerDeps('message-fuzz'), config: loadMessageWorkerConfig(env) });
  const ai = createAiWorker({ ...workerDeps('ai-fuzz'), config: loadAiWorkerConfig(env) });
  for (const worker of [terminal, message, ai]) worker.start();
  const gatewayTransport = transports.open('gateway-fuzz');
  const gateway = createGateway({
    id: 'gateway-fuzz',
    config: loadGatewayConfig({ ...env, GATEWAY_DRAIN_WINDOW_MS: '0' }),
    jwtSecret: TEST_JWT_SECRET,
    transport: gatewayTransport,
    logger: quiet('gateway'),
    metrics: new Registry(),
    extraRoutes: routeModules,
  });
  const stop = async () => {
    await gateway.drain();
    for (const worker of [ai, terminal, message]) await worker.drain();
    await transports.cleanup();
    await standin.close();
  };
  try {
    const port = await gateway.listen(0, '127.0.0.1');
    const apiPort = await message.listen(0, '127.0.0.1');
    for (const kind of ['terminal', 'message', 'ai'] as const) {
      await waitFor(async () => (await gatewayTransport.registry.live(kind)).length === 1, {
        message: `the gateway to see the ${kind} worker`,
      });
    }
    return {
      url: `http://127.0.0.1:${port}`,
      publish: (user, title) => publish(`http://127.0.0.1:${apiPort}`, user, title),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function publish(apiUrl: string, user: string, title: string): Promise<number> {
  const response = await fetch(`${apiUrl}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${MESSAGE_TOKEN}` },
    body: JSON.stringify({ user_id: user, source: 'fuzz', title, content: `content of ${title}` }),
  });
  const body = (await response.json()) as { messages?: Array<{ id: number }> };
  const id = body.messages?.[0]?.id;
  if (response.status !== 201 && response.status !== 200) throw new Error(`publish answered ${response.status}`);
  if (id === undefined) throw new Error(`publish answered no id: ${JSON.stringify(body)}`);
  return id;
}
