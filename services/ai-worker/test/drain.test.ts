import { history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

describe('draining an ai-worker', () => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster('memory', { workers: 2, env: { AI_DRAIN_GRACE_MS: '300' } });
  });
  afterEach(() => cluster.stop());

  it('lets a reply that ends within the grace finish', async () => {
    cluster.standin.setScript(() => ({ text: 'short and done', deltaIntervalMs: 20 }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const messageId = await send(socket, newConversation(), 'Hi');
    await heard.waitForChunks(messageId, 1);
    const owner = cluster.workers.find((worker) => worker.activeReplies === 1)!;

    await owner.drain();
    expect(owner.activeReplies).toBe(0);
    expect((await heard.waitForEnd(messageId)).stop_reason).toBe('end_turn');
    expect(heard.text(messageId)).toBe('short and done');
  });

  it('stops a longer reply after the grace: interrupted, retryable, upstream closed, text kept', async () => {
    cluster.standin.setScript(() => ({ text: 'word '.repeat(300), deltaIntervalMs: 30 }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Count');
    await heard.waitForChunks(messageId, 2);
    const owner = cluster.workers.find((worker) => worker.activeReplies === 1)!;

    await owner.drain();
    await expect(heard.waitForError(messageId)).resolves.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect((await cluster.standin.waitForClose(0, 1000)).outcome).toBe('client-closed');
    expect(owner.activeReplies).toBe(0);
    // The other worker answers now.
    expect((await history(socket, conversation))[1]).toMatchObject({
      status: 'interrupted',
      content: heard.text(messageId),
    });
    await expect(
      socket.emitWithAck('ai:message', { conversation_id: conversation, content: 'again' }),
    ).resolves.toMatchObject({ success: true });
  });
});
