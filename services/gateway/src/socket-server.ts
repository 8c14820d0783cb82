import type { Server as HttpServer } from 'node:http';
import type { AdapterFactory } from '@ctos/transport';
import { Server } from 'socket.io';
import type { GatewayConfig } from './config';
import { disconnectOverWindow } from './drain-window';
import type { GatewayServer, GatewaySocket } from './types';

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
 * Closes `io`: its sockets first, spread over `windowMs` (see {@link disconnectOverWindow}),
 * so their clients reconnect through other gateways, not all at once; then the server and
 * its HTTP listener. Resolves once both are closed. A socket whose handshake completes
 * meanwhile (it passed the handshake's check for a drain before the drain began) is
 * disconnected at once: the window is for the sockets the gateway held, not for new ones.
 */
export async function closeSocketServer(io: GatewayServer, windowMs: number): Promise<void> {
  const late = (socket: GatewaySocket): void => void socket.disconnect(true);
  io.on('connection', late);
  await disconnectOverWindow(io, windowMs);
  await io.close();
  io.off('connection', late);
}
