import type { FrameInfo, Reply } from '@ctos/anthropic-standin';
import { history, Listener, newConversation, send, startCluster, type TestCluster } from './harness';

/** P16's cuts of the `Hello wörld` delta: inside `data:`, inside the JSON string, and between the bytes of `ö`. */
function p16Cuts(frame: Uint8Array, info: FrameInfo): number[] {
  if (info.event !== 'content_block_delta') return [];
  const bytes = Buffer.from(frame);
  return [
    bytes.indexOf('data:') + 2,
    bytes.indexOf('"Hello') + 4,
    bytes.indexOf('lo w') + 4,
    bytes.indexOf(Buffer.from('ö')) + 1,
  ];
}

/** A delta of 40 KB with characters of every UTF-8 length. */
const BIG = Array.from({ length: 4096 }, (_, i) => ['ab', 'ö', '語', '😀'][i % 4]!.repeat(3))
  .join('')
  .slice(0, 40_000);

describe('SSE events cut anywhere on the wire reach the client whole (P16)', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // The stand-in runs in this process, and its 40,000 one-byte writes complete on
    // process.nextTick without yielding to timers for about 2 s; lenient heartbeats keep
    // the registry from taking that pause for a dead worker.
    cluster = await startCluster('memory', {
      env: { AI_MESSAGES_PER_MINUTE: '1000' },
      heartbeat: { intervalMs: 1000, missedBeats: 30 },
    });
  });
  afterAll(() => cluster.stop());

  it.each<[string, Reply, string]>([
    [
      'cut inside data:, inside the JSON string and inside ö',
      { deltas: ['Hello wörld'], wire: { split: p16Cuts, flushDelayMs: 50 } },
      'Hello wörld',
    ],
    [
      'with \\r\\n line endings',
      { deltas: ['Hello', ' wörld'], wire: { lineEnding: '\r\n', split: p16Cuts, flushDelayMs: 20 } },
      'Hello wörld',
    ],
    [
      'with \\r line endings, 7 bytes a write',
      { text: 'Grüße, 世界 😀 done', chunks: 9, wire: { lineEnding: '\r', split: { everyBytes: 7 } } },
      'Grüße, 世界 😀 done',
    ],
    ['as one 40 KB delta in 1-byte writes', { deltas: [BIG], wire: { split: 'byte' } }, BIG],
  ])('%s', async (_title, reply, expected) => {
    cluster.standin.setScript(() => reply);
    const socket = await cluster.connect('alice');
    const heard = new Listener(socket);
    const conversation = newConversation();
    const messageId = await send(socket, conversation, 'Say it');
    await heard.waitForEnd(messageId, 30_000);

    const text = heard.text(messageId);
    expect(text).toBe(expected);
    expect(text).not.toContain('\uFFFD');
    expect((await history(socket, conversation))[1]?.content).toBe(expected);
    socket.close();
  });
});
