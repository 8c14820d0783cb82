import { rooms, type MessageVersion } from '@ctos/protocol';
import { emitAll, type RoomEmit, type RoomEmitter } from '@ctos/transport';

/**
 * How long a user's unread count may wait for the user's other writes in flight (ms). A
 * count is state, not an event: a newer one (higher version) makes the older useless, and
 * a gateway pays as much to deliver a count as a message. So while more of a user's
 * messages are being written, the count is pushed once after them rather than once per
 * message, and during a long burst with the first write to end once one has waited this
 * long. There is no timer: a held count leaves when a write of this process ends, so it
 * can wait longer than this, as long as one write takes. The web client asks for the
 * count itself 400 ms after its last `message:new` without one; a count is held only
 * while the user's writes are in flight, and each of those pushes its message when it
 * ends, so that happens only if one write takes longer than that.
 */
export const COUNT_HOLD_MS = 500;

/** A user's unread count and read-state version after a write. */
export interface CountAfter {
  user: string;
  count: number;
  version: MessageVersion;
}

/**
 * Pushes `message:unread_count` after new messages, coalesced per user: each write says
 * when it starts ({@link begin}) and when it ends ({@link end}, with the counts it
 * produced); a user's newest count goes out when none of their writes is in flight any
 * more, or with the first {@link end} after it has waited {@link COUNT_HOLD_MS}. Counts carry their version, so one
 * that arrives after a newer one (from a mark, or another worker) is ignored by clients.
 * What this process holds when it stops is lost, as a push the network lost is: clients
 * ask for the count when none follows a message.
 */
export class UnreadCountPushes {
  /** Writes in flight per user. */
  private readonly writing = new Map<string, number>();
  /** Counts not pushed yet, per user: the newest, and since when one has been waiting. */
  private readonly held = new Map<string, { count: number; version: MessageVersion; since: number }>();

  constructor(
    private readonly emitter: RoomEmitter,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes that a write to each of `users` started. */
  begin(users: readonly string[]): void {
    for (const user of users) this.writing.set(user, (this.writing.get(user) ?? 0) + 1);
  }

  /**
   * Notes that the writes to `users` that {@link begin} noted ended, having produced
   * `counts`, and pushes every count now due. Resolves once those are handed over; never
   * rejects: a count that could not be pushed is one the client asks for itself, and the
   * emitter reports its failures.
   */
  async end(users: readonly string[], counts: readonly CountAfter[]): Promise<void> {
    for (const user of users) {
      const left = (this.writing.get(user) ?? 1) - 1;
      if (left > 0) this.writing.set(user, left);
      else this.writing.delete(user);
    }
    const now = this.now();
    for (const { user, count, version } of counts) {
      const held = this.held.get(user);
      if (!held || held.version <= version) this.held.set(user, { count, version, since: held?.since ?? now });
    }
    const due: RoomEmit[] = [];
    for (const [user, { count, version, since }] of this.held) {
      if (this.writing.has(user) && now - since < COUNT_HOLD_MS) continue;
      this.held.delete(user);
      due.push({ room: rooms.user(user), event: 'message:unread_count', payload: { count, version } });
    }
    // Safe to swallow: see above. The messages these counts follow are stored and pushed.
    if (due.length > 0) await emitAll(this.emitter, due).catch(() => undefined);
  }

  /** Forgets `user`'s held count if it is older than `version` (a mark pushed its own, newer one). */
  superseded(user: string, version: MessageVersion): void {
    const held = this.held.get(user);
    if (held && held.version < version) this.held.delete(user);
  }
}
