import { Redis } from 'ioredis';
import { ServiceError, type ServerEventName } from '@ctos/protocol';
import { deletePrefix, SHARED_REDIS_URL, startOwnRedis, uniquePrefix, waitFor, type OwnRedis } from '@ctos/testkit';
import {
  createMemoryTransport,
  createRedisTransport,
  emitAll,
  MemoryCluster,
  MemoryStore,
  RedisStore,
  type RoomWire,
  type StoreScript,
  type Transport,
} from '@ctos/transport';

/**
 * Appends ARGV[1] to the list KEYS[1], counts the call in KEYS[2], and replies with the
 * count, the list's length and the list as it is; with ARGV[2] = 'fail', fails after the
 * count (a script's own error).
 */
const NOTE: StoreScript = {
  name: 'test-note',
  lua: `
local n = redis.call('INCR', KEYS[2])
if ARGV[2] == 'fail' then error('asked to fail') end
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
local reply = {n, length}
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do reply[#reply + 1] = item end
return reply`,
  run: (store, [list = '', counter = ''], [item = '', fail]) => {
    const n = store.incr(counter);
    if (fail === 'fail') throw new Error('asked to fail');
    const length = store.rpush(list, item);
    return [n, length, ...store.lrange(list, 0, -1)];
  },
};

/** Publishes `ARGV[2]`, an event's JSON array, into room `ARGV[1]` with the wire in ARGV[3..7]. */
const PUBLISH: StoreScript = {
  name: 'test-publish',
  lua: `
redis.call('SPUBLISH', ARGV[3] .. ARGV[1] .. ARGV[4], ARGV[5] .. cjson.encode(ARGV[1]) .. ARGV[6] .. ARGV[2] .. ARGV[7])
return {}`,
  run: (store, _keys, [room = '', data, channelBefore, channelAfter, headBefore, headAfter, tail]) => {
    store.publish(
      `${channelBefore}${room}${channelAfter}`,
      `${headBefore}${JSON.stringify(room)}${headAfter}${data}${tail}`,
    );
    return [];
  },
};

/** The arguments of {@link PUBLISH} that emit `[event, payload]` into `room` over `wire`. */
function publishArgs(wire: RoomWire, room: string, event: ServerEventName, payload: unknown): string[] {
  return [room, JSON.stringify([event, payload]), ...wire.channel, ...wire.head, wire.tail];
}

/** One build's store and emitter, and what a room of it hears. */
interface Build {
  transport: Transport;
  /** What `room` heard, as `[event, payload]`, in order (listening starts with the first call). */
  heard(room: string): Promise<Array<[string, unknown]>>;
  cleanup(): Promise<void>;
}

const builds: Array<{ name: string; open: () => Promise<Build> }> = [
  {
    name: 'memory',
    open: async () => {
      const cluster = new MemoryCluster();
      const transport = createMemoryTransport(cluster, { id: 'store-script' });
      const heard: Array<{ room: string; data: [string, unknown] }> = [];
      const server = {
        to: (room: string) => ({
          emit: (event: string, payload: unknown) => heard.push({ room, data: [event, payload] }),
        }),
      };
      cluster.hub.attach(server as unknown as Parameters<MemoryCluster['hub']['attach']>[0]);
      return {
        transport,
        heard: async (room) => heard.filter((one) => one.room === room).map((one) => one.data),
        cleanup: () => transport.dispose(),
      };
    },
  },
  {
    name: 'redis',
    open: async () => {
      const prefix = uniquePrefix('store-script');
      const transport = createRedisTransport({ redis: { url: SHARED_REDIS_URL }, prefix, id: 'store-script' });
      const subscriber = new Redis(SHARED_REDIS_URL, { protocol: 2 });
      const heard = new Map<string, Array<[string, unknown]>>();
      subscriber.on('smessage', (channel: string, message: string) => {
        const frame = JSON.parse(message) as { data: { packet: { data: [string, unknown] } } };
        heard.set(channel, [...(heard.get(channel) ?? []), frame.data.packet.data]);
      });
      const wire = transport.emitter.wire!();
      const channelOf = (room: string) => `${wire.channel[0]}${room}${wire.channel[1]}`;
      return {
        transport,
        heard: async (room) => {
          await subscriber.ssubscribe(channelOf(room));
          return heard.get(channelOf(room)) ?? [];
        },
        cleanup: async () => {
          subscriber.disconnect();
          await transport.dispose();
          await deletePrefix(SHARED_REDIS_URL, prefix);
        },
      };
    },
  },
];

describe.each(builds)('store scripts ($name)', ({ name, open }) => {
  let build: Build;
  beforeEach(async () => {
    build = await open();
    if (name === 'redis') await waitFor(() => build.transport.healthy(), { message: 'the transport to connect' });
  });
  afterEach(() => build.cleanup());

  it('runs a script over its keys and arguments and answers strings and whole numbers', async () => {
    const { store } = build.transport;
    await store.rpush('list', 'first');
    await expect(store.script(NOTE, ['list', 'calls'], ['second', 0])).resolves.toEqual([1, 2, 'first', 'second']);
    await expect(store.lrange('list', 0, -1)).resolves.toEqual(['first', 'second']);
    await expect(store.get('calls')).resolves.toBe('1');
  });

  it('runs the calls of one tick in the order made, each answered on its own, a failing one alone refused', async () => {
    const { store } = build.transport;
    const calls = Array.from({ length: 50 }, (_, i) =>
      store.script(NOTE, ['list', 'calls'], [`item-${i}`, i === 20 ? 'fail' : 'ok']),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((one) => one.status)).toEqual(calls.map((_, i) => (i === 20 ? 'rejected' : 'fulfilled')));
    expect(String((settled[20] as PromiseRejectedResult).reason)).toMatch(/asked to fail/);
    // The failing call counted itself, then stopped: what it did before failing stays (as in Redis).
    const replies = settled.flatMap((one) => (one.status === 'fulfilled' ? [one.value.slice(0, 2)] : []));
    expect(replies).toEqual(
      Array.from({ length: 50 }, (_, i) => i)
        .filter((i) => i !== 20)
        .map((i) => [i + 1, i < 20 ? i + 1 : i]),
    );
    await expect(store.lrange('list', 0, -1)).resolves.toEqual(
      Array.from({ length: 50 }, (_, i) => `item-${i}`).filter((_, i) => i !== 20),
    );
  });

  it('publishes into a room through the emitter’s wire exactly what the emitter emits', async () => {
    const { store, emitter } = build.transport;
    const room = 'user:a "quoted" / slashed room';
    await build.heard(room);
    const payload = { id: 7, severity: 'info', title: 'é and "quotes"' };
    await store.script(PUBLISH, [], publishArgs(emitter.wire!(), room, 'message:new', payload));
    await emitter.emit(room, 'message:new', { ...payload, id: 8 } as never);
    await waitFor(async () => (await build.heard(room)).length === 2, { message: 'both emits to arrive' });
    expect(await build.heard(room)).toEqual([
      ['message:new', payload],
      ['message:new', { ...payload, id: 8 }],
    ]);
  });

  it('answers the time a key has left as PTTL does: -2 without the key, -1 without an expiry', async () => {
    const { store } = build.transport;
    await expect(store.pttl('nothing')).resolves.toBe(-2);
    await store.set('forever', 'x');
    await expect(store.pttl('forever')).resolves.toBe(-1);
    await store.set('soon', 'x', { ttlMs: 60_000 });
    const left = await store.pttl('soon');
    expect(left > 59_000 && left <= 60_000).toBe(true);
  });

  it('emits many events in one go, in order, each answered; emitAll falls back to one emit each', async () => {
    const { emitter } = build.transport;
    const room = 'user:many';
    await build.heard(room);
    const emits = [1, 2, 3].map((id) => ({ room, event: 'message:new' as const, payload: { id } as never }));
    await expect(emitAll(emitter, emits)).resolves.toEqual([true, true, true]);
    const single = { emit: emitter.emit.bind(emitter) };
    await expect(emitAll(single, emits.slice(0, 1))).resolves.toEqual([true]);
    await waitFor(async () => (await build.heard(room)).length === 4, { message: 'the four emits to arrive' });
    expect((await build.heard(room)).map(([, payload]) => (payload as { id: number }).id)).toEqual([1, 2, 3, 1]);
  });
});

describe('store scripts (memory only)', () => {
  it('refuses a reply with a number that is not whole, as Redis would have cut it', async () => {
    const store = new MemoryStore();
    const half: StoreScript = { name: 'half', lua: 'return {1.5}', run: () => [1.5] };
    await expect(store.script(half, [], [])).rejects.toThrow(/whole numbers/);
  });
});

describe('store scripts (a Redis of the test’s own)', () => {
  let redis: OwnRedis;
  let transport: Transport;
  beforeAll(async () => {
    redis = await startOwnRedis();
    transport = createRedisTransport({ redis: { url: redis.url }, prefix: uniquePrefix('noscript'), id: 'noscript' });
    await waitFor(() => transport.healthy(), { message: 'the transport to connect' });
  });
  afterAll(async () => {
    await transport.dispose();
    await redis.stop();
  });

  it('loads a script again when the server forgot it (flushed, or a new primary)', async () => {
    const { store } = transport;
    await expect(store.script(NOTE, ['list', 'calls'], ['a', 0])).resolves.toEqual([1, 1, 'a']);
    const admin = new Redis(redis.url, { protocol: 2 });
    try {
      await admin.script('FLUSH');
    } finally {
      admin.disconnect();
    }
    const again = await Promise.all([
      store.script(NOTE, ['list', 'calls'], ['b', 0]),
      store.script(NOTE, ['list', 'calls'], ['c', 0]),
    ]);
    expect(again).toEqual([
      [2, 2, 'a', 'b'],
      [3, 3, 'a', 'b', 'c'],
    ]);
  });
});

describe('store scripts (a server that forgets them at once)', () => {
  it('answers UNAVAILABLE, as for other connection trouble, when a script is unknown again after its load', async () => {
    const prefix = uniquePrefix('noscript-again');
    const connection = new Redis(SHARED_REDIS_URL, { protocol: 2 });
    // Every SCRIPT LOAD of this connection's pipelines is lost (a PING in its place), as
    // when the server is flushed or replaced between a load and its EVALSHA.
    const pipeline = connection.pipeline.bind(connection);
    connection.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
      const commands = pipeline(...args);
      commands.script = (() => commands.ping()) as unknown as typeof commands.script;
      return commands;
    }) as Redis['pipeline'];
    // A script of this test alone, so no other client has it loaded.
    const forgotten: StoreScript = { name: 'forgotten', lua: `return {1} -- ${prefix}`, run: () => [1] };
    try {
      const store = new RedisStore(connection, prefix);
      const refusal: unknown = await store.script(forgotten, [], []).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ServiceError);
      expect((refusal as ServiceError).code).toBe('UNAVAILABLE');
    } finally {
      connection.disconnect();
    }
  });
});
