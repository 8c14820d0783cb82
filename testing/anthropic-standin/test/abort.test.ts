import { APIUserAbortError } from '@anthropic-ai/sdk';
import { startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, eventually } from './support';

describe('client aborts reach the stand-in', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    await standin.close();
  });

  it('MessageStream.abort() closes the connection before the reply is done', async () => {
    standin.setScript(() => ({ text: 'word '.repeat(200), deltaIntervalMs: 50 }));
    const stream = clientFor(standin).messages.stream(ask());
    const texts: string[] = [];
    stream.on('text', (text) => texts.push(text));
    // The SDK reports an abort nobody awaits as an unhandled rejection.
    const finished = stream.done().catch((error: unknown) => error);
    await eventually(() => texts.length >= 2);

    stream.abort();
    const record = await standin.waitForClose(0, 5_000);

    expect(record.outcome).toBe('client-closed');
    expect(await finished).toBeInstanceOf(APIUserAbortError);
  });

  it('an AbortSignal given to create({stream: true}) closes a stalled connection', async () => {
    standin.setScript(() => ({ deltas: ['first', 'never'], fault: { kind: 'stall', afterDeltas: 1 } }));
    const controller = new AbortController();
    const stream = await clientFor(standin).messages.create({ ...ask(), stream: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const seen: string[] = [];
    while (!seen.includes('content_block_delta')) {
      const next = await iterator.next();
      if (next.done === true) throw new Error('stream ended early');
      seen.push(next.value.type);
    }
    expect(standin.requests[0]?.outcome).toBe('open');

    controller.abort();
    const record = await standin.waitForClose(0, 5_000);

    expect(record.outcome).toBe('client-closed');
  });

  it('breaking out of the iteration closes the connection', async () => {
    standin.setScript(() => ({ text: 'many small words '.repeat(50), deltaIntervalMs: 20 }));
    const stream = await clientFor(standin).messages.create({ ...ask(), stream: true });
    for await (const event of stream) {
      if (event.type === 'content_block_delta') break;
    }

    expect((await standin.waitForClose(0, 5_000)).outcome).toBe('client-closed');
  });

  it('close() ends a stalled response and the client sees the connection fail', async () => {
    standin.setScript(() => ({ deltas: ['x'], fault: { kind: 'stall', afterDeltas: 1 } }));
    const stream = await clientFor(standin).messages.create({ ...ask(), stream: true });
    const iterate = (async () => {
      for await (const _event of stream) {
        // Only the failure matters.
      }
    })();
    await standin.waitForRequest(0);

    await standin.close();

    await expect(iterate).rejects.toThrow();
    expect(standin.requests[0]?.outcome).toBe('server-closed');
    await expect(standin.waitForRequest(1)).rejects.toThrow(/closed/);
  });

  it('waitForClose times out with a clear error', async () => {
    await expect(standin.waitForClose(5, 20)).rejects.toThrow('no request #5 to close within 20 ms');
  });
});
