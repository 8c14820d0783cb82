import { DisposableStore, rooms, type Disposable } from '@ctos/protocol';
import { refuseUnknownEvents } from './bind-event';
import type { ConnectionLimits } from './connection-limits';
import type { GatewayServer, GatewaySocket, RouteContext, RouteModule } from './types';

/**
 * Wires every socket that passed the handshake: counts it against the per-user and
 * per-address limits (a socket over either is disconnected at once), counts it in the
 * `sockets` gauge, puts it in its user's room (`rooms.user`), refuses the events nobody
 * handles and connects each route module, in order. Everything the socket holds is owned
 * by one store, released when it disconnects. Disposing stops wiring new sockets.
 */
export function acceptConnections(
  io: GatewayServer,
  context: RouteContext,
  modules: readonly RouteModule[],
  limits: ConnectionLimits,
): Disposable {
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
    void socket.join(rooms.user(user));
    owned.add(refuseUnknownEvents(socket, context));
    for (const module of modules) module.connect(socket, owned);
    // Socket.IO has left the socket's rooms by now, as the modules expect.
    socket.on('disconnect', () => void owned.dispose());
  };
  io.on('connection', onConnection);
  return { dispose: () => void io.off('connection', onConnection) };
}
