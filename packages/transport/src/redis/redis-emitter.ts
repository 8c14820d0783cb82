import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type { ServerEventName } from '@ctos/protocol';
import type { RoomEmitter, ServerPayload } from '../types';
import { isLost } from './connection';

/**
 * A {@link RoomEmitter} speaking the `@socket.io/redis-emitter` protocol on the
 * adapter's key, always in the main namespace `/` (P12 in docs/pitfalls.md: a namespace spelled
 * without its slash is a silent black hole, so callers cannot choose one).
 *
 * The emitter library fires PUBLISH and forgets the promise; we hand it a client whose
 * `publish` keeps that promise, so each emit's delivery to Redis can be awaited (the
 * terminal's output coalescing depends on knowing what is in flight) and a failure is
 * reported instead of becoming an unhandled rejection.
 */
export function redisRoomEmitter(redis: Redis, adapterKey: string, onError: (error: unknown) => void): RoomEmitter {
  let lastPublish: Promise<unknown> | undefined;
  const client = {
    publish(channel: string, message: string | Buffer): Promise<unknown> {
      lastPublish = redis.publish(channel, message);
      return lastPublish;
    },
  };
  const emitter = new Emitter(client, { key: adapterKey });
  return {
    emit: async <E extends ServerEventName>(room: string | string[], event: E, payload: ServerPayload<E>) => {
      if (isLost(redis)) {
        // Queued behind a reconnect it would go out late or fail in a few seconds; say so now.
        onError(new Error(`redis connection is ${redis.status}`));
        return false;
      }
      lastPublish = undefined;
      emitter.to(room).emit(event, payload);
      const sent = lastPublish as Promise<unknown> | undefined;
      if (!sent) return true;
      try {
        await sent;
        return true;
      } catch (error) {
        onError(error);
        return false;
      }
    },
  };
}
