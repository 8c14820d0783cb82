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
    ['401', new AuthenticationError(401, body('authentication_error'), undefined, headers()), 'UNAVAILABLE', false],
    ['404 (unknown model)', new NotFoundError(404, body('not_found_error'), undefined, headers()), 'UNAVAILABLE', false],
    ['429', new RateLimitError(429, body('rate_limit_error'), undefined, headers()), 'RATE_LIMITED', true],
    ['529', new InternalServerError(529, body('overloaded_error'), undefined, headers()), 'UPSTREAM_ERROR', true],
    ['500', new InternalServerError(500, body('api_error'), undefined, headers()), 'UPSTREAM_ERROR', true],
    ['400', new BadRequestError(400, body('invalid_request_error'), undefined, headers()), 'UPSTREAM_ERROR', false],
    ['a mid-stream overloaded_error', new APIError(undefined, body('overloaded_error'), undefined, headers(), 'overloaded_error'), 'UPSTREAM_ERROR', true],
    ['a mid-stream rate_limit_error', new APIError(undefined, body('rate_limit_error'), undefined, headers(), 'rate_limit_error'), 'RATE_LIMITED', true],
    ['a mid-stream invalid_request_error', new APIError(undefined, body('invalid_request_error'), undefined, headers(), 'invalid_request_error'), 'UPSTREAM_ERROR', false],
    ['a timeout', new APIConnectionTimeoutError(), 'UPSTREAM_ERROR', true],
    ['a refused connection', new APIConnectionError({ message: 'Connection error.' }), 'UPSTREAM_ERROR', true],
    ['a dropped stream (undici: terminated)', new TypeError('terminated'), 'UPSTREAM_ERROR', true],
  ] as const)('%s → %s, retryable %s, in our own words', (_name, error, code, retryable) => {
    const failure = classifyUpstreamError(error);
    expect(failure).toMatchObject({ code, retryable });
    expect(failure.error).not.toMatch(/upstream words|terminated|Connection error/);
    expect(failure.error).toMatch(/\.$/);
  });

  it('keeps the status, type and request id for the log, and flags what an operator must fix', () => {
    const failure = classifyUpstreamError(new AuthenticationError(401, body('authentication_error'), undefined, headers()));
    expect(failure.upstream).toEqual({
      status: 401,
      type: 'authentication_error',
      request_id: 'req_123',
      message: 'upstream words for authentication_error',
    });
    expect(failure.operator).toMatch(/ANTHROPIC_API_KEY/);
  });
});
