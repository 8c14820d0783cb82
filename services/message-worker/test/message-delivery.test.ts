import type { MessageItem } from '@ctos/protocol';
import { waitFor, type ClientSocket } from '@ctos/testkit';
import { BUILDS, draft, Inbox, startCluster, type TestCluster } from './harness';

/** Catches up the way a client does on every (re)connect: page by page from its last id. */
async function catchUp(socket: ClientSocket, since: number, limit: number) {
  const messages: MessageItem[] = [];
  let cursor = since;
  let pages = 0;
  for (;;) {
    const page = await socket.emitWithAck('message:sync', { since: cursor, limit });
    if (!page.success) throw new Error(`sync failed: ${page.code} ${page.error}`);
    pages++;
    messages.push(...page.messages);
    cursor = page.messages[page.messages.length - 1]?.id ?? cursor;
    if (!page.has_more) return { messages, unread: page.unread_count, latest: page.latest_id, pages };
  }
}

describe.each(BUILDS)('messages through two gateways (%s)', (build) => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster(build, { gateways: 2 });
  });
  afterEach(() => cluster.stop());

  it('delivers a posted message to the user’s tabs on both gateways and to no other user', async () => {
    const tab1 = new Inbox(await cluster.connect('alice', 0));
    const tab2 = new Inbox(await cluster.connect('alice', 1));
    const bobHere = new Inbox(await cluster.connect('bob', 0));
    const bobThere = new Inbox(await cluster.connect('bob', 1));

    const answer = await cluster.post(draft('alice', 'Build finished', { severity: 'warning', link: '/builds/7' }));
    expect(answer.status).toBe(201);
    const received = await Promise.all([tab1.waitForTitle('Build finished'), tab2.waitForTitle('Build finished')]);
    for (const message of received) {
      expect(message).toEqual({
        id: 1,
        severity: 'warning',
        source: 'tests',
        category: 'general',
        title: 'Build finished',
        content: 'content of Build finished',
        link: '/builds/7',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        read: false,
      });
    }
    await Promise.all([tab1.waitForCount(1), tab2.waitForCount(1)]);

    // Emits leave the worker in order: once bob's own message is in, alice's would have been.
    await cluster.post(draft('bob', 'For bob'));
    await Promise.all([bobHere.waitForTitle('For bob'), bobThere.waitForTitle('For bob')]);
    expect(bobHere.messages.map((m) => m.title)).toEqual(['For bob']);
    expect(bobThere.messages.map((m) => m.title)).toEqual(['For bob']);
    expect(tab1.messages.map((m) => m.title)).toEqual(['Build finished']);
    expect(tab2.messages.map((m) => m.title)).toEqual(['Build finished']);
  });

  it('updates the unread count and read state in tab 2 when tab 1 marks read', async () => {
    const socket1 = await cluster.connect('alice', 0);
    const socket2 = await cluster.connect('alice', 1);
    const tab2 = new Inbox(socket2);
    for (const title of ['one', 'two', 'three']) await cluster.post(draft('alice', title));
    await tab2.waitForCount(3);

    await expect(socket1.emitWithAck('message:read', { message_id: 2 })).resolves.toEqual({
      success: true,
      unread_count: 2,
      version: 4,
    });
    await tab2.waitForCount(2);
    expect(tab2.counts[tab2.counts.length - 1]).toEqual({ count: 2, read: { message_id: 2 }, version: 4 });

    await expect(socket1.emitWithAck('message:read', { up_to: 3 })).resolves.toMatchObject({ unread_count: 0 });
    await tab2.waitForCount(0);
    const list = await socket2.emitWithAck('message:list', {});
    expect(list).toMatchObject({ success: true, unread_count: 0, has_more: false });
    if (list.success)
      expect(list.messages.map((m) => [m.id, m.read])).toEqual([
        [3, true],
        [2, true],
        [1, true],
      ]);
  });

  it('gives a client that was offline for 100 messages all of them, in order, once, on reconnect', async () => {
    const before = await cluster.connect('alice', 0);
    const first = await before.emitWithAck('message:sync', {});
    expect(first).toMatchObject({ success: true, messages: [], unread_count: 0, latest_id: 0, has_more: false });
    before.close();

    const posted: number[] = [];
    for (let i = 1; i <= 100; i++) {
      const answer = await cluster.post(draft('alice', `n${i}`));
      posted.push((answer.body.messages as Array<{ id: number }>)[0]!.id);
    }
    expect(posted).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    const after = await cluster.connect('alice', 1);
    const live = new Inbox(after);
    const caught = await catchUp(after, 0, 30);
    expect(caught.messages.map((m) => m.title)).toEqual(Array.from({ length: 100 }, (_, i) => `n${i + 1}`));
    expect(caught.messages.map((m) => m.id)).toEqual(posted);
    expect(caught).toMatchObject({ unread: 100, latest: 100, pages: 4 });
    expect(live.messages).toEqual([]);
  });

  it('creates and delivers one message when a producer retries the same request three times', async () => {
    const tab = new Inbox(await cluster.connect('alice', 1));
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await cluster.post(draft('alice', 'only once'), { key: 'deploy-99' });
      expect(answer.body).toEqual({ messages: [{ user_id: 'alice', id: 1, duplicate: attempt > 0 }] });
    }
    await cluster.post(draft('alice', 'sentinel'));
    await tab.waitForTitle('sentinel');
    expect(tab.messages.map((m) => m.title)).toEqual(['only once', 'sentinel']);
  });

  it.each([
    ['message:read', { message_id: 'seven' }],
    ['message:read', { message_id: 0 }],
    ['message:read', {}],
    ['message:read', { all: false }],
    ['message:sync', { since: -1 }],
    ['message:sync', { limit: 100_000 }],
    ['message:list', { before: 1.5 }],
    ['message:list', 'everything'],
  ] as const)('answers %s %j with INVALID_PAYLOAD', async (event, payload) => {
    const socket = await cluster.connect('alice', 0);
    const answer = await (socket.emitWithAck as (e: string, p: unknown) => Promise<unknown>)(event, payload);
    expect(answer).toMatchObject({ success: false, code: 'INVALID_PAYLOAD' });
  });

  it('reports a bad payload sent without an ack with message:error', async () => {
    const socket = await cluster.connect('alice', 0);
    const errors: unknown[] = [];
    socket.on('message:error', (event) => errors.push(event));
    (socket.emit as (e: string, p: unknown) => void)('message:read', { message_id: -3 });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('answers NOT_FOUND for another user’s message ids and leaves their state alone', async () => {
    const alice = new Inbox(await cluster.connect('alice', 0));
    for (const title of ['a1', 'a2', 'a3']) await cluster.post(draft('alice', title));
    await cluster.post(draft('bob', 'b1'));
    await alice.waitForCount(3);
    const bob = await cluster.connect('bob', 1);
    await expect(bob.emitWithAck('message:read', { message_id: 3 })).resolves.toMatchObject({
      success: false,
      code: 'NOT_FOUND',
    });
    await expect(bob.emitWithAck('message:read', { up_to: 3 })).resolves.toMatchObject({ code: 'NOT_FOUND' });
    const bobSync = await bob.emitWithAck('message:sync', {});
    expect(bobSync).toMatchObject({ success: true, unread_count: 1, latest_id: 1 });
    if (bobSync.success) expect(bobSync.messages.map((m) => m.title)).toEqual(['b1']);
    const aliceTab = await cluster.connect('alice', 1);
    await expect(aliceTab.emitWithAck('message:sync', {})).resolves.toMatchObject({ unread_count: 3 });
  });
});

describe('messages with two message-workers on Redis', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster('redis', { gateways: 2, workers: 2 });
  });
  afterAll(() => cluster.stop());

  it('delivers one user’s messages in id order when producers post to both workers at once', async () => {
    const tab = new Inbox(await cluster.connect('alice', 0));
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => cluster.post(draft('alice', `p${i}`), { worker: i % 2 })),
    );
    expect(answers.every((answer) => answer.status === 201)).toBe(true);
    await waitFor(() => tab.messages.length === 60, { message: `60 messages (got ${tab.messages.length})` });
    expect(tab.ids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await tab.waitForCount(60);
  });
});

describe('messages with no message-worker running', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster('memory', { workers: 0 });
  });
  afterAll(() => cluster.stop());

  it('answers UNAVAILABLE, so the client knows to retry', async () => {
    const socket = await cluster.connect('alice');
    await expect(socket.emitWithAck('message:sync', {})).resolves.toMatchObject({
      success: false,
      code: 'UNAVAILABLE',
    });
  });
});
