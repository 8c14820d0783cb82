import { createGateway, loadGatewayConfig, type Gateway } from '@ctos/gateway';
import { createLogger } from '@ctos/runtime';
import { transportFactory, waitFor, type Build, type ClientSocket } from '@ctos/testkit';
import type { HeartbeatOptions } from '@ctos/transport';
import { Registry } from 'prom-client';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker, type TerminalWorkerConfig } from '../src';
import { connectAs, TEST_SHELL_ENV } from './harness';

/** The product's heartbeat (see terminal-cluster.ts: quicker beats could declare a busy worker dead). */
const HEARTBEAT: HeartbeatOptions = { intervalMs: 1000, missedBeats: 3 };

/** One live session as the worker holds it. */
export type WorkerSession = TerminalWorker['sessions'] extends ReadonlyMap<string, infer S> ? S : never;

/**
 * Gateways and one terminal-worker of one build in this process, as terminal-cluster.ts
 * starts them, with what the stream model needs besides: each gateway can be lost — its
 * connections cut under it, or the gateway drained and a fresh one started in its slot.
 */
export interface StreamCluster {
  config: TerminalWorkerConfig;
  /** A connected socket of `user` through gateway slot `gateway`. */
  connect(user: string, gateway: number): Promise<ClientSocket>;
  /** The worker's live session `id`. */
  session(id: string): WorkerSession | undefined;
  /**
   * Cuts every TCP connection of gateway slot `gateway` from the server side, as a
   * crashed process or a dead network would: no Socket.IO goodbye, the gateway stays up.
   */
  cut(gateway: number): void;
  /** Drains gateway slot `gateway` (its sockets are closed) and starts a fresh gateway in the slot. */
  replace(gateway: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `gateways` gateways and one terminal-worker (settings: {@link TEST_SHELL_ENV},
 * then `env`) on `build`; shells run as this process's user.
 */
export async function startStreamCluster(
  build: Build,
  gateways: number,
  env: Record<string, string>,
): Promise<StreamCluster> {
  const factory = transportFactory(build, HEARTBEAT, 'stream');
  const config = loadTerminalWorkerConfig({ ...TEST_SHELL_ENV, TERMINAL_ISOLATION: 'none', ...env });
  const worker = createTerminalWorker({
    id: `terminal-${build}`,
    transport: factory.open(`terminal-${build}`),
    config,
    logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
    metrics: new Registry(),
  });
  worker.start();
  const gatewayConfig = loadGatewayConfig({
    AUTH_JWT_SECRET: TEST_SHELL_ENV.AUTH_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // Rate limits are tested elsewhere; here they would only refuse a busy sequence.
    GATEWAY_EVENTS_PER_SECOND: '1000000',
    GATEWAY_EVENTS_BURST: '1000000',
    // A replaced gateway's clients move at once: spreading them is gentle-drain's subject.
    GATEWAY_DRAIN_WINDOW_MS: '0',
  });
  let started = 0;
  const slots: Array<{ gateway: Gateway; url: string }> = [];
  const start = async () => {
    const id = `gateway-${started++}`;
    const transport = factory.open(id);
    const gateway = createGateway({
      id,
      config: gatewayConfig,
      jwtSecret: TEST_SHELL_ENV.AUTH_JWT_SECRET,
      transport,
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      metrics: new Registry(),
    });
    const url = `http://127.0.0.1:${await gateway.listen(0, '127.0.0.1')}`;
    await waitFor(async () => (await transport.registry.live('terminal')).length === 1, {
      message: `${id} to see the terminal worker`,
    });
    return { gateway, url };
  };
  for (let i = 0; i < gateways; i++) slots.push(await start());
  return {
    config,
    connect: (user, gateway) => connectAs(slots[gateway]!.url, user),
    session: (id) => worker.sessions.get(id),
    cut(gateway) {
      for (const socket of slots[gateway]!.gateway.io.of('/').sockets.values()) socket.request.socket.destroy();
    },
    async replace(gateway) {
      // A fresh id: a late death notice of the old one must not drop the new one's attachments.
      await slots[gateway]!.gateway.drain();
      slots[gateway] = await start();
    },
    async stop() {
      for (const slot of slots) await slot.gateway.drain();
      await worker.drain();
      await factory.cleanup();
    },
  };
}
