/**
 * The `error.type` values of the Anthropic API, see
 * https://docs.anthropic.com/en/api/errors.
 */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** The JSON body of an API error, both as an HTTP body and as the `data` of a mid-stream `event: error`. */
export interface ApiErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: ApiErrorType; readonly message: string };
  /** Present on HTTP error bodies (the real API repeats the `request-id` header there), absent in the stream. */
  readonly request_id?: string;
}

const STATUS_BY_TYPE: Readonly<Record<ApiErrorType, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

const DEFAULT_MESSAGE: Readonly<Record<ApiErrorType, string>> = {
  invalid_request_error: 'Invalid request',
  authentication_error: 'invalid x-api-key',
  permission_error: 'Your API key does not have permission to use the specified resource.',
  not_found_error: 'Not found',
  request_too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit_error: 'Number of requests has exceeded your rate limit. Please try again later.',
  api_error: 'Internal server error',
  overloaded_error: 'Overloaded',
};

/** The HTTP status the API uses for an error type (529 for `overloaded_error`). */
export function statusForErrorType(type: ApiErrorType): number {
  return STATUS_BY_TYPE[type];
}

/** The error type the API uses for an HTTP status; unknown 5xx are `api_error`, unknown 4xx `invalid_request_error`. */
export function errorTypeForStatus(status: number): ApiErrorType {
  for (const [type, known] of Object.entries(STATUS_BY_TYPE)) {
    if (known === status) return type as ApiErrorType;
  }
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The message the real API typically sends with an error type, used when a script gives none. */
export function defaultErrorMessage(type: ApiErrorType): string {
  return DEFAULT_MESSAGE[type];
}

/** Builds `{"type":"error","error":{"type","message"}}`, with `request_id` when given. */
export function apiErrorBody(type: ApiErrorType, message: string, requestId?: string): ApiErrorBody {
  const body: ApiErrorBody = { type: 'error', error: { type, message } };
  return requestId === undefined ? body : { ...body, request_id: requestId };
}
