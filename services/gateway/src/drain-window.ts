import type { GatewayServer, GatewaySocket } from './types';

/**
 * Disconnects every socket `io` holds (this gateway's own, not the cluster's), each at a
 * uniformly random moment in [0, `windowMs`), so that their clients, which reconnect at
 * once, reach the other gateways spread over the window rather than all in the same
 * instant (a thundering herd of handshakes, token checks and re-attaches). `windowMs` 0
 * disconnects them all now. Resolves once every one of them is gone; a socket that leaves
 * by itself first is not waited for.
 *
 * It does not stop new sockets: the caller refuses them meanwhile (see `closeSocketServer`).
 */
export function disconnectOverWindow(io: GatewayServer, windowMs: number): Promise<void> {
  if (windowMs === 0) {
    io.local.disconnectSockets(true);
    return Promise.resolve();
  }
  const sockets = [...io.sockets.sockets.values()];
  return Promise.all(sockets.map((socket) => disconnectAt(socket, Math.random() * windowMs))).then(() => undefined);
}

/** Disconnects `socket` in `delayMs`; resolves when it has gone, then or before. */
function disconnectAt(socket: GatewaySocket, delayMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // Kept referenced: the drain waits for it, and the shutdown's cap bounds the drain.
    const timer = setTimeout(() => socket.disconnect(true), delayMs);
    socket.once('disconnect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
