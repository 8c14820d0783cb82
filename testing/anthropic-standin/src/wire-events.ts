import { type ApiErrorBody, type ApiErrorType, apiErrorBody } from './api-errors';
import type { ToolUseBlock } from './tool-use';

/**
 * Payloads of the Messages API streaming events, shaped as documented at
 * https://docs.anthropic.com/en/api/messages-streaming. The SSE `event:` name of every frame is its
 * payload's `type`.
 */
export interface StreamEvent {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Why generation stopped, as reported in `stop_reason`. */
export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

/** The `usage` object of a message, with the prompt cache's share of the input. */
export interface MessageUsage {
  /** Input tokens neither read from nor written to the cache: those after the last cache breakpoint. */
  readonly input_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
  /** `cache_creation_input_tokens` by the TTL of the breakpoints that wrote them. */
  readonly cache_creation: { readonly ephemeral_5m_input_tokens: number; readonly ephemeral_1h_input_tokens: number };
  readonly output_tokens: number;
  readonly service_tier: 'standard';
}

/** A text content block of a response. */
export interface TextBlock {
  readonly type: 'text';
  readonly text: string;
}

/** A content block of a response: text, or a tool call. */
export type ContentBlock = TextBlock | ToolUseBlock;

/** A complete assistant message: the non-streaming response body, and (with empty content) `message_start.message`. */
export interface AssistantMessage {
  readonly id: string;
  readonly type: 'message';
  readonly role: 'assistant';
  readonly model: string;
  readonly content: readonly ContentBlock[];
  readonly stop_reason: StopReason | null;
  readonly stop_sequence: string | null;
  readonly usage: MessageUsage;
}

/** What identifies and ends one message, shared by the streamed and the complete form. */
export interface MessageFacts {
  readonly id: string;
  readonly model: string;
  /** The whole `usage` as reported once the message is complete. */
  readonly usage: MessageUsage;
  readonly stopReason: StopReason;
  readonly stopSequence: string | null;
}

/** The non-streaming response body. */
export function completeMessage(facts: MessageFacts, content: readonly ContentBlock[]): AssistantMessage {
  return {
    id: facts.id,
    type: 'message',
    role: 'assistant',
    model: facts.model,
    content,
    stop_reason: facts.stopReason,
    stop_sequence: facts.stopSequence,
    usage: facts.usage,
  };
}

/**
 * `message_start`: the message with no content yet. The input and cache figures are final already; the API
 * reports a token or so of output at this point.
 */
export function messageStart(facts: MessageFacts): StreamEvent {
  const message: AssistantMessage = {
    ...completeMessage(facts, []),
    stop_reason: null,
    stop_sequence: null,
    usage: { ...facts.usage, output_tokens: Math.min(1, facts.usage.output_tokens) },
  };
  return { type: 'message_start', message };
}

/**
 * `content_block_start` of block `index`: a text block starts empty, a `tool_use` block with its id and name
 * and an empty `input`, which the `input_json_delta`s then fill.
 */
export function contentBlockStart(index: number, block: ContentBlock): StreamEvent {
  const content_block = block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} };
  return { type: 'content_block_start', index, content_block };
}

/** `ping`: sent once after the first block starts, and periodically while the model is slow. */
export function ping(): StreamEvent {
  return { type: 'ping' };
}

/** `content_block_delta` carrying a `text_delta` for text block `index`. */
export function textDelta(index: number, text: string): StreamEvent {
  return { type: 'content_block_delta', index, delta: { type: 'text_delta', text } };
}

/** `content_block_delta` carrying an `input_json_delta`, a piece of a `tool_use` block's input JSON. */
export function inputJsonDelta(index: number, partialJson: string): StreamEvent {
  return { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partialJson } };
}

/** `content_block_stop` of block `index`. */
export function contentBlockStop(index: number): StreamEvent {
  return { type: 'content_block_stop', index };
}

/**
 * `message_delta`: the stop reason and the final usage. The API repeats the cumulative input and cache
 * figures here next to the final `output_tokens`.
 */
export function messageDelta(facts: MessageFacts): StreamEvent {
  const { input_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens } = facts.usage;
  return {
    type: 'message_delta',
    delta: { stop_reason: facts.stopReason, stop_sequence: facts.stopSequence },
    usage: { input_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens },
  };
}

/** `message_stop`: the last event of a successful stream. */
export function messageStop(): StreamEvent {
  return { type: 'message_stop' };
}

/** A mid-stream `error` event, e.g. `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`. */
export function streamError(type: ApiErrorType, message: string): ApiErrorBody {
  return apiErrorBody(type, message);
}
