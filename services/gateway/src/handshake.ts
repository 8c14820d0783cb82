import { ServiceError, type ErrorCode } from '@ctos/protocol';
import { TokenBucket } from '@ctos/runtime';
import { verifyUserToken, type TokenPolicy } from './auth';
import { clientAddress, type ConnectionLimits, type LimitReached } from './connection-limits';
import type { GatewayServer, RouteContext } from './types';

/** A Socket.IO middleware of the gateway's server. */
export type HandshakeMiddleware = Parameters<GatewayServer['use']>[0];

/** A handshake refusal: the client's `connect_error` carries `data: {code, error}`. */
export type HandshakeRefusal = Error & { data: { code: ErrorCode; error: string } };

/**
 * The handshake every socket passes before `connection`: refuses `UNAVAILABLE` while the
 * server holds more than GATEWAY_MAX_SOCKETS, `UNAUTHORIZED` for a missing or invalid
 * token, `LIMIT_EXCEEDED` when the user or the address holds its limit of sockets
 * already; each refusal is counted in `handshakeRefusals` by reason (`token`, `limit`).
 * An accepted socket gets its `SocketData`: user, address, request budget and an
 * empty set of terminals. Nothing is counted against the limits here: the `connection`
 * handler counts, synchronously.
 */
export function handshake(
  io: GatewayServer,
  context: RouteContext,
  limits: ConnectionLimits,
  policy: TokenPolicy,
): HandshakeMiddleware {
  const { config, metrics } = context;
  const tooMany: Record<LimitReached, string> = {
    user: `You have ${config.GATEWAY_MAX_SOCKETS_PER_USER} connections open already; close a tab or window.`,
    address: 'Too many connections from your address; try again later.',
  };
  return (socket, next) => {
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

function refusal(code: ErrorCode, message: string): HandshakeRefusal {
  return Object.assign(new Error(message), { data: { code, error: message } });
}
