import { Redis, type RedisOptions } from 'ioredis';
import { watchFailovers } from './failover-watch';

/**
 * Hooks that hear outages once each, not once per failed command. {@link connectRedis}
 * calls them per connection; `createRedisTransport` calls them once per outage of the
 * whole transport (any connection down, or Redis not answering).
 */
export interface ConnectionObserver {
  /** `name`: what failed first (a connection's name, or `registry`). */
  onDown?(name: string, error: Error): void;
  /** Everything is up again; `outageMs` is how long it was down (the transport's hook only). */
  onUp?(name: string, outageMs?: number): void;
}

/** Longest wait between reconnect attempts (ms): Redis back within 5 s is noticed within 5 s. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** Connections that have been ready at least once. */
const everReady = new WeakSet<Redis>();

/**
 * True while a connection that was ready is not: a command issued now would wait in
 * ioredis's queue for the reconnect (up to a few seconds) or fail then, so callers refuse
 * at once instead. Before the first `ready` commands queue, as a process starts.
 */
export function isLost(redis: Redis): boolean {
  return redis.status !== 'ready' && everReady.has(redis);
}

/**
 * A command was written to Redis and the connection was lost before its answer: it may
 * or may not have run. Callers must not report it as refused (it may have run) nor send
 * it again blindly (it may run twice).
 */
export class OutcomeUnknownError extends Error {
  constructor() {
    super('the connection to Redis was lost before the answer; the command may or may not have run');
    this.name = 'OutcomeUnknownError';
  }
}

/** ioredis's own method that fails the commands it holds (not in its type declarations). */
interface FlushableRedis {
  flushQueue(error: Error, options: { offlineQueue: boolean; commandQueue: boolean }): void;
}

/** One Sentinel's address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is: one server by URL (`redis://[user:password@]host:port/db`), or the
 * primary of a master group found through Sentinel, asked again on every reconnect so a
 * failover is followed (the `REDIS_SENTINELS` settings). `password` is the data nodes'
 * (in place of any in `url`); `sentinelPassword` the Sentinels' own.
 */
export type RedisTarget =
  | { url: string; password?: string | undefined }
  | {
      sentinels: readonly SentinelAddress[];
      name: string;
      password?: string | undefined;
      sentinelPassword?: string | undefined;
    };

/** ioredis options that reach `target`. */
function targetOptions(target: RedisTarget): { url?: string; options: RedisOptions } {
  if ('url' in target) {
    return {
      url: target.password === undefined ? target.url : withRedisPassword(target.url, target.password),
      options: {},
    };
  }
  return {
    options: {
      sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
      name: target.name,
      // Connected, the server must say it is the primary (`ROLE`), or ioredis reconnects.
      role: 'master',
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      // Promotions are watched by `watchFailovers`, not ioredis's `failoverDetector`,
      // which in 6.0 can disconnect a connection still connecting, which then ends for good.
      sentinelRetryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    },
  };
}

/**
 * Opens an ioredis connection that reconnects for ever with a short capped backoff and
 * reports each outage once: the first error or unexpected close, then the next `ready`.
 * `name` shows in `CLIENT LIST` and in logs. Through Sentinel (`target.sentinels`) each
 * (re)connect asks the Sentinels for the current primary and checks its role, and a
 * promotion they announce drops the connection from the old primary at once
 * (`watchFailovers`).
 *
 * When the connection drops, the commands already written and not answered fail at once
 * with {@link OutcomeUnknownError}. ioredis would otherwise send them again after the
 * reconnect (`autoResendUnfulfilledCommands`), running twice whatever had run before the
 * drop — a keystroke typed twice, a reply chunk stored twice. Commands not yet written
 * wait for the reconnect and fail with the third attempt (`maxRetriesPerRequest: 2`).
 * Confirmed subscriptions are restored by ioredis (`autoResubscribe`), unless `options`
 * turn that off for a connection whose subscribers restore their own.
 */
export function connectRedis(
  target: string | RedisTarget,
  name: string,
  observer: ConnectionObserver = {},
  options: RedisOptions = {},
): Redis {
  const { url, options: reach } = targetOptions(typeof target === 'string' ? { url: target } : target);
  const settings: RedisOptions = {
    ...reach,
    connectionName: name,
    protocol: 2,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    ...options,
  };
  const redis = url === undefined ? new Redis(settings) : new Redis(url, settings);
  if (typeof target !== 'string' && 'sentinels' in target) watchFailovers(target, redis);
  let down = false;
  const lost = (error: Error): void => {
    if (down) return;
    down = true;
    observer.onDown?.(name, error);
  };
  redis.on('error', lost);
  redis.on('close', () => {
    // The queue of written commands is still the old connection's here (the reconnect has
    // not started): fail them, as they will not be sent again.
    (redis as unknown as FlushableRedis).flushQueue(new OutcomeUnknownError(), {
      offlineQueue: false,
      commandQueue: true,
    });
    // After disconnect() the status is `end`: a close we asked for is no outage.
    if (redis.status !== 'end') lost(new Error('connection closed'));
  });
  redis.on('ready', () => {
    everReady.add(redis);
    if (!down) return;
    down = false;
    observer.onUp?.(name);
  });
  return redis;
}

/**
 * `url` with `password` in place of any password it carries, percent-encoded as ioredis
 * decodes it (a user name in the URL, for Redis ACLs, is kept).
 */
export function withRedisPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.href;
}

/** Key names under one prefix, so test runs and deployments never collide. */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  registry(kind: string): string {
    return `${this.prefix}:reg:${kind}`;
  }
  worker(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }
  inbox(id: string): string {
    return `${this.prefix}:inbox:${id}`;
  }
  replyChannel(id: string): string {
    return `${this.prefix}:reply:${id}`;
  }
  get deathChannel(): string {
    return `${this.prefix}:deaths`;
  }
  /** The channel prefix of `@socket.io/redis-adapter`'s sharded adapter, which the room emitter must share. */
  get adapterKey(): string {
    return `${this.prefix}:socket.io`;
  }
  /** A key of a feature's own (directories, histories, messages). */
  data(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}
