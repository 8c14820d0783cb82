import {
  AI_CHUNKS_TTL_MS,
  aiStoreKeys,
  parseAiActiveReply,
  parseAiInFlight,
  rooms,
  ServiceError,
  type AiBusMessage,
  type AiBusReplies,
  type AiChunkRange,
  type AiInFlight,
  type AiResumeAnswer,
  type AiResumeResult,
  type AiStoredMessageFields,
} from '@ctos/protocol';
import { busClient } from '@ctos/transport';
import { bindEvent } from './bind-event';
import type { GatewaySocket, RouteContext, RouteModule } from './types';

/** How long the claim on reaping a dead ai-worker lasts (ms); see terminal-routes.ts for why a minute. */
const REAP_CLAIM_TTL_MS = 60 * 1000;

/** What the room of a reply whose worker died is told. */
const WORKER_LOST =
  'The assistant stopped in the middle of this reply (its server was lost); what was written so far is kept. Send again.';

/**
 * The AI events: `ai:message`, `ai:cancel`, `ai:resume`, `ai:conversations` and
 * `ai:history`, validated here and answered by the ai-workers over the bus, always for
 * the socket's own user (another user's conversation is `NOT_FOUND` for every event).
 *
 * A socket joins the conversation's room (`rooms.ai`) when it sends a message, reads
 * the history, or resumes — only while connected (P09). Message and resume follow the
 * terminal's order: the worker holds the reply's room events, the gateway sends what
 * the socket missed and joins the room, acknowledges, then releases, so each chunk
 * reaches the socket once, in order, through any gateway.
 *
 * When an ai-worker dies, one gateway (the one that claims it in the store) marks its
 * replies interrupted and tells their rooms with a retryable `ai:error`.
 *
 * Errors: `INVALID_PAYLOAD`, `NOT_FOUND`, the worker's refusals (`RATE_LIMITED`,
 * `LIMIT_EXCEEDED`, `UNAVAILABLE`), and the bus's `UNAVAILABLE` (no ai-worker running)
 * and `TIMEOUT`.
 */
export function aiRoutes(context: RouteContext): RouteModule {
  const { transport, gatewayId, config, logger } = context;
  const { store } = transport;
  const bus = busClient<AiBusMessage, AiBusReplies>(transport.bus);
  const timeoutMs = config.BUS_REQUEST_TIMEOUT_MS;

  const anyWorker = <O extends AiBusMessage['op']>(message: Extract<AiBusMessage, { op: O }>) =>
    bus.request({ kind: 'ai' }, message, { timeoutMs });
  const toWorker = <O extends AiBusMessage['op']>(worker: string, message: Extract<AiBusMessage, { op: O }>) =>
    bus.request({ worker }, message, { timeoutMs });
  /** Lets held events flow. A release that is lost lapses with the worker's hold timeout. */
  const release = (worker: string, messageId: string): void =>
    void bus.send(worker, { op: 'release', message_id: messageId }).catch(() => undefined);

  /** Throws `NOT_FOUND` unless `user` owns the conversation (an unknown one included). */
  const owned = async (conversationId: string, user: string): Promise<void> => {
    if ((await store.get(aiStoreKeys.owner(conversationId))) !== user) {
      throw new ServiceError('NOT_FOUND', 'No such conversation.');
    }
  };

  /** Joins the conversation's room if the socket is still connected (P09). */
  const join = (socket: GatewaySocket, conversationId: string): boolean => {
    if (!socket.connected) return false;
    void socket.join(rooms.ai(conversationId));
    return true;
  };

  /** Sends a range of stored chunks to one socket, with their indexes. */
  const sendChunks = (socket: GatewaySocket, conversationId: string, messageId: string, range: AiChunkRange): void => {
    for (const [i, chunk] of range.chunks.entries()) {
      socket.emit('ai:stream:chunk', {
        conversation_id: conversationId,
        message_id: messageId,
        chunk,
        index: range.first_index + i,
      });
    }
  };

  /** Marks one reply of a dead worker interrupted and tells its room; false if it had ended. */
  const interrupt = async ({
    conversation_id: conversationId,
    message_id: messageId,
  }: AiInFlight): Promise<boolean> => {
    const messageKey = aiStoreKeys.message(conversationId, messageId);
    if ((await store.hget(messageKey, 'status')) !== 'streaming') return false;
    const chunksKey = aiStoreKeys.chunks(conversationId, messageId);
    const content = (await store.lrange(chunksKey, 0, -1)).join('');
    const fields = {
      status: 'interrupted',
      stop_reason: 'interrupted',
      content,
      error_code: 'UNAVAILABLE',
      error: WORKER_LOST,
      retryable: 'true',
    } satisfies AiStoredMessageFields;
    await store.hset(messageKey, fields);
    await store.expire(chunksKey, AI_CHUNKS_TTL_MS);
    const activeKey = aiStoreKeys.active(conversationId);
    if (parseAiActiveReply(await store.get(activeKey))?.message_id === messageId) await store.del(activeKey);
    await transport.emitter.emit(rooms.ai(conversationId), 'ai:error', {
      conversation_id: conversationId,
      message_id: messageId,
      code: 'UNAVAILABLE',
      error: WORKER_LOST,
      retryable: true,
    });
    return true;
  };

  const stopReaping = transport.registry.onDeath((dead) => {
    if (dead.kind !== 'ai') return;
    void (async () => {
      const claimed = await store.set(aiStoreKeys.reaped(dead.id), gatewayId, { nx: true, ttlMs: REAP_CLAIM_TTL_MS });
      if (!claimed) return;
      const inFlightKey = aiStoreKeys.inFlight(dead.id);
      let interrupted = 0;
      for (const member of await store.smembers(inFlightKey)) {
        const entry = parseAiInFlight(member);
        if (entry && (await interrupt(entry))) interrupted++;
      }
      await store.del(inFlightKey);
      logger.warn({ worker: dead.id, replies: interrupted }, 'ai worker lost; its replies are marked interrupted');
    })().catch((error: unknown) => logger.error({ err: error, worker: dead.id }, 'reaping an ai worker failed'));
  });

  return {
    connect(socket) {
      const user = socket.data.user;

      bindEvent(socket, context, 'ai:message', async (payload) => {
        const accepted = await anyWorker({
          op: 'message',
          user,
          conversation_id: payload.conversation_id,
          content: payload.content,
          gateway: gatewayId,
        });
        const after = (): void => release(accepted.worker, accepted.message_id);
        if (!join(socket, payload.conversation_id)) {
          after();
          return {};
        }
        return { data: { message_id: accepted.message_id }, after };
      });

      bindEvent(socket, context, 'ai:cancel', async (payload) => {
        await owned(payload.conversation_id, user);
        const active = parseAiActiveReply(await store.get(aiStoreKeys.active(payload.conversation_id)));
        // Nothing streams (it ended, or this is a repeated cancel): nothing to do.
        if (!active) return;
        await toWorker(active.worker, {
          op: 'cancel',
          user,
          conversation_id: payload.conversation_id,
          message_id: active.message_id,
        });
      });

      bindEvent(socket, context, 'ai:resume', async (payload) => {
        const { conversation_id: conversationId, message_id: messageId, since } = payload;
        await owned(conversationId, user);
        const ref = { user, conversation_id: conversationId, message_id: messageId, since };
        const active = parseAiActiveReply(await store.get(aiStoreKeys.active(conversationId)));
        if (active?.message_id === messageId) {
          const answer = await toWorker(active.worker, { op: 'resume', ...ref }).catch(
            (error: unknown): AiResumeAnswer => {
              // The streaming worker does not answer (lost, not reaped yet): read what it stored.
              if (error instanceof ServiceError && (error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE')) {
                return { state: 'gone' };
              }
              throw error;
            },
          );
          if (answer.state === 'live') {
            const after = (): void => release(active.worker, messageId);
            if (!join(socket, conversationId)) {
              after();
              throw new ServiceError('UNAVAILABLE', 'The connection closed during resume.');
            }
            sendChunks(socket, conversationId, messageId, answer);
            const data: AiResumeResult = { message_id: messageId, status: 'streaming', last_index: answer.last_index };
            return { data, after };
          }
        }
        const stored = await anyWorker({ op: 'replay', ...ref });
        if (!join(socket, conversationId))
          throw new ServiceError('UNAVAILABLE', 'The connection closed during resume.');
        sendChunks(socket, conversationId, messageId, stored);
        if (stored.end) socket.emit('ai:stream:end', stored.end);
        else if (stored.error) socket.emit('ai:error', stored.error);
        const data: AiResumeResult = { message_id: messageId, status: stored.status, last_index: stored.last_index };
        return { data };
      });

      bindEvent(socket, context, 'ai:conversations', async () => ({
        data: await anyWorker({ op: 'conversations', user }),
      }));

      bindEvent(socket, context, 'ai:history', async (payload) => {
        const history = await anyWorker({
          op: 'history',
          user,
          conversation_id: payload.conversation_id,
        });
        // The conversation is open in this tab now: it follows replies from here on.
        join(socket, payload.conversation_id);
        return { data: history };
      });
    },

    dispose() {
      stopReaping();
    },
  };
}
