import type { Redis } from 'ioredis';

/**
 * One subscriber connection shared by every channel a process listens to (replies,
 * deaths). ioredis re-subscribes after a reconnect; each channel has one listener set.
 */
export class Subscriber {
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(private readonly connection: Redis) {
    connection.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
  }

  /** Listens on `channel`; resolves once Redis confirmed the subscription. */
  async subscribe(channel: string, handler: (message: string) => void): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      await this.connection.subscribe(channel);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(channel);
        // Unsubscribing from a closed connection is moot.
        this.connection.unsubscribe(channel).catch(() => undefined);
      }
    };
  }
}
