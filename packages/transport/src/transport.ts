import type { Server } from 'socket.io';
import type { KeyValueStore } from './store';
import type { Bus, Registry, RoomEmitter } from './types';

/** A Socket.IO adapter constructor, as `new Server(..., { adapter })` takes it. */
export type AdapterFactory = NonNullable<ConstructorParameters<typeof Server>[1]>['adapter'];

/**
 * Everything a process needs to take part in the cluster, in one of two builds:
 * Redis ({@link createRedisTransport}) or in-process ({@link createMemoryTransport}).
 * Services take a Transport and never know which.
 */
export interface Transport {
  readonly bus: Bus;
  readonly registry: Registry;
  readonly emitter: RoomEmitter;
  readonly store: KeyValueStore;
  /** The Socket.IO adapter a gateway's server must use, so rooms span the cluster. */
  readonly adapter: AdapterFactory;
  /** Gateways call this with their server once it exists. */
  attachServer(server: Server): () => void;
  /**
   * Resolves once every room subscription this process has asked for so far is in place.
   * Joining a socket to a room this server had no socket in subscribes to the room's
   * channel, which takes a round trip to Redis: a gateway awaits this after a join and
   * before the room's output may flow (the release of a worker's hold), or the first
   * events could pass it by. Never rejects; immediate in the in-memory build.
   */
  roomsSubscribed(): Promise<void>;
  /**
   * Calls `listener` each time the room events for this process's sockets were cut off
   * (the adapter's subscription connection was lost) and are about to flow again — before
   * any event from after the gap arrives: whatever was emitted in between never reached
   * its sockets, so a gateway makes its clients resynchronise. Never called by the
   * in-memory build, which cannot lose events.
   */
  onResubscribed(listener: () => void): () => void;
  /** True while every connection the transport needs is up and Redis answers. */
  healthy(): boolean;
  dispose(): Promise<void>;
}
