import { ReplyRelay, type RelaySink, type Terminal } from '../src/reply-relay';
import type { FinalWrite } from '../src/reply-writes';

/**
 * A reply relay's emits on their way together, on a fake clock: what it sends without
 * waiting, what it joins, and how it sends again after a refusal.
 */

const CHUNK_INTERVAL_MS = 16;
const RETRY_MS = 250;

const end: Terminal = {
  event: 'ai:stream:end',
  payload: {
    conversation_id: 'conversation-1',
    message_id: 'message-1',
    stop_reason: 'end_turn',
    usage: { input_tokens: 1, output_tokens: 2 },
  },
};

/** A relay whose emits settle when the test says; `log` has each call in order. */
function relayWithManualEmits() {
  const log: string[] = [];
  const settles: Array<(sent: boolean) => void> = [];
  const sink: RelaySink = {
    emit: (event, payload) => {
      log.push(event === 'ai:stream:chunk' ? `chunk ${(payload as { chunk: string }).chunk}` : event);
      return new Promise<boolean>((resolve) => settles.push(resolve));
    },
    appendChunk: async (chunk) => void log.push(`append ${chunk}`),
    storeChunkAt: async () => undefined,
    onStoreError: () => undefined,
    giveUp: () => false,
  };
  const relay = new ReplyRelay('conversation-1', 'message-1', 'alice', sink, 10_000);
  /** Settles the emits on their way, in order, with `sent`. */
  const settle = async (sent = true): Promise<void> => {
    for (const resolve of settles.splice(0)) resolve(sent);
    await jest.advanceTimersByTimeAsync(0);
  };
  return { relay, log, settle };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

test('sends start, the first chunk, the last chunk and the end without waiting for each other', async () => {
  const { relay, log, settle } = relayWithManualEmits();
  relay.start();
  relay.add('a');
  // The first delta goes at once, while start is still on its way.
  expect(log).toEqual(['ai:stream:start', 'append a', 'chunk a']);

  relay.add('b');
  relay.add('c');
  let done = false;
  void relay.end(end, async () => undefined).then(() => (done = true));
  await jest.advanceTimersByTimeAsync(0);
  // The rest goes with the end, though chunk a is still on its way.
  expect(log.slice(3)).toEqual(['append bc', 'chunk bc', 'ai:stream:end']);
  expect(done).toBe(false);
  await settle();
  expect(done).toBe(true);
});

test('joins what comes while a chunk is on its way, or within the chunk interval, into the next chunk', async () => {
  const { relay, log, settle } = relayWithManualEmits();
  relay.start();
  relay.add('one ');
  await jest.advanceTimersByTimeAsync(0);
  relay.add('two ');
  await jest.advanceTimersByTimeAsync(0);
  relay.add('three ');
  await settle();
  // Settled, but within the interval since the first chunk: it waits.
  expect(log.filter((entry) => entry.startsWith('chunk'))).toEqual(['chunk one ']);

  await jest.advanceTimersByTimeAsync(CHUNK_INTERVAL_MS);
  expect(log.filter((entry) => entry.startsWith('chunk'))).toEqual(['chunk one ', 'chunk two three ']);
  await settle();
  void relay.end(end, async () => undefined);
  await settle();
});

test('sends a refused emit again with every event after it, in order', async () => {
  const { relay, log, settle } = relayWithManualEmits();
  relay.start();
  relay.add('a');
  await jest.advanceTimersByTimeAsync(0);
  expect(log).toEqual(['ai:stream:start', 'append a', 'chunk a']);

  await settle(false);
  await jest.advanceTimersByTimeAsync(RETRY_MS);
  expect(log.slice(3)).toEqual(['ai:stream:start', 'chunk a']);
  await settle();
  void relay.end(end, async () => undefined);
  await settle();
});

test('sends the write that frees the slot just ahead of the end, and its retry when it fails', async () => {
  const { relay, log, settle } = relayWithManualEmits();
  let failures = 1;
  const final: FinalWrite = {
    now: async () => {
      log.push('free');
      throw new Error('connection lost');
    },
    again: async () => {
      log.push('free again');
      if (failures-- > 0) throw new Error('still lost');
    },
  };
  relay.start();
  let done = false;
  void relay.end(end, async () => final).then(() => (done = true));
  await jest.advanceTimersByTimeAsync(0);
  expect(log).toEqual(['ai:stream:start', 'free', 'ai:stream:end', 'free again']);

  await settle();
  // The end is out; the relay is done only once the slot is freed.
  expect(done).toBe(false);
  await jest.advanceTimersByTimeAsync(RETRY_MS);
  expect(log.slice(4)).toEqual(['free again']);
  expect(done).toBe(true);
});
