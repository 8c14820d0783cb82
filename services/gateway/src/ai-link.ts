import {
  aiStoreKeys,
  rooms,
  ServiceError,
  type AiBusMessage,
  type AiBusReplies,
  type BusRequest,
} from '@ctos/protocol';
import { busClient, type KeyValueStore } from '@ctos/transport';
import type { GatewaySocket, RouteContext } from './types';

/** What the AI handlers share: the context, the store the ai-workers write to, and the bus to them. */
export interface AiLink {
  readonly context: RouteContext;
  readonly store: KeyValueStore;
  /**
   * A request to the least-loaded ai-worker within BUS_REQUEST_TIMEOUT_MS (ms). Rejects
   * with the worker's refusal, `UNAVAILABLE` (none running) or `TIMEOUT`.
   */
  anyWorker<O extends AiBusMessage['op']>(message: BusRequest<AiBusMessage, O>): Promise<AiBusReplies[O]>;
  /** A request to one ai-worker (the one streaming a reply), as {@link AiLink.anyWorker}. */
  toWorker<O extends AiBusMessage['op']>(
    worker: string,
    message: BusRequest<AiBusMessage, O>,
  ): Promise<AiBusReplies[O]>;
  /**
   * Ends `holder`'s hold on the reply's room events (the socket the gateway asked for).
   * A release that is lost lapses with the worker's hold timeout.
   */
  release(worker: string, messageId: string, holder: string): void;
  /** @throws ServiceError `NOT_FOUND` unless `user` owns the conversation (an unknown one included). */
  owned(conversationId: string, user: string): Promise<void>;
  /**
   * Joins the conversation's room if the socket is still connected (P09), and resolves
   * once this server receives the room's channel; false if the socket is (then) closed.
   */
  join(socket: GatewaySocket, conversationId: string): Promise<boolean>;
}

/** The AI link of a gateway. */
export function aiLink(context: RouteContext): AiLink {
  const { store } = context.transport;
  const bus = busClient<AiBusMessage, AiBusReplies>(context.transport.bus);
  const timeoutMs = context.config.BUS_REQUEST_TIMEOUT_MS;
  return {
    context,
    store,
    anyWorker: (message) => bus.request({ kind: 'ai' }, message, { timeoutMs }),
    toWorker: (worker, message) => bus.request({ worker }, message, { timeoutMs }),
    release: (worker, messageId, holder) =>
      void bus.send(worker, { op: 'release', message_id: messageId, holder }).catch(() => undefined),
    owned: async (conversationId, user) => {
      if ((await store.get(aiStoreKeys.owner(conversationId))) !== user) {
        throw new ServiceError('NOT_FOUND', 'No such conversation.');
      }
    },
    join: async (socket, conversationId) => {
      if (!socket.connected) return false;
      void socket.join(rooms.ai(conversationId));
      // Replies flow once this server receives the room's channel (Transport.roomsSubscribed).
      await context.transport.roomsSubscribed();
      return socket.connected;
    },
  };
}
