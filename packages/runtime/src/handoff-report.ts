import type { Logger } from 'pino';

/**
 * What a drain could not hand to the rest of the cluster (Redis unreachable or paused,
 * the process exiting before a retry): collected while the drain runs and logged as one
 * warning at its end, so an operator reads in one line what the cluster must recover by
 * itself (a worker's death is announced by the registry, a client catches up by
 * position) instead of one retry warning per item. Items are named by kind (`detach`,
 * `closed`, …) and id; an id added twice (two sockets of one session) needs two
 * {@link delete}s to go.
 */
export class HandoffReport {
  private readonly missed = new Map<string, Map<string, number>>();
  private collecting = false;

  /**
   * The drain begins: {@link add} records from now on. Before, a failed handoff is the
   * running process's, retried or logged where it happens, and nothing is kept.
   */
  begin(): void {
    this.collecting = true;
  }

  /** Records that `id`'s `kind` of handoff did not happen (once the drain began). */
  add(kind: string, id: string): void {
    if (!this.collecting) return;
    let ids = this.missed.get(kind);
    if (!ids) this.missed.set(kind, (ids = new Map()));
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }

  /**
   * One `add(kind, id)` happened after all: for one recorded before it was tried
   * (pessimistically), so that one still under way when the drain ends is named.
   */
  delete(kind: string, id: string): void {
    const ids = this.missed.get(kind);
    const count = ids?.get(id);
    if (!ids || count === undefined) return;
    if (count > 1) ids.set(id, count - 1);
    else ids.delete(id);
    if (ids.size === 0) this.missed.delete(kind);
  }

  /** True when nothing was missed. */
  get empty(): boolean {
    return this.missed.size === 0;
  }

  /**
   * Logs one warning, `could not hand off`, with `missed: {kind: [ids]}`, when anything
   * was missed; nothing otherwise.
   */
  log(logger: Pick<Logger, 'warn'>): void {
    if (this.empty) return;
    const missed = Object.fromEntries([...this.missed].map(([kind, ids]) => [kind, [...ids.keys()]]));
    logger.warn({ missed }, 'could not hand off');
  }
}
