import type { Redis } from 'ioredis';

/**
 * One subscriber connection shared by every channel a process listens to (replies,
 * deaths), one listener set per channel.
 *
 * Every channel is subscribed again on every `ready`; the connection is opened with
 * `autoResubscribe: false`, because ioredis restores only the subscriptions Redis had
 * confirmed before the last drop: one whose SUBSCRIBE failed (Redis was down when the
 * process started) or was still unanswered when the connection dropped a second time
 * would be lost, and with it the process's replies.
 */
export class Subscriber {
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  /** Channels whose SUBSCRIBE has not been confirmed yet, with who waits for it. */
  private readonly unconfirmed = new Map<string, Array<() => void>>();

  constructor(private readonly connection: Redis) {
    connection.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
    connection.on('ready', () => {
      for (const channel of this.handlers.keys()) this.trySubscribe(channel);
    });
  }

  /** Listens on `channel`; resolves once Redis confirmed the subscription (however long that takes). */
  async subscribe(channel: string, handler: (message: string) => void): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      const confirmed = new Promise<void>((resolve) => this.unconfirmed.set(channel, [resolve]));
      this.trySubscribe(channel);
      await confirmed;
    } else {
      const waiting = this.unconfirmed.get(channel);
      if (waiting) await new Promise<void>((resolve) => waiting.push(resolve));
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(channel);
        this.unconfirmed.delete(channel);
        // Unsubscribing from a closed connection is moot.
        this.connection.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private trySubscribe(channel: string): void {
    this.connection.subscribe(channel).then(
      () => {
        const waiting = this.unconfirmed.get(channel);
        this.unconfirmed.delete(channel);
        for (const resolve of waiting ?? []) resolve();
      },
      () => {
        // Redis is unreachable; the next `ready` sends it again.
      },
    );
  }
}
