import { TokenBucket } from '../src';

describe('a token bucket', () => {
  it('spends its burst, then refills at its rate, and says how long until a spend fits', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 20, () => now);
    expect(bucket.take(20)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    expect(bucket.secondsUntil(5)).toBeCloseTo(0.5);
    now += 500;
    expect(bucket.secondsUntil(5)).toBe(0);
    expect(bucket.take(5)).toBe(true);
    now += 60_000;
    expect(bucket.take(21)).toBe(false); // never above the burst
    expect(bucket.take(20)).toBe(true);
  });
});
