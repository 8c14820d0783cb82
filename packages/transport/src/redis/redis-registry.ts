import type { Redis } from 'ioredis';
import type { DeathNotice, RegistryBackend } from '../registry';
import { WORKER_KINDS } from '../registry';
import type { WorkerInfo, WorkerKind } from '../types';
import type { RedisKeys } from './connection';
import type { Subscriber } from './subscriber';

/** Milliseconds from Redis's own clock, so every process judges liveness by one time. */
const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** How long the registry remembers that it reaped an instance (ms), for the instance to learn it if it was alive. */
const REAPED_MEMORY_MS = 60 * 60 * 1000;

/**
 * KEYS: registry zset, worker hash, reaped marker. ARGV: id, load, capacity, kind, ttl ms.
 * Returns 0 when the id was registered, 2 when it had been reaped, 1 when it was absent.
 */
const BEAT = `${NOW_MS}
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'load', ARGV[2], 'capacity', ARGV[3], 'kind', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if added == 1 and redis.call('DEL', KEYS[3]) == 1 then return 2 end
return added`;

/** KEYS: registry zset. ARGV: deadline ms, worker-hash prefix. Returns [id, load, capacity, age ms, ...]. */
const LIST = `${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local v = redis.call('HMGET', ARGV[2] .. ids[i], 'load', 'capacity')
  if v[1] then
    table.insert(out, ids[i]); table.insert(out, v[1]); table.insert(out, v[2])
    table.insert(out, now - tonumber(ids[i + 1]))
  end
end
return out`;

/**
 * KEYS: the sweep record (a hash: `at`, the last sweep; `grace`, no reaping before it),
 * then every kind's registry zset. ARGV: deadline ms, grace ms, worker-hash prefix, inbox
 * prefix, reaped-marker prefix, its ttl ms, then the kind of each zset, and last the gap
 * ms. Removes and returns [now, id, kind, ...] of the dead, atomically, leaving a marker
 * for each.
 *
 * Every live process sweeps twice a beat, so a gap longer than a beat since the last
 * sweep means nobody could: Redis was down or paused (its clock ran on, so beats now look
 * old by the gap) or every process was blocked. Nobody is reaped then, nor during the
 * grace after it, while live instances reconnect and beat again. A missing record is a
 * first start (or a Redis that lost its data, whose registry is empty too).
 */
const REAP = `${NOW_MS}
local last = tonumber(redis.call('HGET', KEYS[1], 'at') or '')
local grace = tonumber(redis.call('HGET', KEYS[1], 'grace') or '0')
redis.call('HSET', KEYS[1], 'at', now)
if last and now - last > tonumber(ARGV[#ARGV]) then
  grace = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'grace', grace)
end
if now < grace then return {now} end
local out = {now}
for i = 2, #KEYS do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[1]))
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[i], id)
    redis.call('DEL', ARGV[3] .. id, ARGV[4] .. id)
    redis.call('SET', ARGV[5] .. id, '1', 'PX', ARGV[6])
    table.insert(out, id); table.insert(out, ARGV[5 + i])
  end
end
return out`;

type ScriptRedis = Redis & {
  ctosBeat(...args: (string | number)[]): Promise<unknown>;
  ctosList(...args: (string | number)[]): Promise<string[]>;
  ctosReap(...args: (string | number)[]): Promise<string[]>;
};

/** The registry's storage in Redis: a sorted set of last beats per kind, a hash per instance. */
export function redisRegistryBackend(redis: Redis, subscriber: Subscriber, keys: RedisKeys): RegistryBackend {
  const r = redis as ScriptRedis;
  r.defineCommand('ctosBeat', { numberOfKeys: 3, lua: BEAT });
  r.defineCommand('ctosList', { numberOfKeys: 1, lua: LIST, readOnly: true });
  r.defineCommand('ctosReap', { numberOfKeys: WORKER_KINDS.length + 1, lua: REAP });
  const workerPrefix = keys.worker('');
  const inboxPrefix = keys.inbox('');
  const reapedPrefix = keys.data('reg', 'reaped', '');
  return {
    beat: async (info, ttlMs) => {
      const found = await r.ctosBeat(
        keys.registry(info.kind),
        keys.worker(info.id),
        reapedPrefix + info.id,
        info.id,
        info.load,
        info.capacity,
        info.kind,
        ttlMs,
      );
      return (['present', 'absent', 'reaped'] as const)[Number(found)] ?? 'present';
    },
    remove: async (id, kind) => {
      await redis.multi().zrem(keys.registry(kind), id).del(keys.worker(id), keys.inbox(id)).exec();
    },
    list: async (kind, deadlineMs) => {
      const flat = await r.ctosList(keys.registry(kind), deadlineMs, workerPrefix);
      const out: WorkerInfo[] = [];
      for (let i = 0; i + 3 < flat.length; i += 4) {
        out.push({
          id: String(flat[i]),
          kind,
          load: Number(flat[i + 1]),
          capacity: Number(flat[i + 2]),
          ageMs: Number(flat[i + 3]),
        });
      }
      return out;
    },
    reap: async (deadlineMs, gapMs, graceMs) => {
      const flat = await r.ctosReap(
        keys.registry('sweep'),
        ...WORKER_KINDS.map((kind) => keys.registry(kind)),
        deadlineMs,
        graceMs,
        workerPrefix,
        inboxPrefix,
        reapedPrefix,
        REAPED_MEMORY_MS,
        ...WORKER_KINDS,
        gapMs,
      );
      const dead: Array<{ id: string; kind: WorkerKind }> = [];
      for (let i = 1; i + 1 < flat.length; i += 2) dead.push({ id: String(flat[i]), kind: flat[i + 1] as WorkerKind });
      return { at: Number(flat[0]), dead };
    },
    publishDeath: async (dead) => {
      await redis.publish(keys.deathChannel, JSON.stringify(dead));
    },
    subscribeDeaths: async (listener) =>
      subscriber.subscribe(keys.deathChannel, (message) => {
        const dead = JSON.parse(message) as DeathNotice;
        listener(dead);
      }),
    dispose: async () => undefined,
  };
}
