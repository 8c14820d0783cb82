import { randomUUID } from 'node:crypto';
import {
  aiBusMessageSchema,
  isErrorCode,
  rooms,
  ServiceError,
  type AiAccepted,
  type AiBusMessage,
  type AiBusReplies,
  type BusHandlers,
  type AiReplayAnswer,
  type AiResumeAnswer,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import { dispatchBus, type AnnouncementHandle, type Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import { ActiveReply } from './active-reply';
import type { AiWorkerConfig } from './config';
import { buildContext } from './context-window';
import { ConversationStore } from './conversation-store';
import { createAiWorkerMetrics } from './metrics';
import { RateLimiter } from './rate-limiter';
import { ReplyRelay, type RelaySink } from './reply-relay';
import { createUpstream, type Upstream } from './upstream';

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
/** Conversations `ai:conversations` lists: the most recently active. */
const CONVERSATIONS_LISTED = 200;
/** Messages `ai:history` returns: the newest. */
const HISTORY_MESSAGES = 1000;

/** What the client is told when no API key is configured. */
export const NO_API_KEY_MESSAGE =
  'The AI assistant is not configured on this server: an operator must set ANTHROPIC_API_KEY for the ai-worker ' +
  '(see the README) and restart it. Your message is kept.';

/** What {@link createAiWorker} needs. */
export interface AiWorkerDeps {
  id: string;
  transport: Transport;
  config: AiWorkerConfig;
  logger: Logger;
  metrics: Registry;
  /** The Messages API; default the SDK configured from `config` (none without a key). */
  upstream?: Upstream;
}

/** A running ai-worker. */
export interface AiWorker {
  readonly id: string;
  /** Replies streaming now. */
  readonly activeReplies: number;
  /** Starts answering gateways over the bus and heartbeating. */
  start(): void;
  /**
   * Stops taking messages and leaves the registry; replies in flight may finish within
   * `AI_DRAIN_GRACE_MS`, then the rest are stopped and marked interrupted (retryable).
   */
  drain(): Promise<void>;
}

/**
 * The ai-worker: owns AI replies. Gateways reach it with `AiBusMessage`s (see
 * @ctos/protocol): it stores each user message, streams the reply from the Messages API
 * into the conversation's room (`ai:stream:start`, `ai:stream:chunk`, then
 * `ai:stream:end` or `ai:error`), stores the chunks as they go so any gateway can replay
 * them, and stores how each reply ended. Conversations live in the transport's store,
 * so any ai-worker serves any conversation; one reply at a time per conversation.
 *
 * Errors it answers: `INVALID_PAYLOAD` (a malformed bus message), `NOT_FOUND` (another
 * user's conversation, or an unknown one outside `message`), `RATE_LIMITED`
 * (`AI_MESSAGES_PER_MINUTE`), `LIMIT_EXCEEDED` (a reply is already being written in the
 * conversation: refused, not queued — a queued message would start a reply the user
 * may no longer want, and the client knows best when to send again), `UNAVAILABLE`
 * (draining or full). Failures after a reply started reach its room as `ai:error`.
 */
export function createAiWorker(deps: AiWorkerDeps): AiWorker {
  const { transport, config, id } = deps;
  const logger = deps.logger.child({ worker: id });
  const upstream = 'upstream' in deps ? deps.upstream : createUpstream(config, logger);
  const conversations = new ConversationStore(transport.store);
  const rate = new RateLimiter(transport.store, config.AI_MESSAGES_PER_MINUTE);
  /** Replies streaming here, by message id. */
  const replies = new Map<string, ActiveReply>();
  /** Every relay with events still to emit (replies, and refusals waiting for their gateway), by message id. */
  const relays = new Map<string, ReplyRelay>();
  const metrics = createAiWorkerMetrics(deps.metrics, () => replies.size);
  let announcement: AnnouncementHandle | undefined;
  let draining = false;

  /** Throws `NOT_FOUND` unless `user` owns the conversation. */
  const owned = async (conversationId: string, user: string): Promise<void> => {
    if ((await conversations.owner(conversationId)) !== user) {
      throw new ServiceError('NOT_FOUND', 'No such conversation.');
    }
  };

  const refuse = (code: 'NOT_FOUND' | 'RATE_LIMITED' | 'LIMIT_EXCEEDED' | 'UNAVAILABLE', message: string): never => {
    metrics.refusals.inc({ code });
    throw new ServiceError(code, message);
  };

  const relayFor = (conversationId: string, messageId: string, user: string): ReplyRelay => {
    const room = rooms.ai(conversationId);
    const sink: RelaySink = {
      emit: (event, payload) => {
        if (event === 'ai:stream:chunk') metrics.chunks.inc();
        return transport.emitter.emit(room, event, payload);
      },
      appendChunk: (chunk) => conversations.addChunk(conversationId, messageId, chunk),
      storeChunkAt: (index, chunk) => conversations.addChunkAt(conversationId, messageId, index, chunk),
      onStoreError: (error) =>
        logger.warn({ err: error, conversation_id: conversationId, message_id: messageId }, 'could not store a reply'),
    };
    const relay = new ReplyRelay(conversationId, messageId, user, sink, HOLD_TIMEOUT_MS);
    // Held until the accepting gateway has acknowledged and joined the room.
    relay.hold();
    relays.set(messageId, relay);
    void relay.done.then(() => relays.delete(messageId));
    return relay;
  };

  const accept = async (m: Extract<AiBusMessage, { op: 'message' }>): Promise<AiAccepted> => {
    const { user, conversation_id: conversationId, content } = m;
    if (draining) refuse('UNAVAILABLE', 'This assistant worker is shutting down; send again.');
    const owner = await conversations.owner(conversationId);
    if (owner !== null && owner !== user) refuse('NOT_FOUND', 'No such conversation.');
    if (!(await rate.take(user))) {
      refuse(
        'RATE_LIMITED',
        `You have sent more than ${config.AI_MESSAGES_PER_MINUTE} messages in a minute; wait a moment and send again.`,
      );
    }
    const claim = async (): Promise<void> => {
      if (owner === null && !(await conversations.claim(conversationId, user, content))) {
        refuse('NOT_FOUND', 'No such conversation.');
      }
    };
    const messageId = randomUUID();
    const log = logger.child({ user_id: user, conversation_id: conversationId, message_id: messageId });

    if (!upstream) {
      // Nothing to call: the message is kept, and the room hears why there is no reply.
      await claim();
      await conversations.addUserMessage(conversationId, user, content);
      const relay = relayFor(conversationId, messageId, user);
      void relay.end(
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
      metrics.refusals.inc({ code: 'UNAVAILABLE' });
      log.warn('message answered UNAVAILABLE: no ANTHROPIC_API_KEY');
      return { message_id: messageId, worker: id };
    }

    if (replies.size >= config.AI_WORKER_CAPACITY) refuse('UNAVAILABLE', 'The assistant is busy; send again shortly.');
    const slotTtl = config.AI_STREAM_MAX_MS + REPLY_SLOT_MARGIN_MS;
    if (!(await conversations.lockReply(conversationId, { message_id: messageId, worker: id }, slotTtl))) {
      refuse(
        'LIMIT_EXCEEDED',
        'A reply is still being written in this conversation; wait for it to finish or stop it, then send again.',
      );
    }
    let earlier;
    try {
      await claim();
      earlier = await conversations.contextTurns(
        conversationId,
        Math.max(0, config.AI_CONTEXT_BUDGET_CHARS - content.length),
      );
      // Stored before the call: whatever happens upstream, what the user typed is kept.
      await conversations.addUserMessage(conversationId, user, content);
      await conversations.addReply(conversationId, messageId, id);
    } catch (error) {
      await conversations.unlockReply(conversationId, messageId).catch((unlockError: unknown) => {
        // The slot expires with its TTL; until then the conversation answers LIMIT_EXCEEDED.
        log.warn({ err: unlockError }, 'could not free the reply slot');
      });
      throw error;
    }
    const relay = relayFor(conversationId, messageId, user);
    relay.start();
    const reply = new ActiveReply({
      user,
      worker: id,
      upstream,
      relay,
      store: conversations,
      idleMs: config.AI_STREAM_IDLE_MS,
      maxMs: config.AI_STREAM_MAX_MS,
      logger: log,
      metrics,
    });
    replies.set(messageId, reply);
    announcement?.touch();
    log.info({ context_turns: earlier.length }, 'reply started');
    void reply.run(buildContext(earlier, content)).then(() => {
      replies.delete(messageId);
      announcement?.touch();
    });
    return { message_id: messageId, worker: id };
  };

  const resume = async (m: Extract<AiBusMessage, { op: 'resume' }>): Promise<AiResumeAnswer> => {
    const relay = relays.get(m.message_id);
    if (!relay || relay.user !== m.user || relay.conversationId !== m.conversation_id) return { state: 'gone' };
    const range = await relay.holdForResume(m.since ?? -1);
    return range ? { state: 'live', ...range } : { state: 'gone' };
  };

  const replay = async (m: Extract<AiBusMessage, { op: 'replay' }>): Promise<AiReplayAnswer> => {
    await owned(m.conversation_id, m.user);
    const record = await conversations.message(m.conversation_id, m.message_id);
    if (!record || record.role !== 'assistant') throw new ServiceError('NOT_FOUND', 'No such reply.');
    const first = Math.max(0, (m.since ?? -1) + 1);
    const { chunks, total } = await conversations.chunks(m.conversation_id, m.message_id, first);
    const answer: AiReplayAnswer = { status: record.status, first_index: first, chunks, last_index: total - 1 };
    const ids = { conversation_id: m.conversation_id, message_id: m.message_id };
    if (record.status === 'complete' || record.status === 'cancelled') {
      answer.end = {
        ...ids,
        stop_reason: record.stop_reason ?? (record.status === 'cancelled' ? 'cancelled' : 'end_turn'),
        usage: { input_tokens: record.input_tokens ?? 0, output_tokens: record.output_tokens ?? 0 },
      };
    } else if (record.status === 'interrupted') {
      answer.error = {
        ...ids,
        code: isErrorCode(record.error_code) ? record.error_code : 'UPSTREAM_ERROR',
        error: record.error ?? 'The reply was interrupted; what was written so far is kept.',
        retryable: record.retryable !== 'false',
      };
    }
    return answer;
  };

  /** A store failure while the transport is down is an outage, not a bug: `UNAVAILABLE`. */
  const outage = (error: unknown): never => {
    if (error instanceof ServiceError || transport.healthy()) throw error;
    // The outage itself is logged once (redis unreachable); each refusal is not.
    logger.debug({ err: error }, 'conversation store unreachable');
    throw new ServiceError('UNAVAILABLE', 'The assistant cannot reach its storage right now; try again shortly.');
  };

  const handle = (body: unknown): unknown => {
    const parsed = aiBusMessageSchema.safeParse(body);
    if (!parsed.success) throw new ServiceError('INVALID_PAYLOAD', 'Malformed assistant message.');
    const answer = dispatchBus(handlers, parsed.data);
    return answer instanceof Promise ? answer.catch(outage) : answer;
  };

  /** One handler per AI operation (`AiBusReplies` gives each reply's type). */
  const handlers: BusHandlers<AiBusMessage, AiBusReplies> = {
    message: accept,
    release: (m) => relays.get(m.message_id)?.release(),
    cancel: (m) => {
      const reply = replies.get(m.message_id);
      // Another user's id, or a reply that has ended: nothing to stop, and nothing to say.
      if (reply && reply.user === m.user && reply.conversationId === m.conversation_id) reply.stop('cancel');
      return {};
    },
    resume,
    replay,
    conversations: (m) =>
      conversations.conversations(m.user, CONVERSATIONS_LISTED).then((list) => ({ conversations: list })),
    history: (m) =>
      owned(m.conversation_id, m.user).then(async () => ({
        conversation_id: m.conversation_id,
        messages: await conversations.history(m.conversation_id, HISTORY_MESSAGES),
      })),
  };

  return {
    id,
    get activeReplies() {
      return replies.size;
    },
    start() {
      transport.bus.serve(handle);
      announcement = transport.registry.announce({
        id,
        kind: 'ai',
        capacity: config.AI_WORKER_CAPACITY,
        load: () => replies.size,
        onRejoined: (reason) => {
          // Declared dead: a gateway has marked these replies interrupted and told their
          // rooms; stop them for real rather than stream on past the error.
          if (reason !== 'declared-dead') return;
          logger.warn({ replies: replies.size }, 'this worker was declared dead while alive; stopping its replies');
          for (const reply of replies.values()) reply.stop('shutdown');
        },
      });
      if (!upstream) {
        logger.warn(
          'ANTHROPIC_API_KEY is not set: every ai:message is answered UNAVAILABLE until it is set and the ai-worker restarted',
        );
      }
      logger.info(
        { capacity: config.AI_WORKER_CAPACITY, model: config.AI_MODEL, configured: upstream !== undefined },
        'ai worker started',
      );
    },
    async drain() {
      draining = true;
      // Leave the registry first, so gateways place no new message here.
      await announcement?.dispose();
      const running = (): Promise<void[]> => Promise.all([...relays.values()].map((relay) => relay.done));
      if (replies.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, config.AI_DRAIN_GRACE_MS)));
        await Promise.race([running(), grace]);
        clearTimeout(timer);
      }
      for (const reply of replies.values()) reply.stop('shutdown');
      // No gateway will release a hold now; what is held goes out so its room hears the end.
      for (const relay of relays.values()) relay.releaseAll();
      await running();
      logger.info('ai worker drained');
    },
  };
}
