import { chunkText, sequence } from '@ctos/anthropic-standin';
import { waitFor } from '@ctos/testkit';
import { BUILDS, history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** A reply long enough to be cut into 500 deltas, with characters outside ASCII. */
const LONG_REPLY = Array.from({ length: 600 }, (_, i) => `word${i} ${i % 7 === 0 ? 'ö語😀 ' : ''}`).join('');

describe.each(BUILDS)('streamed replies (%s)', (build) => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster(build, { env: { AI_MESSAGES_PER_MINUTE: '1000' } });
  });
  afterEach(() => cluster.stop());

  it('delivers a 500-chunk reply in order and complete: start, chunks, then end with usage', async () => {
    cluster.standin.setScript(() => ({ text: LONG_REPLY, chunks: 500, usage: { inputTokens: 21, outputTokens: 432 } }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();

    const messageId = await send(socket, conversation, 'Tell me a long story');
    const end = await heard.waitForEnd(messageId);

    expect(chunkText(LONG_REPLY, 500)).toHaveLength(500);
    expect(heard.text(messageId)).toBe(LONG_REPLY);
    const indexes = heard.indexes(messageId);
    expect(indexes).toEqual(indexes.map((_, i) => i));
    expect(heard.order[0]).toBe(`start:${messageId}`);
    expect(heard.order[heard.order.length - 1]).toBe(`end:${messageId}`);
    expect(heard.reply(messageId).starts).toBe(1);
    expect(end).toEqual({
      conversation_id: conversation,
      message_id: messageId,
      stop_reason: 'end_turn',
      usage: { input_tokens: 21, output_tokens: 432 },
    });
    expect(await history(socket, conversation)).toEqual([
      expect.objectContaining({ role: 'user', content: 'Tell me a long story', status: 'complete' }),
      expect.objectContaining({
        message_id: messageId,
        role: 'assistant',
        content: LONG_REPLY,
        status: 'complete',
        stop_reason: 'end_turn',
        usage: { input_tokens: 21, output_tokens: 432 },
      }),
    ]);
  });

  it('streams to both tabs of the user that have the conversation open', async () => {
    cluster.standin.setScript(() => ({ text: 'one two three four five six', deltaIntervalMs: 5 }));
    const tab1 = await cluster.connect('alice');
    const tab2 = await cluster.connect('alice');
    const other = await cluster.connect('alice');
    const heard1 = new Listener(tab1);
    const heard2 = new Listener(tab2);
    const heardOther = new Listener(other);
    const conversation = newConversation();

    const first = await send(tab1, conversation, 'first');
    await heard1.waitForEnd(first);
    await history(tab2, conversation);
    const second = await send(tab1, conversation, 'second');
    await Promise.all([heard1.waitForEnd(second), heard2.waitForEnd(second)]);

    expect(heard1.text(second)).toBe('one two three four five six');
    expect(heard2.text(second)).toBe('one two three four five six');
    expect(heard2.order[0]).toBe(`start:${second}`);
    expect(heardOther.order).toEqual([]);
  });

  it('sends earlier turns as context, within the character budget', async () => {
    await cluster.stop();
    cluster = await startCluster(build, { env: { AI_CONTEXT_BUDGET_CHARS: '40' } });
    cluster.standin.setScript(sequence({ text: 'reply one' }, { text: 'reply two' }, { text: 'reply three' }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    for (const content of ['question one', 'question two', 'question three']) {
      await heard.waitForEnd(await send(socket, conversation, content));
    }

    const bodies = cluster.standin.requests.map((request) => request.body as { messages: unknown; system?: unknown });
    expect(bodies[0]?.messages).toEqual([{ role: 'user', content: 'question one' }]);
    expect(bodies[1]?.messages).toEqual([
      { role: 'user', content: 'question one' },
      { role: 'assistant', content: 'reply one' },
      { role: 'user', content: 'question two' },
    ]);
    // 40 characters: "question three" (14) + "reply two" (9) + "question two" (12) fit; "reply one" would not.
    expect(bodies[2]?.messages).toEqual([
      { role: 'user', content: 'question two' },
      { role: 'assistant', content: 'reply two' },
      { role: 'user', content: 'question three' },
    ]);
    expect(typeof bodies[0]?.system).toBe('string');
  });

  it('refuses a second message while a reply streams in the conversation with LIMIT_EXCEEDED', async () => {
    cluster.standin.setScript(sequence({ text: 'slow '.repeat(40), deltaIntervalMs: 20 }, { text: 'afterwards' }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();

    const first = await send(socket, conversation, 'first');
    await heard.waitForChunks(first, 2);
    await expect(
      socket.emitWithAck('ai:message', { conversation_id: conversation, content: 'second' }),
    ).resolves.toEqual({ success: false, code: 'LIMIT_EXCEEDED', error: expect.stringMatching(/still being written/) });
    const conversations = await socket.emitWithAck('ai:conversations', {});
    expect(conversations).toMatchObject({
      success: true,
      conversations: [{ conversation_id: conversation, title: 'first', streaming_message_id: first }],
    });
    await heard.waitForEnd(first);

    const third = await send(socket, conversation, 'third');
    await heard.waitForEnd(third);
    expect(heard.text(third)).toBe('afterwards');
    expect((await history(socket, conversation)).map((m) => [m.role, m.content])).toEqual([
      ['user', 'first'],
      ['assistant', 'slow '.repeat(40)],
      ['user', 'third'],
      ['assistant', 'afterwards'],
    ]);
  });

  it('lists the user’s conversations newest first, titled by their first message', async () => {
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const older = newConversation();
    const newer = newConversation();
    await heard.waitForEnd(await send(socket, older, 'How do I list   files\nby size?'));
    await heard.waitForEnd(await send(socket, newer, 'x'.repeat(200)));

    const answer = await socket.emitWithAck('ai:conversations', {});
    expect(answer.success).toBe(true);
    if (!answer.success) return;
    expect(answer.conversations.map((c) => c.conversation_id)).toEqual([newer, older]);
    expect(answer.conversations[1]?.title).toBe('How do I list files by size?');
    expect(answer.conversations[0]?.title).toBe(`${'x'.repeat(79)}…`);
    expect(answer.conversations[0]?.streaming_message_id).toBeUndefined();
  });

  it('answers RATE_LIMITED past the per-user messages per minute', async () => {
    await cluster.stop();
    cluster = await startCluster(build, { env: { AI_MESSAGES_PER_MINUTE: '2' } });
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    await heard.waitForEnd(await send(socket, newConversation(), 'one'));
    await heard.waitForEnd(await send(socket, newConversation(), 'two'));

    await expect(
      socket.emitWithAck('ai:message', { conversation_id: newConversation(), content: 'three' }),
    ).resolves.toMatchObject({ success: false, code: 'RATE_LIMITED' });
    const bob = await cluster.connect('bob');
    const bobHeard = new Listener(bob);
    await bobHeard.waitForEnd(await send(bob, newConversation(), 'bob is not limited by alice'));
    expect(cluster.standin.requests).toHaveLength(3);
  });

  it('reports a refusal without an ack callback as ai:error with retryable set', async () => {
    cluster.standin.setScript(() => ({ text: 'slow '.repeat(40), deltaIntervalMs: 20 }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const first = await send(socket, conversation, 'first');
    await heard.waitForChunks(first, 1);

    socket.emit('ai:message', { conversation_id: conversation, content: 'second' });
    (socket.emit as (event: string, payload: unknown) => void)('ai:message', { conversation_id: conversation });
    await waitFor(() => heard.errors.length === 2);
    expect(heard.errors).toHaveLength(2);
    expect(heard.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ conversation_id: conversation, code: 'LIMIT_EXCEEDED', retryable: false }),
        expect.objectContaining({ conversation_id: conversation, code: 'INVALID_PAYLOAD', retryable: false }),
      ]),
    );
    await socket.emitWithAck('ai:cancel', { conversation_id: conversation });
    await heard.waitForEnd(first);
  });
});
