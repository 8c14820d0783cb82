import type { Server } from 'socket.io';
import { EndpointBus, type BusObserver } from '../bus';
import { HeartbeatRegistry, type RegistryObserver } from '../registry';
import type { AdapterFactory, Transport } from '../transport';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from '../types';
import { MemoryAdapterHub } from './memory-adapter';
import { MemoryNetwork } from './memory-network';
import { MemoryStore } from './memory-store';

/** The shared state of one process's in-memory cluster: what Redis is in distributed mode. */
export class MemoryCluster {
  readonly network: MemoryNetwork;
  readonly hub = new MemoryAdapterHub();
  readonly store: MemoryStore;

  constructor(
    readonly heartbeat: HeartbeatOptions = DEFAULT_HEARTBEAT,
    now: () => number = Date.now,
  ) {
    this.network = new MemoryNetwork(now);
    // What the store's scripts publish is emitted into the hub's rooms (RoomEmitter.wire).
    this.store = new MemoryStore(now, (channel, message) => this.hub.publish(channel, message));
  }
}

/** Options of {@link createMemoryTransport}. */
export interface MemoryTransportOptions {
  id: string;
  observer?: RegistryObserver & BusObserver;
}

/** A {@link Transport} on an in-process {@link MemoryCluster}: embedded mode's build. */
export function createMemoryTransport(cluster: MemoryCluster, options: MemoryTransportOptions): Transport {
  const registry = new HeartbeatRegistry(cluster.network.registryBackend(), cluster.heartbeat, options.observer);
  const bus = new EndpointBus(options.id, cluster.network.busBackend(options.id), registry, options.observer);
  return {
    bus,
    registry,
    emitter: cluster.hub.emitter(),
    store: cluster.store,
    adapter: cluster.hub.adapter() as unknown as AdapterFactory,
    attachServer: (server: Server) => cluster.hub.attach(server),
    roomsSubscribed: async () => undefined,
    onResubscribed: () => () => undefined,
    healthy: () => true,
    dispose: async () => {
      await bus.dispose();
      await registry.dispose();
    },
  };
}
