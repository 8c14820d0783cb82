import {
  aiStoredMessageSchema,
  aiStoreKeys as keys,
  parseAiActiveReply,
  type AiActiveReply,
  type AiConversationInfo,
  type AiHistoryMessage,
  type AiStoredMessage,
} from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/** Records read at once while building context: the newest turns usually fill the budget. */
const CONTEXT_BATCH = 20;

/** One earlier turn, as context for the API. */
export interface ContextTurn {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * Reads AI conversations back from a {@link KeyValueStore}, in the layout of `aiStoreKeys`
 * (see @ctos/protocol): who owns a conversation and which reply streams in it, its
 * messages with each reply's text so far, a reply's chunks for a resume, a user's
 * conversations by last activity, and the earlier turns a new reply is given as context.
 * Reads only: `ConversationStore` adds the writes, and a caller that only reads (the
 * gateways' requests) can be given this narrower type.
 *
 * Store failures are passed on as they are.
 */
export class ConversationReader {
  constructor(protected readonly store: KeyValueStore) {}

  /** The id of the user who owns the conversation, or null when nobody does yet. */
  owner(conversationId: string): Promise<string | null> {
    return this.store.get(keys.owner(conversationId));
  }

  /** The reply streaming now in the conversation, if any. */
  async activeReply(conversationId: string): Promise<AiActiveReply | null> {
    return parseAiActiveReply(await this.store.get(keys.active(conversationId)));
  }

  /** One stored message, or null when the conversation has no such message. */
  async message(conversationId: string, messageId: string): Promise<AiStoredMessage | null> {
    const hash = await this.store.hgetall(keys.message(conversationId, messageId));
    if (!hash) return null;
    const parsed = aiStoredMessageSchema.safeParse(hash);
    return parsed.success ? parsed.data : null;
  }

  /** A reply's chunks from index `from` on, and how many it has in all. */
  async chunks(conversationId: string, messageId: string, from: number): Promise<{ chunks: string[]; total: number }> {
    const key = keys.chunks(conversationId, messageId);
    const [chunks, total] = await Promise.all([this.store.lrange(key, from, -1), this.store.llen(key)]);
    return { chunks, total };
  }

  /** The last `limit` messages of a conversation, oldest first, with each reply's text so far. */
  async history(conversationId: string, limit: number): Promise<AiHistoryMessage[]> {
    const ids = await this.store.lrange(keys.messages(conversationId), -limit, -1);
    const records = await Promise.all(ids.map((id) => this.message(conversationId, id)));
    const messages: AiHistoryMessage[] = [];
    for (const [i, record] of records.entries()) {
      if (!record) continue;
      const messageId = ids[i]!;
      messages.push({
        message_id: messageId,
        role: record.role,
        content: await this.textOf(conversationId, messageId, record),
        status: record.status,
        created_at: record.created_at,
        ...(record.stop_reason ? { stop_reason: record.stop_reason } : {}),
        ...(record.input_tokens !== undefined || record.output_tokens !== undefined
          ? { usage: { input_tokens: record.input_tokens ?? 0, output_tokens: record.output_tokens ?? 0 } }
          : {}),
      });
    }
    return messages;
  }

  /**
   * The ids of the conversation's newest messages, as many as {@link contextTurns} reads
   * at once: sent ahead of the reply slot, so that the slot's round trip also reads their
   * records (see {@link contextTurns}'s `newest`).
   */
  newestIds(conversationId: string): Promise<string[]> {
    return this.store.lrange(keys.messages(conversationId), -CONTEXT_BATCH, -1);
  }

  /** The stored messages `ids` (null for one that is not there), read at once. */
  records(conversationId: string, ids: readonly string[]): Promise<Array<AiStoredMessage | null>> {
    return Promise.all(ids.map((id) => this.message(conversationId, id)));
  }

  /**
   * Earlier turns with text, newest first, while their text fits `budgetChars` (the
   * first turn that does not fit ends the list, so the context is never a patchwork).
   *
   * `newest`: the newest batch already read — ids from {@link newestIds} and their
   * {@link records} — saving a round trip. The caller vouches that they were read under
   * the reply slot (sent after it on the store's one connection), so no turn can have
   * been added or ended since.
   */
  async contextTurns(
    conversationId: string,
    budgetChars: number,
    newest?: { ids: readonly string[]; records: ReadonlyArray<AiStoredMessage | null> },
  ): Promise<ContextTurn[]> {
    const listKey = keys.messages(conversationId);
    const turns: ContextTurn[] = [];
    let used = 0;
    for (let end = -1; ; end -= CONTEXT_BATCH) {
      const batch =
        end === -1 && newest ? newest : await this.batch(conversationId, listKey, end - CONTEXT_BATCH + 1, end);
      const ids = [...batch.ids].reverse();
      const records = [...batch.records].reverse();
      if (ids.length === 0) return turns;
      for (const [i, record] of records.entries()) {
        if (!record || record.status === 'streaming') continue;
        const content = await this.textOf(conversationId, ids[i]!, record);
        if (content.trim() === '') continue;
        if (used + content.length > budgetChars) return turns;
        used += content.length;
        turns.push({ role: record.role, content });
      }
      if (ids.length < CONTEXT_BATCH) return turns;
    }
  }

  /** A user's conversations, most recently active first, at most `limit`. */
  async conversations(user: string, limit: number): Promise<AiConversationInfo[]> {
    const entries = await this.store.zrange(keys.userConversations(user), {
      min: -Infinity,
      max: Infinity,
      reverse: true,
      limit,
    });
    const infos = await Promise.all(
      entries.map(async ({ member: conversationId }): Promise<AiConversationInfo | undefined> => {
        const [meta, active] = await Promise.all([
          this.store.hgetall(keys.conversation(conversationId)),
          this.activeReply(conversationId),
        ]);
        if (!meta) return undefined;
        return {
          conversation_id: conversationId,
          title: meta.title ?? '',
          created_at: meta.created_at ?? '',
          updated_at: meta.updated_at ?? '',
          ...(active ? { streaming_message_id: active.message_id } : {}),
        };
      }),
    );
    return infos.filter((info): info is AiConversationInfo => info !== undefined);
  }

  /** Message ids `start`..`stop` of the list (oldest first) and their records. */
  private async batch(
    conversationId: string,
    listKey: string,
    start: number,
    stop: number,
  ): Promise<{ ids: string[]; records: Array<AiStoredMessage | null> }> {
    const ids = await this.store.lrange(listKey, start, stop);
    return { ids, records: await this.records(conversationId, ids) };
  }

  /** A message's text: the stored content, or a reply's chunks while it has none yet. */
  private async textOf(conversationId: string, messageId: string, record: AiStoredMessage): Promise<string> {
    if (record.content !== undefined) return record.content;
    if (record.role === 'user') return '';
    return (await this.store.lrange(keys.chunks(conversationId, messageId), 0, -1)).join('');
  }
}
