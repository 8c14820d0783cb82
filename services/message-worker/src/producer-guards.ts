import type { RequestHandler } from 'express';
import { refuse } from './producer-refusal';
import { RequestRate } from './request-rate';
import { serviceTokenChecker } from './service-token';

/**
 * Checks the bearer token, then counts the request against its producer's rate (the
 * producer is which token it sent), both before the body is read: an anonymous or
 * flooding caller gets no parsing work. Refuses `401 UNAUTHORIZED` (with
 * `WWW-Authenticate: Bearer`) without a valid token, `429 RATE_LIMITED` with
 * `Retry-After` (whole seconds) above `requestsPerSecond` beyond `burst` requests.
 */
export function authenticate(tokens: readonly string[], requestsPerSecond: number, burst: number): RequestHandler {
  const producerOf = serviceTokenChecker(tokens);
  const rate = new RequestRate(requestsPerSecond, burst);
  return (req, res, next) => {
    const producer = producerOf(req.get('authorization'));
    if (producer < 0) {
      res.set('WWW-Authenticate', 'Bearer');
      refuse(res, 401, {
        error: 'A service token is required: send Authorization: Bearer <token>.',
        code: 'UNAUTHORIZED',
      });
      return;
    }
    const waitSeconds = rate.take(producer);
    if (waitSeconds > 0) {
      res.set('Retry-After', String(waitSeconds));
      refuse(res, 429, {
        error: `Too many requests from this producer (over ${requestsPerSecond} a second); retry after ${waitSeconds} s.`,
        code: 'RATE_LIMITED',
      });
      return;
    }
    next();
  };
}

/** Refuses `503 UNAVAILABLE` (with `Retry-After`, closing the connection) once `isDraining()`. */
export function refuseWhileDraining(isDraining: () => boolean): RequestHandler {
  return (_req, res, next) => {
    if (!isDraining()) {
      next();
      return;
    }
    res.set('Connection', 'close');
    refuse(res, 503, { error: 'This message worker is shutting down; retry.', code: 'UNAVAILABLE' });
  };
}
