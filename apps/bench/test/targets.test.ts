import { keystrokeRows } from '../src/figures/keystroke';
import { countFloor, rssPerItemRow } from '../src/figures/memory-row';
import { throughputRows } from '../src/figures/throughput';
import type { Summary } from '../src/stats';

const summary = (p50: number, p99: number): Summary => ({ n: 100, p50, p99, max: 2 * p99, min: p50 / 2, mean: p50 });
const baselines = { socketio: summary(0.2, 1) };

describe("issue 17's targets", () => {
  it('hold our keystroke p50 to bare Socket.IO’s plus a budget and our p99 to 1.5 × its p99', () => {
    const [p50, p99, max] = keystrokeRows({ key: 'embedded', label: 'embedded' }, summary(0.24, 1.6), baselines, 0.05);
    expect(p50).toMatchObject({ key: 'keystroke.embedded.p50', baseline: 0.2, comparison: 'offset', met: true });
    expect(p99).toMatchObject({ baseline: 1, target: '≤ 1.5 × baseline', met: false });
    expect(max).toMatchObject({ baseline: 2, met: null });
  });

  it('give a peer its rows beside the same baselines, with no target', () => {
    const rows = keystrokeRows({ key: 'wetty', label: 'wetty 3.2.0' }, summary(2.3, 5), baselines);
    expect(rows.map((row) => [row.key, row.target, row.met])).toEqual([
      ['keystroke.wetty.p50', '(peer)', null],
      ['keystroke.wetty.p99', '(peer)', null],
      ['keystroke.wetty.max', '(peer)', null],
    ]);
  });

  it('hold our throughput to node-pty’s and to wetty’s, each in a row of its own', () => {
    const rows = throughputRows(
      { key: 'embedded', label: 'embedded' },
      66,
      { pty: 100, wetty: 70 },
      { pty: 0.6, wetty: 1.1 },
    );
    expect(rows.map((row) => [row.key, row.baseline, row.met])).toEqual([
      ['throughput.embedded', 100, true],
      ['throughput.embedded.vs_wetty', 70, false],
    ]);
    const [cluster] = throughputRows({ key: 'cluster', label: 'cluster' }, 66, { pty: 100 }, { wetty: 1 });
    expect(cluster).toMatchObject({ target: '–', met: null });
  });

  it('allow figures 3 and 4 10 % off today’s, and a smaller run only what it asked for', () => {
    expect(countFloor(1000, 1000)).toMatchObject({ least: 900 });
    expect(countFloor(1000, 100)).toMatchObject({ least: 100 });
    const row = (perItemKiB: number) =>
      rssPerItemRow(
        { key: 'k', figure: 3, label: 'l', server: 'worker', baseline: null, baselineLabel: '', todayKiB: 200 },
        { perItemKiB, beforeKiB: 0, afterKiB: 0 },
      );
    expect(row(220).met).toBe(true);
    expect(row(221).met).toBe(false);
  });
});
