import { EventEmitter } from 'node:events';
import { OutputCollector, type ClientSocket } from '../src/client';
import { TerminalStream } from '../src/terminal-stream';

/**
 * The test client's terminal stream proves "no byte lost or repeated" per byte: a gap or
 * an overlap of `seq` is recorded, never dropped in silence; the overlaps an attach makes
 * are handled by position, as the page does.
 */

/** A chunk of ASCII `text` ending at `seq`. */
const chunk = (text: string, seq: number) => ({ data: text, seq });

describe('TerminalStream', () => {
  it('appends chunks that start where the stream ends', () => {
    const stream = new TerminalStream();
    stream.live(chunk('ab', 2));
    stream.live(chunk('cde', 5));
    expect([stream.text, stream.seq, stream.base, stream.errors]).toEqual(['abcde', 5, 0, []]);
  });

  it('starts where it first hears the session, then records a gap', () => {
    const stream = new TerminalStream();
    stream.live(chunk('cd', 4));
    stream.live(chunk('gh', 8));
    expect(stream.base).toBe(2);
    expect(stream.errors).toEqual(['bytes 4..6 are missing (a chunk 6..8 came next)']);
    expect(() => stream.assertWhole()).toThrow(/bytes 4\.\.6 are missing/);
  });

  it('records a chunk that overlaps the end, and one that repeats bytes with other content', () => {
    const stream = new TerminalStream();
    stream.live(chunk('abcd', 4));
    stream.live(chunk('cdef', 6));
    stream.live(chunk('xy', 6));
    expect(stream.errors).toEqual([
      'bytes 2..4 came twice (a chunk 2..6 after 4)',
      'bytes 4..6 came twice (a chunk 4..6 after 6)',
    ]);
  });

  it('lists, not drops in silence, a chunk sent again whole with the same bytes', () => {
    const stream = new TerminalStream();
    stream.live(chunk('ab', 2));
    stream.live(chunk('cd', 4));
    stream.live(chunk('cd', 4));
    expect([stream.text, stream.errors, stream.repeats]).toEqual(['abcd', [], ['2..4']]);
  });

  it('holds live output during an attach; the replay starts at its seq and covers what raced it', () => {
    const stream = new TerminalStream();
    stream.live(chunk('ab', 2));
    expect(stream.beginAttach()).toBe(2);
    stream.live(chunk('cd', 4)); // emitted before the worker's hold: inside the replay
    stream.live(chunk('gh', 8)); // after the release, ahead of the answer's continuation
    stream.applyReplay({ data: 'cdef', seq: 6, snapshot: false });
    stream.live(chunk('cd', 4)); // raced the replay on another connection: held already
    expect([stream.text, stream.seq, stream.covered, stream.errors]).toEqual(['abcdefgh', 8, 2, []]);
  });

  it('records a replay that does not start at the stream’s end', () => {
    const stream = new TerminalStream();
    stream.live(chunk('abcd', 4));
    stream.beginAttach();
    stream.applyReplay({ data: 'cdef', seq: 6, snapshot: false });
    expect(stream.errors).toEqual(['a replay starts at 2, the stream ends at 4']);
  });

  it('keeps holding across a failed attach, and a snapshot replaces the text', () => {
    const stream = new TerminalStream();
    stream.live(chunk('ab', 2));
    stream.beginAttach();
    stream.applyReplay(undefined);
    stream.live(chunk('cd', 4));
    expect([stream.attaching, stream.text]).toEqual([true, 'ab']);
    stream.applyReplay({ data: '[screen]', seq: 4, snapshot: true });
    stream.live(chunk('ef', 6));
    expect([stream.text, stream.seq, stream.errors]).toEqual(['[screen]ef', 6, []]);
  });
});

describe('OutputCollector', () => {
  /** Just enough of a socket for the collector: listeners the test fires. */
  const fakeSocket = () => {
    const emitter = new EventEmitter();
    return { socket: emitter as unknown as ClientSocket, emitter };
  };

  it('fails waitForText on a gap or an overlap of seq instead of dropping it', async () => {
    const { socket, emitter } = fakeSocket();
    const out = new OutputCollector(socket, 's1');
    emitter.emit('terminal:output', { session_id: 's1', data: 'L1\r\n', seq: 4 });
    emitter.emit('terminal:output', { session_id: 's1', data: '1\r\nL2\r\n', seq: 10 });
    emitter.emit('terminal:output', { session_id: 's1', data: 'L4\r\n', seq: 18 });
    expect(out.errors).toEqual([
      'bytes 3..4 came twice (a chunk 3..10 after 4)',
      'bytes 10..14 are missing (a chunk 14..18 came next)',
    ]);
    await expect(out.waitForText('L4')).rejects.toThrow(/the terminal stream is not whole/);
    out.stop();
  });
});
