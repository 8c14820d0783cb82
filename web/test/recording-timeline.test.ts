import { IDLE_CAP_SECONDS, RecordingTimeline } from '../src/recordings/recording-timeline';

describe('a recording on the playing clock', () => {
  it('plays long pauses as the idle cap, keeps output and resizes in order, and leaves input and markers out', () => {
    const timeline = new RecordingTimeline([
      [0.5, 'o', 'a'],
      [1, 'i', 'typed'],
      [31, 'o', 'b'], // 30 s of nothing
      [31.25, 'r', '100x30'],
      [31.5, 'm', 'marker'],
      [32, 'o', 'c'],
    ]);
    const cap = IDLE_CAP_SECONDS;
    expect(timeline.events.map(({ at, kind, data }) => [at, kind, data])).toEqual([
      [0.5, 'output', 'a'],
      [1 + cap, 'output', 'b'],
      [1.25 + cap, 'resize', '100x30'],
      [2 + cap, 'output', 'c'],
    ]);
    expect(timeline.events[2]).toMatchObject({ cols: 100, rows: 30 });
    expect(timeline.duration).toBe(2 + cap);
    expect([0, 0.5, 1 + cap, 100].map((at) => timeline.indexAfter(at))).toEqual([0, 1, 2, 4]);
  });
});
