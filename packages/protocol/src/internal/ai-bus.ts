import { z } from 'zod';
import type {
  AiConversationInfo,
  AiErrorEvent,
  AiHistoryMessage,
  AiMessageStatus,
  AiStopReason,
  AiStreamEndEvent,
} from '../ai';
import { aiMessageSchema, aiResumeSchema } from '../ai';
import { idSchema } from '../common';

/**
 * Messages from gateways to ai-workers over the bus (not seen by browsers). Every one
 * that reads or changes a conversation names the authenticated `user`: a worker answers
 * `NOT_FOUND` for a conversation that is not that user's. Workers validate them with
 * this schema too; a malformed one is refused with `INVALID_PAYLOAD`.
 *
 * - `message` (request, any worker): store the user turn and start a reply. The reply's
 *   room events are held for `holder` until its `release`, so the gateway can acknowledge
 *   and join the room first. Answers {@link AiAccepted}.
 * - `release` (send, to the worker that accepted or resumed): `holder`'s hold ends; the
 *   held events flow once no other holder's is left.
 * - `cancel` (request, to the worker streaming the reply): abort it; a no-op once it ended.
 * - `resume` (request, to the worker streaming the reply): hold the reply's live events
 *   for `holder` and answer the chunks already sent after `since` ({@link AiResumeAnswer});
 *   `release` follows.
 *
 * `holder` is the id of the socket the gateway asks for. A worker holds by it, each
 * holder's hold lapsing on its own timer, so a release that comes after its hold lapsed
 * ends nothing, and never another socket's hold. Gateways of before it send none: their
 * holds are counted under one shared holder, as they were.
 * - `replay` (request, any worker): a reply's stored chunks after `since`, and how it
 *   ended ({@link AiReplayAnswer}) — for a reply no worker streams any more.
 * - `conversations`, `history` (request, any worker): the `ai:conversations` and
 *   `ai:history` answers.
 */
const user = idSchema;
const since = aiResumeSchema.shape.since;
/** Who holds a reply's events: the requesting socket's id (optional: older gateways send none). */
const holder = idSchema.optional();

export const aiBusMessageSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('message'), user, ...aiMessageSchema.shape, gateway: idSchema, holder }),
  z.object({ op: z.literal('release'), message_id: idSchema, holder }),
  z.object({ op: z.literal('cancel'), user, conversation_id: idSchema, message_id: idSchema }),
  z.object({ op: z.literal('resume'), user, conversation_id: idSchema, message_id: idSchema, since, holder }),
  z.object({ op: z.literal('replay'), user, conversation_id: idSchema, message_id: idSchema, since }),
  z.object({ op: z.literal('conversations'), user }),
  z.object({ op: z.literal('history'), user, conversation_id: idSchema }),
]);
export type AiBusMessage = z.infer<typeof aiBusMessageSchema>;

/** Each AI operation's reply; `void` for the ordered sends. */
export interface AiBusReplies {
  message: AiAccepted;
  release: void;
  cancel: Record<string, never>;
  resume: AiResumeAnswer;
  replay: AiReplayAnswer;
  conversations: { conversations: AiConversationInfo[] };
  history: { conversation_id: string; messages: AiHistoryMessage[] };
}

/** A worker's answer to `message`: the reply's id, and the worker to `release`. */
export interface AiAccepted {
  message_id: string;
  worker: string;
}

/**
 * Chunks of one reply: `chunks[i]` has index `first_index + i`; `last_index` is the
 * index of the last chunk sent so far (-1 before the first).
 */
export interface AiChunkRange {
  first_index: number;
  chunks: string[];
  last_index: number;
}

/**
 * A worker's answer to `resume`: `live` — the reply streams here and is held until
 * `release`; `gone` — it ended (or never streamed here): `replay` it from the store.
 */
export type AiResumeAnswer = ({ state: 'live' } & AiChunkRange) | { state: 'gone' };

/**
 * A worker's answer to `replay`, read from the store: the chunks after `since`, and
 * the event that ended the reply (`end` or `error`), absent while it still streams.
 */
export interface AiReplayAnswer extends AiChunkRange {
  status: AiMessageStatus;
  end?: AiStreamEndEvent;
  error?: AiErrorEvent;
}

/**
 * Where AI conversations live in the deployment's `KeyValueStore` (Redis in
 * distributed mode, memory in embedded mode). The ai-worker writes them; gateways read
 * the owner and active-reply keys to route `ai:cancel` and `ai:resume`, and whoever
 * reaps a dead ai-worker marks its replies interrupted. Ids are URI-encoded, so no
 * client-chosen id can reach into another key.
 */
export const aiStoreKeys = {
  /** String: the id of the user the conversation belongs to (claimed with SET NX). */
  owner: (conversationId: string): string => `ai:o:${enc(conversationId)}`,
  /** Hash {@link AiStoredConversation}. */
  conversation: (conversationId: string): string => `ai:c:${enc(conversationId)}`,
  /** List of the conversation's message ids, oldest first. */
  messages: (conversationId: string): string => `ai:l:${enc(conversationId)}`,
  /** Hash {@link AiStoredMessage}. */
  message: (conversationId: string, messageId: string): string => `ai:m:${enc(conversationId)}:${enc(messageId)}`,
  /** List of a reply's chunks; the list position is the chunk's `index`. */
  chunks: (conversationId: string, messageId: string): string => `ai:k:${enc(conversationId)}:${enc(messageId)}`,
  /** String JSON {@link AiActiveReply}: the reply streaming now (SET NX: one at a time). */
  active: (conversationId: string): string => `ai:a:${enc(conversationId)}`,
  /** Sorted set of a user's conversation ids, scored by last activity (ms since epoch). */
  userConversations: (userId: string): string => `ai:u:${enc(userId)}`,
  /** Set of JSON {@link AiInFlight}: the replies a worker streams, for reaping it. */
  inFlight: (workerId: string): string => `ai:w:${enc(workerId)}`,
  /** String: set (NX) by the one process that reaps a dead worker. */
  reaped: (workerId: string): string => `ai:reaped:${enc(workerId)}`,
  /** Counter of a user's messages in one rate-limit window. */
  rate: (userId: string, window: number): string => `ai:r:${enc(userId)}:${window}`,
} as const;

function enc(id: string): string {
  return encodeURIComponent(id);
}

/**
 * A reply's chunks are kept this long after it ended (ms), for `ai:resume` after a
 * reload; its whole text stays in its `content`. A day covers any reload or reconnect.
 */
export const AI_CHUNKS_TTL_MS = 24 * 60 * 60 * 1000;

/** The value of {@link aiStoreKeys.active}. */
export interface AiActiveReply {
  message_id: string;
  worker: string;
}

/** A member of {@link aiStoreKeys.inFlight}. */
export interface AiInFlight {
  conversation_id: string;
  message_id: string;
}

/** Encodes an {@link AiActiveReply} or {@link AiInFlight} for the store. */
export function encodeAiRecord(record: AiActiveReply | AiInFlight): string {
  return JSON.stringify(record);
}

/** Parses the value of {@link aiStoreKeys.active}; null when absent or not ours. */
export function parseAiActiveReply(value: string | null): AiActiveReply | null {
  const parsed = parseObject(value);
  return typeof parsed?.message_id === 'string' && typeof parsed.worker === 'string'
    ? { message_id: parsed.message_id, worker: parsed.worker }
    : null;
}

/** Parses a member of {@link aiStoreKeys.inFlight}; null when not ours. */
export function parseAiInFlight(value: string): AiInFlight | null {
  const parsed = parseObject(value);
  return typeof parsed?.conversation_id === 'string' && typeof parsed.message_id === 'string'
    ? { conversation_id: parsed.conversation_id, message_id: parsed.message_id }
    : null;
}

function parseObject(value: string | null): Record<string, unknown> | null {
  if (value === null) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null; // not a value we wrote: callers treat it as absent
  }
}

/** The hash of {@link aiStoreKeys.conversation}; times are ISO 8601. */
export interface AiStoredConversation {
  title: string;
  created_at: string;
  updated_at: string;
}

/**
 * The hash of {@link aiStoreKeys.message}. Every field is a string in the store. A
 * reply's `content` is written when it ends; while it streams, its text is its chunks.
 * A reply that failed keeps what the client was told (`error_code`, `error`, `retryable`).
 */
export const aiStoredMessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  status: z.enum(['complete', 'streaming', 'cancelled', 'interrupted']),
  created_at: z.string(),
  content: z.string().optional(),
  stop_reason: z
    .enum(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal', 'cancelled', 'interrupted'])
    .optional(),
  input_tokens: z.coerce.number().int().min(0).optional(),
  output_tokens: z.coerce.number().int().min(0).optional(),
  worker: z.string().optional(),
  error_code: z.string().optional(),
  error: z.string().optional(),
  retryable: z.enum(['true', 'false']).optional(),
});
export type AiStoredMessage = z.output<typeof aiStoredMessageSchema>;

// The stored enums are the protocol's: a value added to one and not the other fails here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameStatus: Same<AiStoredMessage['status'], AiMessageStatus> = true;
const _sameStop: Same<NonNullable<AiStoredMessage['stop_reason']>, AiStopReason> = true;
void _sameStatus;
void _sameStop;

/** Fields of an {@link AiStoredMessage} as written to the store (all strings). */
export type AiStoredMessageFields = { [K in keyof AiStoredMessage]?: string };
