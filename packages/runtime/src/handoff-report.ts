import type { Logger } from 'pino';

/**
 * What a drain could not hand to the rest of the cluster (Redis unreachable, the process
 * exiting before a retry): collected while the drain runs and logged as one warning at
 * its end, so an operator reads in one line what the cluster must recover by itself (a
 * worker's death is announced by the registry, a client catches up by position) instead
 * of one retry warning per item. Items are named by kind (`detach`, `closed`, …) and id.
 */
export class HandoffReport {
  private readonly missed = new Map<string, Set<string>>();
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
    if (!ids) this.missed.set(kind, (ids = new Set()));
    ids.add(id);
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
    const missed = Object.fromEntries([...this.missed].map(([kind, ids]) => [kind, [...ids]]));
    logger.warn({ missed }, 'could not hand off');
  }
}
