/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. `take(n)`
 * spends n tokens if there are that many. Time comes from `now` (ms) so tests and
 * callers control it.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Spends `amount` tokens; false (and nothing spent) if there are not enough. */
  take(amount = 1): boolean {
    this.refill();
    if (amount > this.tokens) return false;
    this.tokens -= amount;
    return true;
  }

  /** Seconds until `amount` tokens will be there (0 when they are now). */
  secondsUntil(amount = 1): number {
    this.refill();
    return amount <= this.tokens ? 0 : (amount - this.tokens) / this.ratePerSecond;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
