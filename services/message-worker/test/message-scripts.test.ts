import { Redis } from 'ioredis';
import type { MessageDraft } from '@ctos/protocol';
import { deletePrefix, SHARED_REDIS_URL, uniquePrefix, waitFor } from '@ctos/testkit';
import { MemoryStore, RedisStore, type KeyValueStore, type RoomWire } from '@ctos/transport';
import { MessageStore, type AppendOutcome, type KeyedWrite } from '../src/message-store';

const DAY_MS = 24 * 60 * 60 * 1000;
const USERS = ['alice', 'bob', 'c:m:d'];

function note(title: string): MessageDraft {
  return { severity: 'info', source: 'tests', category: 'general', title, content: `about ${title}` };
}

/** A store of one build, and what its scripts published, decoded, in order. */
interface Bench {
  store: KeyValueStore;
  wire: RoomWire;
  published(): Promise<unknown[]>;
  close(): Promise<void>;
}

/** A wire of the test's own: `{"room": <room>, "data": [event, payload]}` on `<prefix>:room:<room>`. */
function testWire(prefix: string): RoomWire {
  return { channel: [`${prefix}:room:`, ''], head: ['{"room":', ',"data":'], tail: '}' };
}

async function memoryBench(): Promise<Bench> {
  const published: unknown[] = [];
  const store = new MemoryStore(Date.now, (_channel, message) => published.push(JSON.parse(message)));
  return { store, wire: testWire('memory'), published: async () => published, close: async () => undefined };
}

async function redisBench(): Promise<Bench> {
  const prefix = uniquePrefix('msg-scripts');
  const connection = new Redis(SHARED_REDIS_URL, { protocol: 2 });
  const subscriber = new Redis(SHARED_REDIS_URL, { protocol: 2 });
  const wire = testWire(prefix);
  const published: unknown[] = [];
  subscriber.on('smessage', (_channel: string, message: string) => published.push(JSON.parse(message)));
  await subscriber.ssubscribe(...USERS.map((user) => `${wire.channel[0]}user:${user}${wire.channel[1]}`));
  const store = new RedisStore(connection, prefix);
  return {
    store,
    wire,
    // What arrived so far: a publish is done when its script answers, but heard a moment later.
    published: async () => published,
    close: async () => {
      subscriber.disconnect();
      connection.disconnect();
      await deletePrefix(SHARED_REDIS_URL, prefix);
    },
  };
}

/** Everything kept for `users`: ids, messages, unread ids, counter, version. */
async function snapshot(store: KeyValueStore) {
  const state: Record<string, unknown> = {};
  for (const user of USERS) {
    const id = encodeURIComponent(user);
    state[user] = {
      messages: await store.zrange(`msg:m:${id}`, { min: -Infinity, max: Infinity }),
      unread: await store.zrange(`msg:unread:${id}`, { min: -Infinity, max: Infinity }),
      seq: await store.get(`msg:seq:${id}`),
      version: await store.get(`msg:ver:${id}`),
    };
  }
  return state;
}

/**
 * A run of appends and marks through {@link MessageStore} on `bench`, on a clock of its
 * own: keyless and keyed messages, a retry, a reused key, count and age retention, the
 * three marks and a refused one. Returns every outcome, what was published, and the state.
 */
async function scenario(bench: Bench) {
  let clock = Date.parse('2026-11-29T10:00:00Z');
  const messages = new MessageStore(bench.store, { maxCount: 4, maxAgeMs: DAY_MS }, () => clock);
  const everyone = USERS.map((user) => ({ user, takeover: false }));
  const keyed = (key: string, digest: string): KeyedWrite => ({ key, digest, writer: `writer-${key}`, ttlMs: DAY_MS });
  const outcomes: AppendOutcome[][] = [];
  outcomes.push(await messages.append(everyone, note('one'), bench.wire));
  outcomes.push(await messages.append(everyone, note('two'), bench.wire, keyed('k', 'digest-two')));
  outcomes.push(await messages.append(everyone, note('two'), bench.wire, keyed('k', 'digest-two')));
  outcomes.push(await messages.append(everyone.slice(0, 1), note('other'), bench.wire, keyed('k', 'digest-other')));
  clock += DAY_MS / 2;
  for (const title of ['three', 'four']) outcomes.push(await messages.append(everyone, note(title), bench.wire));
  outcomes.push(await messages.append(everyone.slice(2), note('extra'), bench.wire));
  clock += DAY_MS / 2 + 1;
  outcomes.push(await messages.append(everyone.slice(0, 2), note('five'), bench.wire));
  const marks = [
    await messages.markRead('alice', { message_id: 4 }, bench.wire),
    await messages.markRead('alice', { up_to: 5 }, bench.wire),
    await messages.markRead('bob', { all: true }, bench.wire),
    await messages.markRead('alice', { up_to: 99 }, bench.wire).catch((error: unknown) => String(error)),
  ];
  return { outcomes, marks, published: await bench.published(), state: await snapshot(bench.store) };
}

describe('the message store’s scripts', () => {
  it('do the same on the memory store as on Redis, reply for reply, push for push', async () => {
    const memory = await memoryBench();
    const redis = await redisBench();
    try {
      const inMemory = await scenario(memory);
      const inRedis = await scenario(redis);
      await waitFor(async () => (await redis.published()).length === inMemory.published.length, {
        message: `the ${inMemory.published.length} publishes on Redis`,
      });
      expect(inRedis).toEqual(inMemory);

      // And what they did is what a message store must do.
      expect(inMemory.outcomes.map((one) => one.map((outcome) => outcome.kind))).toEqual([
        ['written', 'written', 'written'],
        ['written', 'written', 'written'],
        ['done', 'done', 'done'],
        ['conflict'],
        ['written', 'written', 'written'],
        ['written', 'written', 'written'],
        ['written'],
        ['written', 'written'],
      ]);
      expect(inMemory.marks.slice(0, 3)).toEqual([
        { read: { message_id: 4 }, count: 2, version: 6 },
        { read: { up_to: 5 }, count: 0, version: 7 },
        { read: { up_to: 5 }, count: 0, version: 6 },
      ]);
      expect(inMemory.marks[3]).toMatch(/No such message/);
      // Age retention (one and two aged out after a day, though four may be kept)...
      const alice = inMemory.state.alice as { messages: Array<{ score: number }>; seq: string };
      expect(alice.messages.map((m) => m.score)).toEqual([3, 4, 5]);
      expect(alice.seq).toBe('5');
      // ...and count retention (four kept).
      const cd = inMemory.state['c:m:d'] as { messages: Array<{ score: number; member: string }> };
      expect(cd.messages.map((m) => (JSON.parse(m.member) as { title: string }).title)).toEqual([
        'two',
        'three',
        'four',
        'extra',
      ]);
      // Every write pushed its message to the user's room; every mark its count.
      const pushed = inMemory.published as Array<{ room: string; data: [string, { id?: number; title?: string }] }>;
      expect(
        pushed.filter((p) => p.room === 'user:alice' && p.data[0] === 'message:new').map((p) => p.data[1].id),
      ).toEqual([1, 2, 3, 4, 5]);
      expect(pushed.find((p) => p.room === 'user:bob' && p.data[0] === 'message:new')?.data[1]).toEqual({
        id: 1,
        severity: 'info',
        source: 'tests',
        category: 'general',
        title: 'one',
        content: 'about one',
        created_at: '2026-11-29T10:00:00.000Z',
        read: false,
      });
      expect(pushed.filter((p) => p.data[0] === 'message:unread_count').map((p) => [p.room, p.data[1]])).toEqual([
        ['user:alice', { count: 2, read: { message_id: 4 }, version: 6 }],
        ['user:alice', { count: 0, read: { up_to: 5 }, version: 7 }],
        ['user:bob', { count: 0, read: { up_to: 5 }, version: 6 }],
      ]);
    } finally {
      await memory.close();
      await redis.close();
    }
  });

  it('settle ledger entries that a message-worker from before them left, the same on both stores', async () => {
    const memory = await memoryBench();
    const redis = await redisBench();
    const legacy = async (bench: Bench) => {
      const clock = Date.parse('2026-11-29T10:00:00Z');
      const messages = new MessageStore(bench.store, { maxCount: 10, maxAgeMs: DAY_MS }, () => clock);
      const key = (k: string): KeyedWrite => ({ key: k, digest: 'd', writer: 'new-request', ttlMs: DAY_MS });
      const ledger = (user: string, k: string) => `msg:idem:${encodeURIComponent(user)}:${k}`;
      // bob: the old worker stored message 1 and died before marking its key done.
      await messages.append([{ user: 'bob', takeover: false }], note('stored'), bench.wire);
      await bench.store.set(ledger('bob', 'k1'), JSON.stringify({ s: 'pending', d: 'd', t: 'old', id: 1 }));
      // alice: a claim without an id, then one with an id that was never stored.
      await bench.store.set(ledger('alice', 'k2'), JSON.stringify({ s: 'pending', d: 'd', t: 'old' }));
      await bench.store.set(ledger('alice', 'k3'), JSON.stringify({ s: 'pending', d: 'd', t: 'old', id: 7 }));
      const alice = (takeover: boolean) => [{ user: 'alice', takeover }];
      const outcomes = {
        redelivered: await messages.append([{ user: 'bob', takeover: false }], note('stored'), bench.wire, key('k1')),
        waiting: await messages.append(alice(false), note('claimed'), bench.wire, key('k2')),
        takenOver: await messages.append(alice(true), note('claimed'), bench.wire, key('k2')),
        notStoredYet: await messages.append(alice(false), note('lost'), bench.wire, key('k3')),
        neverStored: await messages.append(alice(true), note('lost'), bench.wire, key('k3')),
      };
      // c:m:d, a rolling upgrade: an old worker holds the user's lock, took id 1 and
      // recorded it, and stalls before storing it; a retry must not write a message 2.
      const cmd = [{ user: 'c:m:d', takeover: true }];
      const oldLock = `msg:lock:${encodeURIComponent('c:m:d')}`;
      await bench.store.set(oldLock, 'old', { ttlMs: 5000 });
      await bench.store.set(ledger('c:m:d', 'k4'), JSON.stringify({ s: 'pending', d: 'd', t: 'old', id: 1 }));
      const whileLocked = await messages.append(cmd, note('locked'), bench.wire, key('k4'));
      // The old worker resumes: stores message 1 (a write of the same steps), still holding its lock.
      await messages.append([{ user: 'c:m:d', takeover: false }], note('locked'), bench.wire);
      const storedWhileLocked = await messages.append(cmd, note('locked'), bench.wire, key('k4'));
      await bench.store.del(oldLock);
      return {
        ...outcomes,
        whileLocked,
        storedWhileLocked,
        unlocked: await messages.append(cmd, note('locked'), bench.wire, key('k4')),
        seq: await bench.store.get(`msg:seq:${encodeURIComponent('c:m:d')}`),
        ledger: await Promise.all(
          [ledger('bob', 'k1'), ledger('alice', 'k2'), ledger('alice', 'k3'), ledger('c:m:d', 'k4')].map((k) =>
            bench.store.get(k),
          ),
        ),
        published: await bench.published(),
      };
    };
    try {
      const inMemory = await legacy(memory);
      const inRedis = await legacy(redis);
      await waitFor(async () => (await redis.published()).length === inMemory.published.length, {
        message: `the ${inMemory.published.length} publishes on Redis`,
      });
      expect(inRedis).toEqual(inMemory);
      expect(inMemory).toMatchObject({
        redelivered: [{ kind: 'redelivered', id: 1, count: 1, version: 1 }],
        waiting: [{ kind: 'pending' }],
        takenOver: [{ kind: 'written', id: 1 }],
        // A claim with an id whose message is not stored yet is waited for too...
        notStoredYet: [{ kind: 'pending' }],
        // ...then taken over.
        neverStored: [{ kind: 'written', id: 2 }],
        // Whatever the claim, nothing is written or settled while the old lock is held...
        whileLocked: [{ kind: 'pending' }],
        storedWhileLocked: [{ kind: 'pending' }],
        // ...and once it is gone, the old worker's message is the key's: one message.
        unlocked: [{ kind: 'redelivered', id: 1 }],
        seq: '1',
      });
      expect(inMemory.ledger.map((entry) => JSON.parse(entry ?? 'null') as unknown)).toEqual([
        { s: 'done', d: 'd', id: 1 },
        { s: 'done', d: 'd', id: 1 },
        { s: 'done', d: 'd', id: 2 },
        { s: 'done', d: 'd', id: 1 },
      ]);
      // bob's message went out twice: written, and again (unread) when its key was settled.
      const bob = (inMemory.published as Array<{ room: string; data: [string, { id: number; read: boolean }] }>)
        .filter((p) => p.room === 'user:bob')
        .map((p) => [p.data[0], p.data[1].id, p.data[1].read]);
      expect(bob).toEqual([
        ['message:new', 1, false],
        ['message:new', 1, false],
      ]);
    } finally {
      await memory.close();
      await redis.close();
    }
  });

  it.each([
    ['memory', memoryBench],
    ['redis', redisBench],
  ])('keep a user’s keys about the age limit past the newest message, a new unread set too (%s)', async (_, open) => {
    const bench = await open();
    try {
      const messages = new MessageStore(bench.store, { maxCount: 10, maxAgeMs: DAY_MS });
      const alice = [{ user: 'alice', takeover: false }];
      await messages.append(alice, note('one'), bench.wire);
      await messages.markRead('alice', { all: true }, bench.wire);
      // Marked read, the unread set is empty, so gone; the next message makes it anew.
      await expect(bench.store.pttl('msg:unread:alice')).resolves.toBe(-2);
      await messages.append(alice, note('two'), bench.wire);
      for (const key of ['msg:m:alice', 'msg:unread:alice']) {
        const left = await bench.store.pttl(key);
        expect({ key, aboveAgeLimit: left > DAY_MS, withinSlack: left <= DAY_MS + 60 * 60 * 1000 }).toEqual({
          key,
          aboveAgeLimit: true,
          withinSlack: true,
        });
      }
      // A new unread set never outlives the messages, whose expiry is renewed only once
      // less than the age limit is left: here it has an hour less than a new set would get.
      await messages.markRead('alice', { all: true }, bench.wire);
      await bench.store.expire('msg:m:alice', DAY_MS + 1000);
      await messages.append(alice, note('three'), bench.wire);
      const messagesLeft = await bench.store.pttl('msg:m:alice');
      const unreadLeft = await bench.store.pttl('msg:unread:alice');
      expect({ messagesLeft: messagesLeft <= DAY_MS + 1000, unreadLeft: unreadLeft <= messagesLeft }).toEqual({
        messagesLeft: true,
        unreadLeft: true,
      });
      // The counter and the version never expire.
      await expect(bench.store.pttl('msg:seq:alice')).resolves.toBe(-1);
      await expect(bench.store.pttl('msg:ver:alice')).resolves.toBe(-1);
    } finally {
      await bench.close();
    }
  });
});
