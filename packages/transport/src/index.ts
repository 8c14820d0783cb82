/**
 * @packageDocumentation
 * How ctos-realtime processes reach each other: the bus (requests and ordered sends),
 * the worker registry, room emits into Socket.IO, and the key-value store — each in a
 * Redis build and an in-memory build behind one interface.
 */
export { EndpointBus, type BusBackend, type BusObserver, type Envelope, type ReplyEnvelope } from './bus';
export { MemoryAdapterHub } from './memory/memory-adapter';
export { MemoryNetwork } from './memory/memory-network';
export { MemoryStore } from './memory/memory-store';
export { createMemoryTransport, MemoryCluster, type MemoryTransportOptions } from './memory/memory-transport';
export {
  connectRedis,
  RedisKeys,
  withRedisPassword,
  type ConnectionObserver,
  type RedisTarget,
  type SentinelAddress,
} from './redis/connection';
export { DEFAULT_REDIS_BUS_OPTIONS, type RedisBusOptions } from './redis/redis-bus';
export { RedisStore } from './redis/redis-store';
export { busClient, dispatchBus, type BusClient } from './typed-bus';
export { type EmitErrorObserver } from './redis/outage-tracker';
export { createRedisTransport, type RedisTransportOptions } from './redis/redis-transport';
export { HeartbeatRegistry, WORKER_KINDS, type RegistryBackend, type RegistryObserver } from './registry';
export type { KeyValueStore, ScriptReply, StoreCommands, StoreScript } from './store';
export type { AdapterFactory, Transport } from './transport';
export * from './types';
export { SessionDirectory, type SessionRecord } from './directory/session-directory';
export { createServiceTransport, redisTarget, type ServiceTransportSettings } from './redis/service-transport';
export { runService, type HostedService, type ServiceHostDeps, type ServiceHostOptions } from './redis/service-host';
