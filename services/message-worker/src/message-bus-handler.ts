import {
  messageBusMessageSchema,
  ServiceError,
  type BusHandlers,
  type MessageBusMessage,
  type MessageBusReplies,
} from '@ctos/protocol';
import { dispatchBus } from '@ctos/transport';
import type { MessageWorkerConfig } from './config';
import type { MessageService } from './message-service';
import type { MessageWorkerMetrics } from './metrics';

/** What {@link messageBusHandler} needs. */
export interface MessageBusHandlerDeps {
  service: MessageService;
  /** The page sizes of `sync` and `list` when the request names none. */
  config: Pick<MessageWorkerConfig, 'MESSAGE_SYNC_PAGE' | 'MESSAGE_LIST_PAGE'>;
  metrics: MessageWorkerMetrics;
  /** Runs one request, counted as load until it settles, a store outage answered `UNAVAILABLE`. */
  track<T>(run: () => Promise<T>): Promise<T>;
}

/**
 * The message-worker's inbox handler: validates each body as a `MessageBusMessage` (sync,
 * list, read) and answers it with the service, counting each in `ctos_message_requests_total`
 * by op and outcome. Errors: `INVALID_PAYLOAD` (a malformed body), `NOT_FOUND` (an id the
 * user does not have), `UNAVAILABLE`; anything else is a bug, answered `INTERNAL` by the bus.
 */
export function messageBusHandler(deps: MessageBusHandlerDeps): (body: unknown) => Promise<unknown> {
  const { service, config, metrics } = deps;
  /** One handler per message operation (`MessageBusReplies` gives each reply's type). */
  const handlers: BusHandlers<MessageBusMessage, MessageBusReplies> = {
    sync: (m) => service.sync(m.user, m.since ?? 0, m.limit ?? config.MESSAGE_SYNC_PAGE),
    list: (m) => service.list(m.user, m.before, m.limit ?? config.MESSAGE_LIST_PAGE),
    read: (m) => service.read(m.user, m.mark),
  };

  return (body) => {
    const parsed = messageBusMessageSchema.safeParse(body);
    if (!parsed.success) {
      metrics.requests.inc({ op: 'unknown', outcome: 'INVALID_PAYLOAD' });
      return Promise.reject(new ServiceError('INVALID_PAYLOAD', 'Malformed message request.'));
    }
    const message = parsed.data;
    const running = deps.track(() => Promise.resolve(dispatchBus(handlers, message)));
    running.then(
      () => metrics.requests.inc({ op: message.op, outcome: 'ok' }),
      (error: unknown) =>
        metrics.requests.inc({ op: message.op, outcome: error instanceof ServiceError ? error.code : 'INTERNAL' }),
    );
    return running;
  };
}
