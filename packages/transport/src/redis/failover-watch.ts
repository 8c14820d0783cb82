import { Redis, type RedisOptions } from 'ioredis';

/** What a watch needs of a Sentinel target (see `RedisTarget`). */
interface WatchedGroup {
  sentinels: ReadonlyArray<{ host: string; port: number }>;
  name: string;
  sentinelPassword?: string | undefined;
}

/**
 * Tells a process's connections through Sentinel of each promotion in their master group,
 * the moment the Sentinels announce it (`+switch-master`, "<name> <old ip> <old port>
 * <new ip> <new port>"), so that they leave the old primary at once.
 *
 * Without it a connection stays on a primary that was only paused (SIGSTOP, a frozen VM, a
 * partition): once it answers again it takes writes — and acknowledges them — until a
 * Sentinel demotes it and kills its clients, seconds later; the promoted replica never
 * has those writes, so acknowledged messages are lost and their ids given out again.
 *
 * One subscriber per Sentinel, shared by every connection of the group in the process;
 * closed with the last connection. Every Sentinel announces a promotion (each when it
 * learns of it, some before the leader): one promotion, one old→new pair, is acted on
 * once, so connections already on the new primary are not cut again. A connection that is not `ready` is left alone: it is
 * between connections, and asks the Sentinels for the primary when it connects (ioredis's
 * own detector disconnects those too, which can end a connection for good).
 */
class FailoverWatch {
  private readonly connections = new Set<Redis>();
  private readonly subscribers: Redis[];
  /** The last promotion acted on: "<old ip> <old port> <new ip> <new port>". */
  private lastSwitch: string | undefined;

  /** `reconnect`: the connections' own backoff, which the subscribers use too. */
  constructor(
    group: WatchedGroup,
    reconnect: RedisOptions['retryStrategy'],
    private readonly onIdle: () => void,
  ) {
    this.subscribers = group.sentinels.map(({ host, port }) => {
      const subscriber = new Redis({
        host,
        port,
        ...(group.sentinelPassword === undefined ? {} : { password: group.sentinelPassword }),
        connectionName: 'ctos:failover-watch',
        maxRetriesPerRequest: null,
        ...(reconnect ? { retryStrategy: reconnect } : {}),
      });
      // A Sentinel that is down is one of several; the connections' own errors are reported.
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, message: string) => {
        const [name, ...addresses] = message.split(' ');
        if (name !== group.name || addresses.join(' ') === this.lastSwitch) return;
        this.lastSwitch = addresses.join(' ');
        this.switched();
      });
      subscriber.subscribe('+switch-master').catch(() => undefined);
      return subscriber;
    });
  }

  add(connection: Redis): void {
    this.connections.add(connection);
    connection.once('end', () => this.remove(connection));
  }

  /** Stops watching for `connection` (ended, or disposed while reconnecting: ioredis then emits no 'end'). */
  remove(connection: Redis): void {
    if (!this.connections.delete(connection) || this.connections.size > 0) return;
    for (const subscriber of this.subscribers) subscriber.disconnect();
    this.onIdle();
  }

  /** A replica was promoted: every ready connection drops its socket and reconnects through the Sentinels. */
  private switched(): void {
    for (const connection of this.connections) {
      if (connection.status === 'ready') connection.stream.destroy();
    }
  }
}

/** The watches of this process, one per Sentinel set and master group. */
const watches = new Map<string, FailoverWatch>();

/**
 * Has `connection`, made through the Sentinels of `group`, leave its primary as soon as
 * the Sentinels promote another (see {@link FailoverWatch}), until it ends.
 */
export function watchFailovers(group: WatchedGroup, connection: Redis): void {
  const key = `${group.name}@${group.sentinels.map(({ host, port }) => `${host}:${port}`).join(',')}`;
  let watch = watches.get(key);
  if (!watch) {
    watch = new FailoverWatch(group, connection.options.retryStrategy, () => watches.delete(key));
    watches.set(key, watch);
  }
  watch.add(connection);
}

/** Stops watching failovers for `connection`, made through Sentinel or not; call when disposing of it. */
export function unwatchFailovers(connection: Redis): void {
  for (const watch of watches.values()) watch.remove(connection);
}
