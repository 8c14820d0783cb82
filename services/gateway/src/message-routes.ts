import type { MessageBusMessage, MessageBusReplies } from '@ctos/protocol';
import { busClient } from '@ctos/transport';
import { bindEvent } from './bind-event';
import type { RouteContext, RouteModule } from './types';

/**
 * The message events: `message:read`, `message:sync` and `message:list`, validated here
 * and answered by any message-worker over the bus, always for the socket's own user (a
 * worker reads only that user's messages, so another user's id is `NOT_FOUND`).
 * Delivery needs no routing: every socket is in its `user:<id>` room from the handshake,
 * and workers emit `message:new` and `message:unread_count` there.
 *
 * Errors: `INVALID_PAYLOAD`, `NOT_FOUND`, and the bus's `UNAVAILABLE` (no message-worker
 * running) and `TIMEOUT`.
 */
export function messageRoutes(context: RouteContext): RouteModule {
  const bus = busClient<MessageBusMessage, MessageBusReplies>(context.transport.bus);
  const timeoutMs = context.config.BUS_REQUEST_TIMEOUT_MS;
  const request = <O extends MessageBusMessage['op']>(message: Extract<MessageBusMessage, { op: O }>) =>
    bus.request({ kind: 'message' }, message, { timeoutMs });

  return {
    connect(socket, owner) {
      const user = socket.data.user;

      owner.add(
        bindEvent(socket, context, 'message:read', async (mark) => ({
          data: await request({ op: 'read', user, mark }),
        })),
      );

      owner.add(
        bindEvent(socket, context, 'message:sync', async (payload) => ({
          data: await request({
            op: 'sync',
            user,
            ...(payload?.since === undefined ? {} : { since: payload.since }),
            ...(payload?.limit === undefined ? {} : { limit: payload.limit }),
          }),
        })),
      );

      owner.add(
        bindEvent(socket, context, 'message:list', async (payload) => ({
          data: await request({
            op: 'list',
            user,
            ...(payload?.before === undefined ? {} : { before: payload.before }),
            ...(payload?.limit === undefined ? {} : { limit: payload.limit }),
          }),
        })),
      );
    },

    // It holds nothing for the whole gateway: the bus client is stateless.
    dispose: () => undefined,
  };
}
