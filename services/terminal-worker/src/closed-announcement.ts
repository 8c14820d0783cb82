import type { TerminalClosedEvent } from '@ctos/protocol';

/**
 * `terminal:closed` refused by the transport (Redis unreachable) is sent again this often
 * (ms), at most {@link CLOSED_EMIT_ATTEMPTS} times (about 30 s): a client that never hears
 * it learns at its next attach, which answers NOT_FOUND.
 */
const CLOSED_EMIT_RETRY_MS = 250;
const CLOSED_EMIT_ATTEMPTS = 120;

/** What {@link announceClosed} does, and when it stops trying. */
export interface ClosedAnnouncement {
  /** Emits the event into the session's room; `false`: not handed over (sent again). */
  emit(event: TerminalClosedEvent): Promise<boolean | void>;
  /** Removes the session's directory entry; rejects when the store cannot be reached. */
  removeFromDirectory(): Promise<void>;
  event: TerminalClosedEvent;
  /** True once retrying is pointless (the process is exiting). */
  giveUp(): boolean;
  /** The first failed removal, for the log (not called once giving up: the caller reports it). */
  onRemoveFailed(error: unknown): void;
}

/** What {@link announceClosed} managed: the event emitted, the directory entry removed. */
export interface ClosedOutcome {
  announced: boolean;
  removed: boolean;
}

/**
 * Tells the session's clients it ended, then removes its directory entry (a stale one
 * would count against the user's session limit), each retried through a Redis outage
 * until {@link ClosedAnnouncement.giveUp}. Never rejects.
 */
export async function announceClosed(announcement: ClosedAnnouncement): Promise<ClosedOutcome> {
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, CLOSED_EMIT_RETRY_MS));
  let announced = false;
  for (let attempt = 1; attempt <= CLOSED_EMIT_ATTEMPTS; attempt++) {
    if ((await announcement.emit(announcement.event)) !== false) {
      announced = true;
      break;
    }
    // The process is exiting: clients learn at their next attach, and the directory entry,
    // which Redis would refuse as well, goes when the registry declares this worker dead.
    if (announcement.giveUp()) return { announced: false, removed: false };
    await pause();
  }
  for (let attempt = 1; attempt <= CLOSED_EMIT_ATTEMPTS; attempt++) {
    try {
      await announcement.removeFromDirectory();
      return { announced, removed: true };
    } catch (error) {
      if (announcement.giveUp()) break;
      if (attempt === 1) announcement.onRemoveFailed(error);
      await pause();
    }
  }
  return { announced, removed: false };
}
