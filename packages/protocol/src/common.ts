import { z } from 'zod';
import { SCHEMA_BOUNDS } from './limits';

/** An opaque id chosen by the server or (for conversations) by the client. */
export const idSchema = z.string().min(1).max(SCHEMA_BOUNDS.ID_CHARS);

/** A byte offset or counter: a non-negative safe integer. */
export const offsetSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * The `user_id` field that the seed's client sends. It is accepted and ignored:
 * identity comes from the handshake token only.
 */
export const ignoredUserIdSchema = z.unknown().optional();

/** An event that takes no fields (an absent payload is accepted too). */
export const emptySchema = z.strictObject({}).optional();
