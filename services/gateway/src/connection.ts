import { DisposableStore, rooms, type Disposable } from '@ctos/protocol';
import { refuseUnknownEvents } from './bind-event';
import type { ConnectionLimits } from './connection-limits';
import type { HandshakeMiddleware } from './handshake';
import type { GatewayServer, GatewaySocket, RouteContext, RouteModule } from './types';

/** The sockets a gateway has accepted. Disposing stops accepting more. */
export interface Connections extends Disposable {
  /**
   * Settles once every socket accepted so far has disconnected and released what it held
   * (its detaches sent to the workers, or given up on), or after `withinMs`, whichever
   * comes first; true when every release has settled. Never rejects: a release that
   * failed has been logged.
   */
  released(withinMs: number): Promise<boolean>;
}

/**
 * Wires every socket that passed the handshake: counts it against the per-user and
 * per-address limits (a socket over either is disconnected at once), counts it in the
 * `sockets` gauge, refuses the events nobody handles and connects each route module, in
 * order (its user's room it joined in {@link joinUserRoom}). Everything the socket holds is owned
 * by one store, released when it disconnects; {@link Connections.released} waits for
 * those releases, so a drain does not leave the registry before its sockets' detaches
 * are sent. Disposing stops wiring new sockets.
 */
export function acceptConnections(
  io: GatewayServer,
  context: RouteContext,
  modules: readonly RouteModule[],
  limits: ConnectionLimits,
): Connections {
  /** One promise per socket accepted and not yet released: settles when its release has. */
  const unreleased = new Set<Promise<void>>();
  const onConnection = (socket: GatewaySocket): void => {
    const { user, address } = socket.data;
    // Counted here, synchronously, so concurrent handshakes cannot all slip past the handshake's check.
    const counted = limits.acquire(user, address);
    if (typeof counted === 'string') {
      socket.disconnect(true);
      return;
    }
    const owned = new DisposableStore();
    owned.add(counted);
    context.metrics.sockets.inc();
    owned.defer(() => void context.metrics.sockets.dec());
    owned.add(refuseUnknownEvents(socket, context));
    for (const module of modules) module.connect(socket, owned);
    let settle!: () => void;
    const released = new Promise<void>((resolve) => (settle = resolve));
    unreleased.add(released);
    // Socket.IO has left the socket's rooms by now, as the modules expect.
    socket.on('disconnect', () => {
      void release(owned, context, user).then(() => {
        unreleased.delete(released);
        settle();
      });
    });
  };
  io.on('connection', onConnection);
  return {
    released: (withinMs) => settledWithin([...unreleased], withinMs),
    dispose: () => void io.off('connection', onConnection),
  };
}

/** Disposes one socket's store; resolves once every release has settled, a failure logged. Never rejects. */
async function release(owned: DisposableStore, context: RouteContext, user: string): Promise<void> {
  try {
    await owned.dispose();
  } catch (error) {
    // Each failure was already past every other release: nothing to undo, only to report.
    context.logger.error({ err: error, user_id: user }, 'releasing a closed socket failed');
  }
}

/** True once every one of `pending` has settled, false if `withinMs` passes first. */
async function settledWithin(pending: Array<Promise<void>>, withinMs: number): Promise<boolean> {
  if (pending.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), withinMs)));
  try {
    return await Promise.race([Promise.all(pending).then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The last handshake middleware: puts the socket in its user's room (`rooms.user`) and
 * waits until this server receives that room's channel (`Transport.roomsSubscribed`)
 * before the connection completes, so every message notification published after the
 * client is connected reaches it.
 */
export function joinUserRoom(context: RouteContext): HandshakeMiddleware {
  return (socket, next) => {
    void socket.join(rooms.user(socket.data.user));
    void context.transport.roomsSubscribed().then(() => next());
  };
}
