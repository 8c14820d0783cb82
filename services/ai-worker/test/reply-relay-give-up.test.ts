import { ServiceError } from '@ctos/protocol';
import { ReplyRelay, type RelaySink } from '../src/reply-relay';

/**
 * A reply relay when Redis takes nothing (every emit refused, every write failing): it
 * retries while the worker runs, and gives up at once when the drain says so, ending
 * with `handedOff` false instead of retrying past the drain's cap. On a fake clock.
 */

const RETRY_MS = 250;

function refusingRelay(): { relay: ReplyRelay; attempts: string[]; storeErrors: unknown[]; stop: () => void } {
  const attempts: string[] = [];
  const storeErrors: unknown[] = [];
  let stopping = false;
  const unreachable = (): Promise<never> =>
    Promise.reject(new ServiceError('UNAVAILABLE', 'The data store cannot be reached right now.'));
  const sink: RelaySink = {
    emit: async (event) => {
      attempts.push(event);
      return false;
    },
    appendChunk: unreachable,
    storeChunkAt: unreachable,
    onStoreError: (error) => storeErrors.push(error),
    giveUp: () => stopping,
  };
  const relay = new ReplyRelay('conversation-1', 'message-1', 'alice', sink, 10_000);
  return { relay, attempts, storeErrors, stop: () => (stopping = true) };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

test('retries a refused emit while the worker runs, and gives it up at the next refusal once the drain stops it', async () => {
  const { relay, attempts, stop } = refusingRelay();
  let done = false;
  void relay.done.then(() => (done = true));
  relay.start();
  await jest.advanceTimersByTimeAsync(RETRY_MS * 3);
  expect([attempts.length, done, relay.handedOff]).toEqual([4, false, true]);

  stop();
  await jest.advanceTimersByTimeAsync(RETRY_MS);
  expect([attempts.length, done, relay.handedOff]).toEqual([5, true, false]);
  // Nothing is sent after it gave up, whatever comes.
  relay.add('more');
  await jest.advanceTimersByTimeAsync(RETRY_MS * 4);
  expect(attempts.length).toBe(5);
});

test('reports a failed store write once while it retries, and gives the end up without a report once the drain stops it', async () => {
  const { relay, storeErrors, stop } = refusingRelay();
  let done = false;
  void relay.done.then(() => (done = true));
  relay.add('a chunk');
  await jest.advanceTimersByTimeAsync(RETRY_MS * 4);
  expect(storeErrors).toHaveLength(1);

  stop();
  void relay.end({ event: 'ai:error', payload: { code: 'UNAVAILABLE', error: 'stopped', retryable: true } }, () =>
    Promise.reject(new Error('unreachable')),
  );
  await jest.advanceTimersByTimeAsync(RETRY_MS * 2);
  expect([done, relay.handedOff, storeErrors.length]).toEqual([true, false, 1]);
});
