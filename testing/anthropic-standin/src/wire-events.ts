import { type ApiErrorBody, type ApiErrorType, apiErrorBody } from './api-errors';

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

/** The `usage` object of a message; the cache fields are zero because the stand-in caches nothing. */
export interface MessageUsage {
  readonly input_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
  readonly cache_creation: { readonly ephemeral_5m_input_tokens: number; readonly ephemeral_1h_input_tokens: number };
  readonly output_tokens: number;
  readonly service_tier: 'standard';
}

/** A complete assistant message: the non-streaming response body, and (with empty content) `message_start.message`. */
export interface AssistantMessage {
  readonly id: string;
  readonly type: 'message';
  readonly role: 'assistant';
  readonly model: string;
  readonly content: readonly { readonly type: 'text'; readonly text: string }[];
  readonly stop_reason: StopReason | null;
  readonly stop_sequence: string | null;
  readonly usage: MessageUsage;
}

/** What identifies and ends one message, shared by the streamed and the complete form. */
export interface MessageFacts {
  readonly id: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly stopReason: StopReason;
  readonly stopSequence: string | null;
}

function usage(inputTokens: number, outputTokens: number): MessageUsage {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

/** The non-streaming response body: one text block holding the whole reply. */
export function completeMessage(facts: MessageFacts, text: string): AssistantMessage {
  return {
    id: facts.id,
    type: 'message',
    role: 'assistant',
    model: facts.model,
    content: [{ type: 'text', text }],
    stop_reason: facts.stopReason,
    stop_sequence: facts.stopSequence,
    usage: usage(facts.inputTokens, facts.outputTokens),
  };
}

/** `message_start`: the message with no content yet; the API reports a token or so of output at this point. */
export function messageStart(facts: MessageFacts): StreamEvent {
  const message: AssistantMessage = {
    id: facts.id,
    type: 'message',
    role: 'assistant',
    model: facts.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(facts.inputTokens, Math.min(1, facts.outputTokens)),
  };
  return { type: 'message_start', message };
}

/** `content_block_start` of the (only) text block, at index 0. */
export function contentBlockStart(): StreamEvent {
  return { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };
}

/** `ping`: sent once after the first block starts, and periodically while the model is slow. */
export function ping(): StreamEvent {
  return { type: 'ping' };
}

/** `content_block_delta` carrying a `text_delta` for block 0. */
export function textDelta(text: string): StreamEvent {
  return { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } };
}

/** `content_block_stop` of block 0. */
export function contentBlockStop(): StreamEvent {
  return { type: 'content_block_stop', index: 0 };
}

/** `message_delta`: the stop reason and the final, cumulative `output_tokens`. */
export function messageDelta(facts: MessageFacts): StreamEvent {
  return {
    type: 'message_delta',
    delta: { stop_reason: facts.stopReason, stop_sequence: facts.stopSequence },
    usage: { output_tokens: facts.outputTokens },
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
