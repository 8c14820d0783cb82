import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rooms, ServiceError, type ErrorCode } from '@ctos/protocol';
import { createOpsApp, TokenBucket, type Logger } from '@ctos/runtime';
import type { AnnouncementHandle, Transport } from '@ctos/transport';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { Server } from 'socket.io';
import { secretKey, verifyUserToken } from './auth';
import { refuseUnknownEvents } from './bind-event';
import type { GatewayConfig } from './config';
import { clientAddress, ConnectionCounter } from './connection-limits';
import { createGatewayMetrics } from './metrics';
import { isOriginAllowed } from './origin';
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
   * Stops taking sockets and closes the ones it has, so their clients reconnect through
   * another gateway; then leaves the registry.
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
  const context: RouteContext = { gatewayId: id, transport, config, logger, metrics };
  const modules = [terminalRoutes(context), ...(deps.extraRoutes ?? []).map((build) => build(context))];
  const policy = {
    secret: secretKey(deps.jwtSecret),
    ...(config.AUTH_JWT_ISSUER ? { issuer: config.AUTH_JWT_ISSUER } : {}),
    ...(config.AUTH_JWT_AUDIENCE ? { audience: config.AUTH_JWT_AUDIENCE } : {}),
  };

  const app = createOpsApp(deps.metrics, {
    transport: () => transport.healthy(),
    terminal_workers: async () => (await transport.registry.live('terminal')).length > 0,
    message_workers: async () => (await transport.registry.live('message')).length > 0,
    ai_workers: async () => (await transport.registry.live('ai')).length > 0,
  });
  deps.mount?.(app);
  const http = createServer(app);

  const io: GatewayServer = new Server(http, {
    path: '/socket.io',
    transports: config.SOCKET_TRANSPORTS,
    pingInterval: config.SOCKET_PING_INTERVAL_MS,
    pingTimeout: config.SOCKET_PING_TIMEOUT_MS,
    maxHttpBufferSize: config.SOCKET_MAX_PAYLOAD_BYTES,
    adapter: transport.adapter,
    serveClient: false,
    // The classic Redis adapter cannot persist sessions (P11); recovery is ours: replay
    // by output position, message sync by id.
    connectionStateRecovery: undefined,
    allowRequest: (request, callback) => {
      if (isOriginAllowed(request, config.ALLOWED_ORIGINS)) {
        callback(null, true);
        return;
      }
      metrics.handshakeRefusals.inc({ reason: 'origin' });
      callback('origin not allowed', false);
    },
  });
  const detachServer = transport.attachServer(io as unknown as Server);
  // Room events emitted while the adapter's subscription was down never reached our
  // sockets, and nothing tells their clients. Closing the connections does: each client
  // reconnects and resumes by position — terminal attach with its seq, message:sync with
  // its last id, ai:resume with its last index. The transport is closed, not the socket
  // (no DISCONNECT packet): to Socket.IO that is a lost connection, which the client
  // retries by itself with its jittered backoff, so they do not all come back at once.
  const resync = (why: string): void => {
    metrics.resyncs.inc();
    logger.warn({ sockets: io.engine.clientsCount }, `${why}; closing connections so clients resynchronise`);
    for (const socket of io.of('/').sockets.values()) socket.conn.close();
  };
  const stopResync = transport.onResubscribed(() =>
    resync('room events may have been missed while Redis was unreachable'),
  );

  const perUser = new ConnectionCounter();
  const perAddress = new ConnectionCounter();
  const tooMany = (user: string, address: string): string | undefined => {
    if (!perUser.acquire(user, config.GATEWAY_MAX_SOCKETS_PER_USER)) {
      return `You have ${config.GATEWAY_MAX_SOCKETS_PER_USER} connections open already; close a tab or window.`;
    }
    if (!perAddress.acquire(address, config.GATEWAY_MAX_SOCKETS_PER_ADDRESS)) {
      perUser.release(user);
      return 'Too many connections from your address; try again later.';
    }
    perUser.release(user);
    perAddress.release(address);
    return undefined;
  };

  io.use((socket, next) => {
    if (io.engine.clientsCount > config.GATEWAY_MAX_SOCKETS) {
      next(refusal('UNAVAILABLE', 'This server is full; try again shortly.'));
      return;
    }
    verifyUserToken((socket.handshake.auth as { token?: unknown } | undefined)?.token, policy).then(
      (user) => {
        const address = clientAddress(socket.request, config.GATEWAY_TRUST_PROXY);
        const refused = tooMany(user, address);
        if (refused) {
          metrics.handshakeRefusals.inc({ reason: 'limit' });
          next(refusal('LIMIT_EXCEEDED', refused));
          return;
        }
        socket.data.user = user;
        socket.data.address = address;
        socket.data.requests = new TokenBucket(config.GATEWAY_EVENTS_PER_SECOND, config.GATEWAY_EVENTS_BURST);
        socket.data.terminals = new Set();
        next();
      },
      (error: unknown) => {
        metrics.handshakeRefusals.inc({ reason: 'token' });
        const code: ErrorCode = error instanceof ServiceError ? error.code : 'UNAUTHORIZED';
        next(refusal(code, error instanceof ServiceError ? error.message : 'Sign in again.'));
      },
    );
  });

  io.on('connection', (socket) => {
    const { user, address } = socket.data;
    // Counted here, synchronously, so concurrent handshakes cannot all slip past the check above.
    if (!perUser.acquire(user, config.GATEWAY_MAX_SOCKETS_PER_USER)) {
      socket.disconnect(true);
      return;
    }
    if (!perAddress.acquire(address, config.GATEWAY_MAX_SOCKETS_PER_ADDRESS)) {
      perUser.release(user);
      socket.disconnect(true);
      return;
    }
    metrics.sockets.inc();
    void socket.join(rooms.user(socket.data.user));
    refuseUnknownEvents(socket, context);
    for (const module of modules) module.connect(socket);
    socket.on('disconnect', () => {
      perUser.release(user);
      perAddress.release(address);
      metrics.sockets.dec();
      for (const module of modules) module.disconnect?.(socket);
    });
  });

  let announcement: AnnouncementHandle | undefined;

  return {
    io,
    http,
    async listen(port, host) {
      http.listen(port, host);
      await once(http, 'listening');
      announcement = transport.registry.announce({
        id,
        kind: 'gateway',
        capacity: config.GATEWAY_MAX_SOCKETS,
        load: () => io.engine.clientsCount,
        // Declared dead, the workers dropped our sockets' attachments: have them attach again.
        onRejoined: (reason) => {
          if (reason === 'declared-dead') resync('this gateway was declared dead while alive');
        },
      });
      const bound = (http.address() as AddressInfo).port;
      logger.info({ port: bound, host }, 'listening');
      return bound;
    },
    async drain() {
      // Closing the sockets (not just the listener) sends clients to another gateway now.
      stopResync();
      io.local.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      for (const module of modules) module.dispose?.();
      detachServer();
      await announcement?.dispose();
    },
  };
}

/** A handshake refusal: the client's `connect_error` carries `data: {code, error}`. */
function refusal(code: ErrorCode, message: string): Error & { data: { code: ErrorCode; error: string } } {
  return Object.assign(new Error(message), { data: { code, error: message } });
}
