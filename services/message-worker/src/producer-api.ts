import type { Logger } from '@ctos/runtime';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Counter } from 'prom-client';
import type { PublishRequest, PublishResult } from './message-service';
import { postMessages } from './post-messages';
import { authenticate, refuseWhileDraining } from './producer-guards';
import { INTERNAL_BODY, refuse } from './producer-refusal';

/** What {@link createProducerApi} needs. */
export interface ProducerApiDeps {
  /** Accepted bearer tokens; at least one. */
  tokens: readonly string[];
  /** Largest body (bytes). */
  maxBodyBytes: number;
  /** Recipients one request may name. */
  maxRecipients: number;
  /** Sustained requests per second one producer (one service token) may send to this worker. */
  requestsPerSecond: number;
  /** Requests one producer may send at once before the rate applies. */
  requestBurst: number;
  publish(request: PublishRequest): Promise<PublishResult>;
  /** True once the worker drains: new requests get 503. */
  isDraining(): boolean;
  logger: Logger;
  /** Counts requests by HTTP status. */
  requests: Counter<'status'>;
}

/**
 * The producer HTTP API other backend services call:
 *
 * `POST /messages` with `Authorization: Bearer <service token>` and a JSON body
 * `{user_id | user_ids, source, title, severity?, category?, content?, link?, idempotency_key?}`
 * (the key may come as the `Idempotency-Key` header instead). Answers `201
 * {messages: [{user_id, id, duplicate}]}`, or `200` with the same shape when every
 * recipient's message already existed under that key.
 *
 * Refusals are JSON `{error, code, field?, issues?}`: `400 INVALID_PAYLOAD` naming the
 * field (a malformed or non-JSON body names `(body)`), `401 UNAUTHORIZED` without a valid
 * token, `413 LIMIT_EXCEEDED` for a body above the size limit, `415` for a body that is
 * not JSON, `422` when the key was used for a different message, `429 RATE_LIMITED` with
 * `Retry-After` (seconds) when the producer (its token) sends more than
 * `requestsPerSecond` beyond its burst, `503 UNAVAILABLE` with `Retry-After` while
 * draining or when the store cannot be reached, `500 INTERNAL` for a bug (logged, never
 * described). A retry with the same key after any refusal or lost answer creates the
 * message at most once.
 */
export function createProducerApi(deps: ProducerApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.on('finish', () => deps.requests.inc({ status: String(res.statusCode) }));
    next();
  });
  app.post(
    '/messages',
    authenticate(deps.tokens, deps.requestsPerSecond, deps.requestBurst),
    refuseWhileDraining(() => deps.isDraining()),
    express.json({ limit: deps.maxBodyBytes, strict: true }),
    postMessages(deps),
  );
  app.use((_req, res) => {
    refuse(res, 404, { error: 'No such endpoint; messages are posted to POST /messages.', code: 'NOT_FOUND' });
  });
  app.use(bodyErrors(deps.maxBodyBytes, deps.logger));
  return app;
}

/**
 * Answers what the body parser refused: `413 LIMIT_EXCEEDED` above `maxBodyBytes`, `400
 * INVALID_PAYLOAD` naming `(body)` for JSON that does not parse or a body that cannot be
 * read. Anything else arriving here is a bug of ours: `500 INTERNAL`, logged.
 */
function bodyErrors(maxBodyBytes: number, logger: Logger): ErrorRequestHandler {
  // Body-parser failures arrive with a `type`.
  return (error: { type?: string; status?: number }, _req, res, _next) => {
    if (error.type === 'entity.too.large') {
      refuse(res, 413, {
        error: `The body is larger than ${maxBodyBytes} bytes.`,
        code: 'LIMIT_EXCEEDED',
        field: '(body)',
      });
    } else if (error.type === 'entity.parse.failed') {
      refuse(res, 400, { error: '(body): is not valid JSON.', code: 'INVALID_PAYLOAD', field: '(body)' });
    } else if (error.status !== undefined && error.status >= 400 && error.status < 500) {
      refuse(res, error.status, { error: '(body): could not be read.', code: 'INVALID_PAYLOAD', field: '(body)' });
    } else {
      logger.error({ err: error }, 'producer API request failed');
      refuse(res, 500, INTERNAL_BODY);
    }
  };
}
