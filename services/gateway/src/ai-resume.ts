import {
  aiStoreKeys,
  parseAiActiveReply,
  ServiceError,
  type AiActiveReply,
  type AiBusMessage,
  type AiChunkRange,
  type AiResumeAnswer,
  type AiResumeResult,
  type BusRequest,
} from '@ctos/protocol';
import type { AiLink } from './ai-link';
import type { Outcome, ParsedPayload } from './bind-event';
import type { GatewaySocket } from './types';

/** Which reply to resume, for whom and after which chunk index, as the workers take it. */
type ResumeRef = Omit<BusRequest<AiBusMessage, 'resume'>, 'op' | 'holder'>;

/**
 * `ai:resume`: sends `socket` the chunks of one reply after index `since` and joins the
 * conversation's room. A reply still streaming is resumed live through its worker, which
 * holds the room's events until the acknowledgement is on its way; a finished one (or one
 * whose worker does not answer) is replayed from the store, followed by its end or error.
 * @throws ServiceError `NOT_FOUND` (not the user's conversation), `UNAVAILABLE` (the
 * connection closed during resume, or no ai-worker), `TIMEOUT`.
 */
export async function resume(
  link: AiLink,
  socket: GatewaySocket,
  payload: ParsedPayload<'ai:resume'>,
): Promise<Outcome> {
  const { conversation_id: conversationId, message_id: messageId, since } = payload;
  const user = socket.data.user;
  // Read together, one round trip: the slot is looked at only once the conversation is the user's.
  const [, slot] = await Promise.all([
    link.owned(conversationId, user),
    link.store.get(aiStoreKeys.active(conversationId)),
  ]);
  const ref: ResumeRef = { user, conversation_id: conversationId, message_id: messageId, since };
  const active = parseAiActiveReply(slot);
  if (active?.message_id === messageId) {
    const live = await resumeLive(link, socket, active, ref);
    if (live) return live;
  }
  const stored = await link.anyWorker({ op: 'replay', ...ref });
  if (!(await link.join(socket, conversationId)))
    throw new ServiceError('UNAVAILABLE', 'The connection closed during resume.');
  sendChunks(socket, conversationId, messageId, stored);
  if (stored.end) socket.emit('ai:stream:end', stored.end);
  else if (stored.error) socket.emit('ai:error', stored.error);
  const data: AiResumeResult = { message_id: messageId, status: stored.status, last_index: stored.last_index };
  return { data };
}

/** Resumes from the worker streaming the reply; undefined when it has finished or does not answer. */
async function resumeLive(
  link: AiLink,
  socket: GatewaySocket,
  active: AiActiveReply,
  ref: ResumeRef,
): Promise<Outcome | undefined> {
  const { conversation_id: conversationId, message_id: messageId } = ref;
  const answer = await link
    .toWorker(active.worker, { op: 'resume', ...ref, holder: socket.id })
    .catch((error: unknown): AiResumeAnswer => {
      // The streaming worker does not answer (lost, not reaped yet): read what it stored.
      if (error instanceof ServiceError && (error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE')) {
        return { state: 'gone' };
      }
      throw error;
    });
  if (answer.state !== 'live') return undefined;
  const after = (): void => link.release(active.worker, messageId, socket.id);
  if (!(await link.join(socket, conversationId))) {
    after();
    throw new ServiceError('UNAVAILABLE', 'The connection closed during resume.');
  }
  sendChunks(socket, conversationId, messageId, answer);
  const data: AiResumeResult = { message_id: messageId, status: 'streaming', last_index: answer.last_index };
  return { data, after };
}

/** Sends a range of stored chunks to one socket, with their indexes. */
function sendChunks(socket: GatewaySocket, conversationId: string, messageId: string, range: AiChunkRange): void {
  for (const [i, chunk] of range.chunks.entries()) {
    socket.emit('ai:stream:chunk', {
      conversation_id: conversationId,
      message_id: messageId,
      chunk,
      index: range.first_index + i,
    });
  }
}
