import { ServiceError, type ErrorCode } from '@ctos/protocol';
import { TokenBucket } from '@ctos/runtime';
import { verifyUserToken, type TokenPolicy } from './auth';
import { clientAddress, type ConnectionLimits, type LimitReached } from './connection-limits';
import { isOriginAllowed } from './origin';
import type { GatewayServer, GatewaySocket, RouteContext } from './types';

/** A Socket.IO middleware of the gateway's server. */
export type HandshakeMiddleware = Parameters<GatewayServer['use']>[0];

/** A handshake refusal: the client's `connect_error` carries `data: {code, error}`. */
export type HandshakeRefusal = Error & { data: { code: ErrorCode; error: string } };

/**
 * The handshake every socket passes before `connection`: refuses `FORBIDDEN` for a browser
 * origin outside ALLOWED_ORIGINS (see `isOriginAllowed`), before anything else is looked
 * at; `UNAVAILABLE` while the gateway drains (`draining()`), closing the connection too, so
 * that the client's next attempt is a new connection, which the load balancer can send to
 * another gateway; `UNAVAILABLE` while the server holds more than GATEWAY_MAX_SOCKETS;
 * `UNAUTHORIZED` for a missing or invalid token, `LIMIT_EXCEEDED` when the user or the
 * address holds its limit of sockets already. Refusals for origin, token and limit are
 * counted in `handshakeRefusals` by reason (`origin`, `token`, `limit`).
 * An accepted socket gets its `SocketData`: user, address, request budget and an
 * empty set of terminals. Nothing is counted against the limits here: the `connection`
 * handler counts, synchronously.
 */
export function handshake(
  io: GatewayServer,
  context: RouteContext,
  limits: ConnectionLimits,
  policy: TokenPolicy,
  draining: () => boolean,
): HandshakeMiddleware {
  const { config, metrics } = context;
  const tooMany: Record<LimitReached, string> = {
    user: `You have ${config.GATEWAY_MAX_SOCKETS_PER_USER} connections open already; close a tab or window.`,
    address: 'Too many connections from your address; try again later.',
  };
  return (socket, next) => {
    if (!isOriginAllowed(socket.request, config.ALLOWED_ORIGINS)) {
      metrics.handshakeRefusals.inc({ reason: 'origin' });
      closeOnceSent(socket);
      next(refusal('FORBIDDEN', "This page's origin may not connect to this server."));
      return;
    }
    if (draining()) {
      closeOnceSent(socket);
      next(refusal('UNAVAILABLE', 'This server is shutting down; try again shortly.'));
      return;
    }
    if (io.engine.clientsCount > config.GATEWAY_MAX_SOCKETS) {
      next(refusal('UNAVAILABLE', 'This server is full; try again shortly.'));
      return;
    }
    verifyUserToken((socket.handshake.auth as { token?: unknown } | undefined)?.token, policy).then(
      (user) => {
        const address = clientAddress(socket.request, config.GATEWAY_TRUST_PROXY);
        const reached = limits.check(user, address);
        if (reached) {
          metrics.handshakeRefusals.inc({ reason: 'limit' });
          next(refusal('LIMIT_EXCEEDED', tooMany[reached]));
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
  };
}

/**
 * Closes the socket's connection once the refusal about to be sent on it has been
 * written. Asking again on the same connection cannot succeed (its Origin is fixed; the
 * gateway is draining), so the client is left holding nothing, as the transport's own
 * refusal would.
 */
function closeOnceSent(socket: GatewaySocket): void {
  const connection = socket.conn;
  // The next packet is the refusal (Socket.IO writes it a tick after `next`); it is queued
  // right after this event, and `close` waits for the queue to be flushed.
  connection.once('packetCreate', () => queueMicrotask(() => connection.close()));
}

function refusal(code: ErrorCode, message: string): HandshakeRefusal {
  return Object.assign(new Error(message), { data: { code, error: message } });
}
