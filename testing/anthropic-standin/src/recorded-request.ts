import type { IncomingHttpHeaders } from 'node:http';
import type { ToolResult } from './tool-results';
import type { MessageUsage } from './wire-events';

/** One entry of a request's `tools`, as sent: a custom tool, or a server tool with its versioned `type`. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  readonly input_schema?: Readonly<Record<string, unknown>>;
  readonly type?: string;
  readonly cache_control?: { readonly type: 'ephemeral'; readonly ttl?: '5m' | '1h' } | null;
  readonly [field: string]: unknown;
}

/**
 * How a request's connection ended:
 * - `'open'`: still in progress;
 * - `'completed'`: the whole response was sent;
 * - `'client-closed'`: the client closed the connection first (an abort, a timeout);
 * - `'dropped'`: a `'drop'` fault destroyed it;
 * - `'server-closed'`: `Standin.close()` cut it off.
 */
export type RequestOutcome = 'open' | 'completed' | 'client-closed' | 'dropped' | 'server-closed';

/** One request the stand-in received, whatever it answered. */
export interface RecordedRequest {
  /** Position among all requests received (0-based), the index `waitForRequest`/`waitForClose` take. */
  readonly index: number;
  readonly method: string;
  /** Path and query, e.g. `/v1/messages` or `/v1/messages?beta=true`. */
  readonly path: string;
  /** Request headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** The body as received (UTF-8). */
  readonly rawBody: string;
  /** The body parsed as JSON; `undefined` when it was not JSON. */
  readonly body: unknown;
  /** The `request-id` header value sent back. */
  readonly requestId: string;
  /** When the whole body had arrived, in `Date.now()` milliseconds. */
  readonly receivedAt: number;
  /** The HTTP status sent; `undefined` until the headers go out (and forever if they never do). */
  readonly status: number | undefined;
  /** When the connection of this response closed, in `Date.now()` milliseconds; `undefined` while open. */
  readonly closedAt: number | undefined;
  readonly outcome: RequestOutcome;
  /** The body's `tools` as sent (also when the request was refused); empty without any. */
  readonly tools: readonly ToolDefinition[];
  /** The `tool_result` blocks of the last user message (see `lastToolResults`); empty until validated. */
  readonly toolResults: readonly ToolResult[];
  /**
   * The `usage` the stand-in reported for this request (cache figures included), once a message was on its
   * way; `undefined` for errors.
   */
  readonly usage: MessageUsage | undefined;
}

/** A response's connection closing, in the order they happened. */
export interface ConnectionClose {
  readonly requestIndex: number;
  /** `Date.now()` milliseconds. */
  readonly at: number;
  readonly outcome: Exclude<RequestOutcome, 'open'>;
}
