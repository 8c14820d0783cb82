import { randomUUID } from 'node:crypto';
import { rooms, ServiceError, type AiAccepted, type AiBusMessage } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { RoomEmitter } from '@ctos/transport';
import { ActiveReply } from './active-reply';
import type { AiWorkerConfig } from './config';
import { buildContext } from './context-window';
import type { ContextTurn, ConversationStore } from './conversation-store';
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
 * (another user's conversation), `RATE_LIMITED` (`AI_MESSAGES_PER_MINUTE`),
 * `UNAVAILABLE` (`AI_WORKER_CAPACITY` replies streaming), `LIMIT_EXCEEDED` (a reply is
 * already being written in the conversation). Store failures are passed on as they are.
 */
export class MessageIntake {
  /** Accepts under way: a drain waits for them, so none starts a reply after it. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: MessageIntakeDeps) {}

  /** Accepts `m`; resolves with the reply's id once its first events are queued (held for the gateway). */
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
    const isNew = await this.admit(m);
    const messageId = randomUUID();
    const log = this.deps.logger.child({ user_id: user, conversation_id: conversationId, message_id: messageId });
    const turn: Turn = { user, conversationId, content, messageId, isNew, holder: m.holder ?? UNNAMED_HOLDER, log };
    if (this.deps.upstream) await this.startReply(turn, this.deps.upstream);
    else await this.answerUnconfigured(turn);
    return { message_id: messageId, worker: this.deps.worker };
  }

  /** The checks every message passes, configured or not; true when the conversation is new. */
  private async admit({ user, conversation_id: conversationId }: AiMessageRequest): Promise<boolean> {
    const { conversations, rate, config } = this.deps;
    if (this.deps.isDraining()) this.refuse('UNAVAILABLE', 'This assistant worker is shutting down; send again.');
    const owner = await conversations.owner(conversationId);
    if (owner !== null && owner !== user) this.refuse('NOT_FOUND', 'No such conversation.');
    if (!(await rate.take(user))) {
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
    await this.claim(turn);
    await this.deps.conversations.addUserMessage(conversationId, turn.user, turn.content);
    void this.openRelay(turn).end(
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

  /** Takes the conversation's reply slot, stores the turn, and starts the reply, owned by `live`. */
  private async startReply(turn: Turn, upstream: Upstream): Promise<void> {
    const { config, conversations, live, worker } = this.deps;
    if (live.streaming >= config.AI_WORKER_CAPACITY)
      this.refuse('UNAVAILABLE', 'The assistant is busy; send again shortly.');
    const slotTtl = config.AI_STREAM_MAX_MS + REPLY_SLOT_MARGIN_MS;
    if (!(await conversations.lockReply(turn.conversationId, { message_id: turn.messageId, worker }, slotTtl))) {
      this.refuse(
        'LIMIT_EXCEEDED',
        'A reply is still being written in this conversation; wait for it to finish or stop it, then send again.',
      );
    }
    const earlier = await this.storeTurn(turn);
    const relay = this.openRelay(turn);
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
    void live.run(reply, buildContext(earlier, turn.content)).then(() => this.deps.touch());
  }

  /**
   * Under the reply slot: claims a new conversation, reads the turns the context has room
   * for, and stores the user's turn and the reply's record; returns the earlier turns. On
   * a failure the slot is freed and the error passed on.
   */
  private async storeTurn(turn: Turn): Promise<ContextTurn[]> {
    const { conversations, config, worker } = this.deps;
    const { conversationId, messageId, content } = turn;
    try {
      await this.claim(turn);
      const earlier = await conversations.contextTurns(
        conversationId,
        Math.max(0, config.AI_CONTEXT_BUDGET_CHARS - content.length),
      );
      // Stored before the call: whatever happens upstream, what the user typed is kept.
      // Both sent at once, in this order, answered in one round trip.
      await Promise.all([
        conversations.addUserMessage(conversationId, turn.user, content),
        conversations.addReply(conversationId, messageId, worker),
      ]);
      return earlier;
    } catch (error) {
      await conversations.unlockReply(conversationId, messageId).catch((unlockError: unknown) => {
        // The slot expires with its TTL; until then the conversation answers LIMIT_EXCEEDED.
        turn.log.warn({ err: unlockError }, 'could not free the reply slot');
      });
      throw error;
    }
  }

  /** Makes a new conversation the user's; `NOT_FOUND` when another message claimed it first. */
  private async claim({ isNew, conversationId, user, content }: Turn): Promise<void> {
    if (isNew && !(await this.deps.conversations.claim(conversationId, user, content))) {
      this.refuse('NOT_FOUND', 'No such conversation.');
    }
  }

  /** A relay into the conversation's room, held for the sending socket until its gateway has joined it, owned by `live`. */
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
    const relay = new ReplyRelay(conversationId, messageId, user, sink, HOLD_TIMEOUT_MS);
    // Held until the accepting gateway has acknowledged and joined the room.
    relay.hold(holder);
    return this.deps.live.addRelay(relay);
  }

  private refuse(code: Refusal, message: string): never {
    this.deps.metrics.refusals.inc({ code });
    throw new ServiceError(code, message);
  }
}
