import { Redis, type RedisOptions } from 'ioredis';

/** Hooks that hear a connection's outages once each, not once per failed command. */
export interface ConnectionObserver {
  onDown?(name: string, error: Error): void;
  onUp?(name: string): void;
}

/** Longest wait between reconnect attempts (ms): Redis back within 5 s is noticed within 5 s. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * Opens an ioredis connection that reconnects for ever with a short capped backoff and
 * reports each outage once. `name` shows in `CLIENT LIST` and in logs.
 */
export function connectRedis(
  url: string,
  name: string,
  observer: ConnectionObserver = {},
  options: RedisOptions = {},
): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    protocol: 2,
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    ...options,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    observer.onDown?.(name, error);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    observer.onUp?.(name);
  });
  return redis;
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
  /** The key that `@socket.io/redis-adapter` and `@socket.io/redis-emitter` must share. */
  get adapterKey(): string {
    return `${this.prefix}:socket.io`;
  }
  /** A key of a feature's own (directories, histories, messages). */
  data(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}
