import type { Redis } from 'ioredis';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '../store';
import { isLost } from './connection';

function unreachable(): ServiceError {
  return new ServiceError('UNAVAILABLE', 'The data store cannot be reached right now; try again shortly.');
}

/** A score bound as Redis writes it (`-inf`, `+inf`, or the number). */
function bound(score: number): string {
  if (score === Infinity) return '+inf';
  if (score === -Infinity) return '-inf';
  return String(score);
}

/**
 * Errors Redis answers while it cannot serve (starting, out of memory, disk failing, a
 * replica not yet promoted, too few replicas for `min-replicas-to-write`): an outage, not a bug.
 */
const OUTAGE_REPLY = /^(LOADING|BUSY|MISCONF|OOM|MASTERDOWN|READONLY|NOREPLICAS|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * {@link KeyValueStore} over ioredis, every key under `prefix:`. A call that cannot reach
 * Redis rejects with `ServiceError('UNAVAILABLE')` — at once while the connection is
 * known to be lost, instead of waiting in ioredis's queue for the reconnect — so callers
 * answer "try again shortly", not "internal error". An error Redis itself answers (a
 * wrong type: a bug) is passed on as it is.
 */
export class RedisStore implements KeyValueStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (isLost(this.redis)) throw unreachable();
    try {
      return await command();
    } catch (error) {
      const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
      if (name === 'ReplyError' && !OUTAGE_REPLY.test(String(message))) throw error;
      throw unreachable();
    }
  }

  private k(key: string): string {
    return `${this.prefix}:${key}`;
  }

  async get(key: string): Promise<string | null> {
    return this.run(() => this.redis.get(this.k(key)));
  }

  async set(key: string, value: string, options: { nx?: boolean; ttlMs?: number } = {}): Promise<boolean> {
    const args: (string | number)[] = [this.k(key), value];
    if (options.ttlMs !== undefined) args.push('PX', options.ttlMs);
    if (options.nx) args.push('NX');
    return (await this.run(() => this.redis.call('SET', ...args))) === 'OK';
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length > 0) await this.run(() => this.redis.del(...keys.map((key) => this.k(key))));
  }

  async incr(key: string): Promise<number> {
    return this.run(() => this.redis.incr(this.k(key)));
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    await this.run(() => this.redis.pexpire(this.k(key), ttlMs));
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    await this.run(() => this.redis.hset(this.k(key), fields));
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.run(() => this.redis.hget(this.k(key), field));
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    const value = await this.run(() => this.redis.hgetall(this.k(key)));
    return Object.keys(value).length === 0 ? null : value;
  }

  async hdel(key: string, ...fields: string[]): Promise<void> {
    if (fields.length > 0) await this.run(() => this.redis.hdel(this.k(key), ...fields));
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.run(() => this.redis.sadd(this.k(key), ...members));
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.run(() => this.redis.srem(this.k(key), ...members));
  }

  async smembers(key: string): Promise<string[]> {
    return this.run(() => this.redis.smembers(this.k(key)));
  }

  async zadd(key: string, score: number, member: string): Promise<void> {
    await this.run(() => this.redis.zadd(this.k(key), score, member));
  }

  async zrem(key: string, ...members: string[]): Promise<void> {
    if (members.length > 0) await this.run(() => this.redis.zrem(this.k(key), ...members));
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
    const flat = (await this.run(() => this.redis.call('ZRANGE', ...args))) as string[];
    const out: Array<{ member: string; score: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: String(flat[i]), score: Number(flat[i + 1]) });
    return out;
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    return this.run(() => this.redis.zcount(this.k(key), bound(min), bound(max)));
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<void> {
    await this.run(() => this.redis.zremrangebyscore(this.k(key), bound(min), bound(max)));
  }

  async zcard(key: string): Promise<number> {
    return this.run(() => this.redis.zcard(this.k(key)));
  }

  async rpush(key: string, ...values: string[]): Promise<number> {
    return this.run(() => this.redis.rpush(this.k(key), ...values));
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.run(() => this.redis.lrange(this.k(key), start, stop));
  }

  async llen(key: string): Promise<number> {
    return this.run(() => this.redis.llen(this.k(key)));
  }
}
