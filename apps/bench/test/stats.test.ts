import { median, percentile, summarize } from '../src/stats';

describe('order statistics', () => {
  it('reports nearest-rank percentiles, so every value reported was measured', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('summarises unsorted samples without changing them', () => {
    const samples = [3, 1, 2, 10];
    const summary = summarize(samples);
    expect(summary).toMatchObject({ n: 4, p50: 2, max: 10, min: 1, mean: 4 });
    expect(samples).toEqual([3, 1, 2, 10]);
    expect(median([5, 1, 3])).toBe(3);
  });

  it('refuses to summarise nothing', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});
