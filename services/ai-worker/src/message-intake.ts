import { randomUUID } from 'node:crypto';
import { rooms, ServiceError, type AiAccepted, type AiBusMessage, type AiStoredMessage } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { RoomEmitter } from '@ctos/transport';
import { ActiveReply } from './active-reply';
import type { AiWorkerConfig } from './config';
import { buildContext } from './context-window';
import type { ContextTurn } from './conversation-reader';
import type { ConversationStore } from './conversation-store';
import type { LiveReplies } from './live-replies';
import type { AiWorkerMetrics } from './metrics';
import type { RateLimiter } from './rate-limiter';
import { ReplyRelay, UNNAMED_HOLDER, type RelaySink } from './reply-relay';
import type { Upstream } from './upstream';

/**
 * A reply's room events wait at most this long (ms) for the gateway that accepted or
 * resumed it to say it joined the room; longer means that gateway died, and the other
 * tabs should not wait on it.
 */
const HOLD_TIMEOUT_MS = 5000;
/**
 * The conversation's reply slot outlives the longest reply by this much (ms), so it is
 * freed by its reply, or by the reaper of a dead worker, and only by expiry if neither runs.
 */
const REPLY_SLOT_MARGIN_MS = 60_000;

/** What the client is told when no API key is configured. */
export const NO_API_KEY_MESSAGE =
  'The AI assistant is not configured on this server: an operator must set ANTHROPIC_API_KEY for the ai-worker ' +
  '(see the README) and restart it. Your message is kept.';

/** The bus message that asks for a reply (`ai:message`). */
export type AiMessageRequest = Extract<AiBusMessage, { op: 'message' }>;

/** The codes a message is refused with before its reply starts, each counted in `ctos_ai_refusals_total`. */
type Refusal = 'NOT_FOUND' | 'RATE_LIMITED' | 'LIMIT_EXCEEDED' | 'UNAVAILABLE';

/** What {@link MessageIntake} needs. */
export interface MessageIntakeDeps {
  /** This worker's id: named in the reply slot and in the answer. */
  worker: string;
  config: AiWorkerConfig;
  /** The Messages API; undefined without an API key. */
  upstream: Upstream | undefined;
  conversations: ConversationStore;
  rate: RateLimiter;
  /** The owner every relay and reply started here is handed to. */
  live: LiveReplies;
  /** Where replies' room events go. */
  emitter: RoomEmitter;
  metrics: AiWorkerMetrics;
  /** The worker's logger (bound to `worker`). */
  logger: Logger;
  /** True once the worker drains. */
  isDraining(): boolean;
  /** Heartbeats at once, so gateways see a change of load before the next beat. */
  touch(): void;
  /** The least time between two chunks of a reply (ms); default `CHUNK_INTERVAL_MS` (see `ReplyOutbox`). */
  chunkIntervalMs?: number;
}

/** One message being accepted. */
interface Turn {
  user: string;
  conversationId: string;
  content: string;
  messageId: string;
  /** True when the conversation has no owner yet: this message creates it. */
  isNew: boolean;
  /** Who holds the reply's first events: the sending socket (see `AiBusMessage`). */
  holder: string;
  /** Bound to `user_id`, `conversation_id` and `message_id`. */
  log: Logger;
}

/**
 * Accepts `ai:message`s: checks the message may start a reply, stores the user's turn,
 * and starts the reply streaming into the conversation's room; without an API key, keeps
 * the turn and tells the room (`ai:error` `UNAVAILABLE`, not retryable) why no reply comes.
 *
 * Refusals, in the order they are checked: `UNAVAILABLE` (draining), `NOT_FOUND`
 * (another user's conversation), `RATE_LIMITED` (`AI_MESSAGES_PER_MINUTE`; every message
 * that passes the drain check counts), `UNAVAILABLE` (`AI_WORKER_CAPACITY` replies
 * streaming), `LIMIT_EXCEEDED` (a reply is already being written in the conversation).
 * Store failures are passed on as they are.
 *
 * Time to first token: the store commands go out together, three round trips in all —
 * the checks (owner, rate, and a read-ahead of the context's newest ids); the reply
 * slot with the claim or the context's reads behind it; the turn's writes — then the
 * upstream request opens and the answer goes. A client is told its message was accepted
 * only once it is stored. (Opening the request while the writes are on their way was
 * measured: on a busy 2-core box the SDK's work then delays the writes' answer, and so
 * the gateway's join and release of the hold, by more than it saves; decision 0009.)
 */
export class MessageIntake {
  /** Accepts under way: a drain waits for them, so none starts a reply after it. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: MessageIntakeDeps) {}

  /** Accepts `m`; resolves with the reply's id once its turn is stored and its first events are queued (held for the gateway). */
  accept(m: AiMessageRequest): Promise<AiAccepted> {
    const accepting = this.acceptNow(m);
    this.inFlight.add(accepting);
    const forget = (): void => void this.inFlight.delete(accepting);
    accepting.then(forget, forget);
    return accepting;
  }

  /**
   * Settles once every accept under way now has ended (a reply started, or refused).
   * Accepts that begin later are refused: call it once the worker drains.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async acceptNow(m: AiMessageRequest): Promise<AiAccepted> {
    const { user, conversation_id: conversationId, content } = m;
    if (this.deps.isDraining()) this.refuse('UNAVAILABLE', 'This assistant worker is shutting down; send again.');
    // Read ahead with the checks, for the context (confirmed under the slot: see storeTurn).
    const guess = this.deps.upstream ? this.deps.conversations.newestIds(conversationId) : undefined;
    guess?.catch(() => undefined); // read below, once the checks passed
    const isNew = await this.admit(m);
    const messageId = randomUUID();
    const log = this.deps.logger.child({ user_id: user, conversation_id: conversationId, message_id: messageId });
    const turn: Turn = { user, conversationId, content, messageId, isNew, holder: m.holder ?? UNNAMED_HOLDER, log };
    if (this.deps.upstream && guess) await this.startReply(turn, this.deps.upstream, await guess);
    else await this.answerUnconfigured(turn);
    return { message_id: messageId, worker: this.deps.worker };
  }

  /**
   * The checks every message passes, configured or not, in one round trip (the owner and
   * the rate counter are read together); true when the conversation is new.
   */
  private async admit({ user, conversation_id: conversationId }: AiMessageRequest): Promise<boolean> {
    const { conversations, rate, config } = this.deps;
    const [owner, withinRate] = await Promise.all([conversations.owner(conversationId), rate.take(user)]);
    if (owner !== null && owner !== user) this.refuse('NOT_FOUND', 'No such conversation.');
    if (!withinRate) {
      this.refuse(
        'RATE_LIMITED',
        `You have sent more than ${config.AI_MESSAGES_PER_MINUTE} messages in a minute; wait a moment and send again.`,
      );
    }
    return owner === null;
  }

  /** Nothing to call: the message is kept, and the room hears why there is no reply. */
  private async answerUnconfigured(turn: Turn): Promise<void> {
    const { conversationId, messageId } = turn;
    const { conversations } = this.deps;
    if (turn.isNew) {
      const claim = await conversations.claim(conversationId, turn.user);
      if (claim === 'other') this.refuse('NOT_FOUND', 'No such conversation.');
      if (claim === 'created') await conversations.describe(conversationId, turn.user, turn.content);
    }
    await conversations.addUserMessage(conversationId, turn.user, turn.content);
    void this.deps.live.addRelay(this.openRelay(turn)).end(
      {
        event: 'ai:error',
        payload: {
          conversation_id: conversationId,
          message_id: messageId,
          code: 'UNAVAILABLE',
          error: NO_API_KEY_MESSAGE,
          retryable: false,
        },
      },
      async () => undefined,
    );
    this.deps.metrics.refusals.inc({ code: 'UNAVAILABLE' });
    turn.log.warn('message answered UNAVAILABLE: no ANTHROPIC_API_KEY');
  }

  /**
   * Takes the conversation's reply slot, stores the turn, and starts the reply, owned by
   * `live`. `guess`: the conversation's newest message ids, read with the checks.
   */
  private async startReply(turn: Turn, upstream: Upstream, guess: string[]): Promise<void> {
    const { config, conversations, live, worker } = this.deps;
    if (live.streaming >= config.AI_WORKER_CAPACITY)
      this.refuse('UNAVAILABLE', 'The assistant is busy; send again shortly.');
    const earlier = await this.storeTurn(turn, guess);
    const relay = live.addRelay(this.openRelay(turn));
    relay.start();
    const reply = new ActiveReply({
      user: turn.user,
      worker,
      upstream,
      relay,
      store: conversations,
      idleMs: config.AI_STREAM_IDLE_MS,
      maxMs: config.AI_STREAM_MAX_MS,
      logger: turn.log,
      metrics: this.deps.metrics,
    });
    live.addReply(reply);
    this.deps.touch();
    turn.log.info({ context_turns: earlier.length }, 'reply started');
    // The request goes out now, just before the answer: the answer (and so the gateway's
    // join and release of the hold) is not kept waiting behind the SDK's work.
    void live.run(reply, buildContext(earlier, turn.content)).then(() => this.deps.touch());
  }

  /**
   * Takes the reply slot, claims a new conversation, reads the turns the context has room
   * for, and stores the user's turn and the reply's record; returns the earlier turns.
   * Two round trips: (1) in this order on the store's connection, the slot, then the claim
   * of a new conversation, or the newest ids again and the records of the guessed ones —
   * read after the slot was taken, so no turn can be added or end after them; (2) the
   * writes. On a failure after the slot was taken it is freed and the error passed on.
   */
  private async storeTurn(turn: Turn, guess: string[]): Promise<ContextTurn[]> {
    const { config, conversations, worker } = this.deps;
    const { conversationId, messageId, content, user } = turn;
    const slotTtl = config.AI_STREAM_MAX_MS + REPLY_SLOT_MARGIN_MS;
    const locking = conversations.lockReply(conversationId, { message_id: messageId, worker }, slotTtl);
    const claiming = turn.isNew ? conversations.claim(conversationId, user) : undefined;
    const newest = turn.isNew ? undefined : conversations.newestIds(conversationId);
    const records = conversations.records(conversationId, guess);
    // Each is read below; the others' failures are not left unhandled meanwhile.
    for (const read of [claiming, newest, records]) read?.catch(() => undefined);
    const locked = await locking;
    const claim = await claiming;
    // A conversation this message made is titled even when its message is refused: another
    // message of the same user, which found it claimed, holds the slot and will not title it.
    if (claim === 'created' && !locked) await conversations.describe(conversationId, user, content);
    if (!locked) {
      this.refuse(
        'LIMIT_EXCEEDED',
        'A reply is still being written in this conversation; wait for it to finish or stop it, then send again.',
      );
    }
    try {
      if (claim === 'other') this.refuse('NOT_FOUND', 'No such conversation.');
      const earlier = await this.context(turn, claim === 'created', newest, guess, records);
      // Stored before the call: whatever happens upstream, what the user typed is kept.
      await conversations.addTurn(conversationId, user, content, { replyId: messageId, worker }, claim === 'created');
      return earlier;
    } catch (error) {
      await conversations.unlockReply(conversationId, messageId).catch((unlockError: unknown) => {
        // The slot expires with its TTL; until then the conversation answers LIMIT_EXCEEDED.
        turn.log.warn({ err: unlockError }, 'could not free the reply slot');
      });
      throw error;
    }
  }

  /**
   * The earlier turns the context has room for: none in a conversation this message
   * made; else from the records read with the slot when the newest ids are still the
   * guessed ones, or read afresh.
   */
  private async context(
    { conversationId, content }: Turn,
    created: boolean,
    newest: Promise<string[]> | undefined,
    guess: string[],
    records: Promise<Array<AiStoredMessage | null>>,
  ): Promise<ContextTurn[]> {
    if (created) return [];
    const ids = await newest;
    const budget = Math.max(0, this.deps.config.AI_CONTEXT_BUDGET_CHARS - content.length);
    const read = ids !== undefined && sameIds(ids, guess) ? { ids, records: await records } : undefined;
    return this.deps.conversations.contextTurns(conversationId, budget, read);
  }

  /** A relay into the conversation's room, held for the sending socket until its gateway has joined it; the caller hands it to `live`. */
  private openRelay({ conversationId, messageId, user, holder }: Turn): ReplyRelay {
    const { emitter, conversations, metrics, logger } = this.deps;
    const room = rooms.ai(conversationId);
    const sink: RelaySink = {
      emit: (event, payload) => {
        if (event === 'ai:stream:chunk') metrics.chunks.inc();
        return emitter.emit(room, event, payload);
      },
      appendChunk: (chunk) => conversations.addChunk(conversationId, messageId, chunk),
      storeChunkAt: (index, chunk) => conversations.addChunkAt(conversationId, messageId, index, chunk),
      onStoreError: (error) =>
        logger.warn({ err: error, conversation_id: conversationId, message_id: messageId }, 'could not store a reply'),
      giveUp: () => this.deps.live.stopped,
    };
    const relay = new ReplyRelay(conversationId, messageId, user, sink, HOLD_TIMEOUT_MS, this.deps.chunkIntervalMs);
    // Held until the accepting gateway has acknowledged and joined the room.
    relay.hold(holder);
    return relay;
  }

  private refuse(code: Refusal, message: string): never {
    this.deps.metrics.refusals.inc({ code });
    throw new ServiceError(code, message);
  }
}

/** True when `a` and `b` list the same ids in the same order. */
function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
