import type { Redis } from 'ioredis';

/** The subscription commands `@socket.io/redis-adapter` sends and never awaits (the sharded adapter's S-forms included). */
const SUBSCRIPTION_COMMANDS: ReadonlySet<string | symbol> = new Set([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

/**
 * The subscriber connection as the Socket.IO adapter is given it. The adapter sends its
 * SSUBSCRIBE when a namespace is made and whenever a room appears on this server, its
 * SUNSUBSCRIBE when a room is gone and when the server closes, and awaits none of them: with Redis unreachable, each rejection would be unhandled
 * (a gateway drained during an outage logged two `unhandled promise rejection` errors).
 *
 * Here each is handled: a subscribe that fails is sent again on the connection's next
 * `ready`, as {@link Subscriber} does for its own channels, because ioredis restores after
 * a reconnect only the subscriptions Redis confirmed — unless the adapter unsubscribed
 * meanwhile. An unsubscribe that fails is not sent again: ioredis may then restore the
 * subscription after a reconnect, to no listener (the adapter removed its own), until
 * the connection closes, which a gateway does right after its server.
 */
export function adapterSubscription(connection: Redis): Redis {
  const retry = new Map<string, () => void>();
  const unsubscribed = new Set<string>();
  connection.on('ready', () => {
    for (const send of [...retry.values()]) send();
  });
  return new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!SUBSCRIPTION_COMMANDS.has(property)) return method.bind(target);
      const subscribing = !String(property).includes('unsubscribe');
      return (...args: unknown[]): Promise<unknown> => {
        const kind = subscribing ? String(property) : String(property).replace('un', '');
        const key = `${kind} ${JSON.stringify(args)}`;
        // An unsubscribe ends any retry of the same subscription, also one whose SUBSCRIBE
        // is still waiting to fail.
        if (subscribing) unsubscribed.delete(key);
        else {
          retry.delete(key);
          unsubscribed.add(key);
        }
        const send = (): Promise<unknown> => {
          const sent = method.apply(target, args) as Promise<unknown>;
          sent.then(
            () => retry.delete(key),
            () => {
              if (subscribing && !unsubscribed.has(key)) retry.set(key, () => void send());
            },
          );
          return sent;
        };
        return send();
      };
    },
  });
}
