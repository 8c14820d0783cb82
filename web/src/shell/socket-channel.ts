// Types only, and no DOM or socket.io types: code written against this port runs and is tested in Node.
import type {
  ClientEventName,
  ClientPayload,
  ClientToServerEvents,
  Disposable,
  ServerEventName,
  ServerToClientEvents,
} from '@ctos/protocol';

/** The acknowledgement an event answers with (`{success:true,...}` or `{success:false, error, code}`). */
export type AckFor<E extends ClientEventName> =
  NonNullable<Parameters<ClientToServerEvents[E]>[1]> extends (response: infer R) => void ? R : never;

/**
 * The page's socket as state-keeping code sees it: typed server events to listen to and
 * acknowledged requests to send, nothing of the DOM or of socket.io. The page's
 * implementation is `channelOf(socket)` (socket-client.ts); a test passes its own.
 */
export interface SocketChannel {
  /** True while the socket is connected. */
  readonly connected: boolean;
  /** Calls `listener` on every `event` until the returned disposable is disposed. */
  on<E extends ServerEventName>(event: E, listener: ServerToClientEvents[E]): Disposable;
  /**
   * Sends an acknowledged event and resolves with its acknowledgement. Never rejects:
   * "no answer" (a timeout, or the socket closed first) resolves as `{success:false, code:'TIMEOUT'}`.
   */
  request<E extends ClientEventName>(event: E, payload: ClientPayload<E>): Promise<AckFor<E>>;
}
