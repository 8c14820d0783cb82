import type { IncomingHttpHeaders } from 'node:http';
import type { MessagesRequest } from './messages-request';
import type { Reply } from './reply';
import type { ToolResult } from './tool-results';

/** What a script is told about the request it answers. */
export interface ScriptRequest {
  /** Position of this request among all requests the stand-in received (0-based); see `Standin.requests`. */
  readonly index: number;
  /**
   * How many requests the current script answered before this one (0-based). Reset by `setScript`, so
   * "fail twice, then succeed" is `attempt < 2`.
   */
  readonly attempt: number;
  /** The SDK's `x-stainless-retry-count` header: 0 on a first try, n on its n-th retry; 0 when absent. */
  readonly retryCount: number;
  /** The validated request body. */
  readonly body: MessagesRequest;
  /** Request headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The `tool_result` blocks of the last user message, each with the `tool_use` it answers (see
   * `lastToolResults`); empty on a turn that does not answer a tool call.
   */
  readonly toolResults: readonly ToolResult[];
}

/**
 * Decides the reply to each valid `POST /v1/messages`. Requests rejected before that (401, 400, 404) never
 * reach the script. A script that throws or rejects produces a 500 `api_error` naming the failure.
 */
export type Script = (request: ScriptRequest) => Reply | Promise<Reply>;

/**
 * A script answering its n-th request with `replies[n]` and every later one with the last reply.
 *
 * @throws RangeError when `replies` is empty.
 */
export function sequence(...replies: readonly Reply[]): Script {
  const last = replies.at(-1);
  if (last === undefined) throw new RangeError('sequence needs at least one reply');
  return ({ attempt }) => replies[attempt] ?? last;
}

/**
 * A script for a tool loop: `call` while the last user message carries no `tool_result`, `then(results)`
 * once it does. E.g. "call run_command, and when its result comes back, answer with text":
 *
 * ```ts
 * afterToolResults({ toolUses: [{ name: 'run_command', input: { command: 'uname -s' } }] }, ([result]) => ({
 *   text: `It runs ${result?.content}.`,
 * }));
 * ```
 */
export function afterToolResults(
  call: Reply | Script,
  then: (results: readonly ToolResult[], request: ScriptRequest) => Reply | Promise<Reply>,
): Script {
  return (request) => {
    if (request.toolResults.length > 0) return then(request.toolResults, request);
    return typeof call === 'function' ? call(request) : call;
  };
}
