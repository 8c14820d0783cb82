import { pendingAfter } from '@ctos/runtime';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Redis, RedisOptions } from 'ioredis';
import { EndpointBus, type BusObserver } from '../bus';
import { HeartbeatRegistry, type RegistryObserver } from '../registry';
import type { AdapterFactory, Transport } from '../transport';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from '../types';
import { connectRedis, RedisKeys, type ConnectionObserver, type RedisTarget } from './connection';
import { DEFAULT_REDIS_BUS_OPTIONS, redisBusBackend, type RedisBusOptions } from './redis-bus';
import { redisRoomEmitter } from './redis-emitter';
import { unwatchFailovers } from './failover-watch';
import { OutageTracker, type EmitErrorObserver } from './outage-tracker';
import { redisRegistryBackend } from './redis-registry';
import { RedisStore } from './redis-store';
import { Subscriber } from './subscriber';
import { adapterSubscription } from './adapter-subscription';

/** Options of {@link createRedisTransport}. */
export interface RedisTransportOptions {
  /**
   * Where Redis is: a `redis://host:port/db` URL, or a master group through Sentinel
   * (`{sentinels, name}`). The password, when given here, is used in place of any in the
   * URL (the `REDIS_PASSWORD` setting).
   */
  redis: RedisTarget;
  /** Every key and channel starts with this (one per deployment, one per test run). */
  prefix: string;
  /** This process's endpoint id (unique per process start). */
  id: string;
  heartbeat?: HeartbeatOptions;
  bus?: Partial<RedisBusOptions>;
  observer?: RegistryObserver & BusObserver & ConnectionObserver & EmitErrorObserver;
}

/**
 * A {@link Transport} over Redis: the distributed build. Opens a command connection
 * (commands, and every PUBLISH: output, replies, heartbeats, in the order made), one
 * subscriber (replies, deaths, and the adapter's room events when a gateway asks for the
 * adapter), and a blocking reader when the endpoint serves.
 *
 * Outages are reported once per outage of the whole transport (see {@link OutageTracker}):
 * `observer.onDown` when the first connection fails or Redis stops answering (a paused
 * Redis errors nothing; the registry notices that its calls go unanswered), `onUp` when
 * all are back.
 */
export function createRedisTransport(options: RedisTransportOptions): Transport {
  const keys = new RedisKeys(options.prefix);
  const observer = options.observer ?? {};
  const outage = new OutageTracker(observer);
  const connections: Redis[] = [];
  let disposed = false;
  const open = (role: string, connectionOptions: RedisOptions = {}): Redis => {
    const connection = connectRedis(
      options.redis,
      `ctos:${options.id}:${role}`,
      {
        onDown: (name, error) => {
          if (!disposed) outage.partDown(name, error);
        },
        onUp: (name) => outage.partUp(name),
      },
      connectionOptions,
    );
    connections.push(connection);
    return connection;
  };
  const redis = open('cmd');
  // Its subscriptions are restored by their owners (Subscriber, adapterSubscription), whole,
  // on every `ready`: ioredis would restore only those confirmed before the last drop.
  const subscription = open('sub', { autoResubscribe: false });
  const subscriber = new Subscriber(subscription);
  const registry = new HeartbeatRegistry(
    redisRegistryBackend(redis, subscriber, keys),
    options.heartbeat ?? DEFAULT_HEARTBEAT,
    {
      onBackendError: (operation, error) => {
        observer.onBackendError?.(operation, error);
        if (!disposed) outage.partDown('registry', error instanceof Error ? error : new Error(String(error)));
      },
      onBackendRecovered: () => {
        observer.onBackendRecovered?.();
        outage.partUp('registry');
      },
    },
  );
  const backend = redisBusBackend(options.id, redis, subscriber, () => open('inbox'), keys, {
    ...DEFAULT_REDIS_BUS_OPTIONS,
    ...options.bus,
  });
  const bus = new EndpointBus(options.id, backend, registry, observer);
  const resubscribed = new Set<() => void>();
  const rooms = roomSubscriptions(redis, subscription, keys.adapterKey, () => {
    for (const listener of resubscribed) listener();
  });
  return {
    bus,
    registry,
    emitter: redisRoomEmitter(redis, keys.adapterKey, (error) => outage.emitFailed(error)),
    store: new RedisStore(redis, keys.prefix),
    get adapter(): AdapterFactory {
      return rooms.adapter();
    },
    attachServer: () => () => undefined,
    roomsSubscribed: () => rooms.subscribed(),
    onResubscribed: (listener) => {
      resubscribed.add(listener);
      return () => resubscribed.delete(listener);
    },
    healthy: () => connections.every((c) => c.status === 'ready') && registry.healthy,
    dispose: async () => {
      disposed = true;
      resubscribed.clear();
      await bus.dispose();
      await registry.dispose();
      for (const connection of connections) {
        unwatchFailovers(connection);
        connection.disconnect();
      }
    },
  };
}

/**
 * The longest a join waits for its room's subscription (ms). A subscription takes a round
 * trip (well under a millisecond); a Redis that takes longer is paused or dropping, and
 * then publishes nothing, or its drop makes the gateway resynchronise its clients.
 */
const SUBSCRIBED_WAIT_MS = 1000;

/**
 * A gateway's rooms over Redis: the sharded adapter, made on demand, on the process's one
 * subscriber connection. Each room has a channel of its own, subscribed while this server
 * has a socket in it (dynamic mode), so a gateway receives only what it delivers. Room
 * events and bus replies arrive on that one connection, in the order Redis took them: a
 * worker publishes its output and then its answer to an attach on one connection, and a
 * gateway that joins the room on that answer has already seen (and not delivered) every
 * chunk the answer's replay holds; on two connections such a chunk could arrive after the
 * join and reach the socket twice.
 */
function roomSubscriptions(
  redis: Redis,
  subscription: Redis,
  channelPrefix: string,
  onResubscribed: () => void,
): { adapter(): AdapterFactory; subscribed(): Promise<void> } {
  let adapter: AdapterFactory | undefined;
  return {
    adapter: () => {
      if (!adapter) {
        // Subscriptions restored first: a client told to resync attaches after them.
        const rooms = adapterSubscription(subscription);
        notifyWhenResubscribed(subscription, onResubscribed);
        adapter = createShardedAdapter(redis, rooms, { channelPrefix, subscriptionMode: 'dynamic' }) as AdapterFactory;
      }
      return adapter;
    },
    // Redis answers the commands of one connection in order: the PING's answer comes after
    // every SSUBSCRIBE sent before it. Down, there is nothing to wait for: the gateway
    // resynchronises its clients once the subscriptions are back. Paused, nothing is
    // published either, so the wait is bounded rather than holding a connect for the pause.
    subscribed: async () => {
      if (!adapter || subscription.status !== 'ready') return;
      await pendingAfter(new Map([['ping', subscription.ping()]]), SUBSCRIBED_WAIT_MS);
    },
  };
}

/**
 * Calls `listener` each time `connection` is ready again after it was lost. It runs in
 * the same tick as ioredis's `ready` (whose handler has just sent the SUBSCRIBEs that
 * restore the subscriptions) and so before any event published after the gap can arrive:
 * a listener that closes client connections there guarantees no client receives a live
 * event on the far side of a gap, which it would take as having everything before it.
 */
function notifyWhenResubscribed(connection: Redis, listener: () => void): void {
  // The connection may be up already when the adapter is first asked for.
  let readyBefore = connection.status === 'ready';
  connection.on('ready', () => {
    if (readyBefore) listener();
    readyBefore = true;
  });
}
