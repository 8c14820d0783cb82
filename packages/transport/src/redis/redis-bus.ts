import type { Redis } from 'ioredis';
import type { BusBackend, Envelope, ReplyEnvelope } from '../bus';
import { isLost, type RedisKeys } from './connection';
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
  /** How often the owner deletes what it has read (ms). */
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

/** Ids per XDEL: keeps one command's arguments bounded however much was read in a second. */
const XDEL_BATCH = 1000;

/** Pause between XREAD attempts while Redis is unreachable (ms). */
const READ_RETRY_MS = 200;

/** Orders stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}

/**
 * Where a reader that last saw `last` must go on reading after a reconnect. XREAD returns
 * only ids above the one given, so a stream that came back without the entries the
 * reader had seen (Redis restarted without its data, or from an older copy, or the inbox
 * expired) would hide every new entry whose id is not above `last` — for ever, if Redis's
 * clock is behind the one that made `last`. Then everything in the stream is new to the
 * reader, and it reads from the start.
 */
async function resumePoint(conn: Redis, inbox: string, last: string): Promise<string> {
  if (!(await conn.exists(inbox))) return '0-0';
  const info = (await conn.call('XINFO', 'STREAM', inbox)) as unknown[];
  const at = info.indexOf('last-generated-id');
  const newest = at >= 0 ? String(info[at + 1]) : last;
  return compareIds(newest, last) < 0 ? '0-0' : last;
}

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
    // Entries read and not yet deleted. They are deleted by id (XDEL), never "everything
    // below the last id read" (XTRIM MINID): after a stream came back older than the
    // reader, that would delete entries it has not read.
    let read: string[] = [];
    trimTimer = setInterval(() => {
      if (read.length === 0) return;
      const done = read;
      read = [];
      const batch = redis.multi();
      for (let i = 0; i < done.length; i += XDEL_BATCH) batch.xdel(inbox, ...done.slice(i, i + XDEL_BATCH));
      // XDEL is idempotent: ids whose deletion failed (Redis unreachable) go round again,
      // as many as the inbox itself may hold.
      batch
        .pexpire(inbox, options.inboxTtlMs)
        .exec()
        .catch(() => {
          read = [...done, ...read].slice(-options.maxInboxLength);
        });
    }, options.trimIntervalMs);
    trimTimer.unref();
    let recheck = false;
    // After a reconnect ioredis sends the blocked XREAD again as it was; the check runs
    // when it returns (at the latest after `blockMs`).
    let connectedBefore = false;
    conn.on('ready', () => {
      if (connectedBefore) recheck = true;
      connectedBefore = true;
    });
    while (!stopped) {
      let reply: unknown;
      try {
        if (recheck) {
          last = await resumePoint(conn, inbox, last);
          recheck = false;
        }
        reply = await conn.call('XREAD', 'COUNT', 1000, 'BLOCK', options.blockMs, 'STREAMS', inbox, last);
      } catch {
        if (stopped) return;
        // The connection failed: Redis may have come back without this stream, or with
        // an older copy of it. Check before reading on.
        recheck = true;
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply as Array<[string, Array<[string, string[]]>]>) {
        for (const [entryId, fields] of entries) {
          last = entryId;
          read.push(entryId);
          const raw = fields[1];
          if (raw === undefined) continue;
          onEnvelope(JSON.parse(raw) as Envelope);
        }
      }
    }
  };

  return {
    deliver: async (worker, envelope) => {
      // Connection lost: refuse now rather than queue the message behind the reconnect,
      // where the caller could only wait and then hear nothing definite.
      if (isLost(redis)) throw new Error(`redis connection is ${redis.status}`);
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
