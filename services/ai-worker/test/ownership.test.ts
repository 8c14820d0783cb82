import { waitFor } from '@ctos/testkit';
import { BUILDS, history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

describe.each(BUILDS)('conversations belong to their user (%s)', (build) => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster(build, { gateways: 2 });
  });
  afterEach(() => cluster.stop());

  it('answers NOT_FOUND to every event that names another user’s conversation, and changes nothing', async () => {
    cluster.standin.setScript(() => ({ text: 'word '.repeat(200), deltaIntervalMs: 20 }));
    const alice = await cluster.connect('alice', 0);
    const heardAlice = new Listener(alice);
    const conversation = newConversation();
    const messageId = await send(alice, conversation, 'Alice’s secret question');
    await heardAlice.waitForChunks(messageId, 2);

    const bob = await cluster.connect('bob', 1);
    const heardBob = new Listener(bob);
    const attempts = [
      bob.emitWithAck('ai:message', { conversation_id: conversation, content: 'let me in' }),
      bob.emitWithAck('ai:cancel', { conversation_id: conversation }),
      bob.emitWithAck('ai:resume', { conversation_id: conversation, message_id: messageId }),
      bob.emitWithAck('ai:resume', { conversation_id: conversation, message_id: messageId, since: -1 }),
      bob.emitWithAck('ai:history', { conversation_id: conversation }),
    ];
    for (const answer of await Promise.all(attempts)) {
      expect(answer).toEqual({ success: false, code: 'NOT_FOUND', error: 'No such conversation.' });
    }
    // Without an ack callback the refusal comes as ai:error.
    bob.emit('ai:cancel', { conversation_id: conversation });
    await waitFor(() => heardBob.errors.length === 1);
    expect(heardBob.errors[0]).toEqual({
      conversation_id: conversation,
      code: 'NOT_FOUND',
      error: 'No such conversation.',
      retryable: false,
    });
    await expect(bob.emitWithAck('ai:conversations', {})).resolves.toEqual({ success: true, conversations: [] });

    await alice.emitWithAck('ai:cancel', { conversation_id: conversation });
    await heardAlice.waitForEnd(messageId);
    expect(heardBob.order).toEqual(['error:-']);
    expect(cluster.standin.requests).toHaveLength(1);
    expect((await history(alice, conversation)).map((m) => m.content)).toEqual([
      'Alice’s secret question',
      heardAlice.text(messageId),
    ]);
  });

  it('answers NOT_FOUND for a conversation nobody has, except to ai:message, which starts it', async () => {
    const alice = await cluster.connect('alice', 0);
    const heard = new Listener(alice);
    const conversation = newConversation();
    for (const answer of await Promise.all([
      alice.emitWithAck('ai:cancel', { conversation_id: conversation }),
      alice.emitWithAck('ai:resume', { conversation_id: conversation, message_id: 'x' }),
      alice.emitWithAck('ai:history', { conversation_id: conversation }),
    ])) {
      expect(answer).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
    await heard.waitForEnd(await send(alice, conversation, 'hello'));
    await expect(alice.emitWithAck('ai:cancel', { conversation_id: conversation })).resolves.toEqual({ success: true });
    expect(await history(alice, conversation)).toHaveLength(2);
  });
});
