import type { Server } from 'socket.io';
import { ClusterAdapter, type ClusterMessage, type ClusterResponse } from 'socket.io-adapter';
import type { RoomEmitter, RoomWire, ServerPayload } from '../types';
import type { ServerEventName } from '@ctos/protocol';

type AdapterConstructor = new (nsp: { name: string }) => ClusterAdapter;

/**
 * Joins Socket.IO servers of one process into one cluster, the way
 * `@socket.io/redis-adapter` joins servers of many processes: rooms span every server,
 * so an emit into a room reaches sockets on each of them. Embedded mode has one server;
 * the contract tests run two.
 */
export class MemoryAdapterHub {
  private readonly adapters = new Map<string, Set<HubAdapter>>();
  private readonly servers = new Set<Server>();

  /** The adapter constructor to give `new Server(..., { adapter })`. */
  adapter(): AdapterConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below needs the hub
    const hub = this;
    return class extends HubAdapter {
      constructor(nsp: { name: string }) {
        super(nsp, hub);
      }
    } as unknown as AdapterConstructor;
  }

  /** Registers a server whose `to(room).emit` the hub's emitter may use. */
  attach(server: Server): () => void {
    this.servers.add(server);
    return () => this.servers.delete(server);
  }

  /** A {@link RoomEmitter} that reaches every server attached to the hub. */
  emitter(): RoomEmitter {
    return {
      emit: async <E extends ServerEventName>(room: string | string[], event: E, payload: ServerPayload<E>) => {
        this.emitNow(room, event, payload);
        return true;
      },
      // What a store script publishes comes back through the store's sink to publish().
      wire: (): RoomWire => ({ channel: ['', ''], head: ['{"room":', ',"data":'], tail: '}' }),
    };
  }

  /**
   * Emits what a store script published with the emitter's {@link RoomEmitter.wire}:
   * `message` is `{"room": <room>, "data": [event, payload]}`. The memory transport
   * gives this to its store as the store's publish sink.
   */
  publish(_channel: string, message: string): void {
    const { room, data } = JSON.parse(message) as { room: string; data: [string, unknown] };
    this.emitNow(room, data[0], data[1]);
  }

  private emitNow(room: string | string[], event: string, payload: unknown): void {
    // Any server will do: its cluster adapter forwards to the others. With none
    // attached there is no socket to reach.
    const server = this.servers.values().next().value;
    if (!server) return;
    (server.to(room) as unknown as { emit(event: string, payload: unknown): void }).emit(event, payload);
  }

  /** @internal */
  join(name: string, adapter: HubAdapter): void {
    let set = this.adapters.get(name);
    if (!set) this.adapters.set(name, (set = new Set()));
    set.add(adapter);
  }

  /** @internal */
  leave(name: string, adapter: HubAdapter): void {
    this.adapters.get(name)?.delete(adapter);
  }

  /** @internal */
  peers(name: string): Set<HubAdapter> {
    return this.adapters.get(name) ?? new Set();
  }
}

/** One server's adapter in a {@link MemoryAdapterHub}. */
class HubAdapter extends ClusterAdapter {
  constructor(
    nsp: { name: string },
    private readonly hub: MemoryAdapterHub,
  ) {
    super(nsp);
    hub.join(nsp.name, this);
  }

  override close(): void {
    this.hub.leave(this.nsp.name, this);
  }

  override serverCount(): Promise<number> {
    return Promise.resolve(this.hub.peers(this.nsp.name).size);
  }

  protected override async doPublish(message: ClusterMessage): Promise<string> {
    for (const peer of this.hub.peers(this.nsp.name)) {
      if (peer !== this) peer.onMessage(message);
    }
    return '';
  }

  protected override async doPublishResponse(requesterUid: string, response: ClusterResponse): Promise<void> {
    for (const peer of this.hub.peers(this.nsp.name)) {
      if (peer.uid === requesterUid) peer.onResponse(response);
    }
  }
}
