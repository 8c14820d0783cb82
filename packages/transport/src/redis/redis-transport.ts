import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { EndpointBus, type BusObserver } from '../bus';
import { HeartbeatRegistry, type RegistryObserver } from '../registry';
import type { AdapterFactory, Transport } from '../transport';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from '../types';
import { connectRedis, RedisKeys, type ConnectionObserver } from './connection';
import { DEFAULT_REDIS_BUS_OPTIONS, redisBusBackend, type RedisBusOptions } from './redis-bus';
import { redisRoomEmitter } from './redis-emitter';
import { redisRegistryBackend } from './redis-registry';
import { RedisStore } from './redis-store';
import { Subscriber } from './subscriber';

/** Options of {@link createRedisTransport}. */
export interface RedisTransportOptions {
  /** `redis://host:port/db`. */
  url: string;
  /** Every key and channel starts with this (one per deployment, one per test run). */
  prefix: string;
  /** This process's endpoint id (unique per process start). */
  id: string;
  heartbeat?: HeartbeatOptions;
  bus?: Partial<RedisBusOptions>;
  observer?: RegistryObserver & BusObserver & ConnectionObserver & { onEmitError?(error: unknown): void };
}

/**
 * A {@link Transport} over Redis: the distributed build. Opens a command connection, a
 * subscriber for replies and deaths, the adapter's subscriber when a gateway asks for
 * the adapter, and a blocking reader when the endpoint serves.
 */
export function createRedisTransport(options: RedisTransportOptions): Transport {
  const keys = new RedisKeys(options.prefix);
  const observer = options.observer ?? {};
  const connections: Redis[] = [];
  const open = (role: string): Redis => {
    const connection = connectRedis(options.url, `ctos:${options.id}:${role}`, observer);
    connections.push(connection);
    return connection;
  };
  const redis = open('cmd');
  const subscriber = new Subscriber(open('sub'));
  const registry = new HeartbeatRegistry(
    redisRegistryBackend(redis, subscriber, keys),
    options.heartbeat ?? DEFAULT_HEARTBEAT,
    observer,
  );
  const backend = redisBusBackend(options.id, redis, subscriber, () => open('inbox'), keys, {
    ...DEFAULT_REDIS_BUS_OPTIONS,
    ...options.bus,
  });
  const bus = new EndpointBus(options.id, backend, registry, observer);
  let adapter: AdapterFactory | undefined;
  return {
    bus,
    registry,
    emitter: redisRoomEmitter(redis, keys.adapterKey, (error) => observer.onEmitError?.(error)),
    store: new RedisStore(redis, keys.prefix),
    get adapter(): AdapterFactory {
      // The adapter needs its own subscriber (it pattern-subscribes); open it on demand.
      adapter ??= createAdapter(redis, open('adapter-sub'), { key: keys.adapterKey }) as AdapterFactory;
      return adapter;
    },
    attachServer: () => () => undefined,
    healthy: () => connections.every((c) => c.status === 'ready') && registry.healthy,
    dispose: async () => {
      await bus.dispose();
      await registry.dispose();
      for (const connection of connections) connection.disconnect();
    },
  };
}
