import { createLogger } from '@ctos/runtime';
import { waitFor } from '@ctos/testkit';
import { BUILDS, history, Listener, newConversation, startCluster, type TestCluster } from './harness';

describe.each(BUILDS)('an ai-worker without ANTHROPIC_API_KEY (%s)', (build) => {
  let cluster: TestCluster;
  const lines: string[] = [];

  beforeEach(async () => {
    lines.length = 0;
    const logger = createLogger({
      service: 'ai-worker',
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    cluster = await startCluster(build, { env: { ANTHROPIC_API_KEY: '' }, workerLogger: logger });
  });
  afterEach(() => cluster.stop());

  it('warns at start-up', () => {
    expect(lines.some((line) => /"level":40/.test(line) && /ANTHROPIC_API_KEY is not set/.test(line))).toBe(true);
  });

  it('answers every message with one UNAVAILABLE ai:error, not retryable, saying how to configure it, and keeps the message', async () => {
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();

    const acked = await socket.emitWithAck('ai:message', { conversation_id: conversation, content: 'Hello?' });
    expect(acked).toEqual({ success: true, message_id: expect.any(String) });
    const messageId = acked.success ? acked.message_id : '';
    const error = await heard.waitForError(messageId);
    expect(error).toEqual({
      conversation_id: conversation,
      message_id: messageId,
      code: 'UNAVAILABLE',
      error: expect.stringContaining('ANTHROPIC_API_KEY'),
      retryable: false,
    });

    // The original client sends without an ack callback; it hears the same, once.
    socket.emit('ai:message', { conversation_id: conversation, content: 'Still there?' });
    await waitFor(() => heard.errors.length === 2);
    expect(heard.errors[1]).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(heard.order.filter((entry) => !entry.startsWith('error:'))).toEqual([]);

    expect((await history(socket, conversation)).map((m) => [m.role, m.content])).toEqual([
      ['user', 'Hello?'],
      ['user', 'Still there?'],
    ]);
    expect(cluster.standin.requests).toHaveLength(0);
    expect(cluster.workers[0]!.activeReplies).toBe(0);
    expect(lines.join('\n')).not.toMatch(/Hello\?|Still there/);
  });
});
