import { chunkText } from '@ctos/anthropic-standin';
import { waitForValue } from '@ctos/testkit';
import { BUILDS, history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** A reply with characters outside ASCII, long enough to be cut mid-way. */
const REPLY = Array.from({ length: 120 }, (_, i) => `part${i}${i % 9 === 0 ? ' ö語😀' : ''} `).join('');

/** Each index at most once, and (from `first`) without a gap. */
function expectOnceEach(indexes: number[], first: number, last: number): void {
  expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
}

describe.each(BUILDS)('resuming a reply (%s)', (build) => {
  let cluster: TestCluster;

  beforeEach(async () => {
    cluster = await startCluster(build, { gateways: 2 });
  });
  afterEach(() => cluster.stop());

  it('continues through gateway B from the last index after gateway A goes away mid-stream', async () => {
    cluster.standin.setScript(() => ({ text: REPLY, chunks: 120, deltaIntervalMs: 10 }));
    const viaA = await cluster.connect('alice', 0);
    const heardA = new Listener(viaA);
    const conversation = newConversation();
    const messageId = await send(viaA, conversation, 'Write a long list');
    await heardA.waitForChunks(messageId, 20);

    // Gateway A dies: its sockets are cut and its server closes (in-process stand-in for SIGKILL).
    const disconnected = new Promise((resolve) => viaA.once('disconnect', resolve));
    cluster.gateways[0]!.io.close();
    await disconnected;
    const since = heardA.lastIndex(messageId);

    const viaB = await cluster.connect('alice', 1);
    const heardB = new Listener(viaB);
    const answer = await viaB.emitWithAck('ai:resume', { conversation_id: conversation, message_id: messageId, since });
    expect(answer).toMatchObject({ success: true, message_id: messageId, status: 'streaming' });
    const end = await heardB.waitForEnd(messageId);

    expect(REPLY.startsWith(heardA.text(messageId))).toBe(true);
    const assembled = [...heardA.reply(messageId).chunks, ...heardB.reply(messageId).chunks]
      .sort((a, b) => a.index - b.index)
      .map((chunk) => chunk.chunk)
      .join('');
    expect(assembled).toBe(REPLY);
    const last = Math.max(...heardB.indexes(messageId));
    expectOnceEach(heardB.indexes(messageId), since + 1, last);
    expect(end.stop_reason).toBe('end_turn');
    expect(chunkText(REPLY, 120)).toHaveLength(120);
  });

  it('sends a tab that resumes mid-stream every chunk exactly once, however fast the stream runs', async () => {
    // A chunk whenever none is on its way, not one a frame: resumes race emits in flight.
    await cluster.stop();
    cluster = await startCluster(build, { gateways: 2, chunkIntervalMs: 0 });
    cluster.standin.setScript(() => ({ text: REPLY, chunks: 120, deltaIntervalMs: 1 }));
    const sender = await cluster.connect('alice', 0);
    const heard = new Listener(sender);
    const conversation = newConversation();
    const messageId = await send(sender, conversation, 'Go fast');
    const tabs: Listener[] = [];
    for (const after of [5, 30, 60]) {
      await heard.waitForChunks(messageId, after);
      const tab = new Listener(await cluster.connect('alice', tabs.length % 2));
      tabs.push(tab);
      const answer = await tab.socket.emitWithAck('ai:resume', {
        conversation_id: conversation,
        message_id: messageId,
      });
      expect(answer).toMatchObject({ success: true, status: 'streaming' });
    }
    await heard.waitForEnd(messageId);
    await Promise.all(tabs.map((tab) => tab.waitForEnd(messageId)));

    const total = heard.indexes(messageId).length;
    for (const tab of [heard, ...tabs]) {
      expect(tab.text(messageId)).toBe(REPLY);
      expectOnceEach(tab.indexes(messageId), 0, total - 1);
      expect(tab.order.filter((entry) => entry === `end:${messageId}`)).toHaveLength(1);
    }
  });

  it('replays the rest and the end of a reply that finished while the tab was away', async () => {
    cluster.standin.setScript(() => ({ text: REPLY, chunks: 40 }));
    const socket = await cluster.connect('alice', 0);
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Go');
    await heard.waitForEnd(messageId);
    const total = heard.indexes(messageId).length;

    const later = await cluster.connect('alice', 1);
    const heardLater = new Listener(later);
    const answer = await later.emitWithAck('ai:resume', {
      conversation_id: conversation,
      message_id: messageId,
      since: 9,
    });
    expect(answer).toEqual({ success: true, message_id: messageId, status: 'complete', last_index: total - 1 });
    await heardLater.waitForEnd(messageId);
    expect(heardLater.indexes(messageId)).toEqual(Array.from({ length: total - 10 }, (_, i) => 10 + i));
    const first10 = heard
      .reply(messageId)
      .chunks.slice(0, 10)
      .map((chunk) => chunk.chunk)
      .join('');
    expect(
      first10 +
        heardLater
          .reply(messageId)
          .chunks.map((chunk) => chunk.chunk)
          .join(''),
    ).toBe(REPLY);
    expect(heardLater.reply(messageId).end).toEqual(heard.reply(messageId).end);
  });

  it('replays an interrupted reply with its error', async () => {
    cluster.standin.setScript(() => ({ deltas: ['one', ' two'], fault: { kind: 'error-event', afterDeltas: 2 } }));
    const socket = await cluster.connect('alice', 0);
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Go');
    const error = await heard.waitForError(messageId);

    const later = new Listener(await cluster.connect('alice', 1));
    const answer = await later.socket.emitWithAck('ai:resume', {
      conversation_id: conversation,
      message_id: messageId,
    });
    expect(answer).toMatchObject({ success: true, status: 'interrupted', last_index: heard.lastIndex(messageId) });
    await waitForValue(() => later.reply(messageId).error);
    expect(later.text(messageId)).toBe('one two');
    expect(later.reply(messageId).error).toEqual(error);
  });

  it('answers NOT_FOUND for a message the conversation does not have', async () => {
    const socket = await cluster.connect('alice', 0);
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Go');
    await heard.waitForEnd(messageId);
    const user = (await history(socket, conversation))[0]!.message_id;
    for (const id of ['no-such-message', user]) {
      await expect(
        socket.emitWithAck('ai:resume', { conversation_id: conversation, message_id: id }),
      ).resolves.toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
  });
});
