/**
 * Stable error codes carried by every failed acknowledgement and every `*:error` event.
 * A client may branch on `code`; the `error` text beside it is for people and may change.
 * The set is closed: a new code is a protocol change.
 */
export const ErrorCode = {
  /** The handshake token is missing, malformed, expired, or signed with the wrong key. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Authenticated, but the action is not allowed (for example, an origin outside the allow-list). */
  FORBIDDEN: 'FORBIDDEN',
  /** No such session, conversation or message for this user (another user's id answers the same). */
  NOT_FOUND: 'NOT_FOUND',
  /** The payload does not match the event's schema; nothing was changed. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** A configured quota is full (sessions per user, input size, one reply per conversation…). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** Too many requests in a window; retry later. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** No live worker can take the request, or a dependency (Redis, the AI API key) is missing. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A worker did not answer within the request timeout; the outcome is unknown. */
  TIMEOUT: 'TIMEOUT',
  /** The upstream service (the Anthropic API) failed; see `retryable` where it is given. */
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  /** A bug on our side; the details are in the server log, never in the message. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every error code, for schemas and exhaustive tests. */
export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

/** True when `value` is one of the {@link ErrorCode} strings. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as string[]).includes(value);
}

/**
 * An expected failure with a stable code and a message a person can act on. Services
 * throw it (or return it) for refusals; the gateway turns it into `{success:false, ...}`.
 * Anything else that is thrown is a bug and reaches clients only as `INTERNAL`.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
