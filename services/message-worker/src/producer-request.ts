import { createHash } from 'node:crypto';
import { messageDraftSchema, SCHEMA_BOUNDS, type MessageDraft } from '@ctos/protocol';
import { z } from 'zod';

/** A recipient: the same bounds as a token's `sub`, which is what the gateway knows users by. */
const userIdSchema = z.string().min(1).max(SCHEMA_BOUNDS.ID_CHARS);

/**
 * An idempotency key: printable ASCII without spaces, as HTTP headers carry it; 255
 * characters, the length Stripe allows, fits a UUID or a producer's own event id.
 */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/**
 * The body of `POST /messages`: the message (see `messageDraftSchema` in @ctos/protocol)
 * and its recipients, `user_id` or `user_ids` (exactly one of them). `idempotency_key`
 * may come here or in the `Idempotency-Key` header. Unknown fields are refused, so a
 * misspelt field is reported instead of silently dropped.
 */
export function publishBodySchema(maxRecipients: number) {
  return messageDraftSchema
    .extend({
      user_id: userIdSchema.optional(),
      user_ids: z.array(userIdSchema).min(1).max(maxRecipients).optional(),
      idempotency_key: idempotencyKeySchema.optional(),
    })
    .strict()
    .superRefine((body, context) => {
      if ((body.user_id === undefined) === (body.user_ids === undefined)) {
        context.addIssue({
          code: 'custom',
          path: ['user_id'],
          message: 'give exactly one of user_id (one recipient) or user_ids (a list)',
        });
      }
    });
}

/** A parsed `POST /messages` body. */
export type PublishBody = z.output<ReturnType<typeof publishBodySchema>>;

/** One problem with a request, named by its field (`title`, `user_ids.3`, `(body)`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Names the field of each zod issue: its path, or the unknown key for a refused extra field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return { field: issue.keys.join(', '), message: 'is not a field of a message' };
    }
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    return {
      field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
      message: missing ? `is required (${issue.expected})` : issue.message,
    };
  });
}

/** The recipients of a body, each once, in the order given. */
export function recipientsOf(body: PublishBody): string[] {
  return [...new Set(body.user_ids ?? (body.user_id === undefined ? [] : [body.user_id]))];
}

/**
 * A fingerprint of the message (not its recipients): a retry carrying the same
 * idempotency key must carry the same message.
 */
export function draftDigest(draft: MessageDraft): string {
  const canonical = [draft.severity, draft.source, draft.category, draft.title, draft.content, draft.link ?? null];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}
