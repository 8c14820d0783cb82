import {
  rooms,
  ServiceError,
  type MessageDraft,
  type MessageListResult,
  type MessageReadPayload,
  type MessageReadResult,
  type MessageSyncResult,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { KeyValueStore, RoomEmitter } from '@ctos/transport';
import { IdempotencyLedger } from './idempotency';
import { mapLimit } from './map-limit';
import { MessageStore, type RetentionPolicy } from './message-store';
import { draftDigest } from './producer-request';
import { UserLock } from './user-lock';

/**
 * Recipients of one request written at once. Each is a few store round trips under its
 * own user's lock; 16 keeps a 1,000-recipient request well under a second on one Redis
 * without monopolising its connection.
 */
const PUBLISH_CONCURRENCY = 16;

/** A message to publish to one or more users. */
export interface PublishRequest {
  /** Recipients, each once. */
  users: string[];
  draft: MessageDraft;
  /** The producer's key: a retry with the same key and message creates nothing new. */
  idempotencyKey?: string;
}

/** The id each recipient's copy got; `duplicate` when it was created by an earlier request with the same key. */
export interface PublishResult {
  messages: Array<{ user_id: string; id: number; duplicate: boolean }>;
}

/** What {@link MessageService} needs. */
export interface MessageServiceDeps {
  store: KeyValueStore;
  emitter: RoomEmitter;
  retention: RetentionPolicy;
  /** How long idempotency keys are remembered (ms). */
  idempotencyTtlMs: number;
  logger: Logger;
  /** The clock messages are stamped with; tests move it. */
  now?: () => number;
  /** Hears each message created, and each duplicate answered. */
  onPublished?(outcome: 'created' | 'duplicate'): void;
}

/**
 * Per-user messages: publishing (persist, then `message:new` and `message:unread_count`
 * to the user's room, so every tab on every gateway hears it), catch-up, paging, and
 * per-user read state. Every count it sends carries the read state's version, so a client
 * can order pushes and answers that took different paths. It knows nothing of the bus or
 * HTTP; the worker wires both.
 *
 * Errors it produces: `NOT_FOUND` (marking an id the user does not have),
 * `INVALID_PAYLOAD` ({@link IdempotencyConflictError}), `UNAVAILABLE` (a user's lock
 * busy too long, or the store unreachable). Store failures are
 * passed on as they are.
 */
export class MessageService {
  private readonly messages: MessageStore;
  private readonly lock: UserLock;
  private readonly ledger: IdempotencyLedger;

  constructor(private readonly deps: MessageServiceDeps) {
    this.messages = new MessageStore(deps.store, deps.retention, deps.now);
    this.lock = new UserLock(deps.store, (user) => this.messages.lockKey(user));
    this.ledger = new IdempotencyLedger(deps.store, deps.idempotencyTtlMs);
  }

  /** Creates the message for every recipient (once per key) and delivers it live. */
  async publish(request: PublishRequest): Promise<PublishResult> {
    const digest = draftDigest(request.draft);
    const messages = await mapLimit(request.users, PUBLISH_CONCURRENCY, (user) =>
      this.publishOne(user, request, digest),
    );
    return { messages };
  }

  private async publishOne(
    user: string,
    request: PublishRequest,
    digest: string,
  ): Promise<PublishResult['messages'][number]> {
    const claim =
      request.idempotencyKey === undefined ? undefined : await this.ledger.claim(user, request.idempotencyKey, digest);
    const duplicate = (id: number): PublishResult['messages'][number] => {
      this.deps.onPublished?.('duplicate');
      return { user_id: user, id, duplicate: true };
    };
    if (claim && 'kind' in claim) return duplicate(claim.id);
    const outcome = await this.lock.run(user, async () => {
      if (claim) {
        const settled = await claim.settle((id) => this.messages.has(user, id));
        if (settled.kind === 'done') {
          // Stored by a request that died or failed before marking the key done, so
          // perhaps never delivered: deliver it now (clients dedupe by id).
          await this.redeliver(user, settled.id);
          return { id: settled.id, created: false };
        }
      }
      const message = await this.messages.append(user, request.draft, (id) => claim?.writing(id));
      const count = await this.messages.unreadCount(user);
      const version = await this.messages.stamp(user);
      const delivered = await this.deps.emitter.emit(rooms.user(user), 'message:new', { ...message, read: false });
      await this.deps.emitter.emit(rooms.user(user), 'message:unread_count', { count, version });
      // Marked done only after the emits: a key that is done was delivered, and a request
      // that dies before this leaves its id recorded for the retry to find and deliver.
      // An emit Redis refused fails a keyed request for the same reason (its retry
      // delivers); a keyless one is stored and answered, and clients find it on sync.
      if (claim && delivered === false) {
        throw new ServiceError('UNAVAILABLE', 'The message was stored but could not be delivered yet; retry.');
      }
      await claim?.complete(message.id);
      return { id: message.id, created: true };
    });
    if (!outcome.created) return duplicate(outcome.id);
    this.deps.onPublished?.('created');
    this.deps.logger.debug({ user_id: user, message_id: outcome.id, source: request.draft.source }, 'message created');
    return { user_id: user, id: outcome.id, duplicate: false };
  }

  /** Emits a stored message and the unread count again, as they are now (under the user's lock). */
  private async redeliver(user: string, id: number): Promise<void> {
    const message = (await this.messages.after(user, id - 1, 1)).messages.find((m) => m.id === id);
    if (!message) return; // dropped by retention since
    const count = await this.messages.unreadCount(user);
    // Nothing changed: the count is the one of the version the user's state has now.
    const version = await this.messages.version(user);
    await this.deps.emitter.emit(rooms.user(user), 'message:new', message);
    await this.deps.emitter.emit(rooms.user(user), 'message:unread_count', { count, version });
  }

  /**
   * `message:sync`: what came after `since` (oldest first), the unread count, the newest id
   * and the version. It reads without the lock, so the version is read first: the rest is
   * then at least that new, and a client that has seen a newer push keeps the push's count.
   *
   * The last page (no `has_more`) counts the unread messages up to the newest it returns
   * (or `since`): exactly those a client that synced from the last id it holds now holds,
   * so one that still shows unread a message read elsewhere (its push missed while it was
   * away) sees fewer unread counted than it shows, and relearns the flags. A message being
   * written meanwhile is left out of both (its own push brings it and a newer count);
   * counting it would hide that difference. Other pages count every unread message.
   */
  async sync(user: string, since: number, limit: number): Promise<MessageSyncResult> {
    const version = await this.messages.version(user);
    await this.messages.dropAged(user);
    const latestId = await this.messages.latestId(user);
    const page = await this.messages.after(user, since, limit);
    const covered = page.has_more ? Infinity : Math.max(since, page.messages[page.messages.length - 1]?.id ?? 0);
    return { ...page, unread_count: await this.messages.unreadCount(user, covered), latest_id: latestId, version };
  }

  /**
   * `message:list`: a page before `before` (newest first), the unread count and the
   * version, read first as in {@link sync}.
   */
  async list(user: string, before: number | undefined, limit: number): Promise<MessageListResult> {
    const version = await this.messages.version(user);
    await this.messages.dropAged(user);
    const page = await this.messages.before(user, before, limit);
    return { ...page, unread_count: await this.messages.unreadCount(user), version };
  }

  /**
   * `message:read`: marks read for `user` only and tells every socket of the user the new
   * count and what was read, in order with new messages (both run under the user's lock).
   */
  async read(user: string, mark: MessageReadPayload): Promise<MessageReadResult> {
    return this.lock.run(user, async () => {
      await this.messages.dropAged(user);
      const read = await this.messages.markRead(user, mark);
      const count = await this.messages.unreadCount(user);
      const version = await this.messages.stamp(user);
      await this.deps.emitter.emit(rooms.user(user), 'message:unread_count', { count, read, version });
      return { unread_count: count, version };
    });
  }
}
