import { ServiceError, type MessageDraft, type MessageItem, type MessageReadPayload } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/** A message as stored: what `message:new` carries, without the reader's `read` flag. */
export type StoredMessage = Omit<MessageItem, 'read'>;

/** How much of a user's history is kept. */
export interface RetentionPolicy {
  /** Messages kept per user; the oldest go first. */
  maxCount: number;
  /** Age after which a message goes (ms). */
  maxAgeMs: number;
}

/** What a mark-read changed, as `message:unread_count`'s `read` field tells the other tabs. */
export type ReadMark = { message_id: number } | { up_to: number };

/** A page of messages and whether more follow in the same direction. */
export interface MessagePage {
  messages: MessageItem[];
  has_more: boolean;
}

/** Oldest messages looked at per round when dropping aged ones; rounds repeat while all are old. */
const AGE_SCAN_BATCH = 100;

/**
 * One user's messages in a {@link KeyValueStore} (Redis in distributed mode, memory in
 * embedded mode). Keys, under the namespace `msg`, with the user id URI-encoded so no
 * user id can reach another user's keys:
 * - `msg:seq:<user>` — the id counter. Ids are per user, from 1, in order, so a client
 *   dedupes by id and sees a gap. It never expires: a restarted counter would reuse ids
 *   that clients already hold as seen.
 * - `msg:m:<user>` — sorted set, score the id, member the message's JSON.
 * - `msg:unread:<user>` — sorted set of the unread ids: read state is per user, and the
 *   unread count is one `ZCARD`.
 * - `msg:ver:<user>` — the read state's version (`MessageVersion`), raised by
 *   {@link stamp} after each change to the count or the read flags. It never expires
 *   either: a restarted version would make clients take every new count as out of date.
 *
 * Writes (`append`, `markRead`, `stamp`) must run under the user's {@link UserLock}: they
 * take an id, or read the newest id, before they write, and versions must be taken in the
 * order the changes are pushed.
 *
 * Errors it produces: `NOT_FOUND` from {@link markRead} for an id this user does not
 * have. Store failures are passed on as they are.
 */
export class MessageStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly retention: RetentionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private key(kind: 'seq' | 'm' | 'unread' | 'ver' | 'lock', user: string): string {
    return `msg:${kind}:${encodeURIComponent(user)}`;
  }

  /** The store key of `user`'s write lock (see {@link UserLock}). */
  lockKey(user: string): string {
    return this.key('lock', user);
  }

  /**
   * Takes the next id, tells `taken` (which records it before anything is stored), stores
   * the message as unread, and drops what retention no longer keeps.
   *
   * The id goes into the unread set before the message is stored. Readers ({@link after},
   * {@link before}) take no lock and read the messages, then the unread set, so they may
   * fall between the two writes: in this order a reader that sees the message also sees
   * it unread (it is shown read only once a mark removed it). Stored the other way round,
   * a sync between the writes showed a message nobody had read as read, and clients kept
   * that flag (read state only goes unread → read). A write that fails between the two
   * leaves an unread id without its message instead: counted until a mark `up_to`/`all`
   * or retention removes it, never shown.
   */
  async append(
    user: string,
    draft: MessageDraft,
    taken: (id: number) => Promise<void> | undefined = () => undefined,
  ): Promise<StoredMessage> {
    const id = await this.store.incr(this.key('seq', user));
    await taken(id);
    const message: StoredMessage = {
      id,
      severity: draft.severity,
      source: draft.source,
      category: draft.category,
      title: draft.title,
      content: draft.content,
      ...(draft.link === undefined ? {} : { link: draft.link }),
      created_at: new Date(this.now()).toISOString(),
    };
    const messages = this.key('m', user);
    const unread = this.key('unread', user);
    await this.store.zadd(unread, id, String(id));
    await this.store.zadd(messages, id, JSON.stringify(message));
    // Once the newest message is older than the age limit every message is, so the keys
    // of a user who hears nothing more vanish by themselves.
    await this.store.expire(messages, this.retention.maxAgeMs);
    await this.store.expire(unread, this.retention.maxAgeMs);
    if (id > this.retention.maxCount) {
      const cut = id - this.retention.maxCount;
      await this.store.zremrangebyscore(messages, -Infinity, cut);
      await this.store.zremrangebyscore(unread, -Infinity, cut);
    }
    await this.dropAged(user);
    return message;
  }

  /**
   * Drops messages older than the age limit. Ids and times rise together, so it removes
   * the oldest ids up to the first message still young enough. Safe to run at any time.
   */
  async dropAged(user: string): Promise<void> {
    const cutoff = this.now() - this.retention.maxAgeMs;
    const messages = this.key('m', user);
    for (;;) {
      const oldest = await this.store.zrange(messages, { min: -Infinity, max: Infinity, limit: AGE_SCAN_BATCH });
      let cut = 0;
      for (const entry of oldest) {
        if (Date.parse((JSON.parse(entry.member) as StoredMessage).created_at) >= cutoff) break;
        cut = entry.score;
      }
      if (cut === 0) return;
      await this.store.zremrangebyscore(messages, -Infinity, cut);
      await this.store.zremrangebyscore(this.key('unread', user), -Infinity, cut);
      if (oldest[oldest.length - 1]?.score !== cut) return;
    }
  }

  /** True when `user` has message `id` stored. */
  async has(user: string, id: number): Promise<boolean> {
    return (await this.store.zcount(this.key('m', user), id, id)) > 0;
  }

  /** Messages with an id above `since`, oldest first, at most `limit`. */
  async after(user: string, since: number, limit: number): Promise<MessagePage> {
    const found = await this.store.zrange(this.key('m', user), {
      min: since,
      exclusiveMin: true,
      max: Infinity,
      limit: limit + 1,
    });
    return this.page(user, found, limit);
  }

  /** Messages with an id below `before` (all when absent), newest first, at most `limit`. */
  async before(user: string, before: number | undefined, limit: number): Promise<MessagePage> {
    const found = await this.store.zrange(this.key('m', user), {
      min: -Infinity,
      max: before === undefined ? Infinity : before - 1,
      reverse: true,
      limit: limit + 1,
    });
    return this.page(user, found, limit);
  }

  /**
   * How many of `user`'s kept messages are unread; with `upTo`, only those with an id up
   * to it. An id is unread from just before its message is stored (see {@link append}),
   * so a count without a bound can include a message that a read just before could not
   * see yet.
   */
  async unreadCount(user: string, upTo = Infinity): Promise<number> {
    const unread = this.key('unread', user);
    return upTo === Infinity ? this.store.zcard(unread) : this.store.zcount(unread, -Infinity, upTo);
  }

  /** The newest id `user` was given (0 when none), whether or not it is still kept. */
  async latestId(user: string): Promise<number> {
    return Number((await this.store.get(this.key('seq', user))) ?? 0);
  }

  /** `user`'s read-state version now (0 before the first change). */
  async version(user: string): Promise<number> {
    return Number((await this.store.get(this.key('ver', user))) ?? 0);
  }

  /**
   * Raises `user`'s read-state version after a change (under the lock, after the change is
   * stored and before it is pushed), and returns the new version.
   */
  stamp(user: string): Promise<number> {
    return this.store.incr(this.key('ver', user));
  }

  /**
   * Marks read for `user` only. Marking something already read changes nothing and is
   * not an error. `all` is answered as `up_to` the newest id.
   * @throws ServiceError `NOT_FOUND` when `message_id` is not one of `user`'s kept
   *   messages, or `up_to` is above the newest id `user` was given.
   */
  async markRead(user: string, mark: MessageReadPayload): Promise<ReadMark> {
    const unread = this.key('unread', user);
    if ('message_id' in mark) {
      const found = await this.store.zrange(this.key('m', user), {
        min: mark.message_id,
        max: mark.message_id,
        limit: 1,
      });
      if (found.length === 0) throw new ServiceError('NOT_FOUND', 'No such message.');
      await this.store.zrem(unread, String(mark.message_id));
      return { message_id: mark.message_id };
    }
    const latest = await this.latestId(user);
    if ('up_to' in mark) {
      if (mark.up_to > latest) throw new ServiceError('NOT_FOUND', 'No such message.');
      await this.store.zremrangebyscore(unread, -Infinity, mark.up_to);
      return { up_to: mark.up_to };
    }
    await this.store.del(unread);
    return { up_to: latest };
  }

  /** Turns stored entries into a page with each message's read flag. */
  private async page(
    user: string,
    found: Array<{ member: string; score: number }>,
    limit: number,
  ): Promise<MessagePage> {
    const entries = found.slice(0, limit);
    if (entries.length === 0) return { messages: [], has_more: false };
    const ids = entries.map((entry) => entry.score);
    const unread = new Set(
      (await this.store.zrange(this.key('unread', user), { min: Math.min(...ids), max: Math.max(...ids) })).map(
        (entry) => entry.score,
      ),
    );
    return {
      messages: entries.map((entry) => ({
        ...(JSON.parse(entry.member) as StoredMessage),
        read: !unread.has(entry.score),
      })),
      has_more: found.length > limit,
    };
  }
}
