import type { Server as HttpServer } from 'node:http';
import type { Disposable } from '@ctos/protocol';
import type { AdapterFactory } from '@ctos/transport';
import { Server } from 'socket.io';
import type { GatewayConfig } from './config';
import type { GatewayMetrics } from './metrics';
import { isOriginAllowed } from './origin';
import type { GatewayServer } from './types';

/**
 * The gateway's Socket.IO server on `http`, at `/socket.io`, with the transports, ping
 * timing (ms) and payload limit (bytes) of `config` and the cluster's `adapter`.
 * A handshake from an origin outside ALLOWED_ORIGINS is refused before it upgrades and
 * counted in `handshakeRefusals` as `origin`.
 */
export function createSocketServer(
  http: HttpServer,
  config: GatewayConfig,
  adapter: AdapterFactory,
  metrics: GatewayMetrics,
): GatewayServer {
  return new Server(http, {
    path: '/socket.io',
    transports: config.SOCKET_TRANSPORTS,
    pingInterval: config.SOCKET_PING_INTERVAL_MS,
    pingTimeout: config.SOCKET_PING_TIMEOUT_MS,
    maxHttpBufferSize: config.SOCKET_MAX_PAYLOAD_BYTES,
    adapter,
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
}

/**
 * Closes `io` when disposed: every socket first (not just the listener, which sends
 * clients to another gateway now), then the server and its HTTP listener; the promise
 * resolves once both are closed.
 */
export function closeOnDispose(io: GatewayServer): Disposable {
  return {
    dispose: () => {
      io.local.disconnectSockets(true);
      return new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
