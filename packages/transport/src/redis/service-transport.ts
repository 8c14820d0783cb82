import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Transport } from '../transport';
import type { WorkerKind } from '../types';
import { createRedisTransport, type RedisTransportOptions } from './redis-transport';

/** The settings of {@link createServiceTransport}: the common ones every process parses. */
export interface ServiceTransportSettings {
  REDIS_URL?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_PREFIX: string;
  HEARTBEAT_INTERVAL_MS: number;
  HEARTBEAT_MISSED_BEATS: number;
}

/**
 * The Redis transport of one service process, with an id unique to this process start
 * (`<kind>-<host>-<pid>-<random>`, also its inbox and reply address; `transport.bus.id`).
 * The caller has checked that `REDIS_URL` is set.
 */
export function createServiceTransport(
  kind: WorkerKind,
  settings: ServiceTransportSettings,
  observer: RedisTransportOptions['observer'],
): Transport {
  return createRedisTransport({
    url: settings.REDIS_URL!,
    password: settings.REDIS_PASSWORD,
    prefix: settings.REDIS_PREFIX,
    id: `${kind}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    heartbeat: { intervalMs: settings.HEARTBEAT_INTERVAL_MS, missedBeats: settings.HEARTBEAT_MISSED_BEATS },
    observer,
  });
}
