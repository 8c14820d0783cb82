import type { Redis } from 'ioredis';
import type { ServerEventName } from '@ctos/protocol';
import type { RoomEmitter, ServerPayload } from '../types';
import { isLost } from './connection';

/** `MessageType.BROADCAST` of socket.io-adapter's cluster protocol (socket.io-adapter 2.5). */
const BROADCAST = 3;
/** `PacketType.EVENT` of socket.io-parser. */
const EVENT = 2;
/**
 * The sender id of messages no server sent: the cluster adapter ignores only its own
 * (the value `@socket.io/redis-emitter` uses).
 */
const EMITTER_UID = 'emitter';

/**
 * The channel of `room` in the main namespace, as `createShardedAdapter` names it with
 * `subscriptionMode: 'dynamic'`: `<prefix>#/#<room>#`, which only gateways with a socket
 * in that room subscribe to. Several rooms at once go to the namespace's channel, which
 * every gateway reads.
 */
export function roomChannel(channelPrefix: string, rooms: readonly string[]): string {
  return rooms.length === 1 ? `${channelPrefix}#/#${rooms[0]}#` : `${channelPrefix}#/#`;
}

/**
 * A {@link RoomEmitter} for gateways on `@socket.io/redis-adapter`'s sharded adapter in
 * dynamic mode: each emit is one SPUBLISH of a cluster-adapter BROADCAST message (JSON,
 * as the adapter reads it) on the room's own channel, so it reaches only the gateways
 * holding a socket in that room (issue 17: a gateway pays only for what it delivers).
 * Always in the main namespace `/` (P12 in docs/pitfalls.md: a namespace spelled without
 * its slash is a silent black hole, so callers cannot choose one).
 *
 * The `@socket.io/redis-emitter` library speaks only the classic adapter's protocol; this
 * is the same message the sharded adapter itself publishes for a server's
 * `io.to(room).emit(event, payload)`. Each emit's SPUBLISH is awaited, so its hand-over to
 * Redis is known (the terminal's output pump and the reply relay depend on it), and a
 * failure is reported instead of becoming an unhandled rejection.
 */
export function redisRoomEmitter(redis: Redis, channelPrefix: string, onError: (error: unknown) => void): RoomEmitter {
  return {
    emit: async <E extends ServerEventName>(room: string | string[], event: E, payload: ServerPayload<E>) => {
      if (isLost(redis)) {
        // Queued behind a reconnect it would go out late or fail in a few seconds; say so now.
        onError(new Error(`redis connection is ${redis.status}`));
        return false;
      }
      const rooms = typeof room === 'string' ? [room] : room;
      const message = JSON.stringify({
        uid: EMITTER_UID,
        nsp: '/',
        type: BROADCAST,
        data: { opts: { rooms, except: [], flags: {} }, packet: { type: EVENT, data: [event, payload], nsp: '/' } },
      });
      try {
        await redis.spublish(roomChannel(channelPrefix, rooms), message);
        return true;
      } catch (error) {
        onError(error);
        return false;
      }
    },
  };
}
