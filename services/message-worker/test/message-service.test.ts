import { ServiceError, type MessageDraft } from '@ctos/protocol';
import { Gate, waitFor } from '@ctos/testkit';
import type { KeyValueStore } from '@ctos/transport';
import { MessageService } from '../src';
import { PENDING_WAIT_MS } from '../src/idempotency';
import { draftDigest } from '../src/producer-request';
import { BUILDS, quiet, transportFactory } from './harness';
import { PushRecorder } from './push-recorder';

/** The rooms whose pushes these tests look at. */
const LISTENED = ['user:alice', 'user:bob'];

const DAY_MS = 24 * 60 * 60 * 1000;

/** A store whose every call first waits 0–3 ms (fault injection, not a wait for a condition). */
function laggy(store: KeyValueStore): KeyValueStore {
  let turn = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, turn++ % 4));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** `store` with `before` awaited ahead of every call (fault injection: it can hold one call). */
function interposed(store: KeyValueStore, before: () => Promise<void>): KeyValueStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await before();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function note(title: string, extra: Partial<MessageDraft> = {}): MessageDraft {
  return { severity: 'info', source: 'tests', category: 'general', title, content: `about ${title}`, ...extra };
}

describe.each(BUILDS)('message storage and read state (%s)', (build) => {
  let transports: ReturnType<typeof transportFactory>;
  let recorder: PushRecorder;
  let store: KeyValueStore;
  let clock: number;
  const make = (retention = { maxCount: 1000, maxAgeMs: 30 * DAY_MS }) => ({
    service: new MessageService({
      store,
      emitter: recorder.emitter,
      retention,
      idempotencyTtlMs: DAY_MS,
      logger: quiet('message-worker'),
      now: () => clock,
    }),
  });
  /** What the listened rooms heard, once everything published so far has arrived. */
  const heard = async () => {
    await recorder.settle(LISTENED);
    return recorder;
  };

  beforeEach(async () => {
    transports = transportFactory(build);
    recorder = await PushRecorder.open(build, transports, LISTENED);
    store = recorder.store;
    clock = Date.parse('2026-11-29T10:00:00Z');
  });
  afterEach(async () => {
    recorder.close();
    await transports.cleanup();
  });

  it('gives each user their own ids from 1, in order, and delivers to their room only', async () => {
    const { service } = make();
    for (const title of ['a', 'b', 'c']) await service.publish({ users: ['alice'], draft: note(title) });
    const bob = await service.publish({ users: ['bob'], draft: note('d') });
    expect(bob.messages).toEqual([{ user_id: 'bob', id: 1, duplicate: false }]);
    const pushes = await heard();
    expect(pushes.ids('user:alice')).toEqual([1, 2, 3]);
    expect(pushes.ids('user:bob')).toEqual([1]);
    const sync = await service.sync('alice', 0, 10);
    expect(sync.messages.map((m) => m.title)).toEqual(['a', 'b', 'c']);
    expect(sync).toMatchObject({ unread_count: 3, latest_id: 3, has_more: false });
    expect(sync.messages[0]).toEqual({
      id: 1,
      severity: 'info',
      source: 'tests',
      category: 'general',
      title: 'a',
      content: 'about a',
      created_at: '2026-11-29T10:00:00.000Z',
      read: false,
    });
  });

  it('keeps user ids that contain separators apart', async () => {
    const { service } = make();
    await service.publish({ users: ['a:m:b'], draft: note('one') });
    await service.publish({ users: ['a'], draft: note('two') });
    expect((await service.sync('a', 0, 10)).messages.map((m) => m.title)).toEqual(['two']);
    expect((await service.sync('a:m:b', 0, 10)).messages.map((m) => m.title)).toEqual(['one']);
  });

  it('pages a sync oldest first and a list newest first', async () => {
    const { service } = make();
    for (let i = 1; i <= 7; i++) await service.publish({ users: ['alice'], draft: note(`m${i}`) });
    const first = await service.sync('alice', 0, 3);
    expect(first.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(first.has_more).toBe(true);
    const last = await service.sync('alice', 6, 3);
    expect(last.messages.map((m) => m.id)).toEqual([7]);
    expect(last.has_more).toBe(false);
    const newest = await service.list('alice', undefined, 3);
    expect(newest.messages.map((m) => m.id)).toEqual([7, 6, 5]);
    expect(newest.has_more).toBe(true);
    const older = await service.list('alice', 5, 10);
    expect(older.messages.map((m) => m.id)).toEqual([4, 3, 2, 1]);
    expect(older.has_more).toBe(false);
  });

  it('marks read per user: one message, up to an id, then everything', async () => {
    const { service } = make();
    for (let i = 1; i <= 5; i++) await service.publish({ users: ['alice', 'bob'], draft: note(`m${i}`) });
    // Five messages were versions 1–5 of alice's read state; each mark is the next.
    await expect(service.read('alice', { message_id: 2 })).resolves.toEqual({ unread_count: 4, version: 6 });
    await expect(service.read('alice', { up_to: 3 })).resolves.toEqual({ unread_count: 2, version: 7 });
    const page = await service.list('alice', undefined, 10);
    expect(page.messages.map((m) => [m.id, m.read])).toEqual([
      [5, false],
      [4, false],
      [3, true],
      [2, true],
      [1, true],
    ]);
    expect((await service.sync('bob', 0, 10)).unread_count).toBe(5);
    await expect(service.read('alice', { all: true })).resolves.toEqual({ unread_count: 0, version: 8 });
    expect((await heard()).of('user:alice', 'message:unread_count')).toEqual([
      ...[1, 2, 3, 4, 5].map((n) => ({ count: n, version: n })),
      { count: 4, read: { message_id: 2 }, version: 6 },
      { count: 2, read: { up_to: 3 }, version: 7 },
      { count: 0, read: { up_to: 5 }, version: 8 },
    ]);
  });

  it('answers sync and list with the version of the last change, which refusals and reads leave alone', async () => {
    const { service } = make();
    await expect(service.sync('alice', 0, 10)).resolves.toMatchObject({ unread_count: 0, version: 0 });
    await service.publish({ users: ['alice'], draft: note('a') });
    await service.publish({ users: ['alice', 'bob'], draft: note('b') });
    await service.read('alice', { message_id: 1 });
    await expect(service.read('alice', { message_id: 9 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.sync('alice', 0, 10)).resolves.toMatchObject({ unread_count: 1, version: 3 });
    await expect(service.list('alice', undefined, 10)).resolves.toMatchObject({ unread_count: 1, version: 3 });
    await expect(service.list('bob', undefined, 10)).resolves.toMatchObject({ unread_count: 1, version: 1 });
  });

  it('answers NOT_FOUND for an id the user does not have, and changes nothing', async () => {
    const { service } = make();
    await service.publish({ users: ['alice'], draft: note('a') });
    await service.publish({ users: ['alice'], draft: note('b') });
    await service.publish({ users: ['bob'], draft: note('c') });
    for (const mark of [{ message_id: 2 }, { up_to: 2 }]) {
      const refusal = await service.read('bob', mark).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ServiceError);
      expect((refusal as ServiceError).code).toBe('NOT_FOUND');
    }
    expect((await service.sync('bob', 0, 10)).unread_count).toBe(1);
    expect((await service.sync('alice', 0, 10)).unread_count).toBe(2);
  });

  it('keeps at most the configured number of messages, and their unread state with them', async () => {
    const { service } = make({ maxCount: 3, maxAgeMs: 30 * DAY_MS });
    for (let i = 1; i <= 5; i++) await service.publish({ users: ['alice'], draft: note(`m${i}`) });
    const sync = await service.sync('alice', 0, 10);
    expect(sync.messages.map((m) => m.id)).toEqual([3, 4, 5]);
    expect(sync).toMatchObject({ unread_count: 3, latest_id: 5 });
  });

  it('drops messages older than the age limit, on the next read or write', async () => {
    const { service } = make({ maxCount: 1000, maxAgeMs: DAY_MS });
    await service.publish({ users: ['alice'], draft: note('old') });
    clock += DAY_MS / 2;
    await service.publish({ users: ['alice'], draft: note('newer') });
    clock += DAY_MS / 2 + 1;
    const sync = await service.sync('alice', 0, 10);
    expect(sync.messages.map((m) => m.title)).toEqual(['newer']);
    expect(sync.unread_count).toBe(1);
    expect((await service.list('alice', undefined, 10)).messages.map((m) => m.title)).toEqual(['newer']);
  });

  it('creates one message for a key however often it is retried, even at once', async () => {
    const { service } = make();
    const request = { users: ['alice'], draft: note('once'), idempotencyKey: 'event-42' };
    const answers = await Promise.all([service.publish(request), service.publish(request), service.publish(request)]);
    const again = await service.publish(request);
    const ids = [...answers, again].map((answer) => answer.messages[0]?.id);
    expect(new Set(ids)).toEqual(new Set([1]));
    expect([...answers, again].filter((answer) => !answer.messages[0]?.duplicate)).toHaveLength(1);
    expect((await heard()).ids('user:alice')).toEqual([1]);
    expect((await service.sync('alice', 0, 10)).messages).toHaveLength(1);
  });

  it('refuses a key reused for a different message', async () => {
    const { service } = make();
    await service.publish({ users: ['alice'], draft: note('first'), idempotencyKey: 'k' });
    const refusal = await service
      .publish({ users: ['alice'], draft: note('second'), idempotencyKey: 'k' })
      .catch((error: unknown) => error);
    expect((refusal as ServiceError).code).toBe('INVALID_PAYLOAD');
    expect((await service.sync('alice', 0, 10)).messages.map((m) => m.title)).toEqual(['first']);
  });

  it('waits for a claim of its key left without an id, then takes it over and writes once', async () => {
    // A message-worker from before the append script claimed keys before writing; one
    // that died between its claim and its write leaves the claim alone.
    const { service } = make();
    const request = { users: ['alice'], draft: note('claimed'), idempotencyKey: 'k' };
    const digest = draftDigest(request.draft);
    await store.set('msg:idem:alice:k', JSON.stringify({ s: 'pending', d: digest, t: 'old worker' }));
    const started = Date.now();
    const answer = await service.publish(request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(PENDING_WAIT_MS);
    expect(answer.messages).toEqual([{ user_id: 'alice', id: 1, duplicate: false }]);
    await expect(service.publish(request)).resolves.toEqual({
      messages: [{ user_id: 'alice', id: 1, duplicate: true }],
    });
    expect((await heard()).ids('user:alice')).toEqual([1]);
  });

  it('leaves a claim alone while its old worker holds the user’s lock, so a retry creates no second message', async () => {
    // A rolling upgrade: a message-worker from before the append script took alice's lock,
    // took id 1, recorded it in its claim, and stalls before storing the message.
    const request = { users: ['alice'], draft: note('stalled'), idempotencyKey: 'k' };
    const digest = draftDigest(request.draft);
    await store.incr('msg:seq:alice');
    await store.set('msg:lock:alice', 'old worker', { ttlMs: 5000 });
    await store.set('msg:idem:alice:k', JSON.stringify({ s: 'pending', d: digest, t: 'old worker', id: 1 }));
    let tookOver!: () => void;
    const triedTakeover = new Promise<void>((resolve) => (tookOver = resolve));
    // The retry's store, telling when one of its writes (answered) was allowed to take over.
    const watched = new Proxy(store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'script') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<KeyValueStore['script']>) => {
          const reply = await target.script(...args);
          if (args[2][11] === '1') tookOver();
          return reply;
        };
      },
    });
    const service = new MessageService({
      store: watched,
      emitter: recorder.emitter,
      retention: { maxCount: 1000, maxAgeMs: 30 * DAY_MS },
      idempotencyTtlMs: DAY_MS,
      logger: quiet('message-worker'),
      now: () => clock,
    });
    const answer = service.publish(request);
    await triedTakeover;
    // Past its wait, the retry still wrote nothing: the old worker may yet store its message.
    await expect(store.get('msg:seq:alice')).resolves.toBe('1');
    // The old worker resumes: stores message 1, marks its key done and lets go of the lock.
    const stored = { id: 1, ...request.draft, created_at: new Date(clock).toISOString() };
    await store.zadd('msg:m:alice', 1, JSON.stringify(stored));
    await store.zadd('msg:unread:alice', 1, '1');
    await store.set('msg:idem:alice:k', JSON.stringify({ s: 'done', d: digest, id: 1 }));
    await store.del('msg:lock:alice');
    await expect(answer).resolves.toEqual({ messages: [{ user_id: 'alice', id: 1, duplicate: true }] });
    expect((await service.sync('alice', 0, 10)).messages.map((m) => m.id)).toEqual([1]);
    await expect(store.get('msg:seq:alice')).resolves.toBe('1');
  });

  it('never shows a message read that is still being stored, nor counts it before a sync returns it', async () => {
    // Sync and list read without the user's lock, so they can fall between any two store
    // calls of a publish: each round holds the publish before its n-th call, and reads.
    // Nothing is marked, so every message returned is unread, and a whole sync counts as
    // many as it returns (a client compares the two to find flags read elsewhere).
    const reader = make().service;
    const gate = new Gate();
    let calls = 0;
    let holdAt = 0;
    const fast = store;
    store = interposed(fast, () => (++calls === holdAt ? gate.pass() : Promise.resolve()));
    const writer = make().service;
    store = fast;
    for (holdAt = 1; ; holdAt++) {
      const user = `alice-${holdAt}`;
      await writer.publish({ users: [user], draft: note('old') });
      calls = 0;
      gate.close();
      let done = false;
      const published = writer.publish({ users: [user], draft: note('new') }).then(() => (done = true));
      await waitFor(() => done || gate.held > 0, { message: `the publish to finish or be held at call ${holdAt}` });
      const synced = await reader.sync(user, 0, 10);
      const listed = await reader.list(user, undefined, 10);
      gate.open();
      await published;
      for (const page of [synced, listed]) {
        expect({ holdAt, flags: page.messages.map((m) => [m.title, m.read]) }).toEqual({
          holdAt,
          flags: expect.not.arrayContaining([[expect.any(String), true]]) as unknown,
        });
      }
      expect({ holdAt, count: synced.unread_count }).toEqual({ holdAt, count: synced.messages.length });
      if (gate.held === 0) break; // the publish made fewer calls: every point between them was tried
    }
    // One call: the append step (one script: the message whole, with its unread id, and its push).
    expect(holdAt).toBe(2);
  });

  it('commits and delivers one user’s messages in id order when two workers write at once', async () => {
    const one = make().service;
    // The second worker's store is slow by a varying few ms, as a busy network would make
    // it: had it taken an id in one step and pushed it in another, it would push some
    // after the other worker's newer ones.
    const fast = store;
    store = laggy(fast);
    const two = make().service;
    store = fast;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).publish({ users: ['alice'], draft: note(`m${i}`) })),
    );
    const pushes = await heard();
    expect(pushes.ids('user:alice')).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await one.sync('alice', 0, 100)).messages.map((m) => m.id)).toEqual(pushes.ids('user:alice'));
  });
});
