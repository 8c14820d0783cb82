import type { TerminalOutputEvent } from '@ctos/protocol';
import { OutputPump } from '../src/output-pump';

/** One full read of a Linux PTY (decision 0015). */
const FULL_READ = 'a'.repeat(4095);
const CHUNK_BYTES = 64 * 1024;

/**
 * A pump with a transport that takes each chunk at once (`settle: 'now'`, like embedded
 * mode) or only when the test says so (`'manual'`, like a Redis round trip).
 */
function pumpWith(settle: 'now' | 'manual') {
  const sent: TerminalOutputEvent[] = [];
  const inFlight: Array<() => void> = [];
  let end = 0;
  const pump = new OutputPump('s1', CHUNK_BYTES, {
    emit: (event) => {
      sent.push(event);
      if (settle === 'now') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => inFlight.push(() => resolve(true)));
    },
    record: (_data, bytes) => (end += bytes),
    changed: () => undefined,
    drained: () => undefined,
    holdLapsed: () => undefined,
  });
  /** Lets the transport take the chunk in flight, then lets the pump react. */
  const settleOne = async (): Promise<void> => {
    inFlight.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { pump, sent, settleOne };
}

/** Lets promise callbacks run: a PTY's reads arrive in turns of the event loop of their own. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the output pump (decision 0015)', () => {
  const pumps: OutputPump[] = [];
  // The pump's only timer (quiet after a full read) runs when the test says: however
  // slowly this machine runs the reads, no wait between them may end a batch.
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] }));
  afterEach(() => {
    for (const pump of pumps.splice(0)) pump.dispose();
    jest.useRealTimers();
  });

  it('sends a short read at once, in the same turn: an echo never waits for a timer or another read', async () => {
    const { pump, sent } = pumpWith('now');
    pumps.push(pump);
    pump.push('x');
    expect(sent.map((e) => e.data)).toEqual(['x']);
    await nextTurn();
    pump.push('$ ');
    expect(sent.map((e) => e.data)).toEqual(['x', '$ ']);
  });

  it('batches full reads into chunks of the configured size, and sends the rest at the first short read', async () => {
    const { pump, sent } = pumpWith('now');
    pumps.push(pump);
    const reads = 40; // 163,800 bytes: two full chunks and a remainder
    for (let i = 0; i < reads; i++) {
      pump.push(FULL_READ);
      await nextTurn();
    }
    const perChunk = Math.ceil(CHUNK_BYTES / FULL_READ.length);
    expect(sent.map((e) => e.data.length)).toEqual([perChunk * 4095, perChunk * 4095]);
    pump.push('done\r\n');
    expect(sent).toHaveLength(3);
    expect(sent.map((e) => e.data).join('')).toBe(FULL_READ.repeat(reads) + 'done\r\n');
    expect(sent.at(-1)!.seq).toBe(reads * 4095 + 6);
  });

  it('sends output that ends exactly on a full read when no other read comes', async () => {
    const { pump, sent } = pumpWith('now');
    pumps.push(pump);
    pump.push(FULL_READ);
    await nextTurn();
    expect(sent).toHaveLength(0);
    jest.runOnlyPendingTimers();
    expect(sent.map((e) => e.data)).toEqual([FULL_READ]);
  });

  it('counts a full read of multi-byte characters by its bytes, whatever the decoder kept back', async () => {
    const { pump, sent } = pumpWith('now');
    pumps.push(pump);
    pump.push('語'.repeat(1364)); // 4,092 bytes: a 4,095-byte read whose last character was split
    await nextTurn();
    expect(sent).toHaveLength(0);
    pump.push('語'.repeat(10));
    expect(sent.map((e) => e.data)).toEqual(['語'.repeat(1374)]);
    expect(sent[0]!.seq).toBe(1374 * 3);
  });

  it('sends what is pending at once when flow control pauses reading', async () => {
    const { pump, sent } = pumpWith('now');
    pumps.push(pump);
    pump.push(FULL_READ);
    pump.push(FULL_READ);
    await nextTurn();
    expect(sent).toHaveLength(0);
    pump.readingPaused();
    await Promise.resolve(); // the microtask it queued
    expect(sent.map((e) => e.data)).toEqual([FULL_READ + FULL_READ]);
  });

  it('gathers reads that arrive while a chunk is in flight into one chunk sent when it has been taken', async () => {
    const { pump, sent, settleOne } = pumpWith('manual');
    pumps.push(pump);
    pump.push('first');
    for (const read of ['a', 'b', 'c']) {
      await nextTurn();
      pump.push(read);
    }
    expect(sent.map((e) => e.data)).toEqual(['first']);
    await settleOne();
    expect(sent.map((e) => e.data)).toEqual(['first', 'abc']);
    expect(sent.map((e) => e.seq)).toEqual([5, 8]);
  });
});
