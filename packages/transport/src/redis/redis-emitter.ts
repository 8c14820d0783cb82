import type { Redis } from 'ioredis';
import type { ServerEventName } from '@ctos/protocol';
import type { RoomEmit, RoomEmitter, RoomWire, ServerPayload } from '../types';
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
 * failure is reported instead of becoming an unhandled rejection. `emitMany` sends many
 * in one pipeline; `wire` gives the channel and the message around `[event, payload]`, so
 * a store script on the same Redis can publish the same message itself (`SPUBLISH`).
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
      try {
        await redis.spublish(roomChannel(channelPrefix, rooms), broadcast(rooms, event, payload));
        return true;
      } catch (error) {
        onError(error);
        return false;
      }
    },
    // One pipeline: one write for all of them, in order, each answered on its own.
    emitMany: async (emits: readonly RoomEmit[]) => {
      if (isLost(redis)) {
        onError(new Error(`redis connection is ${redis.status}`));
        return emits.map(() => false);
      }
      const pipeline = redis.pipeline();
      for (const { room, event, payload } of emits) {
        const rooms = typeof room === 'string' ? [room] : room;
        pipeline.spublish(roomChannel(channelPrefix, rooms), broadcast(rooms, event, payload));
      }
      try {
        const results = (await pipeline.exec()) ?? [];
        return emits.map((_, i) => {
          const [error] = results[i] ?? [new Error('no answer to the emit')];
          if (error) onError(error);
          return !error;
        });
      } catch (error) {
        onError(error);
        return emits.map(() => false);
      }
    },
    wire: (): RoomWire => {
      const [before = '', after = ''] = roomChannel(channelPrefix, [WIRE_ROOM]).split(WIRE_ROOM);
      return { channel: [before, after], head: [WIRE.beforeRoom, WIRE.afterRoom], tail: WIRE.tail };
    },
  };
}

/** A room name that JSON leaves as it is, marking where a room goes in a channel or a message. */
const WIRE_ROOM = 'ctos-wire-room';

/**
 * {@link broadcast}'s message cut where the room and the packet's data go, so a wire is
 * two concatenations: made from the message itself, so the two cannot drift apart.
 */
const WIRE = (() => {
  const event = 'ctos-wire-event';
  const [beforeData, tail] = broadcast([WIRE_ROOM], event as ServerEventName, undefined).split(`["${event}",null]`);
  const [beforeRoom, afterRoom] = (beforeData ?? '').split(JSON.stringify(WIRE_ROOM));
  return { beforeRoom: beforeRoom ?? '', afterRoom: afterRoom ?? '', tail: tail ?? '' };
})();

/** The cluster adapter's BROADCAST message of `event` to `rooms`, as JSON. */
function broadcast(rooms: string[], event: ServerEventName, payload: unknown): string {
  return JSON.stringify({
    uid: EMITTER_UID,
    nsp: '/',
    type: BROADCAST,
    data: { opts: { rooms, except: [], flags: {} }, packet: { type: EVENT, data: [event, payload], nsp: '/' } },
  });
}
