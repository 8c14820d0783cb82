import type { ClientToServerEvents, ServerToClientEvents } from '@ctos/protocol';
import { io, type Socket } from 'socket.io-client';

/** The one socket the page uses for everything (the seed's SocketClient). */
export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Reconnect backoff: 0.5 s growing to 10 s, with jitter, for ever (the original gave up after 5). */
const RECONNECT_DELAY_MS = 500;
const RECONNECT_DELAY_MAX_MS = 10_000;
const RECONNECT_JITTER = 0.5;

export function connectSocket(token: string): AppSocket {
  return io(window.location.origin, {
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    auth: { token },
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    randomizationFactor: RECONNECT_JITTER,
  });
}
