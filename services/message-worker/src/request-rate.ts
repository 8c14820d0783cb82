/**
 * Requests per second for each producer (keyed by which service token it sent), as token
 * buckets: `ratePerSecond` refill continuously up to `burst`. One producer that floods
 * the API is refused with a wait time while the others go on. Time comes from `now` (ms)
 * so tests control it.
 */
export class RequestRate {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Spends one request of `producer`'s budget. Returns 0 when allowed, else the seconds
   * (whole, at least 1) until one request is available: the `Retry-After` to send.
   */
  take(producer: number): number {
    const now = this.now();
    const bucket = this.buckets.get(producer) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    this.buckets.set(producer, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }
}
