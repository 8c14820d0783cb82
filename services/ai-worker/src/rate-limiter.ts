import type { KeyValueStore } from '@ctos/transport';
import { aiStoreKeys } from '@ctos/protocol';

/** The rate-limit window (ms): the setting is per minute. */
const WINDOW_MS = 60_000;

/**
 * Messages per user per minute, counted in the store so every ai-worker shares the
 * count. A fixed window (one counter per user per clock minute, `INCR` + expiry): one
 * round trip, and at worst twice the rate across a window edge, which is enough to stop
 * a runaway client without a sliding log per user.
 */
export class RateLimiter {
  constructor(
    private readonly store: KeyValueStore,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one message of `user`; false when it is over the limit. The expiry is sent
   * with every count rather than after the first (which would cost a second round trip
   * before a reply can start): the key names its window, so a later expiry only keeps
   * a finished window's counter a little longer. Store failures are passed on.
   */
  async take(user: string): Promise<boolean> {
    const window = Math.floor(this.now() / WINDOW_MS);
    const key = aiStoreKeys.rate(user, window);
    // Kept past its window by one more, so a clock a little behind still finds it.
    const [count] = await Promise.all([this.store.incr(key), this.store.expire(key, 2 * WINDOW_MS)]);
    return count <= this.perMinute;
  }
}
