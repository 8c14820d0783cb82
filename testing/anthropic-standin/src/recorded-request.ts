import type { IncomingHttpHeaders } from 'node:http';

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
}

/** A response's connection closing, in the order they happened. */
export interface ConnectionClose {
  readonly requestIndex: number;
  /** `Date.now()` milliseconds. */
  readonly at: number;
  readonly outcome: Exclude<RequestOutcome, 'open'>;
}
