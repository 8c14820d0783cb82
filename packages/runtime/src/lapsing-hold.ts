/**
 * Counted holds that lapse. Output that must not go out yet (a create, attach or resume is
 * still being answered) waits while {@link LapsingHold.isHeld}; each {@link hold} is ended
 * by one {@link release}. The first hold starts a timer of `timeoutMs`: if the holder never
 * releases (its gateway died), every hold is dropped when it fires and `onLapse` runs, so
 * output cannot be stuck for ever. The timer stops when the last hold is released.
 *
 * The terminal-worker's output pump and the ai-worker's reply relay both hold this way.
 */
export class LapsingHold {
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param timeoutMs how long holds may last, from the first one, before they lapse (ms)
   * @param onLapse runs once when they lapse (not when they are released)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onLapse: () => void,
  ) {}

  /** True while some hold is not yet released (and has not lapsed). */
  get isHeld(): boolean {
    return this.holds > 0;
  }

  /** Adds one hold; starts the lapse timer if none is running. */
  hold(): void {
    this.holds++;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.holds = 0;
      this.onLapse();
    }, this.timeoutMs);
  }

  /** Ends one hold; false when there was none to end. The timer stops with the last. */
  release(): boolean {
    if (this.holds === 0) return false;
    this.holds--;
    if (this.holds === 0) this.stopTimer();
    return true;
  }

  /** Ends every hold at once, without `onLapse` (shutdown: nobody will release them). */
  releaseAll(): void {
    this.holds = 0;
    this.stopTimer();
  }

  /** Same as {@link releaseAll}: nothing is left running. */
  dispose(): void {
    this.releaseAll();
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
