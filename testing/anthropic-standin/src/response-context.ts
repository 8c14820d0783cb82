import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type ApiErrorType, apiErrorBody } from './api-errors';

/** One response in progress, as the reply code sees it. */
export interface ResponseContext {
  readonly res: ServerResponse;
  /** Aborted once the connection is gone: closed by the client, dropped by a fault, or closed by the stand-in. */
  readonly signal: AbortSignal;
  /** The `request-id` header value of this response. */
  readonly requestId: string;
  /** Sends the status line and headers; the status is recorded for `Standin.requests`. */
  readonly writeHead: (status: number, headers: OutgoingHttpHeaders) => void;
  /** Destroys the socket mid-response, recorded as a `'dropped'` outcome. */
  readonly drop: () => void;
}

/** Sends a complete JSON response with the API's `request-id` header. */
export function sendJson(ctx: ResponseContext, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const json = Buffer.from(JSON.stringify(body));
  ctx.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': json.length,
    'request-id': ctx.requestId,
  });
  ctx.res.end(json);
}

/** Sends `{"type":"error","error":{"type","message"},"request_id"}` with `status`. */
export function sendApiError(
  ctx: ResponseContext,
  status: number,
  type: ApiErrorType,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJson(ctx, status, apiErrorBody(type, message, ctx.requestId), headers);
}
