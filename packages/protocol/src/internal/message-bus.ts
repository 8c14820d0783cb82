import { z } from 'zod';
import { SCHEMA_BOUNDS } from '../limits';
import {
  messageIdSchema,
  messageReadSchema,
  type MessageListResult,
  type MessageReadResult,
  type MessageSyncResult,
} from '../message';

/**
 * Requests from gateways to message-workers over the bus (not seen by browsers). Every
 * one names the authenticated `user`: a worker reads and changes that user's messages
 * only, so another user's id is simply not found. Workers validate them with this
 * schema too; a malformed one is refused with `INVALID_PAYLOAD`.
 */
const user = z.string().min(1).max(SCHEMA_BOUNDS.ID_CHARS);
const limit = z.number().int().min(1).max(SCHEMA_BOUNDS.PAGE_SIZE);

export const messageBusMessageSchema = z.discriminatedUnion('op', [
  /** The messages after `since` (oldest first), the unread count and the newest id. */
  z.object({
    op: z.literal('sync'),
    user,
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: limit.optional(),
  }),
  /** A page of messages before `before` (newest first). */
  z.object({ op: z.literal('list'), user, before: messageIdSchema.optional(), limit: limit.optional() }),
  /** Mark read for `user` only: one message, everything up to an id, or everything. */
  z.object({ op: z.literal('read'), user, mark: messageReadSchema }),
]);
export type MessageBusMessage = z.infer<typeof messageBusMessageSchema>;

/** Each message operation's reply. */
export interface MessageBusReplies {
  sync: MessageSyncResult;
  list: MessageListResult;
  read: MessageReadResult;
}
