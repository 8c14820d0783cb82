/**
 * The small part of Redis's data model that features keep their state in (session
 * directory, AI history, messages). The Redis implementation maps each call to one
 * command; the memory implementation gives the same answers, and one contract suite
 * checks both. Keys are relative; the store adds the deployment's prefix. Durations are ms.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** `nx`: only if absent (returns false when it was present). `ttlMs`: expire after. */
  set(key: string, value: string, options?: { nx?: boolean; ttlMs?: number }): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  incr(key: string): Promise<number>;
  expire(key: string, ttlMs: number): Promise<void>;

  hset(key: string, fields: Record<string, string>): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  /** An absent key answers null (not an empty object). */
  hgetall(key: string): Promise<Record<string, string> | null>;
  hdel(key: string, ...fields: string[]): Promise<void>;

  sadd(key: string, ...members: string[]): Promise<void>;
  srem(key: string, ...members: string[]): Promise<void>;
  smembers(key: string): Promise<string[]>;

  zadd(key: string, score: number, member: string): Promise<void>;
  zrem(key: string, ...members: string[]): Promise<void>;
  /**
   * Members with `min <= score <= max` (`exclusiveMin`: `min < score`), ascending, or
   * descending with `reverse`; at most `limit`.
   */
  zrange(
    key: string,
    range: { min: number; max: number; exclusiveMin?: boolean; reverse?: boolean; limit?: number },
  ): Promise<Array<{ member: string; score: number }>>;
  zcount(key: string, min: number, max: number): Promise<number>;
  zremrangebyscore(key: string, min: number, max: number): Promise<void>;
  zcard(key: string): Promise<number>;

  rpush(key: string, ...values: string[]): Promise<number>;
  /** Inclusive indexes; negative counts from the end, as in Redis. */
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  llen(key: string): Promise<number>;
}
