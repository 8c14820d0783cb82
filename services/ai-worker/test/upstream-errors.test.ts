import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { classifyUpstreamError } from '../src/upstream-errors';

const body = (type: string, message = `upstream words for ${type}`) => ({ type: 'error', error: { type, message } });
const headers = () => new Headers({ 'request-id': 'req_123' });

describe('upstream errors as clients hear them', () => {
  it.each([
    ['401', 'UNAVAILABLE', false, new AuthenticationError(401, body('authentication_error'), undefined, headers())],
    [
      '404 (unknown model)',
      'UNAVAILABLE',
      false,
      new NotFoundError(404, body('not_found_error'), undefined, headers()),
    ],
    ['429', 'RATE_LIMITED', true, new RateLimitError(429, body('rate_limit_error'), undefined, headers())],
    ['529', 'UPSTREAM_ERROR', true, new InternalServerError(529, body('overloaded_error'), undefined, headers())],
    ['500', 'UPSTREAM_ERROR', true, new InternalServerError(500, body('api_error'), undefined, headers())],
    ['400', 'UPSTREAM_ERROR', false, new BadRequestError(400, body('invalid_request_error'), undefined, headers())],
    [
      'a mid-stream overloaded_error',
      'UPSTREAM_ERROR',
      true,
      new APIError(undefined, body('overloaded_error'), undefined, headers(), 'overloaded_error'),
    ],
    [
      'a mid-stream rate_limit_error',
      'RATE_LIMITED',
      true,
      new APIError(undefined, body('rate_limit_error'), undefined, headers(), 'rate_limit_error'),
    ],
    [
      'a mid-stream invalid_request_error',
      'UPSTREAM_ERROR',
      false,
      new APIError(undefined, body('invalid_request_error'), undefined, headers(), 'invalid_request_error'),
    ],
    ['a timeout', 'UPSTREAM_ERROR', true, new APIConnectionTimeoutError()],
    ['a refused connection', 'UPSTREAM_ERROR', true, new APIConnectionError({ message: 'Connection error.' })],
    ['a dropped stream (undici: terminated)', 'UPSTREAM_ERROR', true, new TypeError('terminated')],
  ] as const)('%s → %s, retryable %s, in our own words', (_name, code, retryable, error) => {
    const failure = classifyUpstreamError(error);
    expect(failure).toMatchObject({ code, retryable });
    expect(failure.error).not.toMatch(/upstream words|terminated|Connection error/);
    expect(failure.error).toMatch(/\.$/);
  });

  it('keeps the status, type and request id for the log, and flags what an operator must fix', () => {
    const failure = classifyUpstreamError(
      new AuthenticationError(401, body('authentication_error'), undefined, headers()),
    );
    expect(failure.upstream).toEqual({
      status: 401,
      type: 'authentication_error',
      request_id: 'req_123',
      message: 'upstream words for authentication_error',
    });
    expect(failure.operator).toMatch(/ANTHROPIC_API_KEY/);
  });
});
