import { z } from 'zod';
import { idSchema } from './common';
import type { ErrorCode } from './errors';
import { SCHEMA_BOUNDS } from './limits';

/**
 * `ai:message` — a user turn. `conversation_id` is chosen by the client (a uuid); an id
 * nobody has used starts a new conversation, another user's id answers `NOT_FOUND`.
 */
export const aiMessageSchema = z.strictObject({
  conversation_id: idSchema,
  content: z.string().trim().min(1).max(SCHEMA_BOUNDS.AI_CONTENT_CHARS),
});
export type AiMessagePayload = z.input<typeof aiMessageSchema>;

/** `ai:cancel`, `ai:history` — a conversation by id. */
export const aiConversationRefSchema = z.strictObject({
  conversation_id: idSchema,
});
export type AiConversationRef = z.input<typeof aiConversationRefSchema>;

/**
 * `ai:resume` — after a reconnect or reload: send the chunks of reply `message_id` whose
 * `index` is above `since` (omit it for all of them), then follow the live stream.
 */
export const aiResumeSchema = z.strictObject({
  conversation_id: idSchema,
  message_id: idSchema,
  since: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type AiResumePayload = z.input<typeof aiResumeSchema>;

/** Token counts, in the Anthropic API's words. */
export interface AiUsage {
  input_tokens: number;
  output_tokens: number;
}

/**
 * Why a reply ended: the API's `stop_reason` values, plus ours — `cancelled` (the user
 * stopped it), `interrupted` (it failed mid-stream or its worker was lost).
 */
export type AiStopReason =
  'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'cancelled' | 'interrupted';

/** `ai:stream:start` (server→client). */
export interface AiStreamStartEvent {
  conversation_id: string;
  message_id: string;
}

/** `ai:stream:chunk` (server→client). `index` counts chunks of this reply from 0. */
export interface AiStreamChunkEvent {
  conversation_id: string;
  message_id: string;
  chunk: string;
  index: number;
}

/** `ai:stream:end` (server→client). */
export interface AiStreamEndEvent {
  conversation_id: string;
  message_id: string;
  stop_reason: AiStopReason;
  usage: AiUsage;
}

/** `ai:error` (server→client). `retryable` says whether sending the message again may work. */
export interface AiErrorEvent {
  conversation_id?: string;
  message_id?: string;
  code: ErrorCode;
  error: string;
  retryable: boolean;
}

/** A stored turn's state. */
export type AiMessageStatus = 'complete' | 'streaming' | 'cancelled' | 'interrupted';

/** One stored turn, as `ai:history` answers it. */
export interface AiHistoryMessage {
  message_id: string;
  role: 'user' | 'assistant';
  content: string;
  status: AiMessageStatus;
  created_at: string;
  stop_reason?: AiStopReason;
  usage?: AiUsage;
}

/** One entry of `ai:conversations`. */
export interface AiConversationInfo {
  conversation_id: string;
  title: string;
  created_at: string;
  updated_at: string;
  /** The reply being written now, if any. */
  streaming_message_id?: string;
}

/** `ai:resume`'s acknowledgement data: where the reply stands. */
export interface AiResumeResult {
  message_id: string;
  status: AiMessageStatus;
  /** Index of the last chunk the server has sent or will send before live ones. */
  last_index: number;
}

/** What a user may answer to a tool call: this once, never, or for the rest of the conversation (this tool). */
export const AI_TOOL_DECISIONS = ['allow', 'deny', 'allow_for_conversation'] as const;
export type AiToolDecision = (typeof AI_TOOL_DECISIONS)[number];

/**
 * `ai:tool:decide` — the user's decision on a tool call waiting for it (`ai:tool:request`).
 * A call of another user, or one no longer waiting, answers `NOT_FOUND`.
 */
export const aiToolDecideSchema = z.strictObject({
  tool_use_id: idSchema,
  decision: z.enum(AI_TOOL_DECISIONS),
});
export type AiToolDecidePayload = z.input<typeof aiToolDecideSchema>;

/** A tool call of a reply, as the tool events show it (issue 18). */
export interface AiToolCall {
  conversation_id: string;
  message_id: string;
  /** The API's `tool_use` block id. */
  tool_use_id: string;
  /** `run_command` or `read_terminal`. */
  name: string;
  /** The input the model gave, as it gave it. */
  input: unknown;
}

/** `ai:tool:request` (server→client): the call waits for the user's `ai:tool:decide`. */
export type AiToolRequestEvent = AiToolCall;

/** `ai:tool:start` (server→client): the call runs; `session_id` is the terminal it runs in or reads. */
export interface AiToolStartEvent extends AiToolCall {
  session_id?: string;
}

/** How a tool call ended: it ran (`done`, `failed` when it could not), or never ran. */
export type AiToolOutcome = 'done' | 'failed' | 'denied' | 'timed_out';

/** `ai:tool:end` (server→client): the call's outcome and the result the model gets. */
export interface AiToolEndEvent extends AiToolCall {
  outcome: AiToolOutcome;
  /** The `tool_result` text sent to the model. */
  result: string;
  is_error: boolean;
  session_id?: string;
}
