import { formatTable, relation, type FigureRow } from '../src/report';

const row = (overrides: Partial<FigureRow>): FigureRow => ({
  key: 'k',
  figure: 1,
  label: 'a figure',
  value: 2,
  unit: 'ms',
  baseline: 1,
  baselineLabel: '(base)',
  comparison: 'ratio',
  target: '≤ 3',
  met: true,
  ...overrides,
});

describe('the report', () => {
  it('relates a value to its baseline as the row says: offset, ratio, or not at all', () => {
    expect(relation(row({ comparison: 'offset', value: 1.5, baseline: 1 }))).toBeCloseTo(0.5);
    expect(relation(row({ comparison: 'ratio', value: 3, baseline: 2 }))).toBeCloseTo(1.5);
    expect(relation(row({ value: null }))).toBeNull();
    expect(relation(row({ comparison: 'ratio', baseline: 0 }))).toBeNull();
  });

  it('marks a missed target, a figure it could not judge, and lists notes under the table', () => {
    const table = formatTable([
      row({ key: 'one', met: false, note: 'why it missed' }),
      row({ key: 'two', value: null, met: null }),
    ]);
    expect(table).toMatch(/MISSED/);
    expect(table).toMatch(/n\/a/);
    expect(table).toMatch(/\[one\] why it missed/);
  });
});
