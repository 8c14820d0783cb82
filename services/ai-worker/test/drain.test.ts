import type { KeyValueStore, Transport } from '@ctos/transport';
import { Gate, waitFor } from '@ctos/testkit';
import { history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** `transport` whose store calls each pass `gate` first. */
function gatedStore(transport: Transport, gate: Gate): Transport {
  const store = new Proxy(transport.store, {
    get: (target, name, receiver) => {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await gate.pass();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as KeyValueStore;
  return new Proxy(transport, { get: (target, name) => (name === 'store' ? store : Reflect.get(target, name)) });
}

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

  it('waits for a message accepted before the drain began, and stops its reply before it resolves', async () => {
    await cluster.stop();
    const gate = new Gate();
    cluster = await startCluster('memory', { workers: 1, workerTransport: (t) => gatedStore(t, gate) });
    cluster.standin.setScript(() => ({ text: 'word '.repeat(300), deltaIntervalMs: 30 }));
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const worker = cluster.workers[0]!;

    gate.close();
    const answer = socket.emitWithAck('ai:message', { conversation_id: conversation, content: 'Count' });
    await waitFor(() => gate.held > 0, { message: 'the message to be past its admission, at the store' });
    const drained = worker.drain();
    gate.open();
    await drained;
    // Once drained, nothing streams: the reply it accepted was stopped, not left running.
    expect(worker.activeReplies).toBe(0);
    const ack = await answer;
    if (!ack.success) throw new Error(`refused: ${ack.code}`);
    expect(worker.activeReplies).toBe(0);
    await expect(heard.waitForError(ack.message_id)).resolves.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
  });
});
