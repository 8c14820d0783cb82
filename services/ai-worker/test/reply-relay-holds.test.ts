import { ReplyRelay, type RelaySink } from '../src/reply-relay';

/**
 * A reply relay's holds, by socket, on a fake clock: each socket's hold lapses on its own
 * timer, from when that socket's hold began.
 */

const HOLD_MS = 1000;

/** A relay whose emits land in `emitted` (chunk texts, or the event name) at once. */
function relayWithLog(): { relay: ReplyRelay; emitted: string[] } {
  const emitted: string[] = [];
  const sink: RelaySink = {
    emit: async (event, payload) => {
      emitted.push(event === 'ai:stream:chunk' ? (payload as { chunk: string }).chunk : event);
      return true;
    },
    appendChunk: async () => undefined,
    storeChunkAt: async () => undefined,
    onStoreError: () => undefined,
    giveUp: () => false,
  };
  return { relay: new ReplyRelay('conversation-1', 'message-1', 'alice', sink, HOLD_MS), emitted };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

test("gives a fresh resume's hold its own time: it outlasts an older socket's hold that lapses", async () => {
  const { relay, emitted } = relayWithLog();
  relay.start();
  await jest.advanceTimersByTimeAsync(0);
  expect(emitted).toEqual(['ai:stream:start']);

  await relay.holdForResume(-1, 'socket-b');
  await jest.advanceTimersByTimeAsync(HOLD_MS - 200);
  await relay.holdForResume(-1, 'socket-c');
  relay.add('held for c');
  // Socket B's hold has lapsed; C's, begun 200 ms before, has 800 ms left.
  await jest.advanceTimersByTimeAsync(300);
  expect(emitted).toEqual(['ai:stream:start']);

  await jest.advanceTimersByTimeAsync(HOLD_MS);
  expect(emitted).toEqual(['ai:stream:start', 'held for c']);
});

test("ends only its own socket's hold with a release, and nothing once that hold lapsed", async () => {
  const { relay, emitted } = relayWithLog();
  relay.start();
  await relay.holdForResume(-1, 'socket-b');
  await jest.advanceTimersByTimeAsync(HOLD_MS);
  await relay.holdForResume(-1, 'socket-c');
  relay.add('held for c');

  relay.release('socket-b'); // late: its hold lapsed
  await jest.advanceTimersByTimeAsync(0);
  expect(emitted).toEqual(['ai:stream:start']);

  relay.release('socket-c');
  await jest.advanceTimersByTimeAsync(0);
  expect(emitted).toEqual(['ai:stream:start', 'held for c']);
});
