import { ServiceError } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { RequestHandler, Response } from 'express';
import { IdempotencyConflictError } from './idempotency';
import type { PublishRequest, PublishResult } from './message-service';
import { fieldIssues, idempotencyKeySchema, publishBodySchema, recipientsOf } from './producer-request';
import { INTERNAL_BODY, refuse, STATUS_OF, type ErrorBody } from './producer-refusal';

/** What {@link postMessages} needs. */
export interface PostMessagesDeps {
  /** Recipients one request may name. */
  maxRecipients: number;
  publish(request: PublishRequest): Promise<PublishResult>;
  logger: Logger;
}

/**
 * The handler of `POST /messages`, after authentication and the JSON body parser: checks
 * the body, reconciles the idempotency key of the body and the header, and publishes.
 * Answers `201 {messages}` when any recipient's message was created, `200` when all
 * existed under the key; refuses `415` (not JSON), `400 INVALID_PAYLOAD` naming the
 * field, `422` (the key was used for another message), the service's `ServiceError`s by
 * their code's status, and `500 INTERNAL` for anything else (logged).
 */
export function postMessages(deps: PostMessagesDeps): RequestHandler {
  const schema = publishBodySchema(deps.maxRecipients);
  return async (req, res) => {
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
    const key = idempotencyKeyOf(req.get('idempotency-key'), parsed.data.idempotency_key);
    if (typeof key === 'object') {
      refuse(res, 400, key);
      return;
    }
    const { user_id: _one, user_ids: _many, idempotency_key: _key, ...draft } = parsed.data;
    try {
      const result = await deps.publish({
        users: recipientsOf(parsed.data),
        draft,
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
      const created = result.messages.some((message) => !message.duplicate);
      res.status(created ? 201 : 200).json(result);
    } catch (error) {
      refusePublish(res, error, deps.logger);
    }
  };
}

/**
 * The request's idempotency key: the body's, or the `Idempotency-Key` header's, which must
 * then be valid and agree with the body's; else the refusal to answer (400, `idempotency_key`).
 */
function idempotencyKeyOf(header: string | undefined, inBody: string | undefined): string | undefined | ErrorBody {
  if (header === undefined) return inBody;
  const key = idempotencyKeySchema.safeParse(header);
  if (key.success && (inBody === undefined || inBody === key.data)) return key.data;
  return {
    error: key.success
      ? 'idempotency_key: the body and the Idempotency-Key header disagree'
      : `idempotency_key: the Idempotency-Key header ${key.error.issues[0]?.message ?? 'is not valid'}`,
    code: 'INVALID_PAYLOAD',
    field: 'idempotency_key',
  };
}

/** Answers a failed publish: 422 for a reused key, the code's status for a `ServiceError`, else 500 (logged). */
function refusePublish(res: Response, error: unknown, logger: Logger): void {
  if (error instanceof IdempotencyConflictError) {
    refuse(res, 422, { error: error.message, code: error.code, field: 'idempotency_key' });
  } else if (error instanceof ServiceError) {
    refuse(res, STATUS_OF[error.code], { error: error.message, code: error.code });
  } else {
    logger.error({ err: error }, 'publishing failed');
    refuse(res, 500, INTERNAL_BODY);
  }
}
