import type { ConnectionObserver } from './connection';

/** Hears failed room emits. */
export interface EmitErrorObserver {
  /**
   * A room emit could not be handed to Redis. `first`: the first of this outage (or one
   * outside any outage), the one worth logging; the others are for counting.
   */
  onEmitError?(error: unknown, first: boolean): void;
}

/**
 * Folds the outages of a transport's connections and of its registry into one: the
 * observer hears `onDown` once when the first part fails and `onUp` once when every part
 * is back, so a Redis restart is two log lines per process, not one per connection or
 * per failed command. Room emits that fail are reported once per outage too (each one
 * is still counted by the caller).
 */
export class OutageTracker {
  private readonly down = new Set<string>();
  private since: number | undefined;
  private emitErrorReported = false;

  constructor(private readonly observer: ConnectionObserver & EmitErrorObserver) {}

  /** True while any part is down. */
  get inOutage(): boolean {
    return this.down.size > 0;
  }

  partDown(part: string, error: Error): void {
    if (this.down.has(part)) return;
    this.down.add(part);
    if (this.down.size > 1) return;
    this.since = performance.now();
    this.observer.onDown?.(part, error);
  }

  partUp(part: string): void {
    if (!this.down.delete(part) || this.down.size > 0) return;
    const outageMs = this.since === undefined ? undefined : Math.round(performance.now() - this.since);
    this.since = undefined;
    this.emitErrorReported = false;
    this.observer.onUp?.(part, outageMs);
  }

  /** A room emit failed: reported every time, flagged as worth a log line once per outage. */
  emitFailed(error: unknown): void {
    let first = true;
    if (this.inOutage) {
      first = !this.emitErrorReported;
      this.emitErrorReported = true;
    }
    this.observer.onEmitError?.(error, first);
  }
}
