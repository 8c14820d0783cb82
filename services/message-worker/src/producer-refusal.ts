import type { ErrorCode } from '@ctos/protocol';
import type { Response } from 'express';
import type { FieldIssue } from './producer-request';

/** The JSON every refusal carries: `error` for people, `code` for programs, `field` when one is to blame. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  field?: string;
  issues?: FieldIssue[];
}

/** HTTP status of each error code the API can answer with. */
export const STATUS_OF: Record<ErrorCode, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_PAYLOAD: 400,
  LIMIT_EXCEEDED: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  UPSTREAM_ERROR: 502,
  INTERNAL: 500,
};

/** Seconds a producer should wait before retrying a 503: the outage or the drain is short. */
const RETRY_AFTER_S = 1;

/** Answers `status` with `body`; a 503 carries `Retry-After` (seconds). */
export function refuse(res: Response, status: number, body: ErrorBody): void {
  if (status === 503) res.set('Retry-After', String(RETRY_AFTER_S));
  res.status(status).json(body);
}

/** What a bug is answered with: described in the log, never to the caller. */
export const INTERNAL_BODY: ErrorBody = {
  error: 'Something went wrong on our side; it has been logged.',
  code: 'INTERNAL',
};
