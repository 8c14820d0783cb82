import type { ApiErrorType } from './api-errors';
import type { FrameSplit, LineEnding } from './sse-frames';
import type { ScriptedToolUse } from './tool-use';
import type { StopReason } from './wire-events';

/**
 * Answer with an HTTP error instead of a message: `{"type":"error","error":{"type","message"},"request_id"}`
 * with the given status.
 */
export interface HttpErrorReply {
  /** HTTP status, e.g. 401, 429, 500, 529. */
  readonly status: number;
  /** `error.type`; defaults to the API's type for `status` (529 → `overloaded_error`, other 5xx → `api_error`). */
  readonly type?: ApiErrorType;
  /** `error.message`; defaults to the API's usual wording for the type. */
  readonly message?: string;
  /** Sent as the `retry-after` header, in seconds (the SDK accepts fractions and waits that long before retrying). */
  readonly retryAfterSeconds?: number;
  /** Sent as the `x-should-retry` header, which overrides the SDK's status-based retry decision. */
  readonly shouldRetry?: boolean;
  /**
   * Fail only the first `times` requests answered by the current script (counted by
   * {@link ScriptRequest.attempt}); later requests get the reply's message. Omitted: fail every time.
   */
  readonly times?: number;
}

/**
 * Something going wrong after the stream has started, once `afterDeltas` deltas were sent (`text_delta`s and
 * `input_json_delta`s counted together, in stream order; values above the number of deltas mean after the
 * last one, before its block's `content_block_stop`):
 * - `'error-event'`: an `event: error` frame, then the response ends (as the API does when it overloads
 *   mid-stream); the SDK raises an `APIError` of that type while iterating;
 * - `'stall'`: nothing more is sent (no pings either) and the socket stays open until the client gives up;
 * - `'drop'`: the socket is destroyed without finishing the chunked body.
 *
 * Without streaming, `'error-event'` becomes the matching HTTP error, `'stall'` never answers and `'drop'`
 * destroys the socket before answering.
 */
export type Fault =
  | {
      readonly kind: 'error-event';
      readonly afterDeltas: number;
      /** Default `overloaded_error`. */
      readonly type?: ApiErrorType;
      /** Default: the API's usual wording for the type (`"Overloaded"`). */
      readonly message?: string;
    }
  | { readonly kind: 'stall'; readonly afterDeltas: number }
  | { readonly kind: 'drop'; readonly afterDeltas: number };

/** How the stream's bytes are laid out on the wire, to test SSE parsers. Ignored for JSON responses. */
export interface WireFormat {
  /** Default `'\n'`, like the real API. */
  readonly lineEnding?: LineEnding;
  /** Default `'frame'`: one socket write per SSE frame. */
  readonly split?: FrameSplit;
  /**
   * Milliseconds between consecutive socket writes, so that pieces reach the client in separate reads.
   * Default 0: the next write still waits until the previous one was handed to the kernel.
   */
  readonly flushDelayMs?: number;
}

/**
 * What the stand-in answers to one `POST /v1/messages`. Every field is optional; `{}` streams the echo text
 * of the default script at full speed.
 *
 * The streamed events follow https://docs.anthropic.com/en/api/messages-streaming: `message_start`, then per
 * content block a `content_block_start`, its `content_block_delta`s and a `content_block_stop`, then
 * `message_delta` and `message_stop`, with a `ping` after the first block starts. The text block, if any,
 * is block 0 (`text_delta`s); each of `toolUses` follows as a `tool_use` block (`input_json_delta`s). Without
 * streaming the same blocks come complete in one JSON message.
 *
 * `usage` reports the request's input as the prompt cache of the stand-in accounts for it (see
 * `StandinOptions.promptCache`), unless the reply overrides the figures.
 */
export interface Reply {
  /** The exact `text_delta` strings, in order; takes precedence over `text`. */
  readonly deltas?: readonly string[];
  /**
   * The reply text, split into `chunks` deltas (default: one word per delta). Default: the echo text, or
   * no text block when `toolUses` are given.
   */
  readonly text?: string;
  /** How many deltas to split `text` into (near-equal lengths, never inside a character). */
  readonly chunks?: number;
  /**
   * Tool calls made after the text, each a `tool_use` block whose input arrives as `input_json_delta`s
   * (the first one empty, as the API sends); e.g. `[{ name: 'run_command', input: { command: 'uname -s' } }]`.
   */
  readonly toolUses?: readonly ScriptedToolUse[];
  /** `stop_reason`; default `'tool_use'` when there are `toolUses`, else `'end_turn'`. */
  readonly stopReason?: StopReason;
  /** `stop_sequence`; default `null`. */
  readonly stopSequence?: string | null;
  /**
   * `usage` numbers; default: input and cache figures from the prompt cache (estimated at about 4 characters
   * a token), output estimated from the reply's text and tool inputs.
   */
  readonly usage?: {
    readonly inputTokens?: number;
    readonly outputTokens?: number;
    readonly cacheCreationInputTokens?: number;
    readonly cacheReadInputTokens?: number;
  };
  /** `model` of the message; default: the requested model. */
  readonly model?: string;
  /** Milliseconds before the status line and headers are sent (time to first byte). */
  readonly headersDelayMs?: number;
  /** Milliseconds between the initial `ping` and the first delta. */
  readonly firstDeltaDelayMs?: number;
  /** Milliseconds between consecutive deltas (text and tool input alike). */
  readonly deltaIntervalMs?: number;
  /** While waiting for the next delta, send a `ping` frame every this many milliseconds. Default: no extra pings. */
  readonly pingIntervalMs?: number;
  /** Answer with an HTTP error instead (possibly only for the first attempts). */
  readonly error?: HttpErrorReply;
  /** Break the stream after some deltas. */
  readonly fault?: Fault;
  /** Wire layout of the SSE bytes. */
  readonly wire?: WireFormat;
}
