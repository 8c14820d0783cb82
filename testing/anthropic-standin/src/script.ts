import type { IncomingHttpHeaders } from 'node:http';
import type { MessagesRequest } from './messages-request';
import type { Reply } from './reply';

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
