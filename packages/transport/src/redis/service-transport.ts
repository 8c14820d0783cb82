import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Transport } from '../transport';
import type { WorkerKind } from '../types';
import type { RedisTarget, SentinelAddress } from './connection';
import { createRedisTransport, type RedisTransportOptions } from './redis-transport';

/** The settings of {@link createServiceTransport}: the common ones every process parses. */
export interface ServiceTransportSettings {
  REDIS_URL?: string | undefined;
  REDIS_SENTINELS?: readonly SentinelAddress[] | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_SENTINEL_AUTH?: boolean | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_PREFIX: string;
  HEARTBEAT_INTERVAL_MS: number;
  HEARTBEAT_MISSED_BEATS: number;
}

/**
 * The Redis transport of one service process, with an id unique to this process start
 * (`<kind>-<host>-<pid>-<random>`, also its inbox and reply address; `transport.bus.id`).
 * The caller has checked the settings with `requireRedis` (one of `REDIS_URL` or
 * `REDIS_SENTINELS` with `REDIS_SENTINEL_NAME`).
 */
export function createServiceTransport(
  kind: WorkerKind,
  settings: ServiceTransportSettings,
  observer: RedisTransportOptions['observer'],
): Transport {
  return createRedisTransport({
    redis: redisTarget(settings),
    prefix: settings.REDIS_PREFIX,
    id: `${kind}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    heartbeat: { intervalMs: settings.HEARTBEAT_INTERVAL_MS, missedBeats: settings.HEARTBEAT_MISSED_BEATS },
    observer,
  });
}

/** The {@link RedisTarget} the settings name: Sentinel when `REDIS_SENTINELS` is set, else `REDIS_URL`. */
export function redisTarget(settings: ServiceTransportSettings): RedisTarget {
  if (settings.REDIS_SENTINELS) {
    return {
      sentinels: settings.REDIS_SENTINELS,
      name: settings.REDIS_SENTINEL_NAME!,
      password: settings.REDIS_PASSWORD,
      sentinelPassword: settings.REDIS_SENTINEL_AUTH ? settings.REDIS_PASSWORD : undefined,
    };
  }
  return { url: settings.REDIS_URL!, password: settings.REDIS_PASSWORD };
}
