import type { Redis } from 'ioredis';
import type { BusBackend, Envelope, ReplyEnvelope } from '../bus';
import type { RedisKeys } from './connection';
import type { Subscriber } from './subscriber';

/** Options of {@link redisBusBackend}. */
export interface RedisBusOptions {
  /**
   * An inbox never grows past about this many entries (XADD MAXLEN ~): a worker that
   * falls this far behind is broken, and its oldest unread messages are dropped.
   */
  maxInboxLength: number;
  /** How long an inbox outlives its last trim (ms); a dead worker's inbox expires. */
  inboxTtlMs: number;
  /** How often the owner trims what it has read (ms). */
  trimIntervalMs: number;
  /** The longest one XREAD blocks (ms) before it is issued again. */
  blockMs: number;
}

export const DEFAULT_REDIS_BUS_OPTIONS: RedisBusOptions = {
  maxInboxLength: 100_000,
  inboxTtlMs: 60 * 60 * 1000,
  trimIntervalMs: 1000,
  blockMs: 5000,
};

/** Pause between XREAD attempts while Redis is unreachable (ms). */
const READ_RETRY_MS = 200;

/**
 * The bus over Redis: each endpoint's inbox is a stream (`XADD` to send, one blocking
 * `XREAD` per endpoint to read, so order is total and a connection blip loses nothing:
 * the reader resumes from the last id it saw); replies go over pub/sub to the
 * requester's channel. See docs/decisions/0002-bus-on-redis-streams.md.
 *
 * `blocking` is a connection of its own (XREAD BLOCK holds it); it is only used if the
 * endpoint serves.
 */
export function redisBusBackend(
  id: string,
  redis: Redis,
  subscriber: Subscriber,
  blocking: () => Redis,
  keys: RedisKeys,
  options: RedisBusOptions = DEFAULT_REDIS_BUS_OPTIONS,
): BusBackend {
  let stopped = false;
  let unsubscribe: (() => void) | undefined;
  let reader: Redis | undefined;
  let trimTimer: NodeJS.Timeout | undefined;
  const inbox = keys.inbox(id);

  const readLoop = async (conn: Redis, onEnvelope: (envelope: Envelope) => void): Promise<void> => {
    // Our inbox is new (ids are unique per process start), so everything in it is ours to read.
    let last = '0-0';
    let trimmedTo = last;
    trimTimer = setInterval(() => {
      if (last === trimmedTo) return;
      trimmedTo = last;
      // Trimming is housekeeping; a failure leaves entries for the next round.
      redis
        .multi()
        .xtrim(inbox, 'MINID', last)
        .pexpire(inbox, options.inboxTtlMs)
        .exec()
        .catch(() => undefined);
    }, options.trimIntervalMs);
    trimTimer.unref();
    while (!stopped) {
      let reply: unknown;
      try {
        reply = await conn.call('XREAD', 'COUNT', 1000, 'BLOCK', options.blockMs, 'STREAMS', inbox, last);
      } catch {
        if (stopped) return;
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply as Array<[string, Array<[string, string[]]>]>) {
        for (const [entryId, fields] of entries) {
          last = entryId;
          const raw = fields[1];
          if (raw === undefined) continue;
          onEnvelope(JSON.parse(raw) as Envelope);
        }
      }
    }
  };

  return {
    deliver: async (worker, envelope) => {
      await redis.xadd(keys.inbox(worker), 'MAXLEN', '~', options.maxInboxLength, '*', 'm', JSON.stringify(envelope));
    },
    reply: async (requester, reply) => {
      await redis.publish(keys.replyChannel(requester), JSON.stringify(reply));
    },
    listenReplies: async (onReply) => {
      unsubscribe = await subscriber.subscribe(keys.replyChannel(id), (message) => {
        onReply(JSON.parse(message) as ReplyEnvelope);
      });
    },
    consume: (onEnvelope) => {
      reader = blocking();
      void readLoop(reader, onEnvelope);
    },
    dispose: async () => {
      stopped = true;
      if (trimTimer) clearInterval(trimTimer);
      unsubscribe?.();
      reader?.disconnect();
    },
  };
}
