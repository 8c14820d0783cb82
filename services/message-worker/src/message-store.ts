import { rooms, ServiceError, type MessageDraft, type MessageItem, type MessageReadPayload } from '@ctos/protocol';
import type { KeyValueStore, RoomWire } from '@ctos/transport';
import {
  AGE_SCAN_BATCH,
  APPEND_SCRIPT,
  appendRecords,
  type AppendArgs,
  type AppendRecord,
  type RecipientKeys,
} from './append-script';
import { ledgerKey, type LedgerEntry } from './idempotency';
import { countEvent, eventHead } from './event-json';
import { MARK_SCRIPT, markReply, type MarkArgs, type MarkKeys } from './mark-script';
import { OldestMessages } from './oldest-messages';

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

/**
 * Recipients one append script call takes: about a millisecond of Redis's time, so no
 * call of a big request holds Redis long, while the message's JSON and the call's
 * overhead are paid once for all of them.
 */
const APPEND_RECIPIENTS = 64;

/**
 * How long a user's keys outlive the age limit at most (ms). They expire the age limit
 * after the newest message, give or take this: renewing the expiry with every message
 * would cost two commands per message; renewed only once less than the age limit is
 * left, it costs one (a look at the time left) and two once per this long. The keys of a
 * user who hears nothing more still vanish; what outlived its age is never read (reads
 * drop aged messages first).
 */
const EXPIRY_SLACK_MS = 60 * 60 * 1000;

/** A message's idempotency key, as {@link MessageStore.append} checks and records it in the ledger. */
export interface KeyedWrite {
  key: string;
  /** The message's fingerprint (`draftDigest`). */
  digest: string;
  /** The request's own token in the ledger. */
  writer: string;
  /** How long ledger entries are kept (ms). */
  ttlMs: number;
}

/** One recipient of {@link MessageStore.append}. */
export interface Recipient {
  user: string;
  /** Take over another request's claim of the key that recorded no id (after waiting for it). */
  takeover: boolean;
}

/**
 * What {@link MessageStore.append} did for one recipient (see `AppendRecord` for each
 * case). `count` and `version` are the user's after the message, when it was written or
 * delivered again.
 */
export type AppendOutcome =
  | { kind: 'written' | 'redelivered'; id: number; count: number; version: number }
  | { kind: 'done'; id: number }
  | { kind: 'pending' | 'conflict' };

/** What {@link MessageStore.markRead} did: the mark as the other tabs hear it, and the count and version after it. */
export interface MarkOutcome {
  read: ReadMark;
  count: number;
  version: number;
}

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
 * - `msg:ver:<user>` — the read state's version (`MessageVersion`), raised with each
 *   change to the count or the read flags. It never expires either: a restarted version
 *   would make clients take every new count as out of date.
 *
 * Every change ({@link append}, {@link markRead}) is one store script that also publishes
 * the change's event to the user's room (decision 0016): nothing of anyone else's can
 * come between a change and its push, so every tab hears a user's messages and marks in
 * the order they happened, whichever message-worker made them, and no lock is needed.
 * Readers take no lock either: a change is whole when they see it, and
 * {@link unreadCount} with a bound counts only what a page returned. This needs the one
 * primary that decision 0014 keeps: one append call spans {@link APPEND_RECIPIENTS}
 * users' keys and rooms, and on Redis Cluster a script could not publish on a room's
 * channel, which is not in its keys' slot.
 *
 * Errors it produces: `NOT_FOUND` from {@link markRead} for an id this user does not
 * have. Store failures are passed on as they are.
 */
export class MessageStore {
  /** What this process last saw as each user's oldest kept message, to skip looking for aged ones. */
  private readonly oldest = new OldestMessages();

  constructor(
    private readonly store: KeyValueStore,
    private readonly retention: RetentionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private key(kind: KeyKind, user: string): string {
    return keyOf(kind, encodeURIComponent(user));
  }

  /**
   * Writes `draft` for each recipient, each in one step ({@link APPEND_SCRIPT}): checks
   * the key (done, or claimed by another request), takes the next id, stores the message
   * unread, applies retention, publishes its `message:new` to the user's room (through
   * `wire`), and reads the unread count and raises the version. Outcomes are in the order of `recipients`.
   * One script call takes {@link APPEND_RECIPIENTS} recipients; the calls (and those of
   * other appends made in the same tick) reach the store together.
   */
  async append(
    recipients: readonly Recipient[],
    draft: MessageDraft,
    wire: RoomWire,
    keyed?: KeyedWrite,
  ): Promise<AppendOutcome[]> {
    const now = this.now();
    const fields: Omit<StoredMessage, 'id'> = {
      severity: draft.severity,
      source: draft.source,
      category: draft.category,
      title: draft.title,
      content: draft.content,
      ...(draft.link === undefined ? {} : { link: draft.link }),
      created_at: new Date(now).toISOString(),
    };
    // The stored JSON and the push, each cut where the id goes: `{"id":<id>,` comes first.
    const body = JSON.stringify(fields).slice(1);
    const pushRest = `${JSON.stringify({ ...fields, read: false } satisfies Omit<MessageItem, 'id'>).slice(1)}]`;
    const cutoff = new Date(now - this.retention.maxAgeMs).toISOString();
    const calls: Array<Promise<AppendOutcome[]>> = [];
    const doneHead = keyed
      ? `${JSON.stringify({ s: 'done', d: keyed.digest } satisfies Omit<LedgerEntry, 'id'>).slice(0, -1)},"id":`
      : '';
    for (let at = 0; at < recipients.length; at += APPEND_RECIPIENTS) {
      const part = recipients.slice(at, at + APPEND_RECIPIENTS);
      // Built with plain loops: thousands of recipients a second go through here.
      const keys: string[] = [];
      const roomArgs: string[] = [];
      let takeovers = '';
      let ageChecks = '';
      for (const { user, takeover } of part) {
        const id = encodeURIComponent(user);
        const own: RecipientKeys = [keyOf('seq', id), keyOf('m', id), keyOf('unread', id), keyOf('ver', id)];
        keys.push(...own);
        if (keyed) keys.push(ledgerKey(user, keyed.key), keyOf('lock', id));
        const room = rooms.user(user);
        roomArgs.push(room, JSON.stringify(room));
        takeovers += takeover ? '1' : '0';
        ageChecks += this.oldest.mayHaveAged(user, cutoff) ? '1' : '0';
      }
      const args: AppendArgs = [
        body,
        eventHead('message:new'),
        pushRest,
        this.retention.maxCount,
        this.retention.maxAgeMs,
        this.retention.maxAgeMs + EXPIRY_SLACK_MS,
        cutoff,
        keyed?.digest ?? '',
        keyed?.writer ?? '',
        keyed?.ttlMs ?? 0,
        doneHead,
        takeovers,
        ageChecks,
        keyed ? 6 : 4,
        ...wire.channel,
        ...wire.head,
        wire.tail,
        ...roomArgs,
      ];
      calls.push(
        this.store.script(APPEND_SCRIPT, keys, args).then((reply) =>
          appendRecords(reply, part.length).map((record, i) => {
            if (record[4] !== '') this.oldest.saw((part[i] as Recipient).user, record[4]);
            return outcomeOf(record);
          }),
        ),
      );
    }
    return (await Promise.all(calls)).flat();
  }

  /**
   * Marks read for `user` only, in one step ({@link MARK_SCRIPT}) that also publishes the
   * new count, what was read and the version to the user's room (through `wire`). Marking something
   * already read is not an error. `all` is marked as `up_to` the newest id.
   * @throws ServiceError `NOT_FOUND` when `message_id` is not one of `user`'s kept
   *   messages, or `up_to` is above the newest id `user` was given.
   */
  async markRead(user: string, mark: MessageReadPayload, wire: RoomWire): Promise<MarkOutcome> {
    const read: ReadMark =
      'message_id' in mark
        ? { message_id: mark.message_id }
        : { up_to: 'up_to' in mark ? mark.up_to : await this.latestId(user) };
    const [countHead, countMiddle, countEnd] = countEvent(read);
    const keys: MarkKeys = [
      this.key('seq', user),
      this.key('m', user),
      this.key('unread', user),
      this.key('ver', user),
    ];
    const room = rooms.user(user);
    const args: MarkArgs = [
      'message_id' in read ? 'message_id' : 'up_to',
      'message_id' in read ? read.message_id : read.up_to,
      `${wire.channel[0]}${room}${wire.channel[1]}`,
      `${wire.head[0]}${JSON.stringify(room)}${wire.head[1]}`,
      wire.tail,
      countHead,
      countMiddle,
      countEnd,
    ];
    const reply = markReply(await this.store.script(MARK_SCRIPT, keys, args));
    if (reply[0] === 'not_found') throw new ServiceError('NOT_FOUND', 'No such message.');
    return { read, count: reply[1], version: reply[2] };
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
   * to it. A count without a bound can include a message stored after a read just before.
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

/** The kinds of a user's keys (see {@link MessageStore}; `lock`, only read, see `RecipientKeys`). */
type KeyKind = 'seq' | 'm' | 'unread' | 'ver' | 'lock';

/** The store key of kind `kind` of the user whose URI-encoded id is `encodedUser`. */
function keyOf(kind: KeyKind, encodedUser: string): string {
  return `msg:${kind}:${encodedUser}`;
}

/** A recipient's {@link AppendOutcome} from its script record. */
function outcomeOf([kind, id, count, version]: AppendRecord): AppendOutcome {
  switch (kind) {
    case 'written':
    case 'redelivered':
      return { kind, id, count, version };
    case 'done':
      return { kind, id };
    default:
      return { kind };
  }
}
