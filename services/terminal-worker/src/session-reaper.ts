import { signalSession } from './process-tree';

/** A closed session whose leftovers are killed when the grace ends. */
interface Leftover {
  pid: number;
  user: string;
  uid: number;
}

/**
 * Ends what is left of closed sessions, as a terminal emulator closing its window does:
 * SIGHUP to the session's processes at once (shells and editors save and exit), SIGKILL to
 * whatever is left after `graceMs`, then `afterKill(user)` (the user's last-close check).
 * Only processes of the session's own uid are signalled (see `signalSession`).
 */
export class SessionReaper {
  private readonly pending = new Map<NodeJS.Timeout, Leftover>();
  private disposed = false;

  /**
   * @param graceMs time between SIGHUP and SIGKILL (ms)
   * @param afterKill runs after each SIGKILL round; must not throw (a timer calls it)
   */
  constructor(
    private readonly graceMs: number,
    private readonly afterKill: (user: string) => void,
  ) {}

  /**
   * The session led by `pid` (running as `uid`, owned by `user`) has closed. After
   * {@link dispose}, its processes are killed at once and `afterKill` is not called: its
   * owner has ended (and what `afterKill` reaches may be disposed).
   */
  closed(pid: number, user: string, uid: number): void {
    signalSession(pid, 'SIGHUP', uid);
    if (this.disposed) {
      signalSession(pid, 'SIGKILL', uid);
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      this.kill({ pid, user, uid });
    }, this.graceMs);
    this.pending.set(timer, { pid, user, uid });
  }

  /** The process exits next: kills now what would have been killed after the grace. */
  dispose(): void {
    this.disposed = true;
    for (const [timer, leftover] of this.pending) {
      clearTimeout(timer);
      this.kill(leftover);
    }
    this.pending.clear();
  }

  private kill({ pid, user, uid }: Leftover): void {
    signalSession(pid, 'SIGKILL', uid);
    this.afterKill(user);
  }
}
