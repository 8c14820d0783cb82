import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore, ScriptReply, StoreScript } from '../store';
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

/** Redis's answer to `EVALSHA` of a script it does not hold (never loaded, or lost in a restart or failover). */
const NO_SCRIPT = /^NOSCRIPT\b/;

/**
 * What a failed command is to a caller: an error Redis answered is passed on as it is (a
 * wrong type, a script's own error: a bug), unless it is an outage reply; anything else
 * (the connection lost, a command that timed out) means Redis cannot be reached.
 */
function storeError(error: unknown): unknown {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (name === 'ReplyError' && !OUTAGE_REPLY.test(String(message))) return error;
  return unreachable();
}

/** A script's SHA-1, as `EVALSHA` names it; computed once per script. */
const shas = new WeakMap<StoreScript, string>();
function shaOf(script: StoreScript): string {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script.lua).digest('hex');
    shas.set(script, sha);
  }
  return sha;
}

/** A {@link RedisStore.script} call waiting for the end of the tick, when its pipeline goes out. */
interface ScriptCall {
  script: StoreScript;
  keys: readonly string[];
  args: ReadonlyArray<string | number>;
  resolve(reply: ScriptReply): void;
  reject(error: unknown): void;
}

/** The reply of `call` as a {@link ScriptReply}. @throws Error when the Lua replied with something else (a bug). */
function asReply(call: ScriptCall, value: unknown): ScriptReply {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return value as ScriptReply;
  }
  throw new Error(`script ${call.script.name} replied ${JSON.stringify(value)}, not a flat list`);
}

/**
 * {@link KeyValueStore} over ioredis, every key under `prefix:`. A call that cannot reach
 * Redis rejects with `ServiceError('UNAVAILABLE')` — at once while the connection is
 * known to be lost, instead of waiting in ioredis's queue for the reconnect — so callers
 * answer "try again shortly", not "internal error". An error Redis itself answers (a
 * wrong type, a script's own error: a bug) is passed on as it is. Script calls of one
 * tick share one pipeline (see {@link RedisStore.script}), so a caller that writes for a
 * thousand users pays one write and one round trip, not a thousand.
 */
export class RedisStore implements KeyValueStore {
  /** Script calls made in this tick, sent together at its end. */
  private scriptCalls: ScriptCall[] = [];
  /** The scripts loaded over each connection (ioredis's socket, new at each reconnect). */
  private readonly loaded = new WeakMap<object, Set<StoreScript>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (isLost(this.redis)) throw unreachable();
    try {
      return await command();
    } catch (error) {
      throw storeError(error);
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

  async pttl(key: string): Promise<number> {
    return this.run(() => this.redis.pttl(this.k(key)));
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

  /**
   * Queues the call; the tick's calls go out at its end as one pipeline of `EVALSHA`s
   * (one write, one round trip), preceded by a `SCRIPT LOAD` of each script not yet
   * loaded over this connection, so calls run in the order made. Should the server
   * still not know one (flushed or replaced while the connection stayed up), its calls
   * are answered `NOSCRIPT` without running and are sent again after a load; only then
   * can they run after calls of other scripts made later in the same tick. A second
   * `NOSCRIPT` rejects them as unreachable (`UNAVAILABLE`), as other connection trouble.
   */
  async script(
    script: StoreScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<ScriptReply> {
    if (isLost(this.redis)) throw unreachable();
    return new Promise<ScriptReply>((resolve, reject) => {
      if (this.scriptCalls.push({ script, keys, args, resolve, reject }) === 1) {
        process.nextTick(() => void this.sendScripts(this.scriptCalls.splice(0), false));
      }
    });
  }

  /** Sends `calls` in one pipeline, loading first what the connection may lack; settles each call. Never rejects. */
  private async sendScripts(calls: ScriptCall[], again: boolean): Promise<void> {
    const connection: object = this.redis.stream ?? this.redis;
    const known = this.loaded.get(connection) ?? new Set<StoreScript>();
    this.loaded.set(connection, known);
    const load = [...new Set(calls.map((call) => call.script))].filter((script) => again || !known.has(script));
    const pipeline = this.redis.pipeline();
    for (const script of load) {
      pipeline.script('LOAD', script.lua);
      known.add(script);
    }
    for (const { script, keys, args } of calls) {
      pipeline.evalsha(shaOf(script), keys.length, ...keys.map((key) => this.k(key)), ...args);
    }
    let results: Array<[Error | null, unknown]>;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      for (const script of load) known.delete(script);
      for (const call of calls) call.reject(storeError(error));
      return;
    }
    // A script that could not be loaded (Redis out of memory, say): its calls failed for that.
    const unloaded = new Map<StoreScript, Error>();
    load.forEach((script, i) => {
      const [error] = results[i] ?? [unreachable()];
      if (error) {
        known.delete(script);
        unloaded.set(script, error);
      }
    });
    const notLoaded: ScriptCall[] = [];
    calls.forEach((call, i) => {
      const [error, value] = results[load.length + i] ?? [unreachable(), null];
      const loadError = unloaded.get(call.script);
      if (loadError) call.reject(storeError(loadError));
      else if (error && NO_SCRIPT.test(error.message)) {
        if (!again) notLoaded.push(call);
        else {
          // Loaded and forgotten again within one round trip: the server is being flushed
          // or replaced under us (a failover), which is an outage, not a bug; the next call loads it anew.
          known.delete(call.script);
          call.reject(unreachable());
        }
      } else if (error) call.reject(storeError(error));
      else {
        try {
          call.resolve(asReply(call, value));
        } catch (notAList) {
          call.reject(notAList);
        }
      }
    });
    if (notLoaded.length > 0) await this.sendScripts(notLoaded, true);
  }
}
