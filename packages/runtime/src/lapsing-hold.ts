/** One holder's holds: how many are open, and the timer that lapses them. */
interface Holder {
  count: number;
  timer: NodeJS.Timeout;
}

/**
 * Holds that lapse, kept per holder. Output that must not go out yet (a create, attach or
 * resume is still being answered) waits while {@link LapsingHold.isHeld}; each
 * {@link hold} by a holder is ended by one {@link release} by the same holder. A holder's
 * first hold starts a timer of `timeoutMs` for that holder alone: if it never releases
 * (its gateway died), its holds are dropped when it fires and `onLapse` runs with it, so
 * output cannot be stuck for ever, and no other holder's hold is cut short or ended.
 * A release after the holder's holds lapsed (a late answer) ends nothing.
 *
 * The terminal-worker's output pump holds by socket; the ai-worker's reply relay holds
 * by the one gateway message it waits for.
 *
 * @typeParam K what identifies a holder (compared with `Map` key equality)
 */
export class LapsingHold<K = string> {
  private readonly holders = new Map<K, Holder>();
  private disposed = false;

  /**
   * @param timeoutMs how long a holder's holds may last, from its first one, before they lapse (ms)
   * @param onLapse runs once per holder whose holds lapse (not when they are released)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onLapse: (holder: K) => void,
  ) {}

  /** True while some holder has a hold not yet released (and not lapsed). */
  get isHeld(): boolean {
    return this.holders.size > 0;
  }

  /** Adds one hold by `holder`; its first starts its lapse timer. Ignored once disposed. */
  hold(holder: K): void {
    if (this.disposed) return;
    const held = this.holders.get(holder);
    if (held) {
      held.count++;
      return;
    }
    const timer = setTimeout(() => {
      this.holders.delete(holder);
      this.onLapse(holder);
    }, this.timeoutMs);
    this.holders.set(holder, { count: 1, timer });
  }

  /**
   * Ends one hold by `holder`; its timer stops with its last.
   * @returns false when `holder` has none to end (never held, released already, or lapsed)
   */
  release(holder: K): boolean {
    const held = this.holders.get(holder);
    if (!held) return false;
    if (--held.count === 0) {
      clearTimeout(held.timer);
      this.holders.delete(holder);
    }
    return true;
  }

  /** Ends every hold at once, without `onLapse` (shutdown: nobody will release them). */
  releaseAll(): void {
    for (const { timer } of this.holders.values()) clearTimeout(timer);
    this.holders.clear();
  }

  /** {@link releaseAll}, and later holds are ignored: nothing is left running. */
  dispose(): void {
    this.disposed = true;
    this.releaseAll();
  }
}
