import { randomUUID } from 'node:crypto';
import {
  AI_CHUNKS_TTL_MS,
  aiStoredMessageSchema,
  aiStoreKeys as keys,
  encodeAiRecord,
  parseAiActiveReply,
  type AiActiveReply,
  type AiConversationInfo,
  type AiHistoryMessage,
  type AiStoredMessage,
  type AiStoredMessageFields,
} from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/** Conversation titles are the first user message cut to this many characters. */
const TITLE_CHARS = 80;
/** Records read at once while building context: the newest turns usually fill the budget. */
const CONTEXT_BATCH = 20;

/** One earlier turn, as context for the API. */
export interface ContextTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** How a reply ended, as stored. */
export type ReplyOutcome = Required<Pick<AiStoredMessageFields, 'status' | 'stop_reason' | 'content'>> &
  Pick<AiStoredMessageFields, 'input_tokens' | 'output_tokens' | 'error_code' | 'error' | 'retryable'>;

/**
 * AI conversations in a {@link KeyValueStore}, in the layout of `aiStoreKeys` (see
 * @ctos/protocol): who owns each conversation, its messages in order, each reply's
 * chunks as they stream, the reply in flight per conversation, and each user's
 * conversations by last activity. Any ai-worker can read and write any conversation;
 * one reply at a time per conversation is enforced by the active-reply key.
 *
 * Store failures are passed on as they are.
 */
export class ConversationStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The id of the user who owns the conversation, or null when nobody does yet. */
  owner(conversationId: string): Promise<string | null> {
    return this.store.get(keys.owner(conversationId));
  }

  /**
   * Makes the conversation `user`'s if nobody owns it. True when it is `user`'s (now or
   * already); false when another user got there first.
   */
  async claim(conversationId: string, user: string, firstMessage: string): Promise<boolean> {
    if (await this.store.set(keys.owner(conversationId), user, { nx: true })) {
      const at = new Date(this.now()).toISOString();
      // Sent together, answered in one round trip (see {@link writeInOrder}).
      await writeInOrder([
        this.store.hset(keys.conversation(conversationId), {
          title: titleOf(firstMessage),
          created_at: at,
          updated_at: at,
        }),
        this.store.zadd(keys.userConversations(user), this.now(), conversationId),
      ]);
      return true;
    }
    return (await this.owner(conversationId)) === user;
  }

  /** Takes the conversation's one reply slot; false when a reply holds it. `ttlMs` bounds a holder that died unreaped. */
  async lockReply(conversationId: string, active: AiActiveReply, ttlMs: number): Promise<boolean> {
    return this.store.set(keys.active(conversationId), encodeAiRecord(active), { nx: true, ttlMs });
  }

  /** Frees the reply slot if `messageId` still holds it. */
  async unlockReply(conversationId: string, messageId: string): Promise<void> {
    const active = await this.activeReply(conversationId);
    // Get-then-delete is not atomic; only the holder's own reply ever frees it, once.
    if (active?.message_id === messageId) await this.store.del(keys.active(conversationId));
  }

  /** The reply streaming now in the conversation, if any. */
  async activeReply(conversationId: string): Promise<AiActiveReply | null> {
    return parseAiActiveReply(await this.store.get(keys.active(conversationId)));
  }

  /** Stores a user turn and returns its id. */
  async addUserMessage(conversationId: string, user: string, content: string): Promise<string> {
    const messageId = randomUUID();
    await writeInOrder([
      this.store.hset(keys.message(conversationId, messageId), {
        role: 'user',
        status: 'complete',
        created_at: new Date(this.now()).toISOString(),
        content,
      } satisfies AiStoredMessageFields),
      this.store.rpush(keys.messages(conversationId), messageId),
      ...this.touchWrites(conversationId, user),
    ]);
    return messageId;
  }

  /** Stores a reply that starts streaming on `worker`, and lists it as that worker's. */
  async addReply(conversationId: string, messageId: string, worker: string): Promise<void> {
    await writeInOrder([
      this.store.hset(keys.message(conversationId, messageId), {
        role: 'assistant',
        status: 'streaming',
        created_at: new Date(this.now()).toISOString(),
        worker,
      } satisfies AiStoredMessageFields),
      this.store.rpush(keys.messages(conversationId), messageId),
      this.store.sadd(
        keys.inFlight(worker),
        encodeAiRecord({ conversation_id: conversationId, message_id: messageId }),
      ),
    ]);
  }

  /** Appends one chunk of a streaming reply (its index is its position). */
  async addChunk(conversationId: string, messageId: string, chunk: string): Promise<void> {
    await this.store.rpush(keys.chunks(conversationId, messageId), chunk);
  }

  /**
   * Stores chunk `index` unless it is there: the retry of an {@link addChunk} that failed,
   * and may or may not have landed. The relay retries one chunk at a time, in order, so
   * checking the length first is safe.
   */
  async addChunkAt(conversationId: string, messageId: string, index: number, chunk: string): Promise<void> {
    const key = keys.chunks(conversationId, messageId);
    if ((await this.store.llen(key)) > index) return;
    await this.store.rpush(key, chunk);
  }

  /** Records how a reply ended and takes it off `worker`'s list. */
  async endReply(
    conversationId: string,
    messageId: string,
    user: string,
    worker: string,
    outcome: ReplyOutcome,
  ): Promise<void> {
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(outcome)) if (value !== undefined) fields[name] = value;
    await writeInOrder([
      this.store.hset(keys.message(conversationId, messageId), fields),
      this.store.expire(keys.chunks(conversationId, messageId), AI_CHUNKS_TTL_MS),
      this.store.srem(
        keys.inFlight(worker),
        encodeAiRecord({ conversation_id: conversationId, message_id: messageId }),
      ),
      ...this.touchWrites(conversationId, user),
    ]);
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
   * Earlier turns with text, newest first, while their text fits `budgetChars` (the
   * first turn that does not fit ends the list, so the context is never a patchwork).
   */
  async contextTurns(conversationId: string, budgetChars: number): Promise<ContextTurn[]> {
    const listKey = keys.messages(conversationId);
    const turns: ContextTurn[] = [];
    let used = 0;
    for (let end = -1; ; end -= CONTEXT_BATCH) {
      const ids = (await this.store.lrange(listKey, end - CONTEXT_BATCH + 1, end)).reverse();
      if (ids.length === 0) return turns;
      const records = await Promise.all(ids.map((id) => this.message(conversationId, id)));
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

  /** A message's text: the stored content, or a reply's chunks while it has none yet. */
  private async textOf(conversationId: string, messageId: string, record: AiStoredMessage): Promise<string> {
    if (record.content !== undefined) return record.content;
    if (record.role === 'user') return '';
    return (await this.store.lrange(keys.chunks(conversationId, messageId), 0, -1)).join('');
  }

  /** The writes that mark the conversation updated now, started (see {@link writeInOrder}). */
  private touchWrites(conversationId: string, user: string): Array<Promise<unknown>> {
    return [
      this.store.hset(keys.conversation(conversationId), { updated_at: new Date(this.now()).toISOString() }),
      this.store.zadd(keys.userConversations(user), this.now(), conversationId),
    ];
  }
}

/** The title of a conversation: its first message on one line, cut at {@link TITLE_CHARS}. */
export function titleOf(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  if (line.length <= TITLE_CHARS) return line;
  const cut = Array.from(line)
    .slice(0, TITLE_CHARS - 1)
    .join('');
  return `${cut}…`;
}

/**
 * Awaits writes that were started one after another in the same tick: the store sends
 * them in that order on one connection, and Redis applies them in that order, so they
 * cost one round trip instead of one each (the AI relay's time to first chunk waits on
 * them). Settles once all have; rejects with the first failure, after all settled — as
 * with one-by-one writes, a failure may leave the earlier ones done.
 */
async function writeInOrder(writes: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(writes);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
