import {
  AI_CHUNKS_TTL_MS,
  aiStoreKeys,
  parseAiActiveReply,
  parseAiInFlight,
  rooms,
  type AiInFlight,
  type AiStoredMessageFields,
  type Disposable,
} from '@ctos/protocol';
import type { AiLink } from './ai-link';
import { reapDeadWorkers } from './worker-reaping';

/** What the room of a reply whose worker died is told. */
const WORKER_LOST =
  'The assistant stopped in the middle of this reply (its server was lost); what was written so far is kept. Send again.';

/**
 * Reaps dead ai-workers: the gateway that claims the death (`aiStoreKeys.reaped`) marks
 * each reply the worker was streaming interrupted, keeping what was written, and tells
 * its room with a retryable `ai:error` (`UNAVAILABLE`). Disposing stops it.
 */
export function reapAiWorkers(link: AiLink): Disposable {
  const { store } = link;
  const { logger } = link.context;
  return reapDeadWorkers(link.context, {
    kind: 'ai',
    claimKey: (worker) => aiStoreKeys.reaped(worker),
    reap: async (worker) => {
      const inFlightKey = aiStoreKeys.inFlight(worker);
      let interrupted = 0;
      for (const member of await store.smembers(inFlightKey)) {
        const entry = parseAiInFlight(member);
        if (entry && (await interrupt(link, entry))) interrupted++;
      }
      await store.del(inFlightKey);
      logger.warn({ worker, replies: interrupted }, 'ai worker lost; its replies are marked interrupted');
    },
    failed: 'reaping an ai worker failed',
  });
}

/** Marks one reply of a dead worker interrupted and tells its room; false if it had ended. */
async function interrupt(
  { store, context }: AiLink,
  { conversation_id: conversationId, message_id: messageId }: AiInFlight,
): Promise<boolean> {
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
  await context.transport.emitter.emit(rooms.ai(conversationId), 'ai:error', {
    conversation_id: conversationId,
    message_id: messageId,
    code: 'UNAVAILABLE',
    error: WORKER_LOST,
    retryable: true,
  });
  return true;
}
