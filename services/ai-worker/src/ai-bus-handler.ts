import {
  aiBusMessageSchema,
  isErrorCode,
  ServiceError,
  type AiBusMessage,
  type AiBusReplies,
  type AiReplayAnswer,
  type AiResumeAnswer,
  type BusHandlers,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import { dispatchBus } from '@ctos/transport';
import type { ConversationReader } from './conversation-reader';
import type { LiveReplies } from './live-replies';
import type { MessageIntake } from './message-intake';
import { UNNAMED_HOLDER } from './reply-relay';

/** Conversations `ai:conversations` lists: the most recently active. */
const CONVERSATIONS_LISTED = 200;
/** Messages `ai:history` returns: the newest. */
const HISTORY_MESSAGES = 1000;

/** What {@link aiBusHandler} needs. */
export interface AiBusHandlerDeps {
  conversations: ConversationReader;
  /** The replies and relays of this worker, for `release`, `cancel` and `resume`. */
  live: LiveReplies;
  /** Answers `message`. */
  intake: MessageIntake;
  /** True while the transport reaches Redis: a store failure then is a bug, not an outage. */
  healthy(): boolean;
  logger: Logger;
}

/**
 * The ai-worker's inbox handler: validates each body as an `AiBusMessage` and answers it
 * with its op's handler (`AiBusReplies` gives each reply's type).
 *
 * Errors: `INVALID_PAYLOAD` (a malformed body), `NOT_FOUND` (another user's conversation
 * or reply, or an unknown one outside `message`), the intake's refusals for `message`,
 * and `UNAVAILABLE` for a store failure while the transport is down. Anything else
 * thrown is a bug: the bus logs it and answers `INTERNAL`.
 */
export function aiBusHandler(deps: AiBusHandlerDeps): (body: unknown) => unknown {
  const { conversations, live, logger } = deps;
  const handlers: BusHandlers<AiBusMessage, AiBusReplies> = {
    message: (m) => deps.intake.accept(m),
    release: (m) => live.relay(m.message_id)?.release(m.holder ?? UNNAMED_HOLDER),
    cancel: (m) => {
      const reply = live.reply(m.message_id);
      // Another user's id, or a reply that has ended: nothing to stop, and nothing to say.
      if (reply && reply.user === m.user && reply.conversationId === m.conversation_id) reply.stop('cancel');
      return {};
    },
    resume: (m) => resumeAnswer(live, m),
    replay: (m) => replayAnswer(conversations, m),
    conversations: (m) =>
      conversations.conversations(m.user, CONVERSATIONS_LISTED).then((list) => ({ conversations: list })),
    history: (m) =>
      owned(conversations, m.conversation_id, m.user).then(async () => ({
        conversation_id: m.conversation_id,
        messages: await conversations.history(m.conversation_id, HISTORY_MESSAGES),
      })),
  };

  /** A store failure while the transport is down is an outage, not a bug: `UNAVAILABLE`. */
  const outage = (error: unknown): never => {
    if (error instanceof ServiceError || deps.healthy()) throw error;
    // The outage itself is logged once (redis unreachable); each refusal is not.
    logger.debug({ err: error }, 'conversation store unreachable');
    throw new ServiceError('UNAVAILABLE', 'The assistant cannot reach its storage right now; try again shortly.');
  };

  return (body) => {
    const parsed = aiBusMessageSchema.safeParse(body);
    if (!parsed.success) throw new ServiceError('INVALID_PAYLOAD', 'Malformed assistant message.');
    const answer = dispatchBus(handlers, parsed.data);
    return answer instanceof Promise ? answer.catch(outage) : answer;
  };
}

/** Throws `NOT_FOUND` unless `user` owns the conversation. */
async function owned(conversations: ConversationReader, conversationId: string, user: string): Promise<void> {
  if ((await conversations.owner(conversationId)) !== user) {
    throw new ServiceError('NOT_FOUND', 'No such conversation.');
  }
}

/** `resume`: holds a live reply of the user's and returns what it has emitted since `since`; `gone` otherwise. */
async function resumeAnswer(live: LiveReplies, m: Extract<AiBusMessage, { op: 'resume' }>): Promise<AiResumeAnswer> {
  const relay = live.relay(m.message_id);
  if (!relay || relay.user !== m.user || relay.conversationId !== m.conversation_id) return { state: 'gone' };
  const range = await relay.holdForResume(m.since ?? -1, m.holder ?? UNNAMED_HOLDER);
  return range ? { state: 'live', ...range } : { state: 'gone' };
}

/** `replay`: a reply's stored chunks after `since`, and how it ended if it has. `NOT_FOUND` for another user's. */
async function replayAnswer(
  conversations: ConversationReader,
  m: Extract<AiBusMessage, { op: 'replay' }>,
): Promise<AiReplayAnswer> {
  await owned(conversations, m.conversation_id, m.user);
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
}
