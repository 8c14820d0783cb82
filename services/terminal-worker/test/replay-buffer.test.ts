import { ReplayBuffer } from '../src/replay-buffer';

const bytesOf = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('the replay buffer (P01)', () => {
  const text = 'a😀語b'; // 1 + 4 + 3 + 1 bytes
  const buffer = (): ReplayBuffer => {
    const replay = new ReplayBuffer(1024, () => undefined);
    replay.append(text, bytesOf(text));
    return replay;
  };

  it('replays from a position inside a character starting at the next whole character, never half of one', () => {
    const replay = buffer();
    expect(replay.since(0)).toEqual({ data: text, complete: true });
    for (const inside of [2, 3, 4]) expect(replay.since(inside)).toEqual({ data: '語b', complete: true });
    expect(replay.since(5)).toEqual({ data: '語b', complete: true });
    for (const inside of [6, 7]) expect(replay.since(inside)).toEqual({ data: 'b', complete: true });
    expect(replay.since(9)).toEqual({ data: '', complete: true });
    for (let seq = 0; seq <= 9; seq++) expect(replay.since(seq).data).not.toContain('\uFFFD');
  });

  it('says when a position is older than what it still holds, and gives what it has', () => {
    const evicted: string[] = [];
    const replay = new ReplayBuffer(8, (entry) => {
      if (entry.kind === 'output') evicted.push(entry.data);
    });
    replay.append('0123', 4);
    replay.append('4567', 4);
    replay.append('89', 2);
    expect(evicted).toEqual(['0123']);
    expect(replay.start).toBe(4);
    expect(replay.since(1)).toEqual({ data: '456789', complete: false });
    expect(replay.since(6)).toEqual({ data: '6789', complete: true });
  });
});
