import { ServiceError, type ErrorCode } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response } from 'express';
import type { Counter } from 'prom-client';
import { IdempotencyConflictError } from './idempotency';
import type { PublishRequest, PublishResult } from './message-service';
import {
  fieldIssues,
  idempotencyKeySchema,
  publishBodySchema,
  recipientsOf,
  type FieldIssue,
} from './producer-request';
import { RequestRate } from './request-rate';
import { serviceTokenChecker } from './service-token';

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

/** The JSON every refusal carries: `error` for people, `code` for programs, `field` when one is to blame. */
interface ErrorBody {
  error: string;
  code: ErrorCode;
  field?: string;
  issues?: FieldIssue[];
}

/** HTTP status of each error code the API can answer with. */
const STATUS_OF: Record<ErrorCode, number> = {
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

function refuse(res: Response, status: number, body: ErrorBody): void {
  if (status === 503) res.set('Retry-After', String(RETRY_AFTER_S));
  res.status(status).json(body);
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
  const producerOf = serviceTokenChecker(deps.tokens);
  const rate = new RequestRate(deps.requestsPerSecond, deps.requestBurst);
  const schema = publishBodySchema(deps.maxRecipients);

  app.use((req, res, next) => {
    res.on('finish', () => deps.requests.inc({ status: String(res.statusCode) }));
    next();
  });

  // Authenticate before reading the body: an anonymous caller gets no parsing work.
  // Then count the request against its producer's rate, also before the body is read.
  const authenticate: RequestHandler = (req, res, next) => {
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
        error: `Too many requests from this producer (over ${deps.requestsPerSecond} a second); retry after ${waitSeconds} s.`,
        code: 'RATE_LIMITED',
      });
      return;
    }
    next();
  };

  const notDraining: RequestHandler = (_req, res, next) => {
    if (!deps.isDraining()) {
      next();
      return;
    }
    res.set('Connection', 'close');
    refuse(res, 503, { error: 'This message worker is shutting down; retry.', code: 'UNAVAILABLE' });
  };

  app.post(
    '/messages',
    authenticate,
    notDraining,
    express.json({ limit: deps.maxBodyBytes, strict: true }),
    async (req, res) => {
      if (!req.is('application/json')) {
        refuse(res, 415, {
          error: 'Send the message as JSON (Content-Type: application/json).',
          code: 'INVALID_PAYLOAD',
          field: '(body)',
        });
        return;
      }
      const parsed = schema.safeParse(req.body);
      if (!parsed.success) {
        const issues = fieldIssues(parsed.error);
        const first = issues[0] ?? { field: '(body)', message: 'is not valid' };
        refuse(res, 400, {
          error: `${first.field}: ${first.message}`,
          code: 'INVALID_PAYLOAD',
          field: first.field,
          issues,
        });
        return;
      }
      const header = req.get('idempotency-key');
      let idempotencyKey = parsed.data.idempotency_key;
      if (header !== undefined) {
        const key = idempotencyKeySchema.safeParse(header);
        if (!key.success || (idempotencyKey !== undefined && idempotencyKey !== key.data)) {
          refuse(res, 400, {
            error: key.success
              ? 'idempotency_key: the body and the Idempotency-Key header disagree'
              : `idempotency_key: the Idempotency-Key header ${key.error.issues[0]?.message ?? 'is not valid'}`,
            code: 'INVALID_PAYLOAD',
            field: 'idempotency_key',
          });
          return;
        }
        idempotencyKey = key.data;
      }
      const { user_id: _one, user_ids: _many, idempotency_key: _key, ...draft } = parsed.data;
      try {
        const result = await deps.publish({
          users: recipientsOf(parsed.data),
          draft,
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        });
        const created = result.messages.some((message) => !message.duplicate);
        res.status(created ? 201 : 200).json(result);
      } catch (error) {
        if (error instanceof IdempotencyConflictError) {
          refuse(res, 422, { error: error.message, code: error.code, field: 'idempotency_key' });
        } else if (error instanceof ServiceError) {
          refuse(res, STATUS_OF[error.code], { error: error.message, code: error.code });
        } else {
          deps.logger.error({ err: error }, 'publishing failed');
          refuse(res, 500, { error: 'Something went wrong on our side; it has been logged.', code: 'INTERNAL' });
        }
      }
    },
  );

  app.use((_req, res) => {
    refuse(res, 404, { error: 'No such endpoint; messages are posted to POST /messages.', code: 'NOT_FOUND' });
  });

  // Body-parser failures arrive here with a `type`; anything else is a bug of ours.
  const onError: ErrorRequestHandler = (error: { type?: string; status?: number }, _req, res, _next) => {
    if (error.type === 'entity.too.large') {
      refuse(res, 413, {
        error: `The body is larger than ${deps.maxBodyBytes} bytes.`,
        code: 'LIMIT_EXCEEDED',
        field: '(body)',
      });
    } else if (error.type === 'entity.parse.failed') {
      refuse(res, 400, { error: '(body): is not valid JSON.', code: 'INVALID_PAYLOAD', field: '(body)' });
    } else if (error.status !== undefined && error.status >= 400 && error.status < 500) {
      refuse(res, error.status, { error: '(body): could not be read.', code: 'INVALID_PAYLOAD', field: '(body)' });
    } else {
      deps.logger.error({ err: error }, 'producer API request failed');
      refuse(res, 500, { error: 'Something went wrong on our side; it has been logged.', code: 'INTERNAL' });
    }
  };
  app.use(onError);
  return app;
}
