import type { Redis } from 'ioredis';

/** The subscribe commands `@socket.io/redis-adapter` sends (the sharded adapter's S-form included), by their unsubscribe. */
const SUBSCRIBE_OF: ReadonlyMap<string | symbol, string> = new Map([
  ['unsubscribe', 'subscribe'],
  ['punsubscribe', 'psubscribe'],
  ['sunsubscribe', 'ssubscribe'],
]);
const SUBSCRIBES: ReadonlySet<string | symbol> = new Set(SUBSCRIBE_OF.values());
/** Channels per command when subscriptions are restored: bounds one command's size. */
const RESTORE_BATCH = 1000;

/** Handles `sent`'s rejection (Redis unreachable: the next `ready` restores what is wanted); returns it. */
function quiet(sent: Promise<unknown>): Promise<unknown> {
  sent.catch(() => undefined);
  return sent;
}

/**
 * The subscriber connection as the Socket.IO adapter is given it, with the adapter's
 * subscriptions kept by us. The adapter sends SSUBSCRIBE when a namespace is made and
 * whenever a room appears on this server, SUNSUBSCRIBE when a room is gone and when the
 * server closes, and awaits none of them: with Redis unreachable each rejection would be
 * unhandled (a gateway drained during an outage logged them as errors).
 *
 * Here each is handled, and what the adapter wants is a set of its own, sent again whole
 * on every `ready`. The connection must be opened with `autoResubscribe: false`: ioredis
 * restores only the subscriptions Redis had confirmed on the connection before, so a
 * second drop while it re-subscribes thousands of rooms lost the unconfirmed ones for good
 * (live output stopped without a word), and a room left during an outage was restored.
 */
export function adapterSubscription(connection: Redis): Redis {
  const wanted = new Map<string, Set<string>>([...SUBSCRIBES].map((command) => [String(command), new Set()]));
  connection.on('ready', () => {
    for (const [command, channels] of wanted) {
      const all = [...channels];
      const send = connection[command as 'ssubscribe'].bind(connection) as (...c: string[]) => Promise<unknown>;
      for (let i = 0; i < all.length; i += RESTORE_BATCH) quiet(send(...all.slice(i, i + RESTORE_BATCH)));
    }
  });
  return new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      const subscribed = SUBSCRIBES.has(property) ? String(property) : SUBSCRIBE_OF.get(property);
      if (!subscribed) return method.bind(target);
      return (...args: unknown[]): Promise<unknown> => {
        const channels = wanted.get(subscribed)!;
        for (const channel of args.flat()) {
          if (typeof channel !== 'string') continue;
          if (subscribed === property) channels.add(channel);
          else channels.delete(channel);
        }
        return quiet(method.apply(target, args));
      };
    },
  });
}
