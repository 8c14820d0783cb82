import { ServiceError, type TerminalBusMessage } from '@ctos/protocol';
import { ReportedRefusal } from '../src/bind-event';
import { InputRelay } from '../src/terminal-input';
import type { TerminalLink } from '../src/terminal-link';

/**
 * How a socket's keystrokes cross a Redis blip (docs/decisions/0011): in order, one on
 * the bus at a time, held while the bus refuses them (nothing written) up to
 * BUS_REQUEST_TIMEOUT_MS, and refused together with what was typed behind them when one
 * fails for good. The bus is a fake the test answers.
 */

const HOLD_MS = 5000;

/** A bus send the test settles. */
interface PendingSend {
  data: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** A terminal link whose sends wait for the test, or are refused while `refusing` says so. */
function fakeLink(refusing: () => ServiceError | undefined = () => undefined) {
  const sends: PendingSend[] = [];
  const attempts: string[] = [];
  const link = {
    context: { config: { BUS_REQUEST_TIMEOUT_MS: HOLD_MS, TERMINAL_INPUT_BURST_BYTES: 1000 } },
    directory: {
      owned: async (sessionId: string, user: string) => {
        if (sessionId === 'gone') throw new ServiceError('NOT_FOUND', 'No such terminal session.');
        return { session_id: sessionId, user, worker: 'w1', created_at: '' };
      },
    },
    send: (_worker: string, message: TerminalBusMessage) => {
      const data = message.op === 'input' ? message.data : '';
      attempts.push(data);
      const refusal = refusing();
      if (refusal) return Promise.reject(refusal);
      return new Promise<void>((resolve, reject) => sends.push({ data, resolve, reject }));
    },
  };
  return { link: link as unknown as TerminalLink, sends, attempts };
}

/** Lets settled promises' continuations run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Records how each input was answered. */
function outcomes(relay: InputRelay, inputs: string[], session = 's1'): string[] {
  const answered: string[] = inputs.map(() => 'pending');
  inputs.forEach((data, i) => {
    relay.send(session, data, data.length).then(
      () => (answered[i] = 'ok'),
      (error: ServiceError) => (answered[i] = `${error instanceof ReportedRefusal ? 'reported ' : ''}${error.code}`),
    );
  });
  return answered;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

test('sends keystrokes in the order typed, one on the bus at a time', async () => {
  const { link, sends } = fakeLink();
  const relay = new InputRelay(link, 'u1');
  const answered = outcomes(relay, ['a', 'b', 'c']);
  await flush();
  expect(sends.map((s) => s.data)).toEqual(['a']);
  sends[0]!.resolve();
  await flush();
  expect(sends.map((s) => s.data)).toEqual(['a', 'b']);
  sends[1]!.resolve();
  await flush();
  sends[2]!.resolve();
  await flush();
  expect(answered).toEqual(['ok', 'ok', 'ok']);
  relay.dispose();
});

test('holds keystrokes the bus refuses and sends each once, in order, when Redis answers within the hold', async () => {
  let down = true;
  const { link, sends, attempts } = fakeLink(() =>
    down ? new ServiceError('UNAVAILABLE', 'The message bus cannot be reached; try again shortly.') : undefined,
  );
  const relay = new InputRelay(link, 'u1');
  const answered = outcomes(relay, ['a', 'b']);
  await jest.advanceTimersByTimeAsync(HOLD_MS - 1000);
  expect(answered).toEqual(['pending', 'pending']);
  expect(attempts.every((data) => data === 'a')).toBe(true); // nothing typed later overtakes it
  down = false;
  await jest.advanceTimersByTimeAsync(100);
  for (const send of sends) send.resolve();
  await flush();
  sends.at(-1)!.resolve();
  await flush();
  expect(sends.map((s) => s.data)).toEqual(['a', 'b']);
  expect(answered).toEqual(['ok', 'ok']);
  relay.dispose();
});

test('refuses a keystroke as not sent once its hold runs out, with everything typed behind it, reported once', async () => {
  const { link } = fakeLink(() => new ServiceError('UNAVAILABLE', 'The message bus cannot be reached.'));
  const relay = new InputRelay(link, 'u1');
  let headError: ServiceError | undefined;
  relay.send('s1', 'a', 1).catch((error: ServiceError) => (headError = error));
  const behind = outcomes(relay, ['b', 'c']);
  await jest.advanceTimersByTimeAsync(HOLD_MS);
  await flush();
  expect(headError?.code).toBe('UNAVAILABLE');
  expect(headError?.message).toMatch(/not sent.*the 2 inputs typed after it were not sent either/);
  expect(behind).toEqual(['reported UNAVAILABLE', 'reported UNAVAILABLE']);
  relay.dispose();
});

test('an unconfirmed write answers TIMEOUT, and what was typed behind it is not sent', async () => {
  const { link, sends, attempts } = fakeLink();
  const relay = new InputRelay(link, 'u1');
  const answered = outcomes(relay, ['a', 'b', 'c']);
  await flush();
  sends[0]!.reject(new ServiceError('TIMEOUT', 'The message bus did not confirm in time; it may still arrive.'));
  await flush();
  expect(answered).toEqual(['TIMEOUT', 'reported UNAVAILABLE', 'reported UNAVAILABLE']);
  expect(attempts).toEqual(['a']);
  relay.dispose();
});

test('another user’s or an ended session answers NOT_FOUND for each input, not "not sent"', async () => {
  const { link } = fakeLink();
  const relay = new InputRelay(link, 'u1');
  const answered = outcomes(relay, ['a', 'b'], 'gone');
  await flush();
  expect(answered).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  relay.dispose();
});

test('refuses input beyond the held bytes, and dispose answers what is still held', async () => {
  const { link } = fakeLink(() => new ServiceError('UNAVAILABLE', 'The message bus cannot be reached.'));
  const relay = new InputRelay(link, 'u1');
  const answered = outcomes(relay, ['x'.repeat(600), 'y'.repeat(600)]);
  await flush();
  expect(answered).toEqual(['pending', 'UNAVAILABLE']);
  relay.dispose();
  await flush();
  expect(answered).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
  expect(jest.getTimerCount()).toBe(0);
});
