import { aiStoreKeys, parseAiActiveReply, type DisposableStore } from '@ctos/protocol';
import type { AiLink } from './ai-link';
import { resume } from './ai-resume';
import { bindEvent, type Outcome, type ParsedPayload } from './bind-event';
import type { GatewaySocket } from './types';

/**
 * Wires one socket's AI events — `ai:message`, `ai:cancel`, `ai:resume`,
 * `ai:conversations` and `ai:history` — always for the socket's own user; their
 * listeners are added to `owner`.
 */
export function bindAiEvents(link: AiLink, socket: GatewaySocket, owner: DisposableStore): void {
  const { context } = link;
  const user = socket.data.user;

  owner.add(bindEvent(socket, context, 'ai:message', (payload) => message(link, socket, payload)));
  owner.add(bindEvent(socket, context, 'ai:cancel', (payload) => cancel(link, user, payload)));
  owner.add(bindEvent(socket, context, 'ai:resume', (payload) => resume(link, socket, payload)));
  owner.add(
    bindEvent(socket, context, 'ai:conversations', async () => ({
      data: await link.anyWorker({ op: 'conversations', user }),
    })),
  );
  owner.add(
    bindEvent(socket, context, 'ai:history', async (payload) => {
      const history = await link.anyWorker({
        op: 'history',
        user,
        conversation_id: payload.conversation_id,
      });
      // The conversation is open in this tab now: it follows replies from here on.
      await link.join(socket, payload.conversation_id);
      return { data: history };
    }),
  );
}

/** A user's turn, accepted by the least-loaded worker; the socket follows the reply in the conversation's room. */
async function message(link: AiLink, socket: GatewaySocket, payload: ParsedPayload<'ai:message'>): Promise<Outcome> {
  const accepted = await link.anyWorker({
    op: 'message',
    user: socket.data.user,
    conversation_id: payload.conversation_id,
    content: payload.content,
    gateway: link.context.gatewayId,
    holder: socket.id,
  });
  const after = (): void => link.release(accepted.worker, accepted.message_id, socket.id);
  if (!(await link.join(socket, payload.conversation_id))) {
    after();
    return {};
  }
  return { data: { message_id: accepted.message_id }, after };
}

/** Stops the reply streaming in the user's conversation, if one is. */
async function cancel(link: AiLink, user: string, payload: ParsedPayload<'ai:cancel'>): Promise<void> {
  // Read together, one round trip: the slot is looked at only once the conversation is the user's.
  const [, slot] = await Promise.all([
    link.owned(payload.conversation_id, user),
    link.store.get(aiStoreKeys.active(payload.conversation_id)),
  ]);
  const active = parseAiActiveReply(slot);
  // Nothing streams (it ended, or this is a repeated cancel): nothing to do.
  if (!active) return;
  await link.toWorker(active.worker, {
    op: 'cancel',
    user,
    conversation_id: payload.conversation_id,
    message_id: active.message_id,
  });
}
