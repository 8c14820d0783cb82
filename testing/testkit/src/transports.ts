import {
  createMemoryTransport,
  createRedisTransport,
  MemoryCluster,
  type HeartbeatOptions,
  type Transport,
} from '@ctos/transport';
import { deletePrefix, SHARED_REDIS_URL, uniquePrefix } from './redis';

/** The two builds every store-dependent behaviour is checked on. */
export const BUILDS = ['memory', 'redis'] as const;
export type Build = (typeof BUILDS)[number];

/** Transports of one build that see each other, and the cleanup of what they stored. */
export interface TransportFactory {
  /** The Redis key prefix (unused by the memory build). */
  prefix: string;
  open(id: string): Transport;
  /** Disposes every transport opened and deletes the prefix's keys. */
  cleanup(): Promise<void>;
}

/**
 * Opens transports of one build — one in-process cluster, or the shared Redis under a
 * prefix of this test's own — for tests that compose services in-process.
 */
export function transportFactory(build: Build, heartbeat: HeartbeatOptions, name = 'test'): TransportFactory {
  const opened: Transport[] = [];
  const prefix = uniquePrefix(name);
  const cluster = build === 'memory' ? new MemoryCluster(heartbeat) : undefined;
  return {
    prefix,
    open: (id) => {
      const transport = cluster
        ? createMemoryTransport(cluster, { id })
        : createRedisTransport({ redis: { url: SHARED_REDIS_URL }, prefix, id, heartbeat });
      opened.push(transport);
      return transport;
    },
    cleanup: async () => {
      for (const transport of opened.splice(0)) await transport.dispose();
      if (!cluster) await deletePrefix(SHARED_REDIS_URL, prefix);
    },
  };
}
