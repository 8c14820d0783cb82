import type { Logger } from '@ctos/runtime';

/** A `terminal:create` under way, from {@link UserPresence.beginCreate} to {@link UserPresence.endCreate}. */
export interface CreateTicket {
  readonly user: string;
  /** Its session exists (and is among the worker's sessions from then on). */
  started: boolean;
}

/**
 * Knows, per user, whether they still have anything on this worker (a session, or a
 * `terminal:create` under way), and calls `onGone` once they have neither, so what they
 * left running can be ended (`TERMINAL_KILL_ON_LAST_CLOSE`).
 *
 * A last close that comes while a create of theirs is under way is decided when that
 * create ends: killing now would kill the shell being started; never killing would leave
 * the closed session's processes running if the create fails.
 */
export class UserPresence {
  /** Creates under way per user, in the order they began, until their directory entry is written. */
  private readonly creating = new Map<string, CreateTicket[]>();
  private creatingTotal = 0;
  /** Users whose last close came while a create of theirs was under way. */
  private readonly goneUnlessCreated = new Set<string>();
  private disposed = false;

  /**
   * @param hasSession true while `user` has a live session here
   * @param onGone ends what `user` left running; must not throw
   */
  constructor(
    private readonly hasSession: (user: string) => boolean,
    private readonly onGone: (user: string) => void,
    private readonly logger: Logger,
  ) {}

  /** Creates under way on this worker, all users together. */
  get creates(): number {
    return this.creatingTotal;
  }

  /**
   * Counts a create of `user` before its first await, so concurrent creates see each
   * other (the directory only knows a session once it is registered). Every call is
   * ended by {@link endCreate}.
   */
  beginCreate(user: string): CreateTicket {
    const ticket: CreateTicket = { user, started: false };
    const tickets = this.creating.get(user) ?? [];
    tickets.push(ticket);
    this.creating.set(user, tickets);
    this.creatingTotal++;
    return ticket;
  }

  /**
   * Creates of the same user that began before `ticket` and have no session yet: each may
   * still make one. Later creates are not counted; they count this one instead, so
   * concurrent creates are ordered and exactly the limit's worth succeed.
   */
  startingBefore(ticket: CreateTicket): number {
    let count = 0;
    for (const other of this.creating.get(ticket.user) ?? []) {
      if (other === ticket) break;
      if (!other.started) count++;
    }
    return count;
  }

  /** A create ended (made a session or failed). */
  endCreate(ticket: CreateTicket): void {
    const { user } = ticket;
    this.creatingTotal--;
    const left = (this.creating.get(user) ?? []).filter((other) => other !== ticket);
    if (left.length > 0) {
      this.creating.set(user, left);
      return;
    }
    this.creating.delete(user);
    // Their last session closed while this create ran, and it made none: end what is left now.
    if (this.goneUnlessCreated.has(user)) this.sessionEnded(user);
  }

  /** A session of `user` has ended here (after its grace): calls `onGone` if it was their last. */
  sessionEnded(user: string): void {
    if (this.disposed) return;
    if (this.creating.has(user)) {
      this.logger.debug({ user_id: user }, 'last close during a create: decided when it ends');
      this.goneUnlessCreated.add(user);
      return;
    }
    // Another session of theirs ends them later.
    if (this.hasSession(user)) return;
    this.goneUnlessCreated.delete(user);
    this.onGone(user);
  }

  /** The worker has ended: `onGone` is not called any more (what it reaches is disposed next). */
  dispose(): void {
    this.disposed = true;
  }
}
