import type { KeyValueStore, ScriptReply, StoreScript } from '../store';
import { MemoryCommands, type PublishSink } from './memory-commands';

/**
 * {@link KeyValueStore} in a Map, for embedded mode: each call runs one of
 * {@link MemoryCommands} at once, and a script runs its memory twin at once, so nothing
 * else can run in the middle of it (what Redis guarantees for Lua).
 */
export class MemoryStore implements KeyValueStore {
  private readonly commands: MemoryCommands;

  /** `publish` hears what scripts publish (see {@link MemoryCommands}). */
  constructor(now: () => number = Date.now, publish?: PublishSink) {
    this.commands = new MemoryCommands(now, publish);
  }

  async get(key: string): Promise<string | null> {
    return this.commands.get(key);
  }

  async set(key: string, value: string, options: { nx?: boolean; ttlMs?: number } = {}): Promise<boolean> {
    return this.commands.set(key, value, options);
  }

  async del(...keys: string[]): Promise<void> {
    this.commands.del(...keys);
  }

  async incr(key: string): Promise<number> {
    return this.commands.incr(key);
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    this.commands.expire(key, ttlMs);
  }

  async pttl(key: string): Promise<number> {
    return this.commands.pttl(key);
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    this.commands.hset(key, fields);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.commands.hget(key, field);
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    return this.commands.hgetall(key);
  }

  async hdel(key: string, ...fields: string[]): Promise<void> {
    this.commands.hdel(key, ...fields);
  }

  async sadd(key: string, ...members: string[]): Promise<void> {
    this.commands.sadd(key, ...members);
  }

  async srem(key: string, ...members: string[]): Promise<void> {
    this.commands.srem(key, ...members);
  }

  async smembers(key: string): Promise<string[]> {
    return this.commands.smembers(key);
  }

  async zadd(key: string, score: number, member: string): Promise<void> {
    this.commands.zadd(key, score, member);
  }

  async zrem(key: string, ...members: string[]): Promise<void> {
    this.commands.zrem(key, ...members);
  }

  async zrange(
    key: string,
    range: { min: number; max: number; exclusiveMin?: boolean; reverse?: boolean; limit?: number },
  ): Promise<Array<{ member: string; score: number }>> {
    return this.commands.zrange(key, range);
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    return this.commands.zcount(key, min, max);
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<void> {
    this.commands.zremrangebyscore(key, min, max);
  }

  async zcard(key: string): Promise<number> {
    return this.commands.zcard(key);
  }

  async rpush(key: string, ...values: string[]): Promise<number> {
    return this.commands.rpush(key, ...values);
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.commands.lrange(key, start, stop);
  }

  async llen(key: string): Promise<number> {
    return this.commands.llen(key);
  }

  /**
   * Runs the script's memory twin at once. Its reply is checked as Redis would shape it:
   * a number that is not whole would reach a Redis caller cut to an integer, so it is
   * refused here, where the twin's tests run.
   */
  async script(
    script: StoreScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<ScriptReply> {
    const reply = script.run(this.commands, keys, args.map(String));
    for (const item of reply) {
      if (typeof item === 'number' && !Number.isInteger(item)) {
        throw new Error(`script ${script.name} replied ${item}: a script replies with whole numbers only`);
      }
    }
    return reply;
  }
}
