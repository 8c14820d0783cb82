import { mountRecordingDownloads, recordingRoutes } from './recordings';
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { DisposableStore } from '@ctos/protocol';
import { createOpsApp, HandoffReport, type Logger } from '@ctos/runtime';
import type { Transport } from '@ctos/transport';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Server } from 'socket.io';
import { secretKey, type TokenPolicy } from './auth';
import type { GatewayConfig } from './config';
import { acceptConnections, joinUserRoom } from './connection';
import { ConnectionLimits } from './connection-limits';
import { handshake } from './handshake';
import { createGatewayMetrics, liveWorkersGauge } from './metrics';
import { resyncAfterOutages, resynchroniser } from './resync';
import { closeSocketServer, createSocketServer } from './socket-server';
import { terminalRoutes } from './terminal-routes';
import type { GatewayServer, RouteContext, RouteModule } from './types';

/** What {@link createGateway} needs. */
export interface GatewayDeps {
  id: string;
  config: GatewayConfig;
  /** The HS256 secret (embedded mode may generate it; distributed mode reads AUTH_JWT_SECRET). */
  jwtSecret: string;
  transport: Transport;
  logger: Logger;
  metrics: Registry;
  /** Route modules beyond the terminal's (AI, messages), each built from the same context. */
  extraRoutes?: Array<(context: RouteContext) => RouteModule>;
  /** Adds routes to the HTTP app (embedded mode serves the web build and its login here). */
  mount?: (app: Express) => void;
}

/** A running gateway. */
export interface Gateway {
  readonly io: GatewayServer;
  readonly http: HttpServer;
  /** Listens on `port` (0: any) at `host`; resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops taking sockets at once — it stops listening, so a new connection (a client's, a
   * load balancer's probe) is refused and nginx tries the next gateway; a handshake on a
   * connection it already had is refused with `UNAVAILABLE`, and `/readyz` on one answers
   * 503 naming `draining` — and closes the sockets it has, spread over
   * GATEWAY_DRAIN_WINDOW_MS, so their clients reconnect through other gateways, not all at
   * once; waits for their detaches; then stops routing; then leaves the registry. Every
   * step runs even when an earlier one failed; the drain then rejects with the failures
   * (see {@link drainInTurn}). A second call settles with the first.
   */
  drain(): Promise<void>;
}

/**
 * The gateway: Socket.IO for clients (authenticated at the handshake, every payload
 * validated), the operational HTTP endpoints beside it, and routes to the workers over
 * the bus. It holds no session state: a gateway can die and no session dies with it.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, transport, id } = deps;
  const logger = deps.logger.child({ gateway: id });
  const metrics = createGatewayMetrics(deps.metrics);
  const handoff = new HandoffReport();
  const context: RouteContext = { gatewayId: id, transport, config, logger, metrics, handoff };
  // What the gateway owns, in three stores that drain() releases one after another:
  // its sockets and their server, then its routing, then its place in the registry.
  const sockets = new DisposableStore();
  const routing = new DisposableStore();
  const registration = new DisposableStore();
  // Set when drain() is called: from then on /readyz fails and handshakes are refused.
  let draining = false;
  const isDraining = (): boolean => draining;

  const http = createServer(opsApp(deps, isDraining));
  const io = createSocketServer(http, config, transport.adapter);
  const detachServer = transport.attachServer(io as unknown as Server);
  routing.defer(() => void detachServer());
  const modules = [terminalRoutes, recordingRoutes, ...(deps.extraRoutes ?? [])].map((build) => build(context));
  // Added last to first, so that they are released in the order they were built.
  for (const module of [...modules].reverse()) routing.add(module);
  const limits = new ConnectionLimits(config.GATEWAY_MAX_SOCKETS_PER_USER, config.GATEWAY_MAX_SOCKETS_PER_ADDRESS);
  io.use(handshake(io, context, limits, tokenPolicy(deps), isDraining));
  io.use(joinUserRoom(context));
  const connections = routing.add(acceptConnections(io, context, modules, limits));

  // Released newest first: no resync once draining; then every socket closed, spread over
  // the window, each close starting its release, and the server closed after them; then
  // the wait for those releases (their detaches are bus sends, each confirmed or given up
  // on within BUS_REQUEST_TIMEOUT_MS, so once the last socket is closed that bounds the wait).
  sockets.defer(async () => {
    await closeSocketServer(io, config.GATEWAY_DRAIN_WINDOW_MS);
    if (!(await connections.released(config.BUS_REQUEST_TIMEOUT_MS))) {
      logger.warn({ timeoutMs: config.BUS_REQUEST_TIMEOUT_MS }, 'closed sockets still releasing; draining on');
    }
  });
  const resync = resynchroniser(io, context);
  sockets.add(resyncAfterOutages(transport, resync));
  let drained: Promise<void> | undefined;

  return {
    io,
    http,
    async listen(port, host) {
      http.listen(port, host);
      await once(http, 'listening');
      registration.add(
        transport.registry.announce({
          id,
          kind: 'gateway',
          capacity: config.GATEWAY_MAX_SOCKETS,
          load: () => io.engine.clientsCount,
          // Declared dead, the workers dropped our sockets' attachments: have them attach again.
          onRejoined: (reason) => {
            if (reason === 'declared-dead')
              resync('gateway_declared_dead', 'this gateway was declared dead while alive');
          },
        }),
      );
      const bound = (http.address() as AddressInfo).port;
      logger.info({ port: bound, host }, 'listening');
      return bound;
    },
    drain() {
      // Each stage finishes before the next begins: no resync once draining; every socket
      // closed (their clients go to other gateways, spread over the window), the server
      // after them, and each socket's release (its detaches sent); the route modules'
      // subscriptions, then the adapter's hold on the server; last, leaving the registry.
      // A second call waits for the first.
      draining = true;
      if (http.listening) stopListening(http);
      handoff.begin();
      drained ??= drainInTurn({ sockets, routing, registration }).finally(() => handoff.log(logger));
      return drained;
    },
  };
}

/**
 * Disposes each store in turn, each once the one before has settled, and every one of
 * them even when an earlier one failed: a gateway whose sockets failed to close still
 * leaves the registry. Then rejects with what failed, so the process exits 1 (see
 * `exitOnSignal`): an `AggregateError` naming the failed steps, with each step's failure
 * in `errors`, which is how the failures are logged, once.
 */
async function drainInTurn(steps: Record<string, DisposableStore>): Promise<void> {
  const failed: string[] = [];
  const failures: unknown[] = [];
  for (const [step, store] of Object.entries(steps)) {
    try {
      await store.dispose();
    } catch (error) {
      failed.push(step);
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `the gateway drain failed at: ${failed.join(', ')}`);
}

/**
 * The operational HTTP app (health, readiness, metrics), with what `deps.mount` adds.
 * Ready means "can serve": Redis reachable and not draining (a draining gateway is taken
 * out of the load balancer at once, while it still closes its sockets). A kind of worker
 * missing takes no gateway out of the load balancer (every gateway would be missing it
 * alike); its events answer `UNAVAILABLE`, and `ctos_gateway_live_workers{kind}` shows it.
 */
function opsApp(deps: GatewayDeps, draining: () => boolean): Express {
  const { transport } = deps;
  liveWorkersGauge(deps.metrics, transport);
  const app = createOpsApp(deps.metrics, { transport: () => transport.healthy(), draining: () => !draining() });
  mountRecordingDownloads(app, deps.config.TERMINAL_RECORDING_DIR, tokenPolicy(deps));
  deps.mount?.(app);
  return app;
}

/** What a handshake token must satisfy besides its signature: the secret, and issuer and audience when set. */
function tokenPolicy({ jwtSecret, config }: GatewayDeps): TokenPolicy {
  return {
    secret: secretKey(jwtSecret),
    ...(config.AUTH_JWT_ISSUER ? { issuer: config.AUTH_JWT_ISSUER } : {}),
    ...(config.AUTH_JWT_AUDIENCE ? { audience: config.AUTH_JWT_AUDIENCE } : {}),
  };
}

/**
 * Stops taking connections and keeps every one it has, idle keep-alive ones included
 * (`http.close()` would close those: nginx's pooled upstream connections, which polling
 * clients' next requests ride on). A new connection is refused by the system, which nginx
 * takes as this gateway's failure and tries the next at once, where a handshake refused on
 * the HTTP level would come back here, hashed by address. The server's 'close' follows
 * when the last connection ends.
 */
function stopListening(http: HttpServer): void {
  NetServer.prototype.close.call(http);
}
