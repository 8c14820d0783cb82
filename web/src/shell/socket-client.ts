// Types only: the protocol's runtime half (zod schemas) is the server's business and stays out of the bundle.
import type {
  AckFail,
  ClientEventName,
  ClientPayload,
  ClientToServerEvents,
  Disposable,
  ServerEventName,
  ServerToClientEvents,
} from '@ctos/protocol';
import { io, type Socket } from 'socket.io-client';
import type { AckFor, SocketChannel } from './socket-channel';

/** The one socket the page uses for everything (the seed's SocketClient). */
export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Reconnect backoff: 0.5 s doubling to 10 s, each delay randomised by ±50 % so a
 * restarted gateway is not hit by every tab at the same instant; attempts never stop
 * (the original gave up after 5 and then looked connected).
 */
const RECONNECT_DELAY_MS = 500;
const RECONNECT_DELAY_MAX_MS = 10_000;
const RECONNECT_JITTER = 0.5;

/** How long a request waits for its acknowledgement (ms): above the gateway's 5 s bus timeout. */
export const REQUEST_TIMEOUT_MS = 8000;

/**
 * Opens the socket to this page's own origin (the CSP allows no other). `token()` is read
 * on every connection attempt, so a renewed token is used by the next reconnect.
 */
export function connectSocket(token: () => string): AppSocket {
  return io(window.location.origin, {
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    // Where a proxy blocks WebSocket, fall back to long-polling instead of retrying WebSocket for ever.
    tryAllTransports: true,
    auth: (send) => send({ token: token() }),
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: RECONNECT_DELAY_MS,
    reconnectionDelayMax: RECONNECT_DELAY_MAX_MS,
    randomizationFactor: RECONNECT_JITTER,
  });
}

/** The loose shape of `socket.timeout(ms)` this module calls; typed ends are `request`'s. */
interface TimedEmitter {
  emit(event: string, payload: unknown, ack: (error: Error | null, response: unknown) => void): void;
}

/**
 * Sends an acknowledged event and resolves with its acknowledgement, typed from the
 * protocol's event map. "No answer" — the timeout passed, or the socket closed before
 * the answer — resolves as `{success:false, code:'TIMEOUT'}`, so callers handle one shape.
 * (socket.io-client's own `timeout().emitWithAck` types its answer as `any`.)
 */
export function request<E extends ClientEventName>(
  socket: AppSocket,
  event: E,
  payload: ClientPayload<E>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<AckFor<E>> {
  return new Promise((resolve) => {
    const timed = socket.timeout(timeoutMs) as unknown as TimedEmitter;
    timed.emit(event, payload, (error, response) => {
      // socket.io reports only a timeout or a disconnect here: both mean "unknown, try again".
      const noAnswer: AckFail = {
        success: false,
        code: 'TIMEOUT',
        error: 'The server did not answer in time. Try again.',
      };
      if (error) resolve(noAnswer as AckFor<E>);
      else resolve(response as AckFor<E>);
    });
  });
}

/** The loose shape of `socket.on` and `socket.off` that {@link onSocketEvent} calls. */
interface LooseListeners {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** Calls `listener` on every server event `event` until the returned disposable is disposed. */
export function onSocketEvent<E extends ServerEventName>(
  socket: AppSocket,
  event: E,
  listener: ServerToClientEvents[E],
): Disposable {
  // socket.io's generic listener type does not narrow for a generic `E`; the typed ends are this function's.
  const loose = socket as unknown as LooseListeners;
  loose.on(event, listener);
  return { dispose: () => void loose.off(event, listener) };
}

/** The socket as a {@link SocketChannel}, for code that keeps state without the DOM. */
export function channelOf(socket: AppSocket): SocketChannel {
  return {
    get connected() {
      return socket.connected;
    },
    on: (event, listener) => onSocketEvent(socket, event, listener),
    request: (event, payload) => request(socket, event, payload),
  };
}
