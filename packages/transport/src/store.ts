/**
 * The small part of Redis's data model that features keep their state in (session
 * directory, AI history, messages). The Redis implementation maps each call to one
 * command (a {@link KeyValueStore.script} call to an `EVALSHA`, sent with the others of
 * its tick); the memory implementation gives the same answers, and contract tests check
 * both (`packages/transport/test/store-script.test.ts`; each feature's tests run on both).
 * Keys are relative; the store adds the deployment's prefix. Durations are ms.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** `nx`: only if absent (returns false when it was present). `ttlMs`: expire after. */
  set(key: string, value: string, options?: { nx?: boolean; ttlMs?: number }): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  incr(key: string): Promise<number>;
  expire(key: string, ttlMs: number): Promise<void>;
  /** Time left before `key` expires (ms): -1 when it has no expiry, -2 when it does not exist (as Redis's `PTTL`). */
  pttl(key: string): Promise<number>;

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

  /**
   * Runs `script` over `keys` and `args` as one step that nothing else interleaves with,
   * and answers its reply. Calls made in the same tick go out together, in the order
   * made (Redis: one pipeline, so one write and one round trip for all of them), and
   * each is still atomic and answered on its own. So a caller that starts one call per
   * item in a loop pays one round trip, not one per item. A command sent without
   * awaiting a script call made before it may reach Redis first: await what must come after.
   *
   * A script's own failure (a bug) rejects its call with the error; an unreachable Redis
   * rejects every call with `ServiceError('UNAVAILABLE')`, and then whether a script that
   * was already sent ran is unknown.
   */
  script(script: StoreScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<ScriptReply>;
}

/**
 * What a script answers: a flat list of strings and integers (Lua's numbers reach the
 * caller as integers, cut towards zero, so a script replies only with whole numbers).
 */
export type ScriptReply = Array<string | number>;

/**
 * The {@link KeyValueStore}'s commands, answered at once, as a script's memory twin calls
 * them, and `publish`, which a script alone has: it puts `message` on `channel` as part of
 * the script's step, so whoever hears it hears it in the order of the writes (Redis:
 * `SPUBLISH`, on the sharded channels the room adapter reads; memory: to the room hub).
 * See `RoomEmitter.wire` for the channel and message of an emit into a room.
 */
export type StoreCommands = {
  [K in Exclude<keyof KeyValueStore, 'script'>]: (
    ...args: Parameters<KeyValueStore[K]>
  ) => Awaited<ReturnType<KeyValueStore[K]>>;
} & { publish(channel: string, message: string): void };

/**
 * Several commands run as one step, atomically: in Redis a Lua script (sent with
 * `EVALSHA`, loaded once per server), in memory its twin, a function over
 * {@link StoreCommands} that runs synchronously. The two must do the same, answer for
 * answer (the Lua's `redis.call('SPUBLISH', …)` is the twin's `publish`): whoever writes a
 * script tests it on both stores.
 *
 * Both get the keys as the store names them (prefixed in Redis: the Lua touches only
 * `KEYS`, never a key it builds itself) and the arguments as strings (`ARGV`). The Lua
 * runs in Redis's sandbox, where `cjson` reads and writes JSON; it must not read the
 * clock or anything random: the caller passes times in.
 */
export interface StoreScript {
  /** Names the script in errors. */
  readonly name: string;
  /** The Redis implementation. */
  readonly lua: string;
  /** The memory implementation. */
  run(commands: StoreCommands, keys: readonly string[], args: readonly string[]): ScriptReply;
}
