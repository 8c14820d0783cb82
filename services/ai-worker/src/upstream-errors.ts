import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import type { ErrorCode } from '@ctos/protocol';

/**
 * What a failed reply tells its clients (`ai:error`), and what the log says about the
 * cause. The client text is ours, never the API's: upstream wording can carry details
 * that mean nothing to the user (or that we do not want to show).
 */
export interface ReplyFailure {
  code: ErrorCode;
  /** A sentence the user can act on. */
  error: string;
  /** Whether sending the message again may work. */
  retryable: boolean;
  /** For the log: HTTP status, API error type and request id when there are. */
  upstream: { status?: number; type?: string; request_id?: string; message?: string };
  /** Set when an operator must act (bad key, unknown model): logged at error level. */
  operator?: string;
}

const KEPT = 'Your message is kept.';
const PARTIAL = 'What was written so far is kept.';

/**
 * Maps an error from the SDK (raised by the request, after its retries, or while
 * iterating the stream) to a {@link ReplyFailure}:
 * - 401/402/403 and mid-stream `authentication_error`/`permission_error`/`billing_error`
 *   → `UNAVAILABLE`, not retryable (an operator has to fix the key or the account);
 * - 404 (unknown model) → `UNAVAILABLE`, not retryable;
 * - 429 and `rate_limit_error` → `RATE_LIMITED`, retryable;
 * - 408, 409, 5xx, 529, `overloaded_error`/`api_error`, timeouts and broken connections →
 *   `UPSTREAM_ERROR`, retryable;
 * - 413 → `LIMIT_EXCEEDED`; other 4xx and `invalid_request_error` → `UPSTREAM_ERROR`,
 *   not retryable (the same request would fail again).
 * Anything that is not an SDK error (undici's `terminated` when the connection drops)
 * counts as a broken connection.
 */
export function classifyUpstreamError(error: unknown): ReplyFailure {
  if (error instanceof APIConnectionTimeoutError) {
    return failure('UPSTREAM_ERROR', `The AI service did not answer in time; try again. ${KEPT}`, true, error);
  }
  if (error instanceof APIConnectionError) {
    return failure(
      'UPSTREAM_ERROR',
      `The AI service cannot be reached right now; try again shortly. ${KEPT}`,
      true,
      error,
    );
  }
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    return rejectedKey(error);
  }
  if (error instanceof NotFoundError) {
    return {
      ...failure(
        'UNAVAILABLE',
        `The assistant is misconfigured on this server; an operator has been told. ${KEPT}`,
        false,
        error,
      ),
      operator: 'the API does not know the configured model: check AI_MODEL (and ANTHROPIC_BASE_URL)',
    };
  }
  if (error instanceof RateLimitError) return rateLimited(error);
  if (error instanceof PaymentRequiredError) return billing(error);
  if (error instanceof APIError) {
    if (error.status === undefined) return midStream(error);
    if (error.status === 413) {
      return failure(
        'LIMIT_EXCEEDED',
        `This conversation is too long for the AI service; start a new one. ${KEPT}`,
        false,
        error,
      );
    }
    if (error.status === 408 || error.status === 409 || error.status >= 500) return overloaded(error);
    return failure('UPSTREAM_ERROR', `The AI service refused this request. ${KEPT}`, false, error);
  }
  return {
    code: 'UPSTREAM_ERROR',
    error: `The connection to the AI service broke; try again. ${PARTIAL}`,
    retryable: true,
    upstream: { message: error instanceof Error ? error.message : String(error) },
  };
}

/** An `event: error` frame in the middle of a stream: its `type` is all there is. */
function midStream(error: APIError): ReplyFailure {
  switch (error.type) {
    case 'rate_limit_error':
      return rateLimited(error);
    case 'authentication_error':
    case 'permission_error':
      return rejectedKey(error);
    case 'billing_error':
      return billing(error);
    case 'invalid_request_error':
    case 'not_found_error':
      return failure('UPSTREAM_ERROR', `The AI service refused to go on with this reply. ${PARTIAL}`, false, error);
    default:
      return failure(
        'UPSTREAM_ERROR',
        `The AI service failed in the middle of the reply; try again. ${PARTIAL}`,
        true,
        error,
      );
  }
}

function overloaded(error: APIError): ReplyFailure {
  return failure(
    'UPSTREAM_ERROR',
    `The AI service is overloaded or failing right now; try again shortly. ${KEPT}`,
    true,
    error,
  );
}

function rateLimited(error: APIError): ReplyFailure {
  return failure(
    'RATE_LIMITED',
    `The AI service is limiting requests from this server; try again in a minute. ${KEPT}`,
    true,
    error,
  );
}

function rejectedKey(error: APIError): ReplyFailure {
  return {
    ...failure(
      'UNAVAILABLE',
      `The AI service refused this server's credentials; an operator has been told. ${KEPT}`,
      false,
      error,
    ),
    operator: 'the API rejected the key: set a valid ANTHROPIC_API_KEY for the ai-worker and restart it',
  };
}

function billing(error: APIError): ReplyFailure {
  return {
    ...failure(
      'UNAVAILABLE',
      `The AI service is not available to this server right now; an operator has been told. ${KEPT}`,
      false,
      error,
    ),
    operator: 'the API refused for billing reasons: check the account of ANTHROPIC_API_KEY',
  };
}

function failure(code: ErrorCode, text: string, retryable: boolean, error: APIError): ReplyFailure {
  return {
    code,
    error: text,
    retryable,
    upstream: {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.type ? { type: error.type } : {}),
      ...(error.requestID ? { request_id: error.requestID } : {}),
      ...(error.apiMessage ? { message: error.apiMessage } : {}),
    },
  };
}
