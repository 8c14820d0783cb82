import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type MessageDraft,
  type MessageListResult,
  type MessageReadPayload,
  type MessageReadResult,
  type MessageSyncResult,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { KeyValueStore, RoomEmitter, RoomWire } from '@ctos/transport';
import { IdempotencyConflictError, PENDING_POLL_MS, PENDING_WAIT_MS } from './idempotency';
import { MessageStore, type KeyedWrite, type Recipient, type RetentionPolicy } from './message-store';
import { draftDigest } from './producer-request';
import { UnreadCountPushes, type CountAfter } from './unread-counts';

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
  /**
   * The room emitter of the store's transport: the store's scripts publish through its
   * `wire`, so it must have one (both transports' emitters do).
   */
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
 * `INVALID_PAYLOAD` ({@link IdempotencyConflictError}), `UNAVAILABLE` (the store
 * unreachable). Store failures are passed on as they are.
 */
export class MessageService {
  private readonly messages: MessageStore;
  private readonly counts: UnreadCountPushes;

  constructor(private readonly deps: MessageServiceDeps) {
    this.messages = new MessageStore(deps.store, deps.retention, deps.now);
    this.counts = new UnreadCountPushes(deps.emitter);
  }

  /**
   * Creates the message for every recipient (once per key) and delivers it live: each
   * recipient's copy is stored and its `message:new` published in one store step, all
   * recipients' steps sent at once. Resolves once every copy is stored and published, so
   * an answer means kept; each user's `message:unread_count` follows, once per user for
   * messages written close together (see {@link UnreadCountPushes}).
   * @throws IdempotencyConflictError when the key was used for another message (copies
   *   for other recipients may have been created); store failures as they are.
   */
  async publish(request: PublishRequest): Promise<PublishResult> {
    const { users, draft, idempotencyKey } = request;
    const keyed: KeyedWrite | undefined =
      idempotencyKey === undefined
        ? undefined
        : { key: idempotencyKey, digest: draftDigest(draft), writer: randomUUID(), ttlMs: this.deps.idempotencyTtlMs };
    const results: PublishResult['messages'] = [];
    const counts: CountAfter[] = [];
    let conflict = false;
    this.counts.begin(users);
    try {
      const wire = this.wire();
      let todo: Array<Recipient & { index: number }> = users.map((user, index) => ({ user, index, takeover: false }));
      const started = Date.now();
      while (todo.length > 0) {
        const outcomes = await this.messages.append(todo, draft, wire, keyed);
        const claimed: typeof todo = [];
        outcomes.forEach((outcome, i) => {
          const recipient = todo[i] as (typeof todo)[number];
          const { user, index } = recipient;
          switch (outcome.kind) {
            case 'written':
            case 'redelivered':
              counts.push({ user, count: outcome.count, version: outcome.version });
              results[index] = { user_id: user, id: outcome.id, duplicate: outcome.kind === 'redelivered' };
              break;
            case 'done':
              results[index] = { user_id: user, id: outcome.id, duplicate: true };
              break;
            case 'pending':
              claimed.push(recipient);
              break;
            case 'conflict':
              conflict = true;
              break;
          }
        });
        if (conflict || claimed.length === 0) break;
        // Keys claimed by a message-worker from before the append script, which claimed
        // before it wrote: wait for it, then take the key over. The script answers
        // `pending` whatever `takeover` says while that worker's user lock is held (it may
        // still store its message), so this wait lasts at most that lock's TTL longer.
        await sleep(PENDING_POLL_MS);
        const takeover = Date.now() - started >= PENDING_WAIT_MS;
        todo = claimed.map((recipient) => ({ ...recipient, takeover }));
      }
    } finally {
      await this.counts.end(users, counts);
    }
    if (conflict) throw new IdempotencyConflictError();
    for (const result of results) {
      this.deps.onPublished?.(result.duplicate ? 'duplicate' : 'created');
      if (!result.duplicate) {
        this.deps.logger.debug(
          { user_id: result.user_id, message_id: result.id, source: draft.source },
          'message created',
        );
      }
    }
    return { messages: results };
  }

  /**
   * `message:sync`: what came after `since` (oldest first), the unread count, the newest id
   * and the version. Its answer takes another path than pushes (the bus, not the room), so
   * the version is read first: the rest is then at least that new, and a client that has
   * seen a newer push keeps the push's count.
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
   * count and what was read, in one step with the mark (so in order with new messages).
   */
  async read(user: string, mark: MessageReadPayload): Promise<MessageReadResult> {
    await this.messages.dropAged(user);
    const { count, version } = await this.messages.markRead(user, mark, this.wire());
    this.counts.superseded(user, version);
    return { unread_count: count, version };
  }

  /** How the store's scripts publish into users' rooms. */
  private wire(): RoomWire {
    const { emitter } = this.deps;
    if (!emitter.wire) throw new Error('the message service needs an emitter that store scripts can publish through');
    return emitter.wire();
  }
}
