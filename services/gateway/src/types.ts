import type { ClientToServerEvents, Disposable, DisposableStore, ServerToClientEvents } from '@ctos/protocol';
import type { HandoffReport, Logger, TokenBucket } from '@ctos/runtime';
import type { Transport } from '@ctos/transport';
import type { Server, Socket } from 'socket.io';
import type { GatewayConfig } from './config';
import type { GatewayMetrics } from './metrics';

/** Per-socket state, set at the handshake. */
export interface SocketData {
  /** The authenticated user (the token's `sub`). */
  user: string;
  /** Terminal sessions this socket is attached to, for detaching on disconnect. */
  terminals: Set<string>;
  /** The client's address (see `clientAddress`), for per-address limits. */
  address: string;
  /** This socket's budget of request events (see GATEWAY_EVENTS_PER_SECOND). */
  requests: TokenBucket;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- gateways talk through the bus, not server-side emits
export type InterServerEvents = {};

/** The gateway's typed Socket.IO server. */
export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** One client's typed socket. */
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** What every route module gets. */
export interface RouteContext {
  /** This gateway's id in the registry (workers address its sockets' attachments by it). */
  gatewayId: string;
  transport: Transport;
  config: GatewayConfig;
  /** The gateway's logger, bound to `gateway`. */
  logger: Logger;
  metrics: GatewayMetrics;
  /** What the drain could not hand to the workers (detaches refused: Redis unreachable), logged once at its end. */
  handoff: HandoffReport;
}

/**
 * A family of events (terminal, ai, message). `connect` wires one socket's handlers and
 * adds everything it registers for that socket (listeners, per-socket state) to `owner`,
 * which is disposed once the socket has disconnected (its rooms already left).
 * `dispose` releases what the module holds for the whole gateway (its registry
 * subscriptions); the gateway calls it while draining, after every socket is closed.
 */
export interface RouteModule extends Disposable {
  connect(socket: GatewaySocket, owner: DisposableStore): void;
}
