/**
 * The backends read their clock in whole milliseconds (Redis `TIME` floored, `Date.now()`):
 * the instant behind a reading may be up to this much later than the reading says (ms).
 */
const BACKEND_CLOCK_RESOLUTION_MS = 1;

/** One answer of the backend: how far this process's clock was ahead of the backend's, at most. */
interface Sample {
  /** Local time of receipt minus the backend's reading (ms). */
  lag: number;
  receivedAt: number;
}

/**
 * Places instants of the registry backend's clock on this process's `performance.now()`
 * clock, rounded late, without trusting this host's wall clock (the registry keeps time by
 * the backend's so that processes with skewed clocks agree). A reading `b` received at
 * local `r` was taken no later than `r`, so the backend's instant `t` came no later than
 * `r + (t - b)`. Of the recent answers, the one received soonest after its reading
 * (smallest `r - b`) gives the tightest bound; answers older than `lifetimeMs` are
 * dropped, so the two clocks' drift cannot build up.
 */
export class BackendClock {
  /** Recent samples, oldest first, lags rising: one is dropped once a newer one lags no more. */
  private samples: Sample[] = [];

  constructor(private readonly lifetimeMs: number) {}

  /** The backend read `backendMs` on its clock; the answer arrived here at `receivedAt`. */
  sample(backendMs: number, receivedAt: number): void {
    const lag = receivedAt - backendMs;
    // An older sample with a lag no smaller can never be the best again.
    while (this.samples.length > 0 && this.samples[this.samples.length - 1]!.lag >= lag) this.samples.pop();
    this.samples.push({ lag, receivedAt });
  }

  /**
   * The latest local moment (at `now`) that the backend's instant `backendMs` can have
   * been, or `now` itself if that is sooner or no recent answer tells.
   */
  latestLocal(backendMs: number | undefined, now: number): number {
    while (this.samples.length > 0 && now - this.samples[0]!.receivedAt > this.lifetimeMs) this.samples.shift();
    const best = this.samples[0];
    if (best === undefined || backendMs === undefined || !Number.isFinite(backendMs)) return now;
    return Math.min(now, backendMs + best.lag + BACKEND_CLOCK_RESOLUTION_MS);
  }
}
