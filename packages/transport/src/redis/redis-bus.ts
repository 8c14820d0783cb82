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
 * Reads one endpoint's inbox stream in order, from the start (the inbox is new: ids are
 * unique per process start), and deletes what it has read every `trimIntervalMs`. Runs on
 * a connection of its own: XREAD BLOCK holds it.
 */
class InboxReader {
  private stopped = false;
  private last = '0-0';
  /**
   * Entries read and not yet deleted. They are deleted by id (XDEL), never "everything
   * below the last id read" (XTRIM MINID): after a stream came back older than the reader,
   * that would delete entries it has not read.
   */
  private read: string[] = [];
  private readonly trimTimer: NodeJS.Timeout;
  /** Set when the connection failed or came back: see {@link resumePoint}. */
  private recheck = false;

  constructor(
    private readonly redis: Redis,
    private readonly conn: Redis,
    private readonly inbox: string,
    private readonly options: RedisBusOptions,
    onEnvelope: (envelope: Envelope) => void,
  ) {
    this.trimTimer = setInterval(() => this.trim(), options.trimIntervalMs);
    this.trimTimer.unref();
    // After a reconnect ioredis sends the blocked XREAD again as it was; the check runs
    // when it returns (at the latest after `blockMs`).
    let connectedBefore = false;
    conn.on('ready', () => {
      if (connectedBefore) this.recheck = true;
      connectedBefore = true;
    });
    void this.loop(onEnvelope);
  }

  /** Stops reading and closes the reading connection. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.trimTimer);
    this.conn.disconnect();
  }

  private trim(): void {
    if (this.read.length === 0) return;
    const done = this.read;
    this.read = [];
    const batch = this.redis.multi();
    for (let i = 0; i < done.length; i += XDEL_BATCH) batch.xdel(this.inbox, ...done.slice(i, i + XDEL_BATCH));
    // XDEL is idempotent: ids whose deletion failed (Redis unreachable) go round again,
    // as many as the inbox itself may hold.
    batch
      .pexpire(this.inbox, this.options.inboxTtlMs)
      .exec()
      .catch(() => {
        this.read = [...done, ...this.read].slice(-this.options.maxInboxLength);
      });
  }

  private async loop(onEnvelope: (envelope: Envelope) => void): Promise<void> {
    while (!this.stopped) {
      let reply: unknown;
      try {
        if (this.recheck) {
          this.last = await resumePoint(this.conn, this.inbox, this.last);
          this.recheck = false;
        }
        reply = await this.conn.call(
          'XREAD',
          'COUNT',
          1000,
          'BLOCK',
          this.options.blockMs,
          'STREAMS',
          this.inbox,
          this.last,
        );
      } catch {
        if (this.stopped) return;
        // The connection failed: Redis may have come back without this stream, or with
        // an older copy of it. Check before reading on.
        this.recheck = true;
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply as Array<[string, Array<[string, string[]]>]>) {
        for (const [entryId, fields] of entries) {
          this.last = entryId;
          this.read.push(entryId);
          const raw = fields[1];
          if (raw === undefined) continue;
          onEnvelope(JSON.parse(raw) as Envelope);
        }
      }
    }
  }
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
  let unsubscribe: (() => void) | undefined;
  let reader: InboxReader | undefined;
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
      reader = new InboxReader(redis, blocking(), keys.inbox(id), options, onEnvelope);
    },
    dispose: async () => {
      reader?.stop();
      unsubscribe?.();
    },
  };
}
