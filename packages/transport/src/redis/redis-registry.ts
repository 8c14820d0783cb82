import type { Redis } from 'ioredis';
import type { RegistryBackend } from '../registry';
import { WORKER_KINDS } from '../registry';
import type { WorkerInfo, WorkerKind } from '../types';
import type { RedisKeys } from './connection';
import type { Subscriber } from './subscriber';

/** Milliseconds from Redis's own clock, so every process judges liveness by one time. */
const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: registry zset, worker hash. ARGV: id, load, capacity, kind, ttl ms. */
const BEAT = `${NOW_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], 'load', ARGV[2], 'capacity', ARGV[3], 'kind', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])`;

/** KEYS: registry zset. ARGV: deadline ms, worker-hash prefix. Returns [id, load, capacity, ...]. */
const LIST = `${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', ARGV[2] .. id, 'load', 'capacity')
  if v[1] then table.insert(out, id); table.insert(out, v[1]); table.insert(out, v[2]) end
end
return out`;

/**
 * KEYS: every kind's registry zset. ARGV: deadline ms, worker-hash prefix, inbox prefix,
 * then the kind of each key. Removes and returns [id, kind, ...] of the dead, atomically.
 */
const REAP = `${NOW_MS}
local out = {}
for i, key in ipairs(KEYS) do
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[1]))
  for _, id in ipairs(ids) do
    redis.call('ZREM', key, id)
    redis.call('DEL', ARGV[2] .. id, ARGV[3] .. id)
    table.insert(out, id); table.insert(out, ARGV[3 + i])
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
  r.defineCommand('ctosBeat', { numberOfKeys: 2, lua: BEAT });
  r.defineCommand('ctosList', { numberOfKeys: 1, lua: LIST, readOnly: true });
  r.defineCommand('ctosReap', { numberOfKeys: WORKER_KINDS.length, lua: REAP });
  const workerPrefix = keys.worker('');
  const inboxPrefix = keys.inbox('');
  return {
    beat: async (info, ttlMs) => {
      await r.ctosBeat(
        keys.registry(info.kind),
        keys.worker(info.id),
        info.id,
        info.load,
        info.capacity,
        info.kind,
        ttlMs,
      );
    },
    remove: async (id, kind) => {
      await redis.multi().zrem(keys.registry(kind), id).del(keys.worker(id), keys.inbox(id)).exec();
    },
    list: async (kind, deadlineMs) => {
      const flat = await r.ctosList(keys.registry(kind), deadlineMs, workerPrefix);
      const out: WorkerInfo[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        out.push({ id: String(flat[i]), kind, load: Number(flat[i + 1]), capacity: Number(flat[i + 2]) });
      }
      return out;
    },
    reap: async (deadlineMs) => {
      const flat = await r.ctosReap(
        ...WORKER_KINDS.map((kind) => keys.registry(kind)),
        deadlineMs,
        workerPrefix,
        inboxPrefix,
        ...WORKER_KINDS,
      );
      const out: Array<{ id: string; kind: WorkerKind }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), kind: flat[i + 1] as WorkerKind });
      return out;
    },
    publishDeath: async (dead) => {
      await redis.publish(keys.deathChannel, JSON.stringify(dead));
    },
    subscribeDeaths: async (listener) =>
      subscriber.subscribe(keys.deathChannel, (message) => {
        const dead = JSON.parse(message) as { id: string; kind: WorkerKind };
        listener(dead);
      }),
    dispose: async () => undefined,
  };
}
