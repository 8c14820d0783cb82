import type { Server as HttpServer } from 'node:http';
import type { Disposable } from '@ctos/protocol';
import type { AdapterFactory } from '@ctos/transport';
import { Server } from 'socket.io';
import type { GatewayConfig } from './config';
import type { GatewayServer } from './types';

/**
 * The gateway's Socket.IO server on `http`, at `/socket.io`, with the transports, ping
 * timing (ms) and payload limit (bytes) of `config` and the cluster's `adapter`.
 *
 * It sets no `cors` option on purpose: Engine.IO then sends no `Access-Control-Allow-*`
 * header, so a page of another origin cannot read a polling response (nor pass a
 * preflight). Origins are checked in the handshake (`handshake.ts`), where a refusal
 * carries the code `FORBIDDEN`; a refusal at the transport would carry none.
 */
export function createSocketServer(http: HttpServer, config: GatewayConfig, adapter: AdapterFactory): GatewayServer {
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
