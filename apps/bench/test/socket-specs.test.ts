import { SOCKETS_PER_ADDRESS, socketSpecs, split } from '../src/socket-fleet';

describe('benchmark sockets', () => {
  it('give every socket its own user and never put more than the per-address share on one address', () => {
    const specs = socketSpecs('idle', 10_000, 3);
    expect(new Set(specs.map((s) => s.user)).size).toBe(10_000);
    const perAddress = new Map<string, number>();
    for (const { address } of specs) perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(SOCKETS_PER_ADDRESS);
    for (const address of perAddress.keys()) expect(address).toMatch(/^127\.\d+\.\d+\.1$/);
  });

  it('split a list into near-equal parts that keep every item once', () => {
    const parts = split([1, 2, 3, 4, 5, 6, 7], 3);
    expect(parts.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(parts.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
