import { z } from 'zod';
import { SCHEMA_BOUNDS } from './limits';

/** A UTF-16 surrogate without its pair: such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `text` is well-formed UTF-16 (every surrogate paired), so it can be encoded. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * An opaque id chosen by the server or (for conversations) by the client. Ids become
 * parts of storage keys, so one that cannot be encoded is refused here.
 */
export const idSchema = z
  .string()
  .min(1)
  .max(SCHEMA_BOUNDS.ID_CHARS)
  .refine(isWellFormedText, 'must be well-formed text (no unpaired surrogate)');

/** A byte offset or counter: a non-negative safe integer. */
export const offsetSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * The `user_id` field that the seed's client sends. It is accepted and ignored:
 * identity comes from the handshake token only.
 */
export const ignoredUserIdSchema = z.unknown().optional();

/** An event that takes no fields (an absent payload is accepted too). */
export const emptySchema = z.strictObject({}).optional();
