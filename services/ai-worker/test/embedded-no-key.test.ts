import { startEmbedded, type Embedded } from '@ctos/launcher';
import type { AiErrorEvent } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, signToken, TEST_JWT_SECRET, type ClientSocket } from '@ctos/testkit';
import { randomUUID } from 'node:crypto';

describe('embedded mode without an API key', () => {
  let system: Embedded;
  let socket: ClientSocket;

  beforeAll(async () => {
    system = await startEmbedded({
      env: { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, WEB_DIST_DIR: '/nonexistent', ANTHROPIC_API_KEY: '' },
      logger: (service) => createLogger({ service, level: 'silent' }),
    });
    socket = await connectClient(system.url, await signToken('alice'));
  });
  afterAll(async () => {
    socket.close();
    await system.stop();
  });

  it('answers a message with UNAVAILABLE saying how to configure a key, keeps the message, and stays up', async () => {
    const conversationId = randomUUID();
    const error = new Promise<AiErrorEvent>((resolve) => socket.once('ai:error', resolve));
    const ack = await socket.emitWithAck('ai:message', { conversation_id: conversationId, content: 'hello?' });
    expect(ack.success).toBe(true);
    await expect(error).resolves.toMatchObject({
      conversation_id: conversationId,
      code: 'UNAVAILABLE',
      retryable: false,
      error: expect.stringContaining('ANTHROPIC_API_KEY'),
    });
    const history = await socket.emitWithAck('ai:history', { conversation_id: conversationId });
    expect(history.success && history.messages.map((m) => [m.role, m.content])).toContainEqual(['user', 'hello?']);
    const list = await socket.emitWithAck('terminal:list', {});
    expect(list.success).toBe(true);
  });
});
