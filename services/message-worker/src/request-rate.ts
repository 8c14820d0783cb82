import { TokenBucket } from '@ctos/runtime';

/**
 * Requests per second for each producer (keyed by which service token it sent), as token
 * buckets: `ratePerSecond` refill continuously up to `burst`. One producer that floods
 * the API is refused with a wait time while the others go on. Time comes from `now` (ms)
 * so tests control it.
 */
export class RequestRate {
  private readonly buckets = new Map<number, TokenBucket>();

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
    let bucket = this.buckets.get(producer);
    if (!bucket) this.buckets.set(producer, (bucket = new TokenBucket(this.ratePerSecond, this.burst, this.now)));
    return bucket.take() ? 0 : Math.max(1, Math.ceil(bucket.secondsUntil()));
  }
}
