import { waitFor } from '@ctos/testkit';
import { BUILDS, history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** P14's upstream: one delta every 100 ms for a minute. */
const SLOW = { text: 'word '.repeat(600), deltaIntervalMs: 100 };

describe.each(BUILDS)('cancelling a reply (%s)', (build) => {
  let cluster: TestCluster;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => void rejections.push(reason);

  beforeAll(() => process.on('unhandledRejection', onRejection));
  afterAll(() => process.off('unhandledRejection', onRejection));
  beforeEach(async () => {
    rejections.length = 0;
    cluster = await startCluster(build, { env: { AI_MESSAGES_PER_MINUTE: '1000' } });
  });
  afterEach(() => cluster.stop());

  it('closes the upstream connection, ends with cancelled, and keeps the partial reply', async () => {
    cluster.standin.setScript(() => SLOW);
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Count slowly');
    await heard.waitForChunks(messageId, 5);

    const [first, second] = await Promise.all([
      socket.emitWithAck('ai:cancel', { conversation_id: conversation }),
      socket.emitWithAck('ai:cancel', { conversation_id: conversation }),
    ]);
    const upstream = await cluster.standin.waitForClose(0, 5000);
    const end = await heard.waitForEnd(messageId);

    expect(first).toEqual({ success: true });
    expect(second).toEqual({ success: true });
    expect(upstream.outcome).toBe('client-closed');
    expect(end).toMatchObject({ conversation_id: conversation, stop_reason: 'cancelled' });
    const text = heard.text(messageId);
    expect(text.match(/word/g)?.length).toBeGreaterThanOrEqual(5);
    expect(SLOW.text.startsWith(text)).toBe(true);
    expect((await history(socket, conversation))[1]).toMatchObject({
      message_id: messageId,
      role: 'assistant',
      status: 'cancelled',
      stop_reason: 'cancelled',
      content: text,
    });

    // Once more after the end: a no-op. A reply in another conversation shows that nothing
    // more of the cancelled one was sent meanwhile.
    await expect(socket.emitWithAck('ai:cancel', { conversation_id: conversation })).resolves.toEqual({
      success: true,
    });
    cluster.standin.setScript(() => ({ text: 'sentinel' }));
    const sentinel = await send(socket, newConversation(), 'sentinel');
    await heard.waitForEnd(sentinel);
    expect(heard.order.filter((entry) => entry.endsWith(messageId)).pop()).toBe(`end:${messageId}`);
    expect(cluster.workers[0]!.activeReplies).toBe(0);
    expect(rejections).toEqual([]);
  });

  it('cancels one of 20 concurrent replies and the other 19 finish complete and in order', async () => {
    const text = Array.from({ length: 30 }, (_, i) => `w${i} `).join('');
    cluster.standin.setScript(() => ({ text, deltaIntervalMs: 15 }));
    const users = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const socket = await cluster.connect(`user${i}`);
        return { socket, heard: new Listener(socket), conversation: newConversation() };
      }),
    );
    const ids = await Promise.all(users.map((u) => send(u.socket, u.conversation, 'go')));
    const victim = users[7]!;
    await victim.heard.waitForChunks(ids[7]!, 3);
    await victim.socket.emitWithAck('ai:cancel', { conversation_id: victim.conversation });

    const ends = await Promise.all(users.map((u, i) => u.heard.waitForEnd(ids[i]!)));
    for (const [i, end] of ends.entries()) {
      if (i === 7) {
        expect(end.stop_reason).toBe('cancelled');
        continue;
      }
      expect(end.stop_reason).toBe('end_turn');
      expect(users[i]!.heard.text(ids[i]!)).toBe(text);
      const indexes = users[i]!.heard.indexes(ids[i]!);
      expect(indexes).toEqual(indexes.map((_, n) => n));
    }
    expect(rejections).toEqual([]);
  });

  it('does not cancel when the page reloads mid-reply; the reloaded page resumes and can cancel', async () => {
    cluster.standin.setScript(() => SLOW);
    const before = await cluster.connect('alice');
    const heardBefore = new Listener(before);
    const conversation = newConversation();
    const messageId = await send(before, conversation, 'Count slowly');
    await heardBefore.waitForChunks(messageId, 3);
    before.close();

    const after = await cluster.connect('alice');
    const heard = new Listener(after);
    const messages = await history(after, conversation);
    expect(messages[1]).toMatchObject({ message_id: messageId, status: 'streaming' });
    const resumed = await after.emitWithAck('ai:resume', { conversation_id: conversation, message_id: messageId });
    expect(resumed).toMatchObject({ success: true, message_id: messageId, status: 'streaming' });
    await waitFor(() => heard.lastIndex(messageId) >= 5);
    expect(cluster.standin.requests[0]?.outcome).toBe('open');

    await after.emitWithAck('ai:cancel', { conversation_id: conversation });
    expect((await cluster.standin.waitForClose(0, 5000)).outcome).toBe('client-closed');
    await heard.waitForEnd(messageId);
    expect(SLOW.text.startsWith(heard.text(messageId))).toBe(true);
    expect((await history(after, conversation))[1]).toMatchObject({
      status: 'cancelled',
      content: heard.text(messageId),
    });
  });
});
