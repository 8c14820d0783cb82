import { randomUUID } from 'node:crypto';
import {
  AI_CHUNKS_TTL_MS,
  aiStoreKeys as keys,
  encodeAiRecord,
  type AiActiveReply,
  type AiStoredMessageFields,
} from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';
import { ConversationReader } from './conversation-reader';

/** Conversation titles are the first user message cut to this many characters. */
const TITLE_CHARS = 80;

/** What {@link ConversationStore.claim} found. */
export type Claim = 'created' | 'mine' | 'other';

/** How a reply ended, as stored. */
export type ReplyOutcome = Required<Pick<AiStoredMessageFields, 'status' | 'stop_reason' | 'content'>> &
  Pick<AiStoredMessageFields, 'input_tokens' | 'output_tokens' | 'error_code' | 'error' | 'retryable'>;

/**
 * AI conversations in a {@link KeyValueStore}, in the layout of `aiStoreKeys` (see
 * @ctos/protocol): who owns each conversation, its messages in order, each reply's
 * chunks as they stream, the reply in flight per conversation, and each user's
 * conversations by last activity. Any ai-worker can read and write any conversation;
 * one reply at a time per conversation is enforced by the active-reply key. The reads
 * are {@link ConversationReader}'s; this class adds the writes, each step's sent
 * together (see {@link writeInOrder}).
 *
 * Store failures are passed on as they are.
 */
export class ConversationStore extends ConversationReader {
  constructor(
    store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {
    super(store);
  }

  /**
   * Makes the conversation `user`'s if nobody owns it, in one round trip (`SET NX`, then
   * `GET` behind it): `created` when this call made it theirs (the caller then titles it,
   * with {@link addTurn} or {@link describe}), `mine` when it was theirs already, `other`
   * when another user has it.
   */
  async claim(conversationId: string, user: string): Promise<Claim> {
    const key = keys.owner(conversationId);
    const [created, owner] = await Promise.all([this.store.set(key, user, { nx: true }), this.store.get(key)]);
    if (created) return 'created';
    return owner === user ? 'mine' : 'other';
  }

  /** Titles a conversation this user just {@link claim}ed (`created`) and lists it as theirs. */
  async describe(conversationId: string, user: string, firstMessage: string): Promise<void> {
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
  }

  /** Takes the conversation's one reply slot; false when a reply holds it. `ttlMs` bounds a holder that died unreaped. */
  async lockReply(conversationId: string, active: AiActiveReply, ttlMs: number): Promise<boolean> {
    return this.store.set(keys.active(conversationId), encodeAiRecord(active), { nx: true, ttlMs });
  }

  /** Frees the reply slot if `messageId` still holds it (two round trips). */
  async unlockReply(conversationId: string, messageId: string): Promise<void> {
    const active = await this.activeReply(conversationId);
    // Get-then-delete is not atomic; only the holder's own reply ever frees it, once.
    if (active?.message_id === messageId) await this.freeReplySlot(conversationId);
  }

  /**
   * Frees the reply slot without looking who holds it: only for a caller that has just
   * read that its own reply does ({@link endReply}'s answer); otherwise {@link unlockReply}.
   */
  async freeReplySlot(conversationId: string): Promise<void> {
    await this.store.del(keys.active(conversationId));
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

  /**
   * Stores a user's turn and the reply `replyId` that starts streaming for it on
   * `worker`, lists the reply as that worker's, and marks the conversation active — or,
   * for a conversation this turn's message made (`created`, see {@link claim}), titles
   * it. Six commands sent together, answered in one round trip.
   */
  async addTurn(
    conversationId: string,
    user: string,
    content: string,
    reply: { replyId: string; worker: string },
    created: boolean,
  ): Promise<void> {
    const at = new Date(this.now()).toISOString();
    const userMessageId = randomUUID();
    await writeInOrder([
      this.store.hset(keys.message(conversationId, userMessageId), {
        role: 'user',
        status: 'complete',
        created_at: at,
        content,
      } satisfies AiStoredMessageFields),
      this.store.hset(keys.message(conversationId, reply.replyId), {
        role: 'assistant',
        status: 'streaming',
        created_at: at,
        worker: reply.worker,
      } satisfies AiStoredMessageFields),
      this.store.rpush(keys.messages(conversationId), userMessageId, reply.replyId),
      this.store.hset(
        keys.conversation(conversationId),
        created ? { title: titleOf(content), created_at: at, updated_at: at } : { updated_at: at },
      ),
      this.store.zadd(keys.userConversations(user), this.now(), conversationId),
      this.store.sadd(
        keys.inFlight(reply.worker),
        encodeAiRecord({ conversation_id: conversationId, message_id: reply.replyId }),
      ),
    ]);
  }

  /**
   * Appends one chunk of a streaming reply (its index is its position): one `RPUSH`, not
   * awaited by the relay before the chunk's emit (see `ReplyWrites`).
   */
  async addChunk(conversationId: string, messageId: string, chunk: string): Promise<void> {
    await this.store.rpush(keys.chunks(conversationId, messageId), chunk);
  }

  /**
   * Stores chunk `index` unless it is there: the retry of an {@link addChunk} that failed,
   * and may or may not have landed. The relay retries one chunk at a time, in order, so
   * checking the length first is safe. Only retries pay this second round trip.
   */
  async addChunkAt(conversationId: string, messageId: string, index: number, chunk: string): Promise<void> {
    const key = keys.chunks(conversationId, messageId);
    if ((await this.store.llen(key)) > index) return;
    await this.store.rpush(key, chunk);
  }

  /**
   * Records how a reply ended, takes it off `worker`'s list, and reads the reply slot,
   * all in one round trip. True when `messageId` still holds the slot: the caller then
   * frees it ({@link freeReplySlot}) right before it announces the end.
   */
  async endReply(
    conversationId: string,
    messageId: string,
    user: string,
    worker: string,
    outcome: ReplyOutcome,
  ): Promise<boolean> {
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(outcome)) if (value !== undefined) fields[name] = value;
    const writes = writeInOrder([
      this.store.hset(keys.message(conversationId, messageId), fields),
      this.store.expire(keys.chunks(conversationId, messageId), AI_CHUNKS_TTL_MS),
      this.store.srem(
        keys.inFlight(worker),
        encodeAiRecord({ conversation_id: conversationId, message_id: messageId }),
      ),
      ...this.touchWrites(conversationId, user),
    ]);
    const active = this.activeReply(conversationId);
    active.catch(() => undefined); // read below, after the writes' outcome
    await writes;
    return (await active)?.message_id === messageId;
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
