import type { Redis } from 'ioredis';
import type { KeyValueStore } from '../store';

/** A score bound as Redis writes it (`-inf`, `+inf`, or the number). */
function bound(score: number): string {
  if (score === Infinity) return '+inf';
  if (score === -Infinity) return '-inf';
  return String(score);
}

/** {@link KeyValueStore} over ioredis, every key under `prefix:`. */
export class RedisStore implements KeyValueStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(key: string): string {
    return `${this.prefix}:${key}`;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  async set(key: string, value: string, options: { nx?: boolean; ttlMs?: number } = {}): Promise<boolean> {
    const args: (string | number)[] = [this.k(key), value];
    if (options.ttlMs !== undefined) args.push('PX', options.ttlMs);
    if (options.nx) args.push('NX');
    return (await this.redis.call('SET', ...args)) === 'OK';
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => this.k(key)));
  }

  async incr(key: string): Promise<number> {
    return this.redis.incr(this.k(key));
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.k(key), ttlMs);
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    await this.redis.hset(this.k(key), fields);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.redis.hget(this.k(key), field);
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    const value = await this.redis.hgetall(this.k(key));
    return Object.keys(value).length === 0 ? null : value;
  }

  async hdel(key: string, ...fields: string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hdel(this.k(key), ...fields);
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.redis.sadd(this.k(key), ...members);
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.redis.srem(this.k(key), ...members);
  }

  async smembers(key: string): Promise<string[]> {
    return this.redis.smembers(this.k(key));
  }

  async zadd(key: string, score: number, member: string): Promise<void> {
    await this.redis.zadd(this.k(key), score, member);
  }

  async zrem(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.redis.zrem(this.k(key), ...members);
  }

  async zrange(
    key: string,
    range: { min: number; max: number; exclusiveMin?: boolean; reverse?: boolean; limit?: number },
  ): Promise<Array<{ member: string; score: number }>> {
    const min = `${range.exclusiveMin ? '(' : ''}${bound(range.min)}`;
    const max = bound(range.max);
    const args: (string | number)[] = range.reverse
      ? [this.k(key), max, min, 'BYSCORE', 'REV']
      : [this.k(key), min, max, 'BYSCORE'];
    if (range.limit !== undefined) args.push('LIMIT', 0, range.limit);
    args.push('WITHSCORES');
    const flat = (await this.redis.call('ZRANGE', ...args)) as string[];
    const out: Array<{ member: string; score: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: String(flat[i]), score: Number(flat[i + 1]) });
    return out;
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    return this.redis.zcount(this.k(key), bound(min), bound(max));
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<void> {
    await this.redis.zremrangebyscore(this.k(key), bound(min), bound(max));
  }

  async zcard(key: string): Promise<number> {
    return this.redis.zcard(this.k(key));
  }

  async rpush(key: string, ...values: string[]): Promise<number> {
    return this.redis.rpush(this.k(key), ...values);
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.redis.lrange(this.k(key), start, stop);
  }

  async llen(key: string): Promise<number> {
    return this.redis.llen(this.k(key));
  }
}
