import { z } from 'zod';
import { SCHEMA_BOUNDS } from './limits';

/** A message id: a per-user counter, so ids of one user are ordered and gaps are visible. */
export const messageIdSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * `message:read` — mark read for this user only: one message, everything up to an id,
 * or everything.
 */
export const messageReadSchema = z.union([
  z.strictObject({ message_id: messageIdSchema }),
  z.strictObject({ up_to: messageIdSchema }),
  z.strictObject({ all: z.literal(true) }),
]);
export type MessageReadPayload = z.input<typeof messageReadSchema>;

/** `message:sync` — the messages after `since` (oldest first), paged, and the unread count. */
export const messageSyncSchema = z
  .strictObject({
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.number().int().min(1).max(SCHEMA_BOUNDS.PAGE_SIZE).optional(),
  })
  .optional();
export type MessageSyncPayload = z.input<typeof messageSyncSchema>;

/** `message:list` — a page of messages before `before` (newest first). */
export const messageListSchema = z
  .strictObject({
    before: messageIdSchema.optional(),
    limit: z.number().int().min(1).max(SCHEMA_BOUNDS.PAGE_SIZE).optional(),
  })
  .optional();
export type MessageListPayload = z.input<typeof messageListSchema>;

/** Severity levels, as in the original ChingTech OS. */
export const MESSAGE_SEVERITIES = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type MessageSeverity = (typeof MESSAGE_SEVERITIES)[number];

/**
 * What a producer posts (`POST /messages` on the message-worker). `source` is free text,
 * not the original's closed set, whose CHECK constraint silently dropped most messages.
 */
export const messageDraftSchema = z.object({
  severity: z.enum(MESSAGE_SEVERITIES).default('info'),
  source: z
    .string()
    .min(1)
    .max(SCHEMA_BOUNDS.MESSAGE_SOURCE_CHARS)
    .regex(/^[a-z0-9][a-z0-9._-]*$/i),
  category: z.string().min(1).max(SCHEMA_BOUNDS.MESSAGE_SOURCE_CHARS).default('general'),
  title: z.string().min(1).max(SCHEMA_BOUNDS.MESSAGE_TITLE_CHARS),
  content: z.string().max(SCHEMA_BOUNDS.MESSAGE_CONTENT_CHARS).default(''),
  link: z.string().max(SCHEMA_BOUNDS.MESSAGE_LINK_CHARS).optional(),
});
export type MessageDraft = z.output<typeof messageDraftSchema>;

/** `message:new` (server→client), and each item of a page. */
export interface MessageItem {
  id: number;
  severity: MessageSeverity;
  source: string;
  category: string;
  title: string;
  content: string;
  link?: string;
  /** ISO 8601 with a zone. */
  created_at: string;
  read: boolean;
}

/**
 * The order of a user's read state: a counter per user that rises with every change to
 * their unread count or read flags (a new message, a mark), taken in the same order as
 * the changes are pushed. Pushes (`message:unread_count`) travel through the room
 * adapter, answers (`message:sync`, `message:list`, `message:read`) over another path, so
 * an answer can arrive after a newer push: a client keeps the count and read flags from
 * the highest version it has seen and takes one labelled lower as out of date (its new
 * messages are still new; their read flags may be stale). An answer is at least as new as
 * its version says (it may include changes whose push is still on its way), so a client
 * takes an equal version too. Absent from servers older than this field: then the last
 * count to arrive wins.
 */
export type MessageVersion = number;

/**
 * `message:unread_count` (server→client), sent to every socket of the user whenever the
 * count changes. `read` says what one of the user's tabs just marked read (`all` arrives
 * as `up_to` the newest id), so the other tabs update their lists without a refetch;
 * it is absent when a new message changed the count.
 */
export interface MessageUnreadCountEvent {
  count: number;
  read?: { message_id: number } | { up_to: number };
  /** The user's {@link MessageVersion} after this change. */
  version?: MessageVersion;
}

/** `message:sync`'s acknowledgement data. */
export interface MessageSyncResult {
  messages: MessageItem[];
  unread_count: number;
  /** More messages follow the last one; call again with its id. */
  has_more: boolean;
  /** The newest id this user has (0 when none). */
  latest_id: number;
  /** The user's {@link MessageVersion} read before the rest of the answer. */
  version?: MessageVersion;
}

/** `message:list`'s acknowledgement data. */
export interface MessageListResult {
  messages: MessageItem[];
  unread_count: number;
  has_more: boolean;
  /** The user's {@link MessageVersion} read before the rest of the answer. */
  version?: MessageVersion;
}

/** `message:read`'s acknowledgement data. */
export interface MessageReadResult {
  unread_count: number;
  /** The user's {@link MessageVersion} after this mark (the one its push carries). */
  version?: MessageVersion;
}
