import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ServerEventName } from '@ctos/protocol';
import { MemoryCluster, type KeyValueStore, type RoomEmitter } from '@ctos/transport';
import { SHARED_REDIS_URL, waitFor, type Build, type TransportFactory } from '@ctos/testkit';

/** One push a room heard. */
export interface Push {
  room: string;
  event: ServerEventName;
  payload: unknown;
}

/**
 * A store and a room emitter of one build, and every push into the rooms it listens to,
 * in the order the rooms hear them: what store scripts publish and what is emitted.
 * Memory: the memory cluster's hub with a server that records. Redis: a subscriber on the
 * rooms' channels (the rooms are named up front, since a subscription takes a round trip).
 */
export class PushRecorder {
  readonly pushes: Push[] = [];
  private subscriber: Redis | undefined;
  private channelOf: ((room: string) => string) | undefined;
  private readonly marks = new Set<string>();

  private constructor(
    readonly store: KeyValueStore,
    readonly emitter: RoomEmitter,
  ) {}

  /** A recorder on a memory cluster of its own, whose clock is `now`. */
  static memory(now?: () => number): PushRecorder {
    const cluster = new MemoryCluster(undefined, now);
    const recorder = new PushRecorder(cluster.store, cluster.hub.emitter());
    const server = {
      to: (room: string | string[]) => ({
        emit: (event: ServerEventName, payload: unknown) => {
          for (const one of typeof room === 'string' ? [room] : room)
            recorder.pushes.push({ room: one, event, payload });
        },
      }),
    };
    cluster.hub.attach(server as unknown as Parameters<MemoryCluster['hub']['attach']>[0]);
    return recorder;
  }

  /** A recorder on a transport of `transports` (Redis), listening to `rooms`. */
  static async redis(transports: TransportFactory, rooms: readonly string[]): Promise<PushRecorder> {
    const transport = transports.open(`recorder-${randomUUID()}`);
    const recorder = new PushRecorder(transport.store, transport.emitter);
    const wire = transport.emitter.wire?.();
    if (!wire) throw new Error('the Redis emitter has no wire');
    recorder.channelOf = (room) => `${wire.channel[0]}${room}${wire.channel[1]}`;
    const subscriber = new Redis(SHARED_REDIS_URL, { protocol: 2 });
    recorder.subscriber = subscriber;
    subscriber.on('smessage', (_channel: string, message: string) => recorder.heard(message));
    await subscriber.ssubscribe(...rooms.map(recorder.channelOf));
    return recorder;
  }

  /** Opens the build's recorder: memory with clock `now`, or Redis listening to `rooms`. */
  static open(
    build: Build,
    transports: TransportFactory,
    rooms: readonly string[],
    now?: () => number,
  ): Promise<PushRecorder> {
    return build === 'memory' ? Promise.resolve(PushRecorder.memory(now)) : PushRecorder.redis(transports, rooms);
  }

  private heard(message: string): void {
    const frame = JSON.parse(message) as {
      mark?: string;
      data: { opts: { rooms: string[] }; packet: { data: [ServerEventName, unknown] } };
    };
    if (frame.mark !== undefined) {
      this.marks.add(frame.mark);
      return;
    }
    const [event, payload] = frame.data.packet.data;
    for (const room of frame.data.opts.rooms) this.pushes.push({ room, event, payload });
  }

  /**
   * Resolves once every push published before it has been heard: on Redis, a mark sent
   * after them on each room's channel came back (a subscriber hears a server's messages
   * in the order it took them). Memory pushes are heard at once.
   */
  async settle(rooms: readonly string[]): Promise<void> {
    const { subscriber, channelOf } = this;
    if (!subscriber || !channelOf) return;
    const publisher = subscriber.duplicate();
    try {
      const marks = await Promise.all(
        rooms.map(async (room) => {
          const mark = randomUUID();
          await publisher.spublish(channelOf(room), JSON.stringify({ mark }));
          return mark;
        }),
      );
      await waitFor(() => marks.every((mark) => this.marks.has(mark)), { message: 'the pushes to arrive' });
    } finally {
      publisher.disconnect();
    }
  }

  /** The `message:new` ids `room` heard, in order. */
  ids(room: string): number[] {
    return this.of(room, 'message:new').map((payload) => (payload as { id: number }).id);
  }

  /** The payloads of `event` that `room` heard, in order. */
  of(room: string, event: ServerEventName): unknown[] {
    return this.pushes.filter((push) => push.room === room && push.event === event).map((push) => push.payload);
  }

  /** Closes the Redis subscriber (the transport is its factory's to close). */
  close(): void {
    this.subscriber?.disconnect();
  }
}
